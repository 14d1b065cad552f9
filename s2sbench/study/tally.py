"""Statistics of a study and its Table 4: preference for run A, Wilson interval, exact binomial test, agreement.

Definitions (all over the stored votes, one per rater and pair):

* **Prefer A** = k_A / (k_A + k_B), ties ("can't tell") excluded. Its 95% interval is Wilson's score interval and
  its p-value the two-sided exact binomial test of "no preference" (p = 1/2): 2 * P(X <= min(k, n - k)), capped at 1.
  Each judgement counts once, as in a single-rater study; with several raters per pair the judgements are not
  independent, so the **pair majority** share (each pair counts once, by its strict-plurality label; pairs without
  one are left out) is reported too, with its denominator: the pairs whose majority is A or B.
* **Agreement with the others** (per rater): on pairs where the *other* raters have a strict-plurality label among
  A / B / tie, the share where this rater chose that label.
* **Fleiss' kappa** over the labels A / B / tie, on pairs with at least two votes, in the form that allows a varying
  number of raters per pair: P_i = sum_j n_ij (n_ij - 1) / (n_i (n_i - 1)), P = mean P_i, p_j = sum_i n_ij / sum_i
  n_i, Pe = sum_j p_j^2, kappa = (P - Pe) / (1 - Pe); with equal n_i this is Fleiss (1971).
  **Pairwise agreement** is the share of agreeing rater pairs over all rater pairs on the same video pair.

The paper's Table 4 (Sound2Sight preferred over Vougioukas et al.: 83% AudioSet, 92% YouTube Painting) is appended
to the table as rows whose source is "paper".
"""
from __future__ import annotations

import csv
import io
import math
import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

from s2sbench.study import store

Z95 = 1.959963984540054  # standard normal 97.5% quantile
LABELS = ("A", "B", "tie")
PAPER_TABLE4 = (("AudioSet", "Sound2Sight", "Vougioukas et al.", 0.83),
                ("YouTube Painting", "Sound2Sight", "Vougioukas et al.", 0.92))


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials (NaNs when n = 0)."""
    if n == 0:
        return math.nan, math.nan
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def binom_test_half(k: int, n: int) -> float:
    """Two-sided exact binomial p-value of k successes in n trials under p = 1/2 (NaN when n = 0)."""
    if n == 0:
        return math.nan
    tail = sum(math.comb(n, i) for i in range(min(k, n - k) + 1))
    return float(min(Fraction(1), Fraction(2 * tail, 2 ** n)))


def fleiss_kappa(counts: Sequence[Sequence[int]]) -> float:
    """Fleiss' kappa from per-item category counts; items with fewer than 2 ratings are dropped (NaN if none)."""
    rows = [list(r) for r in counts if sum(r) >= 2]
    if not rows:
        return math.nan
    p_items = [sum(c * (c - 1) for c in r) / (sum(r) * (sum(r) - 1)) for r in rows]
    total = sum(sum(r) for r in rows)
    p_cat = [sum(r[j] for r in rows) / total for j in range(len(rows[0]))]
    p_bar, p_e = sum(p_items) / len(rows), sum(q * q for q in p_cat)
    return math.nan if p_e == 1 else (p_bar - p_e) / (1 - p_e)


def pairwise_agreement(counts: Sequence[Sequence[int]]) -> float:
    """Share of agreeing rater pairs among all rater pairs that judged the same item (NaN if none)."""
    agree = sum(c * (c - 1) for r in counts for c in r)
    pairs = sum(sum(r) * (sum(r) - 1) for r in counts)
    return agree / pairs if pairs else math.nan


def plurality(labels: Sequence[str]) -> str | None:
    """The most frequent label if strictly more frequent than every other, else None."""
    top = Counter(labels).most_common(2)
    if not top or (len(top) == 2 and top[0][1] == top[1][1]):
        return None
    return top[0][0]


