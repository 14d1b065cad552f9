"""The trainer's logs: ``train_log.csv`` / ``val_log.csv`` (cut back to the resumed step) and TensorBoard."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any


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
