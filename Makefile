# The README's commands. Each creates .venv if missing and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= test,plot,progress
PY := $(VENV)/bin/python
STAMP := $(VENV)/.nlica-installed

.PHONY: install demo test test-slow test-gpu bench bench-gpu lint format docs clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip

# The pinned CPU torch goes in first so the package's "torch" requirement is already met
# (an unpinned torch would pull a multi-GB CUDA build).
$(STAMP): setup.py | $(PY)
	$(PY) -m pip install "$(TORCH_SPEC)"
	$(PY) -m pip install -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m nlica demo

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

test-gpu: $(STAMP)
	$(PY) -m pytest -q -m gpu

bench: $(STAMP)
	$(PY) benchmarks/bench_fastica.py --json results/bench_fastica.json
	$(PY) benchmarks/bench_nonlinear.py --json results/bench_nonlinear.json

# On a machine with a CUDA GPU: versions, the GPU tests, then the GPU benchmark (under 9
# minutes; see the script). No $(STAMP): it uses a python whose torch sees CUDA.
bench-gpu:
	bash benchmarks/gpu_check.sh

docs: $(STAMP)
	$(PY) -m pip install -e ".[docs]"
	NLICA_QUICK=$${NLICA_QUICK-1} $(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

lint: $(STAMP)
	$(PY) -m ruff check .

format: $(STAMP)
	$(PY) -m ruff format .

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
