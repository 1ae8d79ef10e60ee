# geoface: the two commands (`make demo`, `make test`) set everything up themselves.
# uv installs the dependencies: it resolves a matching torch/torchvision pair from
# the package index (plain pip may pick a local CPU-only torch that torchvision
# cannot load beside).

PYTHON ?= python3
VENV   ?= .venv
OUT    ?= geoface-demo
UV     := $(PYTHON) -m uv
export UV_LINK_MODE := copy
export MPLBACKEND := Agg

.PHONY: all setup demo test lint format bench clean

all: test

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(VENV)
	$(UV) pip install --quiet --python $(VENV)/bin/python -e '.[dev,dlib]'
	@touch $@

## setup: create .venv with geoface and every dependency
setup: $(VENV)/.installed

## demo: set up, then run the whole pipeline on the embedded simulated data
demo: setup
	$(VENV)/bin/geoface demo --out $(OUT)

## test: set up, then lint and run the test suite
test: setup lint
	$(VENV)/bin/python -m pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## bench: print the performance figures
bench: setup
	$(VENV)/bin/python benchmarks/bench_features.py
	@if [ -d ../shared/data/helen ]; then $(VENV)/bin/python benchmarks/bench_extract.py; fi

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .ruff_cache build *.egg-info
