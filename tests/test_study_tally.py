"""Study statistics against independent routes: scipy's binomial test and Wilson interval, Fleiss' kappa on the
published worked example, and a small vote matrix whose agreement figures are worked out by hand below."""
from __future__ import annotations

import csv
import io
import math
from fractions import Fraction

import pytest
from _study_fixtures import bare_study
from click.testing import CliRunner
from scipy.stats import binomtest

from s2sbench.cli import main
from s2sbench.study import store, tally


@pytest.mark.parametrize("n", [1, 2, 5, 13, 30, 57, 100])
def test_wilson_and_binomial_match_scipy(n):
    for k in range(n + 1):
        ref = binomtest(k, n, 0.5)
        ci = ref.proportion_ci(confidence_level=0.95, method="wilson")
        lo, hi = tally.wilson(k, n)
        assert lo == pytest.approx(ci.low, abs=1e-12) and hi == pytest.approx(ci.high, abs=1e-12)
        assert tally.binom_test_half(k, n) == pytest.approx(ref.pvalue, rel=1e-12, abs=1e-300)


def test_empty_counts_are_nan():
    assert all(math.isnan(x) for x in (*tally.wilson(0, 0), tally.binom_test_half(0, 0), tally.fleiss_kappa([]),
                                       tally.pairwise_agreement([])))


def test_fleiss_kappa_worked_example():
    # Fleiss' kappa example (10 subjects, 14 raters, 5 categories) as published with P = 0.378, Pe = 0.213, k = 0.210
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
             [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    assert tally.fleiss_kappa(table) == pytest.approx(0.210, abs=5e-4)
    # varying raters per item: P_i = 1 and 0, P = 1/2, p_j = 3/5, 1/5, 1/5, Pe = 11/25, kappa = (1/2 - 11/25) / (14/25)
    assert tally.fleiss_kappa([[2, 0, 0], [1, 1, 1], [1, 0, 0]]) == pytest.approx(float(Fraction(3, 28)))
    assert tally.fleiss_kappa([[3, 0, 0], [0, 3, 0]]) == pytest.approx(1.0)


# preferred run per pair and rater ("-" = no vote); bare_study shows run B left on odd pairs, A on even pairs
VOTES = {1: ("A", "A", "A"), 2: ("A", "A", "B"), 3: ("A", "B", "tie"), 4: ("B", "B", "B"), 5: ("A", "tie", "tie"),
         6: ("A", "-", "-")}


def _choice(preferred: str, left_run: str) -> str:
    return "tie" if preferred == "tie" else ("left" if preferred == left_run else "right")


@pytest.fixture
def voted_study(tmp_path):
    study = bare_study(tmp_path / "s", 6)
    conn = store.open_study(study)
    ids = {}
    for name in ("r1", "r2", "r3"):
        store.add_rater(conn, name)
        ids[name] = conn.execute("SELECT id FROM raters WHERE name = ?", (name,)).fetchone()[0]
    for pair, prefs in VOTES.items():
        left = "B" if pair % 2 else "A"
        for name, pref in zip(("r1", "r2", "r3"), prefs):
            if pref != "-":
                store.record_vote(conn, ids[name], pair, "tie" if pref == "B" else _choice(pref, left))
                store.record_vote(conn, ids[name], pair, _choice(pref, left))  # a changed vote replaces the first
    conn.close()
    return study


def test_summary_by_hand(voted_study):
    conn = store.open_study(voted_study)
    s = tally.summarize(conn)
    conn.close()
    p = s["preference"]
    assert (p["n_a"], p["n_b"], p["n_tie"]) == (8, 5, 3) and s["votes"] == 16
    ref = binomtest(8, 13, 0.5)
    ci = ref.proportion_ci(method="wilson")
    assert p["prefer_a"] == pytest.approx(8 / 13)
    assert (p["ci_low"], p["ci_high"]) == (pytest.approx(ci.low), pytest.approx(ci.high))
    assert p["p_value"] == pytest.approx(ref.pvalue)
    # pair pluralities: A, A, none, B, tie, A
    assert s["pair_majority"] == {"n_a": 3, "n_b": 1, "n_tie": 1, "n_none": 1, "prefer_a": 0.75}
    # items with >= 2 votes (A/B/tie): [3,0,0] [2,1,0] [1,1,1] [0,3,0] [1,0,2]: P = 8/15, Pe = 83/225 -> 37/142
    assert s["fleiss_kappa"] == pytest.approx(37 / 142)
    assert s["pairwise_agreement"] == pytest.approx(16 / 30)
    agree = {r["rater"]: (r["agree_with_others"], r["n_comparable"], r["votes"]) for r in s["raters"]}
    assert agree == {"r1": (pytest.approx(2 / 3), 3, 6), "r2": (1.0, 2, 5), "r3": (pytest.approx(2 / 3), 3, 5)}


def test_tally_cli_writes_table4_and_votes(voted_study, tmp_path):
    res = CliRunner().invoke(main, ["study", "tally", str(voted_study), "--export", str(tmp_path / "votes.csv")])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO((voted_study / "table4.csv").read_text())))
    ours, paper = rows[0], rows[1:]
    assert ours["source"] == "this study" and float(ours["prefer_a"]) == pytest.approx(8 / 13)
    assert [(r["dataset"], float(r["prefer_a"]), r["source"]) for r in paper] == [
        ("AudioSet", 0.83, "paper"), ("YouTube Painting", 0.92, "paper")]
    md = (voted_study / "table4.md").read_text()
    assert "| 61.5% |" in md and "| 75.0% of 4 pairs |" in md  # pair majority: 3 of the 4 pairs with an A/B one
    assert "| 83% |" in md and "| 92% |" in md and md.count("| paper |") == 2
    votes = list(csv.DictReader(io.StringIO((tmp_path / "votes.csv").read_text())))
    assert len(votes) == 16 and all(v["revisions"] == "1" for v in votes)
    pair3 = {v["rater"]: (v["choice"], v["preferred"], v["preferred_model"]) for v in votes if v["pair_id"] == "3"}
    assert pair3 == {"r1": ("right", "A", "model-a"), "r2": ("left", "B", "model-b"), "r3": ("tie", "tie", "")}
    raters = list(csv.DictReader(io.StringIO((voted_study / "raters.csv").read_text())))
    assert [r["rater"] for r in raters] == ["r1", "r2", "r3"]


def test_closed_study_refuses_votes(voted_study):
    res = CliRunner().invoke(main, ["study", "close", str(voted_study)])
    assert res.exit_code == 0 and "16 votes are final" in res.output
    conn = store.open_study(voted_study)
    with pytest.raises(store.VoteRefused) as e:
        store.record_vote(conn, 1, 1, "tie")
    assert e.value.status == 403
    assert conn.execute("SELECT choice FROM votes WHERE rater_id = 1 AND pair_id = 1").fetchone()[0] == "right"
    conn.close()
    # no new raters after the close (their links could not vote); a new admin link and a rotated one still work
    res = CliRunner().invoke(main, ["study", "invite", str(voted_study), "--rater", "late"])
    assert res.exit_code == 1 and "closed" in res.output and "/r/" not in res.output
    assert CliRunner().invoke(main, ["study", "invite", str(voted_study), "--admin"]).exit_code == 0
    res = CliRunner().invoke(main, ["study", "invite", str(voted_study), "--rater", "r1", "--rotate"])
    assert res.exit_code == 0 and "/r/" in res.output and "cannot change" in res.output