@dataclass(frozen=True)
class Preference:
    k_a: int
    k_b: int
    ties: int

    @property
    def n(self) -> int:
        return self.k_a + self.k_b

    @property
    def share(self) -> float:
        return self.k_a / self.n if self.n else math.nan

    @property
    def ci(self) -> tuple[float, float]:
        return wilson(self.k_a, self.n)

    @property
    def p(self) -> float:
        return binom_test_half(self.k_a, self.n)

    @classmethod
    def of(cls, labels: Sequence[str]) -> "Preference":
        c = Counter(labels)
        return cls(c["A"], c["B"], c["tie"])

    def to_dict(self) -> dict[str, Any]:
        lo, hi = self.ci
        return {"n_a": self.k_a, "n_b": self.k_b, "n_tie": self.ties, "prefer_a": _num(self.share),
                "ci_low": _num(lo), "ci_high": _num(hi), "p_value": _num(self.p)}


def _num(x: float) -> float | None:
    return None if math.isnan(x) else x


def summarize(conn: sqlite3.Connection) -> dict[str, Any]:
    """Everything the tally reports for one study, as JSON-ready values (the admin view shows this live)."""
    info = store.study_info(conn)
    votes = store.all_votes(conn)
    by_pair: dict[int, dict[str, str]] = defaultdict(dict)
    for v in votes:
        by_pair[v["pair_id"]][v["rater"]] = v["preferred"]
    counts = [[Counter(d.values())[lab] for lab in LABELS] for d in by_pair.values()]
    raters = []
    for name in sorted({v["rater"] for v in votes}):
        mine = [(pid, d[name]) for pid, d in by_pair.items() if name in d]
        comparable = [(lab, plurality([x for r, x in by_pair[pid].items() if r != name])) for pid, lab in mine]
        comparable = [(lab, maj) for lab, maj in comparable if maj is not None]
        agreed = sum(lab == maj for lab, maj in comparable)
        raters.append({"rater": name, "votes": len(mine), **Preference.of([lab for _, lab in mine]).to_dict(),
                       "agree_with_others": _num(agreed / len(comparable) if comparable else math.nan),
                       "n_comparable": len(comparable)})
    majorities = [m for m in (plurality(list(d.values())) for d in by_pair.values()) if m is not None]
    pair_pref = Preference.of(majorities)
    return {
        "dataset": info["dataset"], "split": info["split"], "a": info["a"]["model"], "b": info["b"]["model"],
        "n_pairs": info["n_pairs"], "pairs_voted": len(by_pair), "votes": len(votes),
        "raters_invited": conn.execute("SELECT COUNT(*) FROM raters").fetchone()[0], "raters_voted": len(raters),
        "closed_at": store.closed_at(conn), "preference": Preference.of([v["preferred"] for v in votes]).to_dict(),
        "pair_majority": {"n_a": pair_pref.k_a, "n_b": pair_pref.k_b, "n_tie": pair_pref.ties,
                          "n_none": len(by_pair) - len(majorities), "prefer_a": _num(pair_pref.share)},
        "fleiss_kappa": _num(fleiss_kappa(counts)), "pairwise_agreement": _num(pairwise_agreement(counts)),
        "raters": raters,
    }


CSV_COLUMNS = ("dataset", "split", "a_model", "b_model", "prefer_a", "ci_low", "ci_high", "p_value", "n_a", "n_b",
               "n_tie", "raters", "pairs", "pair_majority_prefer_a", "pair_majority_n", "fleiss_kappa",
               "pairwise_agreement", "source")

RATER_COLUMNS = ("dataset", "rater", "votes", "prefer_a", "ci_low", "ci_high", "p_value", "n_a", "n_b", "n_tie",
                 "agree_with_others", "n_comparable")


