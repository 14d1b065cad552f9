"""What ``s2sbench run`` says before it trains and after it evaluates (``--quiet`` silences both).

- ``header``: the model and its parameter count, the data (directory, clips per split, digest), the device and
  precision, the budget (steps, batch, CPU / wall minutes, validation and checkpoints) and the output folder;
- ``cpu_warning``: a schedule meant for a GPU (``paper``) started on a CPU, said before anything runs (the
  trainer then measures its first steps and prints the estimate);
- ``summary``: the steps run and why training stopped, the evaluated checkpoint and why it was selected, the
  headline scores beside those of the best reference predictor run on the same data (or the command that makes
  one), and the commands to run next.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from s2sbench.eval.protocols import PAPER
from s2sbench.report.results import RESULT_NAME, RunResult, is_reference
from s2sbench.train.budget import step_capped
from s2sbench.train.precision import cpu_bf16, use_bf16

HEADLINE = (PAPER.metric, "psnr")  # the scores a summary quotes, when the run has them
GPU_STEPS = 20_000  # more training steps than this on a CPU, with no budget: warned before training


def _budget(train: Any) -> str:
    capped = step_capped(train)
    out = f"{train.steps:,} steps of {train.batch_size} clips" if capped else \
        f"steps of {train.batch_size} clips (no step cap)"
    caps = [f"{train.cpu_budget_min:g} CPU min" if train.cpu_budget_min > 0 else "",
            f"{train.time_budget_min:g} wall-clock min" if train.time_budget_min > 0 else ""]
    caps = [c for c in caps if c]
    if caps:
        out = f"{' or '.join(caps)} or {out}, whichever comes first" if capped else \
            f"{' or '.join(caps)} in {out}"
    ckpt = f"last.pt every {train.checkpoint_every:,} steps"
    if train.checkpoint_minutes > 0:
        ckpt += f" and every {train.checkpoint_minutes:g} min"
    return f"{out}; validation every {train.val_every:,} steps, {ckpt} and on Ctrl-C"


def header(net: Any, data: Any, dev: Any, pre: Any, run_dir: Path, *, checkpoint: str | None = None,
           resume: bool = False) -> list[str]:
    """The lines printed before a run trains (or, with ``checkpoint``, evaluates)."""
    import torch

    splits = ", ".join(f"{k} {v:,}" for k, v in data.splits().items())
    threads = f" ({torch.get_num_threads()} thread(s))" if dev.type == "cpu" else ""
    amp = not checkpoint and use_bf16(pre.train.precision, dev, net)
    native = f", native bf16: {cpu_bf16()}" if dev.type == "cpu" else ""
    trains = getattr(net, "trainable", True)
    what = (f"evaluate {checkpoint}" if checkpoint else ("resume training" if resume else "train") if trains
            else "compute the reference predictor") + f" (preset {pre.name})"
    lines = [f"s2sbench run: {what}",
             f"  model      {net.name} ({net.num_parameters():,} parameters)",
             f"  data       {data.name} at {data.root} (clips: {splits}; sha256 {data.digest[:12]})",
             f"  device     {dev}{threads}, {'bf16 autocast' if amp else 'float32'}{native}"]
    if not checkpoint and trains:
        lines.append(f"  budget     {_budget(pre.train)}")
    ev = pre.eval
    clips = f"{ev.n_clips:,}" if ev.n_clips else "every"
    lines += [f"  evaluate   {clips} {ev.split} clips x {ev.n_samples} samples",
              f"  output     {run_dir}"]
    return lines


def cpu_warning(pre: Any, dev: Any) -> str:
    """A warning (or "") for a schedule far beyond a CPU: many steps and no budget to stop them."""
    t = pre.train
    if dev.type != "cpu" or t.steps <= GPU_STEPS or t.cpu_budget_min > 0 or t.time_budget_min > 0:
        return ""
    return (f"Warning: preset {pre.name} trains {t.steps:,} steps of {t.batch_size} clips, a GPU's schedule, on the "
            f"CPU; the first steps are timed and the estimate printed (likely days). Ctrl-C saves last.pt and stops; "
            f"for a CPU use --preset quick or --set train.cpu_budget_min=MIN")


def _scores(r: RunResult) -> dict[str, float]:
    have = r.scores.get(PAPER.protocol, {})
    return {m: have[m]["avg"] for m in HEADLINE if m in have}


def best_reference(r: RunResult, run_dir: Path) -> tuple[Path, RunResult] | None:
    """The reference-predictor run beside ``run_dir`` (same parent) on the same data and protocol lengths with the
    highest headline SSIM, or None."""
    found = []
    for p in sorted(Path(run_dir).parent.glob(f"*/{RESULT_NAME}")):
        if p.parent.resolve() == Path(run_dir).resolve():
            continue
        try:
            o = RunResult.load(p)
        except ValueError:  # unreadable: not a reference to quote
            continue
        if (is_reference(o.model) and o.data_sha256 == r.data_sha256 and (o.n_past, o.n_future) == (r.n_past,
                r.n_future) and PAPER.metric in o.scores.get(PAPER.protocol, {})):
            found.append((p.parent, o))
    return max(found, key=lambda f: _scores(f[1])[PAPER.metric]) if found else None


def _selection(train: dict | None) -> str:
    if train is None:
        return "the checkpoint passed with --checkpoint"
    step = train.get("best_step")
    if train.get("prepared") is not None or train.get("steps_planned") == 0:
        return "step 0: a reference predictor, computed from the training split (not trained)"
    if train.get("select_on"):
        score = train.get("best_score")
        at = f" ({score:.4g})" if isinstance(score, (int, float)) else ""
        return f"step {step}: the lowest {train['select_on']}{at} on the {train.get('val_split')} split"
    return f"step {step}: the last weights (no validation split to select on)"


def _fmt(scores: dict[str, float]) -> str:
    return ", ".join(f"{m} {v:.4f}" if m == PAPER.metric else f"{m} {v:.2f}" for m, v in scores.items())


def summary(r: RunResult, run_dir: Path) -> list[str]:
    """The lines printed after a run (see the module docstring)."""
    lines, preset, evaluated = ["", "Summary"], r.preset, r.checkpoint
    t = r.train
    if t is not None and t.get("steps_planned"):
        resumed = f", resumed from step {t['resumed_from']}" if t.get("resumed_from") is not None else ""
        cfg = t.get("config")  # the run's TrainConfig as a dict
        of = "" if cfg and not step_capped(SimpleNamespace(**cfg)) else f" of {t['steps_planned']:,}"
        lines.append(f"  trained    {t['steps']:,}{of} steps{resumed} in "
                     f"{t['wall_time_s'] / 60:.1f} min ({t['cpu_time_s'] / 60:.1f} CPU min); stopped: {t['stopped']}")
    lines.append(f"  evaluated  {evaluated}, {_selection(t)}")
    how = f"best of {r.n_samples}" if r.stochastic else "deterministic"
    lines.append(f"  scores     {_fmt(_scores(r))} ({PAPER.protocol}, {r.clips_used} {r.split} clips, {how})")
    ref = None if is_reference(r.model) else best_reference(r, run_dir)
    if ref is not None:
        d, o = ref
        mine, theirs = _scores(r)[PAPER.metric], _scores(o)[PAPER.metric]
        verdict = "above" if mine > theirs else "not above"
        lines.append(f"  reference  {o.model} ({d}): {_fmt(_scores(o))}; {r.model} is {verdict} the best reference "
                     f"on {PAPER.metric}")
    elif not is_reference(r.model):
        lines.append(f"  reference  none beside this run on the same data: `s2sbench run --model copy_last --dataset "
                     f"{r.dataset} --preset {preset} --data {r.data_root}` makes one (what a score is worth)")
    lines += ["  next       open " + str(Path(run_dir) / "grid.gif") + " (ground truth, best sample, samples)",
              f"             s2sbench leaderboard build {Path(run_dir).parent} --out board  (compare the runs there)"]
    if preset == "smoke" and not is_reference(r.model):
        lines.append(f"             s2sbench run --model {r.model} --dataset {r.dataset} --preset quick  (numbers that "
                     f"mean something: <= 10 CPU min of training)")
    elif preset != "paper" and r.train is not None and not is_reference(r.model):
        lines.append(f"             s2sbench evaluate {evaluated} --preset paper --out {run_dir}-paper-eval  "
                     f"(the paper's 1000 clips x 100 samples)")
    return lines
