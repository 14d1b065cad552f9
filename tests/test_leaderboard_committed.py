"""The committed leaderboards are exactly what their committed runs give: the CSVs and the rendered tables rebuild
byte for byte from ``runs/**/result.json``, every run is a board run of a registered model at the board's budget,
and the data digest every row names is the digest of the data `make-m3so` generates today with its defaults (M3SO:
the 24 px block). Three boards: ``leaderboard/`` (the ``board`` preset, 15 CPU minutes), the archived 15-minute
M3SO-NB board of ``4d32c9d`` ``leaderboard/archive/board-4d32c9d/`` (before LPIPS and DDPAE's fix; M3SO-NB only),
and the archived 5-minute board ``leaderboard/archive/board-5min/`` (made under the name ``board`` before it moved
to 15 minutes; the ``board-5min`` preset reproduces it)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from s2sbench.cli import main
from s2sbench.report.results import find_results

BOARD = Path(__file__).resolve().parents[1] / "leaderboard"
BOARDS = {"board": BOARD, "board-4d32c9d": BOARD / "archive" / "board-4d32c9d",
          "board-5min": BOARD / "archive" / "board-5min"}
ARCHIVED_DATASETS = {"board-4d32c9d": ("m3so-nb",), "board-5min": ("m3so-nb", "m3so")}
TABLE_DIRS = {"paper-protocol": [], "strict-protocol": ["--protocol", "best_sequence", "--ssim", "ssim"]}


def committed_results(board: str):
    return [r for _, r in find_results(BOARDS[board] / "runs")]


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_leaderboard_csvs_rebuild_byte_for_byte(tmp_path, board):
    res = CliRunner().invoke(main, ["leaderboard", "build", str(BOARDS[board] / "runs"), "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    built = sorted(p.name for p in tmp_path.glob("*.csv"))
    assert built == sorted(p.name for p in BOARDS[board].glob("*.csv")) and built
    for name in built:
        assert (tmp_path / name).read_bytes() == (BOARDS[board] / name).read_bytes(), name


@pytest.mark.parametrize("board", sorted(BOARDS))
@pytest.mark.parametrize("name", sorted(TABLE_DIRS))
def test_rendered_tables_rebuild_byte_for_byte(tmp_path, board, name):
    res = CliRunner().invoke(main, ["tables", str(BOARDS[board] / "runs"), "--out", str(tmp_path), *TABLE_DIRS[name]])
    assert res.exit_code == 0, res.output
    committed = sorted(p.name for p in (BOARDS[board] / "tables" / name).iterdir())
    assert committed == sorted(p.name for p in tmp_path.iterdir()) and "table1.md" in committed
    for f in committed:
        assert (tmp_path / f).read_bytes() == (BOARDS[board] / "tables" / name / f).read_bytes(), f


def registered_models() -> set[str]:
    """The models a user sees (a fresh interpreter: test-only models registered by other tests do not count)."""
    out = subprocess.run([sys.executable, "-c", "from s2sbench.models import MODELS; print(*MODELS.keys())"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("board, minutes", [("board", 15), ("board-4d32c9d", 15), ("board-5min", 5)])
def test_every_run_is_a_board_run_at_the_boards_budget(board, minutes):
    from s2sbench.models import MODELS

    results = committed_results(board)
    assert results and {r.preset for r in results} == {"board"}
    for ds in {r.dataset for r in results}:
        assert len({r.data_sha256 for r in results if r.dataset == ds}) == 1, f"{ds}: runs on different data"
    for r in results:
        assert r.n_samples == 100 and set(r.protocols) >= {"best_per_frame", "best_sequence"}
        if r.train is not None and MODELS.get(r.model).trainable:  # the CPU budget, or the preset's step cap first
            capped = r.train["stopped"] == "completed" and r.train["steps"] == r.train["steps_planned"] == 3000
            assert capped or r.train["stopped"].startswith(f"CPU budget of {minutes} min"), (r.dataset, r.model)
        if minutes == 15:  # the 15-minute boards score FVD in every row
            assert r.set_scores["fvd"]["n_videos"] == 50, (r.dataset, r.model)


@pytest.mark.parametrize("dataset, frames", [("m3so-nb", "6-25"), ("m3so", "31-70")])
def test_board_rows_name_how_their_checkpoint_was_selected_and_the_fvd_protocol(dataset, frames):
    import csv

    if not (BOARD / f"{dataset}.csv").exists():
        pytest.skip(f"no committed {dataset} runs yet")
    with open(BOARD / f"{dataset}.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    learned = [r for r in rows if r["reference"] == "false"]
    assert {r["selected_on"] for r in learned} <= {"val_digit_err"}  # select_on=auto on M3SO and M3SO-NB
    assert all(r["fvd_protocol"].startswith(f"50 videos per set, predicted frames {frames}, the first sample") and
               r["fvd_avg"] for r in rows), {r["fvd_protocol"] for r in rows}


@pytest.mark.parametrize("board", sorted(ARCHIVED_DATASETS))
def test_an_archived_board_has_every_model_with_two_seeds_on_its_datasets(board):
    results, models = committed_results(board), registered_models()
    assert "sound2sight" in models and len(models) >= 11
    assert {r.dataset for r in results} == set(ARCHIVED_DATASETS[board])
    for ds in ARCHIVED_DATASETS[board]:
        for m in models:
            assert {r.seed for r in results if r.dataset == ds and r.model == m} == {0, 1}, (board, ds, m)


def test_the_board_has_every_model_with_two_seeds_on_both_datasets():
    results, models = committed_results("board"), registered_models()
    for ds in ("m3so-nb", "m3so"):
        for m in models:
            assert {r.seed for r in results if r.dataset == ds and r.model == m} >= {0, 1}, (ds, m)


@pytest.mark.slow
@pytest.mark.parametrize("dataset,variant", [("m3so-nb", "nb"), ("m3so", "m3so")])
def test_rows_name_the_data_that_make_m3so_generates_today(tmp_path, dataset, variant):
    from s2sbench.data.shards import ShardIndex
    from s2sbench.generators.m3so import make_m3so

    make_m3so(tmp_path, variant=variant, seed=0, progress=False)
    digest = ShardIndex.load(tmp_path).digest()
    for board, datasets in ARCHIVED_DATASETS.items():
        if dataset in datasets:
            assert {r.data_sha256 for r in committed_results(board) if r.dataset == dataset} == {digest}, board
    assert {r.data_sha256 for r in committed_results("board") if r.dataset == dataset} <= {digest}


def findings(board: str, dataset: str = "m3so-nb") -> str:
    out = subprocess.run([sys.executable, str(BOARD.parent / "scripts" / "board_findings.py"),
                          str(BOARDS[board] / "runs"), "--dataset", dataset],
                         capture_output=True, text=True, check=True)
    return out.stdout


@pytest.mark.parametrize("board, dataset", [("board", "m3so-nb"), ("board", "m3so"), ("board-4d32c9d", "m3so-nb")])
def test_the_readme_quotes_the_findings_of_the_committed_runs(board, dataset):
    if not any(r.dataset == dataset for r in committed_results(board)):
        pytest.skip(f"no committed {dataset} runs yet")
    readme = (BOARDS[board] / "README.md").read_text()
    tables = findings(board, dataset).strip().split("\n\n")
    assert len(tables) == 2
    for table in tables:
        assert table in readme, (f"{BOARDS[board] / 'README.md'}: paste the new output of scripts/board_findings.py "
                                 f"{BOARDS[board] / 'runs'} --dataset {dataset}")


def test_docs_show_the_committed_boards_plots():
    """Every plot docs/leaderboard.md shows is the committed board's own (``make board`` copies them)."""
    docs = BOARD.parent / "docs"
    shown = [name for name in re.findall(r"\]\(img/([^)]+\.png)\)", (docs / "leaderboard.md").read_text())
             if (BOARD / "plots" / name).exists()]
    assert sorted(shown) == sorted(p.name for p in (BOARD / "plots").glob("*.png"))  # every plot, as make board copies
    stale = [n for n in shown if (docs / "img" / n).read_bytes() != (BOARD / "plots" / n).read_bytes()]
    assert stale == [], f"docs/img/{stale[0]} is not leaderboard/plots/{stale[0]}: run make board (or copy it)"


