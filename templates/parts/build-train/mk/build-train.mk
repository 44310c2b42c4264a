# Build and train: pipeline.toml run with params/$(PARAMS).toml; versions go to the
# registry in SENTIO_HOME.

# Which parameter file: dev (the sample data) or prod (the real data).
PARAMS ?= dev
PARAMS_FILE = params/$(PARAMS).toml
# More `sentio pipeline run` flags, e.g. PIPELINE_FLAGS="-p epochs=5 --no-cache".
PIPELINE_FLAGS ?=
# The data file the parameters name (input_data).
DATA = $(shell sed -n 's/^input_data *= *"\(.*\)"/\1/p' $(PARAMS_FILE) 2>/dev/null)
# A command that puts the real data in place when it is missing (CI variable), e.g.
# DATA_FETCH="aws s3 cp s3://my-bucket/reviews.csv data/raw/reviews.csv".
DATA_FETCH ?=
# The version `make approve` approves: group/number, by default the one `make register` wrote.
VERSION ?= $(shell cat $(OUT)/version.txt 2>/dev/null)
NOTE ?= approved with make approve
BY ?= $(or $(USER),$(shell whoami 2>/dev/null),make)

.PHONY: data validate test pipeline register approve
data: ## check that the data of PARAMS is there (fetching it with DATA_FETCH)
	@test -f $(PARAMS_FILE) || { echo "no parameter file $(PARAMS_FILE) (PARAMS=$(PARAMS))" >&2; exit 1; }
	$(if $(DATA_FETCH),@test -f "$(DATA)" || { mkdir -p "$$(dirname "$(DATA)")" && $(DATA_FETCH); })
	@test -f "$(DATA)" || { echo "no data file '$(DATA)' (input_data of $(PARAMS_FILE)); see data/README.md" >&2; exit 1; }

validate: data ## check the data: schema, completeness, class balance, duplicates
	$(SENTIO) validate --data $(DATA)

pipeline: data ## run the pipeline (PARAMS=dev: sample data; PARAMS=prod: real data)
	@mkdir -p $(OUT)
	$(SENTIO) pipeline run --definition pipeline.toml --params-file $(PARAMS_FILE) $(PIPELINE_FLAGS) --json > $(OUT)/pipeline.json \
	  || { $(PYTHON) ci/release.py summary $(OUT)/pipeline.json || true; exit 1; }
	@$(PYTHON) ci/release.py summary $(OUT)/pipeline.json

test: ## what pull requests run: the pipeline on the sample data, in a throwaway registry
	rm -rf $(OUT)/test-home
	$(MAKE) --no-print-directory pipeline PARAMS=dev SENTIO_HOME=$(OUT)/test-home

register: pipeline ## run the pipeline, then write the version it registered and its evaluation to out/
	$(PYTHON) ci/release.py release $(OUT)/pipeline.json --out $(OUT)

approve: ## approve VERSION (group/number; default: the one out/version.txt names)
	$(call need,VERSION)
	$(SENTIO) registry approve $(VERSION) --note "$(NOTE)" --by "$(BY)"
