"""``benchmarks/gpu_check.sh --device cpu --dry-run`` keeps working: the GPU check is prepared on machines without
one and must run unchanged the day it gets one (issue #14)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_check_dry_run_on_the_cpu(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    p = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_check.sh"), "--device", "cpu", "--dry-run", "--out",
                        str(tmp_path)], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    res = json.loads((tmp_path / "gpu_check.json").read_text())
    assert res["dry_run"] and res["device"] == "cpu"
    for mode in ("fp32", "bf16", "bf16+compile"):
        m = res["throughput"][mode]
        assert "error" not in m, m
        assert m["s_per_iter"] > 0 and m["samples_per_s"] > 0
    assert res["throughput"]["bf16+compile"]["compile_backend"] == "aot_eager"
    assert res["loader"]["clips_per_s"] > 0 and res["loader"]["workers"] == 0  # no workers on the CPU
    e = res["estimate"]
    assert e["train_step"]["flops"] > 0 and e["train_step"]["bytes"] > 0 and e["eval_sampling"]["flops"] > 0
    t = res["train"]
    assert "error" not in t, t
    assert t["steps"] == 2 and t["eval_clips"] == 2 and 0 <= t["best_per_frame_avg"]["ssim_paper"] <= 1
    last = p.stdout.strip().splitlines()
    assert last[-1].startswith("train: 2 steps") and any(s.startswith("bf16+compile") for s in last[-6:])
