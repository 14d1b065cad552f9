"""`s2sbench.report.tables`: runs are averaged only when they share model, preset, data, N and test clips; rows that differ
are labelled with what differs, and the section says what the rows share."""
from __future__ import annotations

from s2sbench.report.results import RunResult
from s2sbench.report.tables import build, render


def result(seed: int, level: float, data: str = "a" * 64, n: int = 100, model: str = "svg_lp") -> RunResult:
    curve = [level] * 20
    summary = {"curve": curve, "std": [0.0] * 20, "avg": level, "avg_std": 0.0, "n_clamped": 0}
    return RunResult(model=model, dataset="m3so-nb", split="test", seed=seed, n_past=5, n_future=20, n_samples=n,
                     sampling="stochastic", protocols=["best_per_frame"], metrics={},
                     scores={"best_per_frame": {"ssim_paper": summary, "psnr": {**summary, "avg": 20.0}}},
                     clips_used=50, clips_available=1000, table_frames=[6, 15, 25], data_sha256=data,
                     modality="V", preset="board")


def run_rows(results):
    (ds, rows, cols), _ = build(results, 1)
    return [r for r in rows if r.source == "run"]


def test_seeds_on_the_same_data_are_averaged_into_one_row():
    rows = run_rows([result(0, 0.5), result(1, 0.7)])
    assert len(rows) == 1 and rows[0].method == "svg_lp (board)" and rows[0].info["seeds"] == "0 1"
    assert abs(rows[0].values[("ssim_paper", 6)] - 0.6) < 1e-12


def test_runs_on_other_data_or_another_n_are_separate_labelled_rows():
    rows = run_rows([result(0, 0.5), result(1, 0.7, data="b" * 64), result(2, 0.9, n=10)])
    assert sorted(r.method for r in rows) == ["svg_lp (board; data aaaaaaaaaaaa; N 10)",
                                              "svg_lp (board; data aaaaaaaaaaaa; N 100)",
                                              "svg_lp (board; data bbbbbbbbbbbb; N 100)"]
    assert sorted(r.values[("ssim_paper", 25)] for r in rows) == [0.5, 0.7, 0.9]  # nothing averaged across
    md = render(1, build([result(0, 0.5), result(1, 0.7, data="b" * 64)], 1), "best_per_frame", "ssim_paper")["md"]
    assert "data index sha256: differs (see the row labels)" in md


def test_section_note_names_the_shared_data_digest():
    texts = render(1, build([result(0, 0.5), result(0, 0.6, model="ddpae")], 1), "best_per_frame", "ssim_paper")
    assert "Runs: data index sha256 aaaaaaaaaaaa, best of N = 100, test clips 50, seeds 0." in texts["md"]
    assert ",100,0,50,aaaaaaaaaaaa" in texts["csv"]
