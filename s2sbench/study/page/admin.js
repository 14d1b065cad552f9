// Admin page logic: fetch api/tally every 5 seconds and show it (text only: values are never parsed as HTML).
"use strict";

const $ = (id) => document.getElementById(id);
const pct = (x) => (x === null || x === undefined ? "–" : `${(100 * x).toFixed(1)}%`);
const num = (x, d) => (x === null || x === undefined ? "–" : x.toPrecision(d));

function fill(tbody, rows, headerColumn) {
  tbody.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    cells.forEach((c, i) => {
      const td = document.createElement(headerColumn && i === 0 ? "th" : "td");
      td.textContent = c;
      tr.appendChild(td);
    });
    return tr;
  }));
}

// the share over the pairs whose majority is A or B, with that denominator and what was left out
function pairMajority(m, voted) {
  const n = m.n_a + m.n_b;
  const left = [m.n_tie && `${m.n_tie} "can't tell"`, m.n_none && `${m.n_none} without a majority`].filter(Boolean);
  return `${pct(m.prefer_a)} (${m.n_a} of ${n} pairs; of ${voted} voted` +
    (left.length ? `, ${left.join(", ")} left out)` : ")");
}

async function refresh() {
  try {
    const res = await fetch("api/tally", { cache: "no-store" });
    if (!res.ok) throw new Error(`the server answered ${res.status}`);
    const t = await res.json();
    const p = t.preference;
    $("what").textContent = `${t.dataset} (${t.split}): A = ${t.a}, B = ${t.b}; ${t.n_pairs} pairs; ` +
      (t.closed_at ? `closed at ${t.closed_at}` : "open for votes");
    fill($("summary").tBodies[0], [
      ["Prefer A", pct(p.prefer_a)],
      ["95% CI (Wilson)", p.ci_low === null ? "–" : `${pct(p.ci_low)} – ${pct(p.ci_high)}`],
      ["p (exact binomial)", num(p.p_value, 3)],
      ["Votes A / B / tie", `${p.n_a} / ${p.n_b} / ${p.n_tie}`],
      ["Pair majority prefer A", pairMajority(t.pair_majority, t.pairs_voted)],
      ["Pairs voted", `${t.pairs_voted} of ${t.n_pairs}`],
      ["Raters voted / invited", `${t.raters_voted} / ${t.raters_invited}`],
      ["Fleiss' kappa", num(t.fleiss_kappa, 3)],
      ["Pairwise agreement", pct(t.pairwise_agreement)],
    ], true);
    fill($("raters").tBodies[0], t.raters.map((r) => [
      r.rater, String(r.votes), pct(r.prefer_a), `${r.n_a} / ${r.n_b} / ${r.n_tie}`,
      `${pct(r.agree_with_others)} (${r.n_comparable} pairs)`,
    ]));
    $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    $("status").textContent = "";
  } catch (e) {
    $("status").textContent = `Could not load the tally: ${e.message}`;
  }
}

refresh();
setInterval(refresh, 5000);
