"""The GPU check's measurements (run by ``benchmarks/gpu_check.sh``, which prepares the environment and the data).

``python benchmarks/gpu_check.py --device cuda --data DIR --out DIR [--train-min 2] [--pytest-rc N]``:

- ``throughput``: Sound2Sight's training step at the paper batch (110) and paper config on M3SO-NB shapes (25 frames
  of 48x48, 5 seen) in fp32, bf16 autocast and bf16 + ``torch.compile`` (inductor; each top-level submodule):
  s/iter (mean of timed steps after warm-up, CUDA synchronised), samples/s, peak GPU memory;
- ``train``: ``s2sbench run --model sound2sight --dataset m3so-nb --preset paper`` (batch 110, bf16 autocast) for a
  fixed ``--train-min`` wall-clock minutes, then the paper protocol (1000 test clips x 100 samples, best of 100);
- ``loader``: the trainer's input pipeline alone (its worker count on this device), batches of 110 per second;
- ``estimate``: FLOPs (``torch.utils.flop_counter``), bytes touched and aten ops of one training step and of the
  sampling of one clip, counted at a small batch on any device and scaled to the paper sizes, against the goals;
- writes ``OUT/gpu_check.json`` and prints a short table last.

``--dry-run`` shrinks everything (tiny config, batch 4, a few steps, 4 test clips x 2 samples, compile backend
``aot_eager``) so that the whole script runs on a CPU in well under a minute (tests/test_gpu_check.py).
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from s2sbench.data.loader import Batch
from s2sbench.models import DataSpec, build_model
from s2sbench.train.batches import train_loader
from s2sbench.train.trainer import auto_workers, autocast, compile_submodules

PAPER_BATCH, PAPER_STEPS, H200 = 110, 72_072, {"bf16_tflops": 790.0, "hbm_tbs": 4.8}
GOALS = {"train_ms_per_iter": 100.0, "moonshot_ms_per_iter": 50.0, "eval_s": 120.0}
MODES = {"fp32": (False, ""), "bf16": (True, ""), "bf16+compile": (True, "inductor")}


def _model(dry: bool, device: torch.device):
    from s2sbench.baselines.sound2sight import Config

    torch.manual_seed(0)
    net = build_model("sound2sight", DataSpec.for_dataset("m3so-nb"), Config.tiny() if dry else Config())
    net.setup_training(PAPER_STEPS)
    return net.to(device)


def _batch(spec: DataSpec, b: int, device: torch.device) -> Batch:
    g = torch.Generator().manual_seed(0)
    t = spec.n_past + spec.n_future
    video = torch.rand(b, t, spec.channels, spec.height, spec.width, generator=g)
    audio = torch.randn(b, t, spec.audio_dim, generator=g)
    return Batch(video, audio, torch.arange(b), [str(i) for i in range(b)]).to(device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def throughput(device: torch.device, dry: bool, batch: int, warmup: int, iters: int) -> dict:
    out = {}
    for mode, (amp, backend) in MODES.items():
        if dry and backend:
            backend = "aot_eager"  # tracing and autograd of torch.compile without a C++ toolchain
        net = _model(dry, device)
        opts = net.configure_optimizers()
        if backend:
            compile_submodules(net, backend)
        b = _batch(net.spec, batch, device)
        step = PAPER_STEPS // 2  # inside the adversarial phase: the discriminator's cost counts
        try:
            t0 = time.perf_counter()
            for _ in range(warmup):
                with autocast(device, amp):
                    net.training_step(b, opts, step)
            _sync(device)
            warm_s = time.perf_counter() - t0
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            t0 = time.perf_counter()
            for _ in range(iters):
                with autocast(device, amp):
                    net.training_step(b, opts, step)
            _sync(device)
            s_iter = (time.perf_counter() - t0) / iters
            peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
            out[mode] = {"s_per_iter": round(s_iter, 5), "samples_per_s": round(batch / s_iter, 1),
                         "peak_gib": None if peak is None else round(peak, 2), "warmup_s": round(warm_s, 2),
                         "compile_backend": backend or None, "batch": batch, "iters": iters}
        except Exception as e:  # one mode failing (e.g. the compiler) must not lose the others
            out[mode] = {"error": f"{type(e).__name__}: {str(e)[:400]}"}
        del net, opts
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return out


def loader_rate(device: torch.device, data: Path, batch: int, n: int) -> dict:
    """The trainer's input pipeline alone: batches of ``batch`` M3SO-NB clips per second, copied to ``device``."""
    from s2sbench.data.loader import ClipDataset

    spec = DataSpec.for_dataset("m3so-nb")
    ds = ClipDataset(data, "train", num_frames=spec.n_past + spec.n_future, audio_features=spec.audio_feature)
    n = min(n, len(ds) // batch - 1)
    workers = auto_workers(-1, device, 1)
    it = iter(train_loader(ds, batch, 0, n + 1, seed=0, rank=0, world=1, num_workers=workers,
                           pin_memory=device.type == "cuda"))
    next(it)  # workers started
    t0 = time.perf_counter()
    for _ in range(n):
        next(it).to(device, non_blocking=True)
    _sync(device)
    s = (time.perf_counter() - t0) / max(n, 1)
    return {"workers": workers, "batch": batch, "s_per_batch": round(s, 4), "clips_per_s": round(batch / s, 1)}


class _Traffic(TorchDispatchMode):
    """Counts aten ops and the bytes of their tensor inputs and outputs (memory traffic if nothing were fused)."""

    def __init__(self) -> None:
        super().__init__()
        self.ops, self.bytes = 0, 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self.ops += 1
        for x in torch.utils._pytree.tree_leaves((args, kwargs, out)):
            if isinstance(x, torch.Tensor):
                self.bytes += x.numel() * x.element_size()
        return out


def _count(fn) -> dict:
    from torch.utils.flop_counter import FlopCounterMode

    flops = FlopCounterMode(display=False)
    with flops, _Traffic() as traffic:
        fn()
    return {"flops": flops.get_total_flops(), "bytes": traffic.bytes, "ops": traffic.ops}


def estimate(device: torch.device, dry: bool, batch: int) -> dict:
    """Per-iteration and per-evaluation counts at ``batch`` clips, scaled linearly to the paper sizes."""
    from s2sbench.data.datasets import DATASETS

    net = _model(dry, device)
    opts = net.configure_optimizers()
    b = _batch(net.spec, batch, device)
    net.training_step(b, opts, PAPER_STEPS // 2)  # Adam states exist before counting
    step = _count(lambda: net.training_step(b, opts, PAPER_STEPS // 2))
    info = DATASETS.get("m3so-nb")
    n_clips, n_samples = (1, 2) if dry else (2, 50)  # 100 sequences at once: weights read once per call, as in eval
    ctx = _batch(net.spec, n_clips, device)
    audio = torch.randn(n_clips, info.n_past + info.n_future_test, net.spec.audio_dim, device=device)
    sample = _count(lambda: net.sample(ctx.video[:, : info.n_past], audio, info.n_future_test, n_samples))
    train = {k: v * PAPER_BATCH / batch for k, v in step.items()}
    train["ops"] = step["ops"]  # the number of kernels does not grow with the batch
    calls = 1000 * 100 / (n_clips * n_samples)  # 1000 clips x 100 samples
    ev = {"flops": sample["flops"] * calls, "bytes": sample["bytes"] * calls, "ops_per_call": sample["ops"],
          "sequences_per_call": n_clips * n_samples}
    lb = lambda c: {"compute_ms": c["flops"] / (H200["bf16_tflops"] * 1e12) * 1e3,  # noqa: E731
                    "memory_ms": c["bytes"] / (H200["hbm_tbs"] * 1e12) * 1e3}
    return {"counted_at_batch": batch, "config": "tiny" if dry else "paper", "train_step": train,
            "train_step_lower_bound": lb(train), "eval_sampling": ev, "eval_lower_bound": lb(ev),
            "h200": H200, "note": "bytes = inputs + outputs of every aten op (no fusion, no cache): an upper bound "
                                  "of HBM traffic; ops = aten calls of one step (launch overhead ~5 us each)"}


def train_and_eval(device: torch.device, dry: bool, data: Path, out: Path, minutes: float) -> dict:
    run_dir = out / time.strftime("run-%Y%m%d-%H%M%S")  # a fresh run directory, never an earlier check's
    sets = ([f"train.time_budget_min={minutes}"] if not dry else
            ["train.steps=2", "train.batch_size=2", "train.val_batches=1", "eval.n_clips=2", "eval.n_samples=2",
             "eval.save_samples=2", "eval.diversity_clips=1", "eval.grid_clips=1"])
    cmd = [sys.executable, "-m", "s2sbench", "run", "--model", "sound2sight", "--dataset", "m3so-nb",
           "--preset", "smoke" if dry else "paper", "--device", str(device), "--data", str(data), "--out",
           str(run_dir), "--quiet"] + [a for s in sets for a in ("--set", s)]
    t0 = time.perf_counter()
    limit = 60 * minutes + 420  # training, then the validation at the stop and the evaluation
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired as e:
        (out / "run.log").write_text(str(e.stdout or "") + str(e.stderr or ""))
        return {"error": f"timed out after {limit:.0f} s", "command": " ".join(cmd)}
    wall = time.perf_counter() - t0
    (out / "run.log").write_text(p.stdout + p.stderr)
    if p.returncode != 0:
        return {"error": (p.stdout + p.stderr)[-1500:], "command": " ".join(cmd)}
    r = json.loads((run_dir / "result.json").read_text())
    t, ev = r["train"], r["eval"]
    avg = {m: r["scores"]["best_per_frame"][m]["avg"] for m in ("ssim_paper", "psnr")
           if m in r["scores"].get("best_per_frame", {})}
    return {"command": " ".join(cmd), "steps": t["steps"], "train_wall_s": t["wall_time_s"],
            "ms_per_step": round(1e3 * t["wall_time_s"] / max(t["steps"], 1), 2), "stopped": t["stopped"],
            "eval_clips": r["clips_used"], "eval_samples": r["n_samples"], "eval_wall_s": ev.get("wall_time_s"),
            "sampling_s": ev.get("sampling_s"), "scoring_s": ev.get("scoring_s"), "best_per_frame_avg": avg,
            "total_wall_s": round(wall, 1), "run_dir": str(run_dir)}


def table(res: dict) -> str:
    lines = [f"gpu_check on {res['device_name']} (torch {res['torch']}, CUDA {res['cuda']}){' DRY RUN' if res['dry_run'] else ''}",
             f"pytest -m gpu: {res['pytest']}", "mode            s/iter   samples/s   peak GiB"]
    for mode, m in res["throughput"].items():
        if "error" in m:
            lines.append(f"{mode:<14s}  error: {m['error'][:80]}")
        else:
            lines.append(f"{mode:<14s}  {m['s_per_iter']:7.4f}  {m['samples_per_s']:10.1f}   {m['peak_gib'] or '-':>8}")
    ld = res["loader"]
    lines.append(f"loader: {ld['s_per_batch']:.4f} s per batch of {ld['batch']} with {ld['workers']} workers "
                 f"({ld['clips_per_s']:.0f} clips/s)")
    e = res["estimate"]
    lines.append(f"estimate/iter (batch {PAPER_BATCH}): {e['train_step']['flops'] / 1e12:.2f} TFLOP, "
                 f"<= {e['train_step']['bytes'] / 1e9:.1f} GB, {e['train_step']['ops']} aten ops; lower bounds "
                 f"{e['train_step_lower_bound']['compute_ms']:.1f} ms compute, "
                 f"{e['train_step_lower_bound']['memory_ms']:.1f} ms memory (goal {GOALS['train_ms_per_iter']:g})")
    t = res["train"]
    if "error" in t:
        lines.append(f"train+eval: error (see run.log): {t['error'][-200:]}")
    else:
        lines.append(f"train: {t['steps']} steps in {t['train_wall_s']:.0f} s = {t['ms_per_step']} ms/step; "
                     f"eval {t['eval_clips']} clips x {t['eval_samples']} in {t['eval_wall_s']} s "
                     f"(goal {GOALS['eval_s']:g} s); best-of-N avg {t['best_per_frame_avg']}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--train-min", type=float, default=2.0)
    ap.add_argument("--pytest-rc", default="not run")
    ap.add_argument("--dry-run", action="store_true")
    a = ap.parse_args()
    device, dry = torch.device(a.device), a.dry_run
    a.out.mkdir(parents=True, exist_ok=True)
    cuda = device.type == "cuda"
    res = {"dry_run": dry, "device": str(device), "device_name": torch.cuda.get_device_name(device) if cuda else
           platform.processor() or platform.machine(), "torch": torch.__version__, "cuda": torch.version.cuda,
           "pytest": a.pytest_rc, "goals": GOALS, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    t0 = time.perf_counter()
    batch, warmup, iters = (2, 1, 1) if dry else (PAPER_BATCH, 3, 10)
    res["throughput"] = throughput(device, dry, batch, warmup, iters)
    res["loader"] = loader_rate(device, a.data, batch, 2 if dry else 30)
    res["estimate"] = estimate(device, dry, 1 if dry else 8)
    res["train"] = train_and_eval(device, dry, a.data, a.out, a.train_min)
    res["wall_s"] = round(time.perf_counter() - t0, 1)
    (a.out / "gpu_check.json").write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {a.out / 'gpu_check.json'} and {a.out / 'run.log'}")
    print(table(res))


if __name__ == "__main__":
    main()
