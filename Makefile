# spikealign: `make demo` sets up and reproduces the paper (quick profile); `make test` runs the suite.
# PYTHON picks the interpreter (3.11-3.13): `make test PYTHON=python3.13` uses .venv-3.13.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
PYVER  := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
ifeq ($(PYVER),)
$(error PYTHON=$(PYTHON) does not run: set PYTHON to a Python 3.11-3.13 interpreter)
endif
VENV   ?= $(if $(filter 3.11,$(PYVER)),.venv,.venv-$(PYVER))
BIN    := $(VENV)/bin
LOCK   := requirements/lock-py$(subst .,,$(PYVER)).txt
STAMP  := $(VENV)/.installed
PYTEST_WORKERS ?= 2
UV     ?= uv

.PHONY: demo test bench lint docs typecheck paper lock clean gpu-check

# the exact, tested versions of the lock file; then spikealign itself (editable, no dependency resolution)
$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; assert (3, 11) <= sys.version_info[:2] <= (3, 13), "spikealign is tested on Python 3.11-3.13, found " + sys.version.split()[0]'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

$(LOCK):
	@echo "no lock file $(LOCK): spikealign is tested on Python 3.11-3.13 (PYTHON=$(PYTHON) is $(PYVER))" >&2; exit 1

demo: $(STAMP)
	$(BIN)/spikealign reproduce --profile quick --out results

# pytest's exit code 5 (no tests collected) counts as a failure. The NEST tests run in a pytest
# process of their own: NEST's bundled OpenMP runtime can crash in a process that ran torch or numba.
test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) -m "not slow" --ignore=tests/nest_engine; code=$$?; \
	if [ $$code -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; [ $$code -eq 0 ] || exit $$code; \
	$(BIN)/python -m pytest -q -m "not slow" tests/nest_engine

bench: $(STAMP)
	$(BIN)/spikealign bench

# CUDA-marked tests + GPU timings into benchmarks/results/gpu-check.json (one line and exit 0 without a GPU)
gpu-check: $(STAMP)
	$(BIN)/python benchmarks/gpu_check.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# API reference site (mkdocs, strict: a broken reference fails the build) into site/
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site

# mypy over the public API (the files and settings are in pyproject.toml, [tool.mypy])
typecheck: $(STAMP)
	$(BIN)/mypy

paper: $(STAMP)
	$(BIN)/spikealign reproduce --profile paper --out results-paper

# Re-resolve the lock files with uv (pins already in a lock file are kept unless you delete it).
# Python 3.11 gets every extra; 3.12 and 3.13 all but [deep] (torch comes as a multi-GB CUDA wheel there).
LOCK_FLAGS ?= --extra cluster --extra dev --extra docs --extra nest --extra brian2 --annotation-style line --custom-compile-command "make lock" \
	$(if $(wildcard /opt/wheels),--find-links /opt/wheels --index-strategy unsafe-best-match)
CPU_TORCH := $(wildcard /opt/wheels/torch-*+cpu-*.whl)
lock:
	$(if $(CPU_TORCH),sed -i 's/^torch==\([0-9.]*\) /torch==\1+cpu /' requirements/lock-py311.txt  # keep the CPU build here)
	$(UV) pip compile pyproject.toml --quiet --python-version 3.11 --extra deep $(LOCK_FLAGS) -o requirements/lock-py311.txt
	$(UV) pip compile pyproject.toml --quiet --python-version 3.12 $(LOCK_FLAGS) -o requirements/lock-py312.txt
	$(UV) pip compile pyproject.toml --quiet --python-version 3.13 $(LOCK_FLAGS) -o requirements/lock-py313.txt
	sed -i 's/^torch==\([^+ ]*\)+cpu/torch==\1/' requirements/lock-py311.txt  # any build of this version

clean:
	rm -rf results site .pytest_cache .ruff_cache .mypy_cache
	find src -name __pycache__ -prune -exec rm -rf {} +  # bytecode and the numba kernel cache (src/spikealign/__pycache__/numba-*)
