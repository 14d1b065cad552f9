"""``leaderboard show`` on the archived 5-minute board (complete on both datasets): the paper's protocol and SSIM
by default, rows ranked by the headline score, reference predictors marked, a narrow default column set and
``--columns`` for more."""
from __future__ import annotations

import csv
from pathlib import Path

from click.testing import CliRunner

from s2sbench.cli import main
from s2sbench.eval.metrics import METRICS
from s2sbench.eval.protocols import PAPER
from s2sbench.models import MODELS
from s2sbench.report.results import is_reference

BOARD = Path(__file__).resolve().parents[1] / "leaderboard" / "archive" / "board-5min"  # complete: both datasets


def board_models() -> set[str]:
    """The models of the archived M3SO-NB board (not ``MODELS``: tests register models of their own)."""
    with open(BOARD / "m3so-nb.csv", newline="") as f:
        return {row["model"] for row in csv.DictReader(f)}


def show(*args: str):
    res = CliRunner().invoke(main, ["leaderboard", "show", "m3so-nb", "--dir", str(BOARD), *args])
    header = res.output.splitlines()[2].split() if res.exit_code == 0 else []
    rows = [dict(zip(header, line.split("  ")[0:1] + line.split()[1:])) for line in res.output.splitlines()[3:]]
    return res, header, rows


def test_default_is_the_papers_scoring_ranked_with_references_marked():
    res, header, _ = show()
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert f"protocol {PAPER.protocol}, SSIM {PAPER.metric}" in lines[0]
    family = METRICS.get(PAPER.metric).column
    assert header[:3] == ["model", "ref", f"{family}_avg"] and len(header) <= 12
    assert all(len(line) <= 120 for line in lines[2:])  # narrow: fits a terminal
    table = [line.split() for line in lines[3:]]
    models = board_models()
    assert {t[0] for t in table} == models and len(table) == len(models)  # one row per model and scoring
    assert models <= set(MODELS.keys())
    marked = {t[0] for t in table if t[1] == "ref"}
    assert marked == {m for m in models if is_reference(m)} and len(marked) == 3
    scores = [float(t[2] if t[1] == "ref" else t[1]) for t in table]
    assert scores == sorted(scores, reverse=True)  # best first (a reference may lead: it is marked)


def test_columns_and_other_protocols():
    res, header, _ = show("--columns", "model,ref,ssim_fr25,data_sha256", "--protocol", "best_sequence",
                          "--ssim", "ssim")
    assert res.exit_code == 0 and header == ["model", "ref", "ssim_fr25", "data_sha256"]
    assert "protocol best_sequence, SSIM ssim" in res.output
    res, header, _ = show("--columns", "all")
    assert res.exit_code == 0 and "code_version" in header and "seeds" in header
    res = CliRunner().invoke(main, ["leaderboard", "show", "m3so-nb", "--dir", str(BOARD), "--protocol", "all",
                                    "--ssim", "all"])
    assert res.exit_code == 0 and len(res.output.splitlines()) == 3 + 6 * len(board_models())
    assert res.output.splitlines()[2].split()[2:4] == ["protocol", "ssim_variant"]


def test_unknown_columns_and_variants_are_one_line():
    for args, name in ((["--columns", "model,nope"], "--columns: nope"), (["--ssim", "nope"], "--ssim 'nope'")):
        res = CliRunner().invoke(main, ["leaderboard", "show", "m3so-nb", "--dir", str(BOARD), *args])
        assert res.exit_code == 1 and name in res.output and "Traceback" not in res.output
        assert len(res.output.strip().splitlines()) == 1


def test_docs_show_the_current_output():
    """docs/leaderboard.md quotes `leaderboard show m3so-nb` on the archived board's CSV; regenerate the block when the
    board changes."""
    res = CliRunner().invoke(main, ["leaderboard", "show", "m3so-nb", "--dir", str(BOARD)])
    doc = (BOARD.parents[2] / "docs" / "leaderboard.md").read_text()
    assert "```text\n" + res.output.rstrip("\n") + "\n```" in doc
