# Frontline — the front door for humans. Each target says what it does; the logic lives in scripts/.
PYTHON ?= python3
BIN := .venv/bin

.PHONY: help install browser kustomize vegeta manifests manifests-next infra-up infra-down infra-status lint schemas test run simulate eval-intake bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

ENGINE := services/routing/core
install: .venv/.installed $(ENGINE)/_compiled/SOURCES.sha256  ## the virtualenv with the pinned dependencies, routing's engine compiled (idempotent)

.venv/.installed: pyproject.toml constraints.txt scripts/install.sh
	PYTHON=$(PYTHON) scripts/install.sh

# mypyc, from the dev dependencies, and a C compiler; without them routing runs its sources as they are.
$(ENGINE)/_compiled/SOURCES.sha256: .venv/.installed $(wildcard $(ENGINE)/*.py)
	$(BIN)/python -m services.routing.compile || echo "install: routing's engine is not compiled; it runs its sources"

infra-up:  ## start the local Kafka broker and FerretDB (installing them the first time)
	$(PYTHON) deploy/local/infra.py up

infra-down:  ## stop the local servers
	$(PYTHON) deploy/local/infra.py down

infra-status:  ## show whether the local servers run, where, and their logs
	$(PYTHON) deploy/local/infra.py status

lint: install  ## ruff, formatting, mypy --strict, service boundaries (import-linter), schema, manifest and settings-doc drift
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy && $(BIN)/lint-imports && $(BIN)/python -m frontline.contracts.schemas --check \
	  && $(BIN)/python deploy/k8s/generate.py --check && $(BIN)/python scripts/settings_doc.py --check

schemas: install  ## regenerate docs/events/ (JSON Schema + AsyncAPI) and docs/configuration.md from the code
	$(BIN)/python -m frontline.contracts.schemas && $(BIN)/python scripts/settings_doc.py

kustomize:  ## build the pinned kustomize into .local/bin (first run only)
	scripts/install_kustomize.sh

vegeta:  ## build the pinned vegeta (HTTP load generator for make bench) into .local/bin (first run only)
	scripts/install_vegeta.sh

manifests: install kustomize  ## regenerate deploy/k8s/base, render dev and prod, validate and check policies
	$(BIN)/python deploy/k8s/generate.py && $(BIN)/python deploy/k8s/policies.py

manifests-next: install kustomize  ## render and check the manifests for the upgrade prepared in deploy/versions.toml [next]
	$(BIN)/python deploy/k8s/policies.py --next

browser:  ## Debian's Chromium for the wallboard's browser test (first run only)
	scripts/install_browser.sh

test: lint infra-up browser kustomize  ## the whole test suite against the real local servers
	$(BIN)/pytest

run: install infra-up  ## the demo contact center on this machine: services, wallboard, a simulated day, report
	$(BIN)/python scripts/run_suite.py

simulate: install  ## the demo tenant's day in virtual time under routing policies, e.g. POLICY="value skills fifo strict"
	$(BIN)/python -m simulation.day $(or $(POLICY),value skills fifo) $(SIMULATE_ARGS)

BANKING77 ?= ../shared/data/banking77
eval-intake: install  ## concern macro-F1 of the keyword taxonomy; with BANKING77=DIR (its train.csv) the learning model's, into BENCHMARKS.md
	$(BIN)/python scripts/eval_intake.py $(if $(wildcard $(BANKING77)/train.csv),--banking77 $(BANKING77))

bench: install infra-up vegeta  ## benchmarks against the real local servers; appends to BENCHMARKS.md
	$(BIN)/python scripts/bench_store.py
	$(BIN)/python scripts/bench_e2e.py
	$(BIN)/python scripts/bench_e2e.py --contacts 4000 --kill
	$(BIN)/python scripts/bench_intake.py
	$(BIN)/python scripts/bench_routing.py
	$(BIN)/python scripts/bench_upsell.py
	$(BIN)/python scripts/bench_records.py

clean:  ## stop the servers and remove everything local (.venv, .local, the compiled engine)
	-$(PYTHON) deploy/local/infra.py down
	rm -rf .venv .local $(ENGINE)/_compiled
