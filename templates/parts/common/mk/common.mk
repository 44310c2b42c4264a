# Settings every target shares. Override any of them on the command line
# (make pipeline SENTIO=/path/to/sentio) or in the environment.

# The sentio binary; CI puts the one named by SENTIO_VERSION on PATH (ci/install-sentio.sh).
SENTIO ?= sentio
# Where the metadata store (executions, registry, history) and the artifacts live.
SENTIO_HOME ?= .sentio
PYTHON ?= python3
OUT ?= out
export SENTIO SENTIO_HOME

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# $(call need,VAR): stop with a message when VAR is empty.
need = $(if $(strip $($(1))),,$(error $(1) is not set: make $@ $(1)=...))

.PHONY: help sentio-version
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(filter-out mk/common.mk,$(MAKEFILE_LIST)) mk/common.mk | sed -E 's/^([a-z-]+):.*## /  make \1\t/' | expand -t 24

sentio-version: ## compare the sentio on PATH with the one this project was made for
	@have=$$($(SENTIO) --version | awk '{print $$2}'); \
	if [ "$$have" = "$(SENTIO_VERSION)" ]; then echo "sentio $$have"; \
	else echo "sentio $$have; this project was made for sentio $(SENTIO_VERSION) (sentio init --check . lists what a newer one would change)"; fi