def test_findings_agree_with_the_archived_boards_own_reading():
    """The archived README says: no learned model beats the black frame at any table frame on M3SO-NB, and only
    audio-only and the two Vougioukas models beat every reference on digit_hit."""
    rows = {}
    for line in findings("board-5min").split("\n\n")[0].splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells
    learned = {m: c for m, c in rows.items() if "(reference)" not in m}
    assert len(learned) == 10 and {c[-2] for c in learned.values()} == {"none"}
    assert {m for m, c in learned.items() if c[-1] == "yes"} == {"audio_only", "vougioukas", "vougioukas_multiframe"}


def test_findings_agree_with_the_15_minute_archives_own_reading():
    """Its README says: SVG-LP beats every reference under the paper's metric at frames 6, 15 and 25 (both seeds),
    and every learned model but DDPAE beats every reference on digit_hit, Sound2Sight included."""
    rows = {}
    for line in findings("board-4d32c9d").split("\n\n")[0].splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells
    learned = {m: c for m, c in rows.items() if "(reference)" not in m}
    assert len(learned) == 10 and {m for m, c in learned.items() if c[-2] != "none"} >= {"svg_lp"}
    assert learned["svg_lp"][-2] == "6 15 25"
    assert {m for m, c in learned.items() if c[-1] != "yes"} == {"ddpae"}


def test_committed_scaling_table_rebuilds_from_its_points(tmp_path):
    """`scripts/scaling_curves.py --report` on the committed points writes the committed table and CSV byte for byte,
    every learned point ran at least its nominal CPU budget, and the points named cap3000 stopped at that cap."""
    import json
    import shutil

    src = BOARD / "scaling"
    shutil.copytree(src / "m3so-nb", tmp_path / "m3so-nb", ignore=shutil.ignore_patterns("*.log"))
    done = subprocess.run([sys.executable, "scripts/scaling_curves.py", "--report", "--out", str(tmp_path)],
                          cwd=BOARD.parent, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for name in ("m3so-nb.csv", "m3so-nb.md"):
        assert (tmp_path / name).read_text() == (src / name).read_text(), name
    for point in (src / "m3so-nb").glob("*/cpu*-seed0.json"):
        budget = float(point.name[3:].split("-")[0])
        assert json.loads(point.read_text())["train"]["cpu_time_s"] >= 60 * budget * 0.99, point
    for point in (src / "m3so-nb").glob("*/cap3000-seed0.json"):
        train = json.loads(point.read_text())["train"]
        assert train["steps"] == 3000 and train["stopped"] == "completed", point
