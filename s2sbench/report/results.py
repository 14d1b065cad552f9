"""``RunResult``: the one record of an evaluated run, as ``RUN_DIR/result.json``; what tables and leaderboards read.

One JSON holds **every protocol and metric variant** computed from the run's samples (they share the expensive
sampling, and splitting them would let rows drift apart): ``scores[protocol][metric]`` is a summary with

- ``curve``: the per-frame score averaged over clips, one value per predicted frame (index 0 is 1-based frame
  ``n_past + 1``); ``std``: its standard deviation over clips;
- ``avg``: the mean of the curve; ``avg_std``: std over clips of each clip's frame average;
- ``n_clamped``: infinite values (PSNR of exact matches) clamped to the metric's cap before averaging.

``set_scores[name]`` holds each set-level metric (FVD; ``SetMetric``): one ``value`` per run, whatever the protocol,
with the protocol it was computed under (``protocol``: one line; and its fields: videos, frames, sample, frame size,
the features' identity, the compare record with its notes); see ``s2sbench.eval.set_scores``.

``metrics[name]`` records the metric's definition as evaluated, with its ``version`` (``metric_version``; results
written before versions were recorded read as version 1).

``at_frame(protocol, metric, frame)`` reads a curve at a 1-based frame number as the paper's tables quote them;
``final(protocol, metric)`` its last predicted frame (Table 3's block IoU; results written before block IoU was a
registered metric kept that value in the field ``block_iou``, which ``final`` reads for them).
"""
from __future__ import annotations

import dataclasses
import json
import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from s2sbench import __version__
from s2sbench.config import from_dict
from s2sbench.data.shards import atomic_write_bytes
from s2sbench.errors import InputError
from s2sbench.eval.protocols import PAPER
from s2sbench.hostinfo import cpu_name

RESULT_NAME = "result.json"
RESULT_FORMAT = 1


@dataclass
class RunResult:
    model: str
    dataset: str
    split: str
    seed: int
    n_past: int
    n_future: int
    n_samples: int
    sampling: str  # how the N samples were obtained (stochastic, or deterministic replicated)
    protocols: list[str]
    metrics: dict[str, dict]  # name -> higher_is_better, description, unit, cap, version
    scores: dict[str, dict[str, dict]]  # protocol -> metric -> summary (see module docstring)
    clips_used: int
    clips_available: int
    table_frames: list[int]  # 1-based frame numbers the paper's tables quote
    data_root: str = ""
    data_sha256: str = ""  # ShardIndex.digest() of the evaluated data
    uses_audio: bool = False
    stochastic: bool = False
    modality: str = ""  # M (audio + video), V (video only), A (audio only)
    preset: str = ""
    config: dict = field(default_factory=dict)  # resolved model config
    train: dict | None = None  # trainer summary, or None for an evaluated checkpoint
    checkpoint: str = ""
    eval: dict = field(default_factory=dict)  # evaluator settings and timings
    block_iou: dict[str, float] | None = None  # older results: protocol -> block IoU on the final frame (see final)
    diversity: dict = field(default_factory=dict)  # best-of-K and pairwise curves
    set_scores: dict[str, dict] = field(default_factory=dict)  # set-level metric -> value, protocol (see docstring)
    fooling_rate: float | None = None  # share of generated test clips the model's own discriminator calls real
    code_version: str = ""
    hardware: dict = field(default_factory=dict)
    created: str = ""
    wall_time_s: float = 0.0
    warnings: list[str] = field(default_factory=list)  # e.g. fewer clips evaluated than the preset asks for
    format: int = RESULT_FORMAT

    def at_frame(self, protocol: str, metric: str, frame: int) -> float:
        """The score at 1-based frame number ``frame`` (e.g. 6, 15, 25 for M3SO-NB)."""
        curve = self.scores[protocol][metric]["curve"]
        i = frame - self.n_past - 1
        if not 0 <= i < len(curve):
            raise ValueError(f"frame {frame} is not a predicted frame ({self.n_past + 1}..{self.n_past + len(curve)})")
        return curve[i]

    def final(self, protocol: str, metric: str) -> float | None:
        """The score of ``metric`` at the last predicted frame under ``protocol`` (None: not scored)."""
        s = self.scores.get(protocol, {}).get(metric)
        if s is not None:
            return s["curve"][-1]
        return (self.block_iou or {}).get(protocol) if metric == PAPER.block_metric else None

    def scored(self, protocol: str) -> set[str]:
        """The metrics with a value under ``protocol``: its per-frame ones and every set-level one."""
        return set(self.scores.get(protocol, {})) | set(self.set_scores)

    def metric_version(self, name: str) -> int:
        """The definition version of metric ``name`` this run was scored with (1 when not recorded)."""
        return int((self.metrics.get(name) or {}).get("version", 1))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=1, sort_keys=True, allow_nan=True) + "\n"

    def save(self, run_dir: str | os.PathLike) -> Path:
        path = Path(run_dir) / RESULT_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, self.to_json().encode())
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "RunResult":
        path = Path(path)
        if path.is_dir():
            path = path / RESULT_NAME
        if not path.is_file():
            raise InputError(f"{path}: no run result here; pass a run directory that `s2sbench run` finished")
        try:
            d = json.loads(path.read_text())
            if d.get("format") != RESULT_FORMAT:
                raise ValueError(f"format {d.get('format')!r}, this s2sbench reads {RESULT_FORMAT}")
            return from_dict(cls, d)
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            raise InputError(f"{path}: not a readable s2sbench run result ({e}); rerun the run, or move the file "
                             f"out of the runs directory") from None


