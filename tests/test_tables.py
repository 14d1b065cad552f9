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


def block_result(seed: int, *, field: float | None = None, metric: float | None = None) -> RunResult:
    """An M3SO result with Table 3's block IoU either in the old field (results written before block IoU was a
    registered metric) or as the registered metric's curve (NaN before the block, the value at the last frame)."""
    curve = [0.5] * 40
    summary = {"curve": curve, "std": [0.0] * 40, "avg": 0.5, "avg_std": 0.0, "n_clamped": 0}
    scores = {"ssim_paper": summary}
    if metric is not None:
        scores["block_iou"] = {**summary, "curve": [float("nan")] * 11 + [0.1] * 28 + [metric], "avg": 0.1}
    return RunResult(model="svg_lp", dataset="m3so", split="test", seed=seed, n_past=30, n_future=40, n_samples=100,
                     sampling="stochastic", protocols=["best_per_frame"], metrics={},
                     scores={"best_per_frame": scores}, clips_used=50, clips_available=1000,
                     table_frames=[31, 42, 70], data_sha256="a" * 64, modality="V", preset="board",
                     block_iou={"best_per_frame": field} if field is not None else None)


def test_table3_and_the_leaderboard_read_block_iou_from_the_metric_and_from_the_old_field():
    from s2sbench.report.leaderboard import rows_for

    old, new = block_result(0, field=0.25), block_result(1, metric=0.75)
    assert old.final("best_per_frame", "block_iou") == 0.25 and new.final("best_per_frame", "block_iou") == 0.75
    (ds, rows, cols), = build([old, new], 3)
    assert ds == "m3so" and cols == [("block_iou", 0, "Localization IoU")]
    assert [r.values[("block_iou", 0)] for r in rows if r.source == "run"] == [0.5]  # seeds averaged: (0.25 + 0.75) / 2
    md = render(3, build([old, new], 3), "best_per_frame", "ssim_paper")["md"]
    assert "| svg_lp (board) | V | **0.5000** |" in md
    rows = rows_for([old, new], "m3so")  # the CSV keeps results scored with other metric sets on rows of their own
    assert sorted(r["block_iou"] for r in rows if r["ssim_variant"] == "ssim_paper") == ["0.2500", "0.7500"]


def test_a_retired_metric_keeps_its_column_format():
    from s2sbench.report.columns import metric_columns

    (col,) = metric_columns({"block_iou_t"})
    assert (col.family, col.title, col.digits, col.higher_is_better) == ("block_iou_t", "Block IoU", 3, True)


def test_table2_quotes_later_work_with_its_source_unranked_and_only_under_the_paper_protocol():
    import csv

    from s2sbench.report.tables import LATER_CSV

    with open(LATER_CSV, newline="") as f:
        quotes = [r for r in csv.DictReader(f) if r["table"] == "2"]
    assert quotes and all(r["source"].startswith("quoted, never re-run: ") for r in quotes)
    texts = render(2, build([], 2), "best_per_frame", "ssim_paper")
    section = texts["md"][texts["md"].index("**AudioSet-Drums**"):texts["md"].index("**YouTube-Painting**")]
    assert "| PSNR Fr 45 | FVD |" in section
    for q in quotes:
        line = next(ln for ln in section.splitlines() if ln.startswith(f"| quoted: {q['method']} |"))
        assert line.rstrip(" |").endswith(f"| {float(q['value']):.1f}") and "**" not in line and "<u>" not in line
        assert f"FVD (quoted: {q['method']}): {q['source']}; protocol: {q['protocol']}." in section
        assert f"2,audioset-drums,quoted,{q['method']},{q['type']},quoted,fvd,,{float(q['value']):.1f},," in texts["csv"]
    strict = render(2, build([], 2, "best_sequence", "ssim"), "best_sequence", "ssim")["md"]
    assert "quoted:" not in strict and "FVD" not in strict
