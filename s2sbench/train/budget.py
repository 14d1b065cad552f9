"""The budget clock of a training run: how much of it is used, in steps, CPU minutes of the training process (every
thread counted: robust to other load on a shared machine, so runs stopped by it are compute-matched) and wall-clock
minutes, counting what earlier sittings of a resumed run used; and why it must stop."""
from __future__ import annotations

import time
from typing import Any, Mapping

NO_STEP_CAP = 1_000_000  # ``steps`` of a budget run that its budget alone stops (no model gets near it)


def step_capped(cfg: Any) -> bool:
    """Whether ``cfg.steps`` (a ``TrainConfig``) is a limit of the run; False for ``NO_STEP_CAP`` with a budget, which
    alone stops the run (the board preset)."""
    return cfg.steps < NO_STEP_CAP or not (cfg.cpu_budget_min > 0 or cfg.time_budget_min > 0)


def over_budget(cfg: Any, spent: Mapping[str, float]) -> str:
    """Why training with ``cfg`` (a ``TrainConfig``) must stop after ``spent`` ("" while within every budget)."""
    if cfg.cpu_budget_min > 0 and spent["cpu_s"] > 60 * cfg.cpu_budget_min:
        return f"CPU budget of {cfg.cpu_budget_min:g} min reached"
    if cfg.time_budget_min > 0 and spent["wall_s"] > 60 * cfg.time_budget_min:
        return f"time budget of {cfg.time_budget_min:g} min reached"
    return ""


class Budget:
    """The clock of one ``fit`` call; ``restart(used)`` continues from what a ``last.pt`` recorded."""

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.restart()

    def restart(self, used: Mapping[str, float] | None = None) -> None:
        self.used = {"wall_s": 0.0, "cpu_s": 0.0, **{k: float(v) for k, v in (used or {}).items()}}
        self.t0, self.c0 = time.perf_counter(), time.process_time()

    def spent(self) -> dict[str, float]:
        """Seconds used so far by the run, this sitting included: ``wall_s`` and ``cpu_s``."""
        return {"wall_s": self.used["wall_s"] + time.perf_counter() - self.t0,
                "cpu_s": self.used["cpu_s"] + time.process_time() - self.c0}

    def fraction(self, step: int) -> float:
        """The share of the run used once ``step`` steps are done: the largest of the step count and the CPU and
        wall-clock budgets (those set), at most 1."""
        spent, c = self.spent(), self.cfg
        parts = [step / c.steps]
        if c.cpu_budget_min > 0:
            parts.append(spent["cpu_s"] / (60 * c.cpu_budget_min))
        if c.time_budget_min > 0:
            parts.append(spent["wall_s"] / (60 * c.time_budget_min))
        return min(1.0, max(parts))

    def over(self) -> str:
        """Why training must stop now ("" while within every budget)."""
        return over_budget(self.cfg, self.spent())
