# Deploy: endpoints per environment (deploy/$(ENV).env), the serving image, staging checks,
# the production canary with its A/B experiment, promotion and rollback.

# Which environment: staging or prod (deploy/$(ENV).env).
ENV ?= staging
ifeq ($(wildcard deploy/$(ENV).env),)
$(error no deploy/$(ENV).env: ENV is staging or prod)
endif
include deploy/$(ENV).env
# sentio serve and sentio experiment read their settings from these.
export $(filter SENTIO_%,$(.VARIABLES))

# VERSION: a registry version, group/number (sentio registry list).
MODEL = registry:$(subst /,:,$(VERSION))
EXPERIMENT_ID ?= canary-$(subst /,-,$(VERSION))
IMAGE ?= @@NAME@@
ENDPOINT = $(PYTHON) ci/endpoint.py --url $(ENDPOINT_URL)
SUBMAKE = $(MAKE) --no-print-directory

.PHONY: serve wait deploy smoke loadtest staging rollback image container \
	canary canary-deploy canary-smoke experiment experiment-check promote promote-now

serve: ## the ENV endpoint on VERSION, in the foreground (what the container runs)
	$(call need,VERSION)
	baseline=$$($(PYTHON) ci/endpoint.py artifact $(VERSION))/baseline; \
	exec $(SENTIO) serve --variant $(PRIMARY_VARIANT)=$(MODEL) --monitor-baseline "$$baseline"

wait: ## wait until the ENV endpoint answers /ping
	$(ENDPOINT) wait --timeout 300s

deploy: ## deploy VERSION to ENV's primary variant (management API: load, warm, swap, drain)
	$(call need,VERSION)
	@mkdir -p $(OUT)
	$(ENDPOINT) deploy --variant $(PRIMARY_VARIANT) --model $(MODEL) --previous $(OUT)/$(ENV)-previous.txt

smoke: ## smoke-test ENV (VARIANT: one variant; VERSION: the version it must serve)
	$(ENDPOINT) smoke --samples deploy/smoke.jsonl $(if $(VARIANT),--variant $(VARIANT)) $(if $(VERSION),--expect $(VERSION))

loadtest: ## a short open-loop load test of ENV against its p99 objective
	@mkdir -p $(OUT)
	$(SENTIO) loadtest $(ENDPOINT_URL)/invocations --mode open --rate $(LOADTEST_RATE) \
	  --duration $(LOADTEST_DURATION) --json $(OUT)/loadtest-$(ENV).json
	$(PYTHON) ci/endpoint.py latency $(OUT)/loadtest-$(ENV).json --p99 $(P99_OBJECTIVE) --max-error-rate $(MAX_ERROR_RATE)

staging: ## VERSION to staging: deploy, smoke test, load test; roll back on failure
	$(call need,VERSION)
	$(SUBMAKE) ENV=staging $(if $(filter container,$(DEPLOY_MODE)),image container,deploy) smoke loadtest \
	  || { $(SUBMAKE) ENV=staging rollback; exit 1; }

rollback: ## ENV back to where it was: the canary removed, or the previous version redeployed
	$(if $(filter container,$(DEPLOY_MODE)),docker rm -f $(IMAGE)-$(ENV),$(ENDPOINT) rollback --primary $(PRIMARY_VARIANT) $(if $(CANARY_VARIANT),--canary $(CANARY_VARIANT)) --previous $(OUT)/$(ENV)-previous.txt)

image: ## the serving image of VERSION: sentio and the model at /opt/ml/model (docker)
	$(call need,VERSION)
	rm -rf build/image && mkdir -p build/image
	cp "$$(command -v $(SENTIO))" build/image/sentio
	cp -R "$$($(PYTHON) ci/endpoint.py artifact $(VERSION))" build/image/model
	docker build -f Dockerfile --build-arg VARIANT=$(PRIMARY_VARIANT) -t $(IMAGE):$(subst /,-,$(VERSION)) build/image

container: ## run the image of VERSION as the ENV endpoint on this machine (docker)
	$(call need,VERSION)
	docker rm -f $(IMAGE)-$(ENV) >/dev/null 2>&1 || true
	docker run -d --name $(IMAGE)-$(ENV) --env-file deploy/$(ENV).env -e SENTIO_PORT=8080 \
	  -e SENTIO_ADMIN_TOKEN -p $(SENTIO_PORT):8080 $(IMAGE):$(subst /,-,$(VERSION)) serve
	$(ENDPOINT) wait --timeout 300s

canary: ## VERSION to production as a canary with an A/B experiment; roll back on failure
	$(call need,VERSION)
	$(SUBMAKE) ENV=prod canary-deploy canary-smoke || { $(SUBMAKE) ENV=prod rollback; exit 1; }

canary-deploy:
	$(ENDPOINT) canary --primary $(PRIMARY_VARIANT) --canary $(CANARY_VARIANT) --model $(MODEL) --weight $(CANARY_WEIGHT)
	$(SENTIO) experiment list | cut -f1 | grep -qx '$(EXPERIMENT_ID)' \
	  || $(SENTIO) experiment create --id $(EXPERIMENT_ID) --endpoint $(SENTIO_ENDPOINT_NAME) \
	       --variant $(PRIMARY_VARIANT),$(CANARY_VARIANT)

canary-smoke:
	$(SUBMAKE) ENV=prod smoke VARIANT=$(CANARY_VARIANT)

experiment: ## wait for the A/B verdict; roll the canary back when it loses
	$(call need,VERSION)
	$(SUBMAKE) ENV=prod experiment-check || { $(SUBMAKE) ENV=prod rollback; exit 1; }

experiment-check:
	@mkdir -p $(OUT)
	$(ENDPOINT) verdict --id $(EXPERIMENT_ID) --capture $(SENTIO_CAPTURE_DIR)/$(SENTIO_ENDPOINT_NAME) \
	  --control $(PRIMARY_VARIANT) --candidate $(CANARY_VARIANT) \
	  --min-samples $(EXPERIMENT_MIN_SAMPLES) --alpha $(EXPERIMENT_ALPHA) --min-effect $(EXPERIMENT_MIN_EFFECT) \
	  --wait $(EXPERIMENT_WAIT) --every $(EXPERIMENT_POLL) --on-not-enough-data $(EXPERIMENT_ON_NOT_ENOUGH_DATA) \
	  --max-error-rate $(MAX_ERROR_RATE) --out $(OUT)/experiment.json

promote: ## VERSION takes all production traffic; the canary is removed
	$(call need,VERSION)
	$(SUBMAKE) ENV=prod promote-now

promote-now:
	$(SENTIO) experiment promote --id $(EXPERIMENT_ID) --url $(ENDPOINT_URL) --winner $(CANARY_VARIANT)
	$(ENDPOINT) finish --primary $(PRIMARY_VARIANT) --canary $(CANARY_VARIANT) --model $(MODEL)
