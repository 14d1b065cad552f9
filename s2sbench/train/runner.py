"""``run()``: data -> model -> train (or load a checkpoint) -> evaluate -> ``RUN_DIR/result.json``; the CLI's engine.

The runner is where a dataset is opened: ``s2sbench.data.resolve.open_data`` checks it (generated at its default
location when missing, provenance and the shards of the splits read verified) and loads it once into a ``Data``
handle that the trainer, the evaluator and the reference predictors share; nothing below re-opens the path.

Run directory (default ``runs/<dataset>/<model>-<preset>-seed<seed>``): ``config.toml`` (the resolved options,
``s2sbench.train.runconfig``), ``result.json``, ``samples.h5``, ``grid.gif``, and when trained ``best.pt``
(selected on validation, the one evaluated), ``last.pt`` (resume), ``train_log.csv``, ``val_log.csv``. Options come
from the preset, then a ``--config`` file's tables, then ``--set`` (``train.KEY=V``, ``eval.KEY=V``, else the model
Config).

Before any compute: a ``--checkpoint`` trained on another dataset (or for another model) is refused naming both; a
``--resume`` of a finished run (``result.json`` written and nothing left to train) is refused, saying what to do.
The run prints a header before it trains and a summary after it evaluates (``s2sbench.train.orient``).
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import torch

from s2sbench.config import ConfigError, override, to_dict
from s2sbench.data.datasets import DATASETS
from s2sbench.data.handle import Data
from s2sbench.data.resolve import open_data
from s2sbench.errors import InputError, OutputError
from s2sbench.eval.evaluate import selected_metrics
from s2sbench.eval.protocols import PAPER
from s2sbench.models import MODELS, DataSpec, build_model
from s2sbench.report.results import RESULT_NAME, RunResult, code_version, hardware, modality_of
from s2sbench.safety.claims import DirLock, claim_run_dir
from s2sbench.safety.files import check_writable
from s2sbench.safety.inputs import check_device, clip_count_note
from s2sbench.train import orient
from s2sbench.train.checkpoint import load_checkpoint, training_of
from s2sbench.train.presets import PRESETS, Preset, with_seed
from s2sbench.train.runconfig import RunConfig, apply_table, save_run_config


def split_overrides(sets: tuple[str, ...] | list[str]) -> dict[str, list[str]]:
    """``train.K=V`` / ``eval.K=V`` / ``model.K=V`` (or plain ``K=V``, the model Config) -> assignments per target."""
    out: dict[str, list[str]] = {"train": [], "eval": [], "model": []}
    for s in sets:
        key, eq, value = s.partition("=")
        if not eq or not key.strip():
            raise ConfigError(f"--set {s!r}: expected KEY=VALUE (e.g. --set train.steps=100)")
        head, dot, rest = key.partition(".")
        if dot and head in out:
            out[head].append(f"{rest}={value}")
        else:
            out["model"].append(s)
    return out


def set_threads(n: int) -> None:
    """``torch.set_num_threads(n)`` for n > 0 (recorded in the RunResult's ``hardware.torch_threads``)."""
    if n < 0:
        raise ConfigError(f"--threads must be >= 0, got {n}")
    if n:
        torch.set_num_threads(n)


def resolve_device(device: str | None) -> torch.device:
    """``--device`` (auto, cpu, cuda, cuda:N) as a device; unknown names and CUDA without CUDA are one error."""
    return check_device(device)


SMOKE_BANNER = ("preset smoke: a tiny model trained for seconds; its numbers only check that the pipeline works "
                "(use --preset quick, board or paper for results)")


def _check_eval(pre: Preset, data: Data, echo: Callable[[str], None]) -> list[str]:
    """Eval options against the data before any compute; returns the warnings to record in the result. (The metrics,
    their options and weights: ``selected_metrics``, before the data is opened or generated.)"""
    splits = data.splits()
    if pre.eval.split not in splits:
        raise ConfigError(f"eval.split {pre.eval.split!r}: {data.root} has splits {', '.join(splits)}")
    available = splits[pre.eval.split]
    wanted = pre.eval.n_clips
    note = clip_count_note(pre.name, wanted, min(available, wanted) if wanted else available, available, data.root)
    if note:
        echo(f"Warning: {note}")
    return [note] if note else []


def _build(model: str, dataset: str, pre: Preset, assignments: list[str], table: dict | None = None,
           where: str = "--config [model]"):
    """The model of ``pre`` with the config file's ``[model]`` table and the ``--set`` assignments applied; a config
    the model rejects (``ConfigError``) is one line, any other exception is a bug and keeps its traceback."""
    cls = MODELS.get(model)
    cfg = apply_table(pre.model_config_for(cls), table or {}, where)
    if dataclasses.is_dataclass(cfg):
        cfg = override(cfg, assignments)
    try:
        return build_model(model, DataSpec.for_dataset(dataset), cfg)
    except ConfigError as e:
        raise ConfigError(f"model {model} cannot be built with this config ({e}); check the --set values") from None


def _spec_text(d: dict) -> str:
    return (f"{d['channels']}x{d['height']}x{d['width']} frames at {d['fps']} fps, {d['n_past']} seen + "
            f"{d['n_future']} predicted")


def check_checkpoint(path: str | os.PathLike, ck: dict, dataset: str, model: str | None = None) -> None:
    """A checkpoint is evaluated only on the dataset (and data spec) it was trained on, as the model it is."""
    if model and ck["model"] != model:
        raise InputError(f"{path}: a checkpoint of {ck['model']}, not of --model {model}; pass --model {ck['model']} "
                         f"or a checkpoint of {model}")
    have = ck["data_spec"]
    want = DataSpec.for_dataset(dataset, have.get("audio_feature", "stft")).to_dict()
    keys = ("channels", "height", "width", "audio_dim", "n_past", "n_future", "fps")
    trained = ck.get("dataset")
    if (trained and trained != dataset) or any(have.get(k) != want[k] for k in keys):
        on = f"{trained} ({_spec_text(have)})" if trained else _spec_text(have)
        fix = f"pass --dataset {trained}" if trained else f"pass a checkpoint trained on {dataset}"
        raise InputError(f"{path}: trained on {on}, not on {dataset} ({_spec_text(want)}); {fix}, or a checkpoint "
                         f"trained on {dataset}")


def _check_finished(run_dir: Path, train) -> None:
    """``--resume`` of a finished run (result written, no step or budget left) is refused, saying what to do."""
    from s2sbench.train.budget import over_budget
    from s2sbench.train.state import read_last

    if not (run_dir / RESULT_NAME).exists() or not (run_dir / "last.pt").exists():
        return
    ck = read_last(run_dir / "last.pt")
    used = {k: float(v) for k, v in ck.get("budget_used", {"wall_s": 0.0, "cpu_s": 0.0}).items()}
    if ck["step"] < train.steps and not over_budget(train, used):
        return  # more to train (e.g. a larger train.steps): the result is replaced by the longer run's
    if (RunResult.load(run_dir).train or {}).get("steps") != ck["step"]:
        return  # the result is an earlier leg's (stopped while evaluating a longer one): --resume evaluates it
    why = over_budget(train, used) or f"step {ck['step']:,} of {train.steps:,}"
    more = ("--set train.steps=N (N > {})".format(ck["step"]) if ck["step"] >= train.steps else
            "a larger --set train.cpu_budget_min / train.time_budget_min")
    raise OutputError(f"{run_dir}: the run is finished ({why}, result.json written); to train longer add {more} "
                      f"to --resume, to evaluate again `s2sbench evaluate {run_dir / 'best.pt'} --overwrite`, to "
                      f"start again --overwrite")


def run(model: str, dataset: str, *, preset: str = "smoke", device: str | None = None, seed: int = 0,
        out: str | os.PathLike | None = None, checkpoint: str | os.PathLike | None = None,
        data: str | os.PathLike | None = None, sets: tuple[str, ...] = (), resume: bool = False,
        overwrite: bool = False, progress: bool = True, echo: Callable[[str], None] = print,
        config: RunConfig | None = None) -> tuple[RunResult | None, Path]:
    """Train (or load ``checkpoint``) and evaluate; writes and returns the ``RunResult`` and the run directory.

    ``config``: a loaded ``--config`` file, whose tables apply before ``sets``. Every option, the run directory
    (``s2sbench.safety.claims.claim_run_dir``: a checkpoint there needs ``resume`` or ``overwrite``), the checkpoint
    and the data are checked before any compute; the run directory is locked while it runs. ``progress=False``
    (``--quiet``) also silences the header and the summary.

    Under ``torchrun`` every process trains (DDP, one device each: ``cuda:LOCAL_RANK``, or the CPU with ``--device
    cpu``); rank 0 alone checks and generates missing data (the others wait without a timeout and stop with its error
    if it fails), evaluates and writes; the other ranks return ``(None, run_dir)``."""
    from s2sbench.eval.validation import val_scores
    from s2sbench.train import distributed
    from s2sbench.train.trainer import fit, seed_everything

    t0, version = time.perf_counter(), code_version()  # the checkout the run starts from
    info, pre = DATASETS.get(dataset), with_seed(PRESETS.get(preset), seed)
    ov, cf = split_overrides(sets), config or RunConfig(Path("--config"))
    train = apply_table(pre.train, cf.train, f"{cf.path} [train]")
    ev = apply_table(pre.eval, cf.eval, f"{cf.path} [eval]")
    pre = replace(pre, train=override(train, ov["train"]), eval=override(ev, ov["eval"]))
    selected_metrics(pre.eval)  # metric names, options and the learned metrics' weights, before any compute
    rank, world, local = distributed.init()
    dev = resolve_device(device) if world == 1 or device == "cpu" else distributed.device(local)
    run_dir = Path(out) if out else Path("runs") / dataset / f"{model}-{preset}-seed{seed}"
    seed_everything(seed)  # the model's initial weights depend on the seed alone
    if checkpoint:  # read (and verified) once, before the data: a foreign one is refused before any compute
        net, ck = load_checkpoint(checkpoint, map_location=dev)
        check_checkpoint(checkpoint, ck, dataset, model)
    else:  # bad model options fail here
        net = _build(model, dataset, pre, ov["model"], cf.model, f"{cf.path} [model]")
    lock = contextlib.nullcontext()
    if rank == 0:
        check_writable(run_dir)
        lock = DirLock(run_dir, "run directory")
    with lock:
        notes: list[str] = []
        opened, err = None, None
        if rank == 0:
            try:  # the other ranks wait on the control group (no compute timeout) and stop with rank 0's error
                claim_run_dir(run_dir, resume=resume, overwrite=overwrite, training=not checkpoint)
                if resume:
                    _check_finished(run_dir, pre.train)
                opened = open_data(dataset, data, echo=echo, progress=progress, splits=
                                   ("test",) if checkpoint else ("train", "val", "test"))
                notes = _check_eval(pre, opened, echo)
                save_run_config(run_dir, {"model": model, "dataset": dataset, "preset": preset, "seed": seed,
                                          "device": device, "data": str(opened.root), "checkpoint": checkpoint and
                                          str(checkpoint)}, _config_of(net), pre.train, pre.eval)
                if progress:  # after the checks, so that an error is the only line
                    echo("\n".join(orient.header(net, opened, dev, pre, run_dir, resume=resume,
                                                 checkpoint=checkpoint and str(checkpoint))))
                if pre.name == "smoke":
                    echo(f"Note: {SMOKE_BANNER}")
                if not checkpoint and (warn := orient.cpu_warning(pre, dev)):
                    echo(warn)
            except Exception as e:
                err = e
        distributed.share_error(err)
        if opened is None and not checkpoint:  # the other ranks of a torchrun launch open what rank 0 checked
            opened = Data.open(Path(data) if data else info.default_dir(), dataset)
        seed_everything(seed)
        train_summary = None
        if checkpoint:
            distributed.shutdown()
            if rank != 0:  # evaluation only: rank 0 does it
                return None, run_dir
            ckpt_path = Path(checkpoint)
        else:
            train_summary = fit(net, opened, run_dir, pre.train, val_score=val_scores, device=dev, resume=resume,
                                progress=progress, extra={"dataset": dataset, "preset": preset, "seed": seed})
            distributed.shutdown()  # training is over; rank 0 alone reads best.pt (it wrote it) and evaluates
            if rank != 0:
                return None, run_dir
            ckpt_path = Path(train_summary["checkpoint"])
            net, _ = load_checkpoint(ckpt_path, map_location=dev)
        result = evaluate_model(net, opened, pre, dev, run_dir, progress=progress, seed=seed,
                                checkpoint=str(ckpt_path), train=train_summary, version=version)
        result.warnings = notes
        result.wall_time_s = round(time.perf_counter() - t0, 3)
        result.save(run_dir)
    return result, run_dir


def _config_of(net) -> dict:
    return to_dict(net.config) if dataclasses.is_dataclass(net.config) else {}


def evaluate_model(net, data: Data, pre: Preset, dev: torch.device, run_dir: Path, *, progress: bool, seed: int,
                   checkpoint: str, train: dict | None, version: str = "", trained_under: str = "") -> RunResult:
    """The ``RunResult`` of ``net`` evaluated as ``pre`` says; its ``preset`` is the training budget
    (``trained_under``, the checkpoint's preset, when it was trained under another one), ``eval["preset"]`` the
    preset whose evaluation settings were used."""
    from s2sbench.eval.evaluate import evaluate

    t0 = time.perf_counter()
    ev = evaluate(net, data, pre.eval, device=dev, out_dir=run_dir, progress=progress)
    ev["eval"] = {**ev.get("eval", {}), "preset": pre.name}
    cfg = dataclasses.asdict(net.config) if dataclasses.is_dataclass(net.config) else {}
    return RunResult(model=net.name, dataset=data.name, seed=seed, data_root=str(data.root),
                     data_sha256=data.digest, uses_audio=net.uses_audio,
                     stochastic=net.stochastic, modality=modality_of(type(net)), preset=trained_under or pre.name,
                     config=cfg,
                     train=train, checkpoint=checkpoint, code_version=version or code_version(),
                     hardware=hardware(dev, (train or {}).get("world_size", 1)),
                     created=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                     wall_time_s=round(time.perf_counter() - t0, 3), **ev)


def evaluate_checkpoint(checkpoint: str | os.PathLike, *, dataset: str | None = None, preset: str | None = None,
                        device: str | None = None, seed: int | None = None, out: str | os.PathLike | None = None,
                        data: str | os.PathLike | None = None, sets: tuple[str, ...] = (), progress: bool = True,
                        overwrite: bool = False, echo: Callable[[str], None] = print) -> tuple[RunResult, Path]:
    """Evaluate a saved checkpoint; dataset, preset (evaluation size) and seed default to those recorded in it (else
    the paper's evaluation and seed 0); writes result.json, samples.h5 and grid.gif next to the checkpoint unless
    ``out``."""
    dev = resolve_device(device)
    net, ck = load_checkpoint(checkpoint, map_location=dev)
    dataset = dataset or ck.get("dataset")
    if not dataset:
        raise InputError(f"{checkpoint}: the checkpoint does not record its dataset; pass --dataset")
    check_checkpoint(checkpoint, ck, dataset)
    seed = ck.get("seed", 0) if seed is None else seed
    pre = with_seed(PRESETS.get(preset or ck.get("preset") or "paper"), seed)
    pre = replace(pre, eval=override(pre.eval, split_overrides(sets)["eval"]))
    selected_metrics(pre.eval)
    run_dir = Path(out) if out else Path(checkpoint).parent
    check_writable(run_dir)
    train = training_of(Path(checkpoint), ck)  # read before --overwrite may replace the result.json it comes from
    with DirLock(run_dir, "run directory"):
        claim_run_dir(run_dir, resume=False, overwrite=overwrite, training=False)
        opened = open_data(dataset, data, echo=echo, progress=progress, splits=("test",))
        notes = _check_eval(pre, opened, echo)
        t0 = time.perf_counter()
        result = evaluate_model(net, opened, pre, dev, run_dir, progress=progress, seed=seed,
                                checkpoint=str(checkpoint), train=train, trained_under=ck.get("preset") or "")
        result.warnings = notes
        result.wall_time_s = round(time.perf_counter() - t0, 3)
        result.save(run_dir)
    return result, run_dir


def per_frame_table(r: RunResult, protocol: str = PAPER.protocol) -> str:
    """The per-frame curves of one protocol as a text table; frames quoted by the paper's tables are starred."""
    from s2sbench.eval.metrics import METRICS

    have = r.scores.get(protocol, {})  # every metric the run has, in METRICS order (unregistered ones last)
    metrics = [m for m in METRICS.ordered() if m in have] + sorted(set(have) - set(METRICS.keys()))
    how = f"best of {r.n_samples}" if r.stochastic else f"deterministic: 1 sample counted as {r.n_samples}"
    head = f"{r.model} on {r.dataset} ({r.split}, {r.clips_used} clips, {how}, {protocol})"
    lines = [head, "frame  " + "  ".join(f"{m:>10s}" for m in metrics)]
    for i in range(r.n_future):
        f = r.n_past + 1 + i
        mark = "*" if f in r.table_frames else " "
        lines.append(f"{f:>4d}{mark}  " + "  ".join(f"{r.scores[protocol][m]['curve'][i]:10.4f}" for m in metrics))
    lines.append("avg    " + "  ".join(f"{r.scores[protocol][m]['avg']:10.4f}" for m in metrics))
    for p in r.protocols:
        if p != protocol:
            lines.append(f"{p}: " + ", ".join(f"{m} {r.scores[p][m]['avg']:.4f}" for m in metrics) + " (avg)")
    for m in metrics:
        clamped, d = have[m].get("n_clamped", 0), r.metrics.get(m, {})
        if clamped:
            unit = f" {d['unit']}" if d.get("unit") else ""
            lines.append(f"{m}: {clamped} infinite value(s) (exact matches) counted as {d.get('cap') or 0:g}{unit}")
    for m, s in r.set_scores.items():
        lines.append(f"{m}: {s['value']:.4f} ({s['protocol']})")
    if r.block_iou:
        lines.append("block IoU (final frame): " + ", ".join(f"{p} {v:.4f}" for p, v in r.block_iou.items()))
    return "\n".join(lines)
