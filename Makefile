# The two commands a newcomer types: `make demo` and `make test`. Each sets up .venv/ itself.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast fast bench lint format clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (set PYTHON=python3 to use another 3.11+)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# exactly this torch first: any other spec pulls a multi-GB CUDA build
	$(BIN)/pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,demo,train,eval,serve,openai,bridges]'
	touch $(STAMP)

demo: $(STAMP)  ## set up, then run the end-to-end demo on the bundled sample chat
	$(BIN)/gptisyou --workspace demo-workspace demo

# two workers, one torch thread each (tests/conftest.py): twice the throughput of one process on 2 cores
test: $(STAMP)  ## set up, then run every test (slow ones included)
	$(BIN)/python -m pytest -n 2 --durations=15

# llama.cpp is compiled for this very CPU (-march=native), so it is never taken from pip's wheel cache, which is
# keyed by the source alone and may hold a build for another machine. Its AMX kernels crash on some AMX CPUs
# (ggml-org/llama.cpp#20824): where the CPU has AMX they are left out. A build that runs here is kept.
NO_AMX := $(if $(shell grep -s -m1 -o amx_int8 /proc/cpuinfo),-mno-amx-int8)

fast: $(STAMP)  ## add llama.cpp as the local engine (pip compiles it: minutes; needs a C++ compiler and cmake)
	$(BIN)/python -c "from gptisyou.engine import llama_engine as e; exit(not e.installed() or e.has_amx_kernels())" \
		|| CFLAGS="$(NO_AMX)" CXXFLAGS="$(NO_AMX)" $(BIN)/pip install --quiet --disable-pip-version-check \
		--no-cache-dir --force-reinstall --no-deps 'llama-cpp-python>=0.3.36'
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[fast]'

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 -m "not slow"

bench: $(STAMP)  ## speed and memory against the peers and baselines, measured in one run
	$(BIN)/python benchmarks/bench_import.py
	$(BIN)/python benchmarks/bench_import_sources.py
	$(BIN)/python benchmarks/bench_dataset.py
	$(BIN)/python benchmarks/bench_train.py
	$(BIN)/python benchmarks/bench_generate.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) demo-workspace .pytest_cache .ruff_cache .hypothesis benchmarks/.peers benchmarks/.data
