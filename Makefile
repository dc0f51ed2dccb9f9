# ganexp — run `make help` for the targets.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
ARGS    ?=

.PHONY: help install run sweep test test-full tensorboard lint clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install ganexp with dev extras (re-runs when pyproject.toml changes)

run: $(STAMP)  ## train the default job (faces, DCGAN, ~8 min on 2 CPU cores in fp32, less with bf16); extra overrides via ARGS="..."
	$(BIN)/python run.py $(ARGS)

sweep: $(STAMP)  ## the card's 6-job sweep: loss=wgan,lsgan,gp x sched.d_every=1,5
	$(BIN)/python run.py -m loss=wgan,lsgan,gp sched.d_every=1,5 $(ARGS)

test: $(STAMP)  ## fast test suite on two pytest-xdist workers (2-core CPU: 5-9.5 min, 14 min on one worker)
	$(BIN)/python -m pytest -q -m "not slow" -n 2 --dist worksteal $(ARGS)

test-full: $(STAMP)  ## every test, the slow ones included
	$(BIN)/python -m pytest -q $(ARGS)

tensorboard: $(STAMP)  ## serve TensorBoard over outputs/
	$(BIN)/tensorboard --logdir outputs

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check ganexp tests run.py

clean:  ## remove caches (not outputs/)
	rm -rf .pytest_cache .ruff_cache build *.egg-info
