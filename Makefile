# ganexp — run `make help` for the targets.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
ARGS    ?=
# pytest-xdist workers: 3 on a 2-core machine (a worker waiting on a process it started leaves its core to another):
# 262 s of tests against 345 s with 2 and 291 s with 4 (one run each, 2026-12-04); 253 s against 257 s with 4 (2026-12-05)
WORKERS ?= 3
# make gpu-check: the GPU machine's own Python (with its CUDA torch), and a folder of wheels to install offline
GPU_PY  ?= python3
WHEELS  ?=
GPU_SITE ?= /tmp/ganexp-site
GPU_OUT ?= gpu_check.json

.PHONY: help install run sweep test test-unit test-integration test-e2e test-full tensorboard lint clean gpu-check gpu-wheels fashion-mnist docs

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements/constraints.txt
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements/constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install ganexp with dev extras (re-runs when pyproject.toml changes)

run: $(STAMP)  ## train the default job (faces, DCGAN, ~8 min on 2 CPU cores in fp32, less with bf16); extra overrides via ARGS="..."
	$(BIN)/python run.py $(ARGS)

sweep: $(STAMP)  ## the card's 6-job sweep: loss=wgan,lsgan,gp x sched.d_every=1,5
	$(BIN)/python run.py -m loss=wgan,lsgan,gp sched.d_every=1,5 $(ARGS)

test: $(STAMP)  ## fast test suite on $(WORKERS) pytest-xdist workers (2-core CPU: about 3.9 min, 5.7 with the install)
	$(BIN)/python -m pytest -q -m "not slow" -n $(WORKERS) --dist worksteal $(ARGS)

test-unit: $(STAMP)  ## tests/unit: pure functions and classes (no training run, no subprocess)
	$(BIN)/python -m pytest -q -m "not slow" -n $(WORKERS) --dist worksteal tests/unit $(ARGS)

test-integration: $(STAMP)  ## tests/integration: tiny in-process runs and builds
	$(BIN)/python -m pytest -q -m "not slow" -n $(WORKERS) --dist worksteal tests/integration $(ARGS)

test-e2e: $(STAMP)  ## tests/e2e: processes (run.py, launchers, DDP, signals, kill -9, the hostile suite)
	$(BIN)/python -m pytest -q -m "not slow" -n $(WORKERS) --dist worksteal tests/e2e $(ARGS)

test-full: $(STAMP)  ## every test, the slow ones included
	$(BIN)/python -m pytest -q $(ARGS)

tensorboard: $(STAMP)  ## serve TensorBoard over outputs/
	$(BIN)/tensorboard --logdir outputs

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check ganexp tests run.py

docs: $(STAMP)  ## build the docs site (strict)
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --site-dir site

gpu-check:  ## on an offline GPU machine (<8 min): PASS/FAIL per check, numbers in GPU_OUT; WHEELS=.whl installs those first
	@set -e; site=""; \
	if [ -n "$(WHEELS)" ]; then \
	  $(GPU_PY) -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target $(GPU_SITE) $(WHEELS)/*.whl; \
	  site=$(GPU_SITE); fi; \
	PYTHONPATH=$(CURDIR)$${site:+:$$site}$${PYTHONPATH:+:$$PYTHONPATH} $(GPU_PY) -m ganexp.gpu_check --out $(GPU_OUT) $(ARGS)

gpu-wheels: $(STAMP)  ## download the pure-Python wheels gpu-check needs (requirements/gpu-wheels.txt) into .whl/
	rm -rf .whl && mkdir .whl
	grep -v '^#' requirements/gpu-wheels.txt | while read -r req; do [ -z "$$req" ] && continue; \
	  $(BIN)/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 -d .whl "$$req" 2>/dev/null \
	  || $(BIN)/python -m pip wheel -q --no-deps -w .whl "$$req" || exit 1; done  # a source-only release: built (pure Python)
	@ls .whl | grep -v -- '-py3-none-any.whl$$' && { echo "not pure Python: see above"; exit 1; } || true
	@ls -l .whl

FASHION_DIR ?=
fashion-mnist: $(STAMP)  ## Fashion-MNIST: Debian's dataset-fashion-mnist, or FASHION_DIR=<folder> (torchvision download; then data.root=<folder>)
	@if [ -n "$(FASHION_DIR)" ]; then \
	  $(BIN)/python -c "import sys; from torchvision.datasets import FashionMNIST; FashionMNIST(sys.argv[1], download=True)" "$(FASHION_DIR)" \
	  && echo "python run.py data=fashion_mnist data.root=$(FASHION_DIR)"; \
	else apt-get install -y dataset-fashion-mnist || sudo apt-get install -y dataset-fashion-mnist; fi

clean:  ## remove caches (not outputs/)
	rm -rf .pytest_cache .ruff_cache build *.egg-info
