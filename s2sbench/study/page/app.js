// Rater page logic: load the rater's pairs (api/state), show one pair at a time, send votes (api/vote).
// Keys: 1 / ArrowLeft = left, 2 / ArrowRight = right, 0 / ArrowDown = can't tell, Space = play both,
// P / N = previous / next pair. All URLs are relative to the rater's personal link.
"use strict";

const $ = (id) => document.getElementById(id);
const LABELS = { left: "left is more realistic", right: "right is more realistic", tie: "can't tell" };
let state = null;
let pos = 0;
let sending = false;

function render() {
  const pair = state.pairs[pos];
  const voted = state.pairs.filter((p) => p.choice).length;
  $("who").textContent = state.rater;
  $("bar").value = voted / state.total;
  $("count").textContent = `${voted} of ${state.total} voted`;
  $("position").textContent = `Pair ${pos + 1} of ${state.total}`;
  $("closed").hidden = !state.closed;
  $("done").hidden = state.closed || voted < state.total;
  for (const side of ["left", "right"]) {
    const v = $(side);
    if (v.dataset.src !== pair[side]) {
      v.dataset.src = pair[side];
      v.src = pair[side];
      v.load();
    }
  }
  for (const b of document.querySelectorAll("[data-choice]")) {
    b.classList.toggle("chosen", b.dataset.choice === pair.choice);
    b.setAttribute("aria-pressed", String(b.dataset.choice === pair.choice));
    b.disabled = state.closed;
  }
  $("prev").disabled = pos === 0;
  $("next").disabled = pos === state.total - 1;
}

function status(text, bad) {
  $("status").textContent = text;
  $("status").classList.toggle("bad", Boolean(bad));
}

function go(delta) {
  pos = Math.min(state.total - 1, Math.max(0, pos + delta));
  render();
}

async function playBoth() {
  const [l, r] = [$("left"), $("right")];
  l.currentTime = 0;
  r.currentTime = 0;
  l.muted = false;
  r.muted = true; // both videos carry the same sound: play it once
  try {
    await Promise.all([l.play(), r.play()]);
  } catch (e) {
    status(`could not play: ${e.message}`, true);
  }
}

async function vote(choice) {
  if (!state || state.closed || sending) return;
  const pair = state.pairs[pos];
  sending = true;
  try {
    const res = await fetch("api/vote", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ pair: pair.id, choice }),
    });
    const body = await res.json();
    if (!res.ok) {
      if (res.status === 403) state.closed = true;
      status(`Not saved: ${body.error}`, true);
    } else {
      pair.choice = choice;
      status(`Saved for pair ${pos + 1}: ${LABELS[choice]}.`);
      const next = state.pairs.findIndex((p, i) => i > pos && !p.choice);
      if (next >= 0) pos = next;
      else if (pos < state.total - 1) pos += 1;
    }
  } catch (e) {
    status(`Not saved (connection problem): ${e.message}. Please try again.`, true);
  } finally {
    sending = false;
    render();
  }
}

function onKey(e) {
  if (e.altKey || e.ctrlKey || e.metaKey || !state) return;
  const actions = {
    "1": () => vote("left"), ArrowLeft: () => vote("left"),
    "2": () => vote("right"), ArrowRight: () => vote("right"),
    "0": () => vote("tie"), ArrowDown: () => vote("tie"),
    " ": playBoth, p: () => go(-1), P: () => go(-1), n: () => go(1), N: () => go(1),
  };
  const act = actions[e.key];
  if (act) {
    e.preventDefault();
    act();
  }
}

async function start() {
  try {
    const res = await fetch("api/state", { cache: "no-store" });
    if (!res.ok) throw new Error(`the server answered ${res.status}`);
    state = await res.json();
  } catch (e) {
    status(`Could not load the study: ${e.message}`, true);
    return;
  }
  document.documentElement.style.setProperty("--seen", `rgb(${state.seen_rgb.join(",")})`);
  const first = state.pairs.findIndex((p) => !p.choice);
  pos = first >= 0 ? first : 0;
  for (const b of document.querySelectorAll("[data-choice]")) b.addEventListener("click", () => vote(b.dataset.choice));
  $("play").addEventListener("click", playBoth);
  $("prev").addEventListener("click", () => go(-1));
  $("next").addEventListener("click", () => go(1));
  document.addEventListener("keydown", onKey);
  render();
}

start();