def table4_rows(summaries: Sequence[dict[str, Any]], paper: bool = True) -> list[dict[str, Any]]:
    rows = []
    for s in summaries:
        p = s["preference"]
        rows.append({"dataset": s["dataset"], "split": s["split"], "a_model": s["a"], "b_model": s["b"],
                     **{k: p[k] for k in ("prefer_a", "ci_low", "ci_high", "p_value", "n_a", "n_b", "n_tie")},
                     "raters": s["raters_voted"], "pairs": s["pairs_voted"],
                     "pair_majority_prefer_a": s["pair_majority"]["prefer_a"],
                     "pair_majority_n": s["pair_majority"]["n_a"] + s["pair_majority"]["n_b"],
                     "fleiss_kappa": s["fleiss_kappa"],
                     "pairwise_agreement": s["pairwise_agreement"], "source": "this study"})
    if paper:
        for name, a, b, share in PAPER_TABLE4:
            rows.append({**dict.fromkeys(CSV_COLUMNS), "dataset": name, "split": "test", "a_model": a,
                         "b_model": b, "prefer_a": share, "source": "paper"})
    return rows


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str] = CSV_COLUMNS) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r[k]) for k in columns})
    return buf.getvalue()


def _pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{100 * x:.{digits}f}%"


def _fix(x: float | None, fmt: str = ".2f") -> str:
    return "–" if x is None else format(x, fmt)


def to_markdown(summaries: Sequence[dict[str, Any]], rows: Sequence[dict[str, Any]]) -> str:
    """Table 4 (one row per study, then the paper's rows) and a per-rater table for each study."""
    out = ["Table 4: human preference, share of judgements preferring A over B (\"can't tell\" excluded)", "",
           "| Dataset | A | B | Prefer A | 95% CI (Wilson) | p (exact binomial) | A / B / tie | Raters | Pairs "
           "| Pair majority prefer A (of pairs with an A or B majority) | Fleiss' κ | Source |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["source"] == "paper":
            out.append(f"| {r['dataset']} | {r['a_model']} | {r['b_model']} | {_pct(r['prefer_a'], 0)} "
                       "| – | – | – | – | – | – | – | paper |")
            continue
        ci = "–" if r["ci_low"] is None else f"{_pct(r['ci_low'])} – {_pct(r['ci_high'])}"
        out.append(f"| {r['dataset']} | {r['a_model']} | {r['b_model']} | {_pct(r['prefer_a'])} | {ci} "
                   f"| {_fix(r['p_value'], '.3g')} | {r['n_a']} / {r['n_b']} / {r['n_tie']} | {r['raters']} "
                   f"| {r['pairs']} | {_pct(r['pair_majority_prefer_a'])} of {r['pair_majority_n']} pairs "
                   f"| {_fix(r['fleiss_kappa'])} | this study |")
    for s in summaries:
        out += ["", f"Raters ({s['dataset']}: A = {s['a']}, B = {s['b']}; pairwise agreement "
                    f"{_pct(s['pairwise_agreement'])})", "",
                "| Rater | Votes | Prefer A | A / B / tie | Agreement with the others (pairs) |",
                "|---|---|---|---|---|"]
        for r in s["raters"]:
            out.append(f"| {r['rater']} | {r['votes']} | {_pct(r['prefer_a'])} | {r['n_a']} / {r['n_b']} / "
                       f"{r['n_tie']} | {_pct(r['agree_with_others'])} ({r['n_comparable']}) |")
    return "\n".join(out) + "\n"


VOTE_COLUMNS = ("rater", "pair_id", "clip_id", "clip_index", "left_run", "choice", "preferred", "preferred_model",
                "revisions", "created", "updated")


def votes_csv(conn: sqlite3.Connection) -> str:
    """Every stored vote, one row each, with the run it preferred (A / B / tie) and that run's model name."""
    info = store.study_info(conn)
    models = {"A": info["a"]["model"], "B": info["b"]["model"], "tie": ""}
    rows = [{**dict(v), "preferred_model": models[v["preferred"]]} for v in store.all_votes(conn)]
    return to_csv(rows, VOTE_COLUMNS)
