"""The figures of ``s2sbench plots`` are readable: one panel per metric at a readable size, references grey and
dashed apart from the models, no two models alike, legends outside the data, and a visible note where a model's
samples coincide (drawn from the archived 5-minute board's results)."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest

from s2sbench.models import MODELS
from s2sbench.report import plots
from s2sbench.report.results import find_results, is_reference

pytest.importorskip("matplotlib")
BOARD = Path(__file__).resolve().parents[1] / "leaderboard" / "archive" / "board-5min" / "runs"  # both datasets


def png_size(path: Path) -> tuple[int, int]:
    return struct.unpack(">II", path.read_bytes()[16:24])


def test_models_and_references_are_told_apart():
    from matplotlib.colors import to_rgb

    labels = {f"{m} (board)": m for m in MODELS.keys()}
    styles = plots.line_styles(list(labels), labels)
    refs = [lb for lb in labels if is_reference(labels[lb])]
    models = [lb for lb in labels if lb not in refs]
    assert len(refs) == 3 and len(models) >= 10
    assert list(styles)[-3:] == sorted(refs)  # references after the models (legend order)
    for lb in refs:
        s = styles[lb]
        assert "dashes" in s and "marker" not in s and s["label"].endswith(", ref)")
        assert len(set(to_rgb(s["color"]))) == 1  # a grey
    looks = {(styles[lb]["color"], styles[lb]["marker"]) for lb in models}
    assert len(looks) == len(models)  # no two models share colour and marker
    assert all(len(set(to_rgb(styles[lb]["color"]))) > 1 for lb in models)  # no model is grey


def test_committed_board_figures_are_panels_not_strips(tmp_path):
    results = [r for _, r in find_results(BOARD)]
    paths = plots.write_plots(results, tmp_path)
    assert sorted(p.name for p in paths) == sorted(f"{d}_{n}.png" for d in ("m3so", "m3so-nb")
                                                   for n in plots.PLOT_NAMES)
    for p in paths:
        w, h = png_size(p)
        assert w <= 1400 and h >= 0.35 * w, (p.name, w, h)  # before: 3600 x 480
        assert p.stat().st_size < 200_000, p.name


def test_diversity_panel_says_when_samples_coincide(tmp_path, monkeypatch):
    figs = {}
    monkeypatch.setattr(plots, "_save", lambda fig, path: figs.setdefault(path.name, fig) and path)
    results = [r for _, r in find_results(BOARD)]
    plots.write_plots(results, tmp_path)
    for ds, who in (("m3so", "every model"), ("m3so-nb", "sound2sight_lstm")):
        ax = figs[f"{ds}_diversity.png"].axes[0]
        note = ax.get_legend().get_title().get_text()
        assert note.startswith("samples nearly identical") and who in note, note
        lo, hi = ax.get_ylim()
        assert hi - lo >= plots.MIN_SPAN  # a spread of 0.001 is not blown up to the full height
    nb = figs["m3so-nb_diversity.png"].axes[0].get_legend().get_title().get_text()
    assert "svg_lp" not in nb  # its samples differ (mean pairwise SSIM about 0.94)
    curves = figs["m3so_curves.png"]
    assert curves.legends and all(ax.get_legend() is None for ax in curves.axes if ax.has_data())  # outside
