"""Which metric columns a report shows, read from the ``METRICS`` registry (no list of metric names elsewhere).

A report column is a metric *family* (``Metric.column``): ``ssim`` holds the variants ``ssim_paper`` and ``ssim``,
``psnr`` holds ``psnr``. Columns come in registration order; each has a table header (``Metric.title``), printed
decimals (``Metric.digits``) and a direction (``higher_is_better``). A report shows one variant of a family at a
time: the variant a row or table asks for when it belongs to the family, else the family's first metric that the
results have. Metric names found in results but no longer registered are their own family, after the registered ones.

A set-level metric (``SetMetric``, e.g. FVD: ``scope == "set"``) is a column with one value per row, not one per
report frame; results keep it in ``RunResult.set_scores``, and ``metrics_in(..., sets=True)`` includes it.

Reports show only the columns whose metrics the results have, so registering a metric changes no report of results
that lack it. A metric that is no longer computed (``RETIRED``) keeps its header, decimals and direction.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from s2sbench.eval.metrics import METRICS, RETIRED
from s2sbench.eval.protocols import PAPER

VARIANT_FAMILY = METRICS.get(PAPER.metric).column  # the family whose variant a row names (CSV ``<family>_variant``)


@dataclass(frozen=True)
class Column:
    family: str  # the CSV column prefix, e.g. "ssim" -> ssim_avg, ssim_fr6, ...
    metrics: tuple[str, ...]  # its metrics (variants), registration order
    title: str  # table header, e.g. "SSIM"
    digits: int
    higher_is_better: bool
    scope: str = "frame"  # "frame": a value per report frame; "set": one value (``SetMetric``)

    def pick(self, variant: str, available: Iterable[str]) -> str | None:
        """The metric of this column to show: ``variant`` if it is one of ours and available, else our first
        available metric (``None``: none)."""
        have = set(available)
        if variant in self.metrics:
            return variant if variant in have else None
        return next((m for m in self.metrics if m in have), None)

    def fmt(self, v: float | None) -> str:
        """Fixed decimals; empty for None and NaN (a frame the metric does not score, e.g. no block yet)."""
        return "" if v is None or v != v else f"{v:.{self.digits}f}"


def metric_columns(present: Iterable[str] | None = None) -> list[Column]:
    """Columns of the registered metrics, in registration order; with ``present`` (metric names the results have),
    only columns with at least one of them, plus unregistered present names as columns of their own."""
    have = None if present is None else set(present)
    fams: dict[str, list[str]] = {}
    for name in METRICS.ordered():
        if have is None or name in have:
            fams.setdefault(METRICS.get(name).column, []).append(name)
    cols = []
    for fam, names in fams.items():
        first = METRICS.get(names[0])
        cols.append(Column(fam, tuple(m for m in METRICS.ordered() if METRICS.get(m).column == fam), first.title,
                           first.digits, first.higher_is_better, first.scope))
    for name in sorted((have or set()) - set(METRICS.keys())):
        old = RETIRED.get(name) if name in RETIRED else None
        cols.append(Column(name, (name,), old.title, old.digits, old.higher_is_better) if old else
                    Column(name, (name,), name, 4, True))
    return cols


def variants(family: str = VARIANT_FAMILY) -> list[str]:
    """The registered metrics of ``family``, registration order (e.g. ``["ssim_paper", "ssim"]``)."""
    return [m for m in METRICS.ordered() if METRICS.get(m).column == family]


def column_of(metric: str) -> Column:
    """The column that shows ``metric``."""
    return next(c for c in metric_columns([metric]) if metric in c.metrics)


def metrics_in(results: Iterable, protocol: str | None = None, *, sets: bool = False) -> set[str]:
    """Metric names with per-frame scores in any of ``results`` (under ``protocol``, or any); with ``sets``, the
    set-level metrics they have too."""
    results = list(results)
    have = {m for r in results for p, ms in r.scores.items() if protocol in (None, p) for m in ms}
    return have | {m for r in results for m in r.set_scores} if sets else have