def find_results(runs_dir: str | os.PathLike) -> Iterator[tuple[Path, RunResult]]:
    """Every ``result.json`` under ``runs_dir`` (sorted by path), loaded."""
    root = Path(runs_dir)
    if not root.is_dir():
        raise InputError(f"{root}: no such directory; pass the directory that holds the runs")
    for p in sorted(root.rglob(RESULT_NAME)):
        yield p, RunResult.load(p)


def require_results(runs_dir: str | os.PathLike) -> list[RunResult]:
    """Every result under ``runs_dir``; none at all is an error (a report of nothing is never written)."""
    results = [r for _, r in find_results(runs_dir)]
    if not results:
        raise InputError(f"{runs_dir}: no {RESULT_NAME} under it, nothing to report; run `s2sbench run` (or "
                         f"`s2sbench leaderboard run`) first, or pass the directory that holds the runs")
    return results


GROUP_FIELDS = (("data", "data_sha256"), ("N", "n_samples"), ("clips", "clips_used"))


def _group_value(r: RunResult, attr: str) -> str:
    v = getattr(r, attr)
    return v[:12] if attr == "data_sha256" else str(v)


def comparable_groups(results: list[RunResult], dataset: str) -> dict[str, list[RunResult]]:
    """Runs of ``dataset`` that may be averaged together: same model, preset, data index sha256, N samples and test
    clips (so seeds are the only difference). Keyed by a label ``"model (preset)"``; when the groups differ in data,
    N or clips, every label names its values (``"svg_lp (board; data 1a2b3c4d5e6f; N 10)"``), so that runs on other
    data or with another N are never mixed, nor shown side by side unmarked. Sorted by label."""
    keys: dict[tuple[str, ...], list[RunResult]] = {}
    for r in results:
        if r.dataset == dataset:
            keys.setdefault((r.model, r.preset, *(_group_value(r, a) for _, a in GROUP_FIELDS)), []).append(r)
    differ = [i for i in range(len(GROUP_FIELDS)) if len({k[2 + i] for k in keys}) > 1]
    out = {}
    for (model, preset, *vals), rs in keys.items():
        tag = "".join(f"; {GROUP_FIELDS[i][0]} {vals[i]}" for i in differ)
        out[f"{model} ({preset}{tag})"] = sorted(rs, key=lambda r: r.seed)
    return dict(sorted(out.items()))


def is_reference(model: str) -> bool:
    """Whether registered model ``model`` is a reference predictor (its class says ``reference = True``)."""
    from s2sbench.models import MODELS

    return model in MODELS and bool(getattr(MODELS.get(model), "reference", False))


def code_version(src: str | os.PathLike | None = None) -> str:
    """Package version plus ``git describe`` of the source checkout (``src``, default this package's) when there is
    one, ``-dirty`` when a tracked file outside ``leaderboard/`` (committed results, rewritten while runs go) differs
    from that commit."""
    src = Path(src) if src else Path(__file__).resolve().parents[2]

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=src, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    desc = git("describe", "--always", "--tags")
    if not desc:
        return __version__
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)leaderboard")
    return f"{__version__}+git.{desc}" + ("-dirty" if changed else "")


def hardware(device: Any = "cpu", world_size: int = 1) -> dict[str, Any]:
    """Where a run ran; ``gpu_count`` is the GPUs it trained on (the ``torchrun`` world size, one GPU per process),
    ``gpus_visible`` what the machine has."""
    import torch

    hw = {"platform": platform.platform(), "machine": platform.machine(), "cpu": cpu_name(),
          "cpu_count": os.cpu_count(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
          "device": str(device)}
    if str(device).startswith("cuda") and torch.cuda.is_available():
        hw["gpu"] = torch.cuda.get_device_name(torch.device(device))
        hw["gpu_count"] = world_size
        hw["gpus_visible"] = torch.cuda.device_count()
        hw["cuda"] = torch.version.cuda
    return hw


def modality_of(model_cls: Any) -> str:
    """``M``/``V``/``A`` as in the paper's tables: a model's ``modality`` attribute, else from ``uses_audio``."""
    return getattr(model_cls, "modality", "") or ("M" if getattr(model_cls, "uses_audio", False) else "V")
