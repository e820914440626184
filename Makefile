# llie-workbook: `make reproduce` (main job) and `make test`. Both create .venv when missing, install the pinned
# requirements, register the Jupyter kernel, install the offline metric assets, check the environment and run.
PYTHON  ?= python3
VENV    ?= .venv
PROFILE ?= quick
# REUSE=shipped: `make reproduce` installs a method's shipped model (checkpoints/PROFILE/<method>) instead of training
# its main run when the recipe and data checksums match exactly; default: everything retrains from scratch
REUSE   ?=
PY      := $(VENV)/bin/python
KERNEL  := llie-workbook
# Real benchmark data when present (override with LLIE_DATA_ROOT=/path/to/data); else the embedded set is used.
export LLIE_DATA_ROOT ?= $(firstword $(wildcard ../shared/data))
# Deterministic cuBLAS (training on CUDA with train.deterministic): must be set before the process starts.
export CUBLAS_WORKSPACE_CONFIG ?= :4096:8

.PHONY: setup install kernel assets check-env reproduce test test-fast smoke paper-dry-run lint-notebooks status ship \
        clean-results

setup: install kernel assets check-env

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check -q --no-deps -e .
	@touch $@

kernel: install
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (llie-workbook)" >/dev/null
	@echo "Jupyter kernel '$(KERNEL)' -> $(PY)"

assets: install
	$(PY) -m llie_core.core.assets setup

check-env: install
	$(PY) -m pip check
	$(PY) -c "import torch, torchvision; v=(torch.__version__.split('+')[0], torchvision.__version__.split('+')[0]); \
assert v == ('2.14.1', '0.29.1'), f'torch/torchvision were replaced: {v}'; print('torch', *v)"

reproduce: setup
	$(PY) -m llie_core.workbook run --profile $(PROFILE) $(if $(filter shipped,$(REUSE)),--reuse-shipped)

test: setup
	$(PY) -m pytest -q

# Everything but the tests marked slow (torchrun/DDP, papermill on the real notebooks, studies).
test-fast: setup
	$(PY) -m pytest -q -m "not slow"

smoke: setup
	$(PY) -m llie_core.workbook run --profile smoke

# The paper profile's GPU path executed end to end on a CPU: every notebook with the paper recipes (widths, patch and
# batch sizes, losses, schedule shapes), 2 iterations per training stage, 1 image per test set (cropped), 1 seed,
# into results/paper-dry-run (never results/paper); its numbers mean nothing. CUDA-only code (AMP, pinned memory,
# NCCL) is skipped on a CPU. Paper widths and batches make it long on a small CPU (not a CI job; see README).
paper-dry-run: setup
	$(PY) -m llie_core.workbook run --profile paper --dry-run

# The datasets the profile uses (python -m data_prep status [--datasets a,b] lists any dataset, without llie_core).
status: install
	$(PY) -m llie_core.workbook status --profile $(PROFILE)

# Ship each method's main run of PROFILE into checkpoints/PROFILE/<method> (weights, recipe, model card; fp16 where
# that moves the LOL eval15 PSNR by at most 0.01 dB), so a fresh clone can enhance images without training.
ship: install
	$(PY) -m llie_core.training.shipped ship --profile $(PROFILE) --overwrite

clean-results:
	rm -rf results/smoke
