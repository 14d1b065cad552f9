"""The trainer's logs: ``train_log.csv`` / ``val_log.csv`` (cut back to the resumed step), TensorBoard, and the
progress bar (``Progress``).

``Progress`` measures the run in the unit that will stop it: steps, or the CPU / wall-clock minutes of a budget
(``cpu_budget_min``, ``time_budget_min``) when the rates measured so far say the budget ends the run first; its ETA
is the earliest of the limits, in wall-clock time (a CPU budget is converted at the measured CPU seconds per wall
second, so it stays truthful when other work shares the machine). The bar reads, e.g.,
``train sound2sight  12%|##        | 01:13, 1.2/10 CPU min, step 41/3000, ETA 08:55 (CPU budget), loss 0.0123``.
"""
from __future__ import annotations

import csv
import sys
import time
from pathlib import Path
from typing import Any

from s2sbench.train.budget import step_capped


class CSVLog:
    """Appends rows to a CSV whose header is fixed by the first row; on resume drops rows after ``keep_step``."""

    def __init__(self, path: Path, keep_step: int | None) -> None:
        self.path, self.fields = path, None
        if keep_step is not None and path.exists():
            with open(path, newline="") as f:
                rows = list(csv.DictReader(f))
            rows = [r for r in rows if int(r["step"]) <= keep_step]
            self.fields = list(rows[0].keys()) if rows else None
            with open(path, "w", newline="") as f:
                if self.fields:
                    w = csv.DictWriter(f, self.fields, lineterminator="\n")
                    w.writeheader()
                    w.writerows(rows)
        elif path.exists():
            path.unlink()

    def write(self, row: dict[str, Any]) -> None:
        new = self.fields is None
        if new:
            self.fields = list(row.keys())
        with open(self.path, "a", newline="") as f:
            w = csv.DictWriter(f, self.fields, extrasaction="ignore", lineterminator="\n")
            if new:
                w.writeheader()
            w.writerow(row)


def tensorboard(out: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard not installed: CSV logs only
        return None
    return SummaryWriter(str(out / "tb"))


def _clock(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def _duration(seconds: float) -> str:
    """``"3.2 h"``, ``"54 days"``: a long duration, roughly."""
    hours = seconds / 3600
    return f"{hours / 24:.0f} days" if hours >= 48 else f"{hours:.1f} h" if hours >= 1 else f"{seconds / 60:.0f} min"


def _amount(used: float, total: float, kind: str) -> str:
    """``"1.2/10 CPU min"`` (seconds for a budget under two minutes)."""
    if total < 120:
        return f"{used:.0f}/{total:g} {kind}s"
    return f"{used / 60:.1f}/{total / 60:g} {kind}min"


class Progress:
    """The training bar (see the module docstring); ``cfg`` is the run's ``TrainConfig``, ``spent`` the budget used
    so far (``{"wall_s", "cpu_s"}``, including earlier runs of a resumed training)."""

    BAR = "{desc} {percentage:3.0f}%|{bar:20}| {elapsed}{postfix}"  # tqdm puts ", " before the postfix

    def __init__(self, cfg: Any, start: int, spent: dict[str, float], desc: str, show: bool) -> None:
        from tqdm import tqdm

        self.cfg, self.start, self.at = cfg, start, dict(spent)
        self.bar = tqdm(total=1000, desc=desc, disable=not show, bar_format=self.BAR, dynamic_ncols=True)
        self.loss, self.shown = "", 0.0
        self.update(start, spent, None)

    def step_seconds(self, step: int, spent: dict[str, float]) -> float:
        """Wall-clock seconds per step measured in this session (0 before its first step)."""
        done = step - self.start
        return (spent["wall_s"] - self.at["wall_s"]) / done if done > 0 else 0.0

    def limits(self, step: int, spent: dict[str, float]) -> list[tuple[float | None, float, str, str]]:
        """(wall-clock seconds left or None, fraction done, label, name) of each limit of the run."""
        cfg, per_step = self.cfg, self.step_seconds(step, spent)
        wall = spent["wall_s"] - self.at["wall_s"]
        cpu_per_wall = (spent["cpu_s"] - self.at["cpu_s"]) / wall if wall > 0 else 0.0
        out = [((cfg.steps - step) * per_step if per_step else None, step / cfg.steps, f"step {step}/{cfg.steps}",
                "steps")] if step_capped(cfg) else []
        if cfg.cpu_budget_min > 0:
            total, used = 60 * cfg.cpu_budget_min, spent["cpu_s"]
            left = max(0.0, total - used) / cpu_per_wall if cpu_per_wall > 0 else None
            out.append((left, used / total, _amount(used, total, "CPU "), "CPU budget"))
        if cfg.time_budget_min > 0:
            total, used = 60 * cfg.time_budget_min, spent["wall_s"]
            out.append((max(0.0, total - used), used / total, _amount(used, total, ""), "time budget"))
        return out

    def eta(self, step: int, spent: dict[str, float]) -> float | None:
        """Wall-clock seconds until the first limit stops the run (None before any step was measured)."""
        known = [left for left, *_ in self.limits(step, spent) if left is not None]
        return min(known) if known else None

    def update(self, step: int, spent: dict[str, float], logs: dict[str, Any] | None) -> None:
        limits = self.limits(step, spent)
        timed = [lim for lim in limits if lim[0] is not None]
        first = min(timed, key=lambda lim: lim[0]) if timed else max(limits, key=lambda lim: lim[1])
        parts = [first[2]] + [lim[2] for lim in limits if lim is not first and lim[3] == "steps"]
        if not step_capped(self.cfg):
            parts.insert(1, f"step {step}")
        if timed:
            parts.append(f"ETA {_clock(first[0])}" + (f" ({first[3]})" if len(limits) > 1 else ""))
        if logs:  # the first three of the model's logs (the loss first), to keep the line readable
            self.loss = ", ".join(f"{k} {float(v):.4g}" for k, v in list(logs.items())[:3])
        if self.loss:
            parts.append(self.loss)
        self.bar.set_postfix_str(", ".join(parts), refresh=False)
        self.bar.n = min(1000, int(1000 * first[1]))
        now = time.monotonic()
        if now - self.shown >= 0.5 or step == self.cfg.steps:
            self.bar.refresh()
            self.shown = now

    def warn_if_slow(self, step: int, spent: dict[str, float], hours: float) -> None:
        """A warning on stderr (printed even when the bar is hidden) when the run needs more than ``hours``."""
        eta = self.eta(step, spent)
        if eta is not None and eta > hours * 3600:
            self.bar.write(f"Warning: at {self.step_seconds(step, spent):.1f} s per step on the CPU, this run needs "
                           f"about {_duration(eta)} more; Ctrl-C saves last.pt and stops. Use a GPU (--device cuda), "
                           f"a budget (--set train.cpu_budget_min=MIN) or --preset quick", file=sys.stderr)

    def close(self) -> None:
        self.bar.close()
