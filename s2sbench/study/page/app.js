// Rater page logic: load the rater's pairs (api/state), show one pair at a time, report plays (api/play) and send
// votes (api/vote). A pair can be voted on once it was played through ("Play both" to the end; the server checks).
// Keys (not while a media element or a form field has focus; Space/Enter on a focused button press that button):
// 1 / ArrowLeft = first video, 2 / ArrowRight = second, 0 / ArrowDown = can't tell, Space = play both,
// P / N = previous / next pair. Held keys do not repeat and votes are debounced. URLs are relative to the link.
"use strict";

const $ = (id) => document.getElementById(id);
const FACTORS = [4, 3, 2, 1, 0.5]; // video size in device pixels per video pixel: integers, or half on tiny screens
const DEBOUNCE_MS = 600;
let state = null;
let pos = 0;
let sending = false;
let playing = null; // id of the pair "Play both" started and has not ended yet
let lastVote = -Infinity;
let names = ["left", "right"];

const cap = (s) => s[0].toUpperCase() + s.slice(1);
const label = (choice) =>
  (choice === "tie" ? "can't tell" : `${choice === "left" ? names[0] : names[1]} is more realistic`);

function status(text, bad) {
  $("status").textContent = text;
  $("status").classList.toggle("bad", Boolean(bad));
}

async function post(url, obj) {
  const res = await fetch(url, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(obj),
  });
  let body = {};
  try { body = await res.json(); } catch (e) { body = { error: `the server answered ${res.status}` }; }
  return [res, body];
}

// Largest integer scaling (in device pixels) at which both videos and every control fit the viewport, side by side
// if possible, else one above the other; without a fit, the largest side by side that fits the width.
function layout() {
  const v = $("left");
  const w = v.videoWidth || 260, h = v.videoHeight || 260;
  const dpr = window.devicePixelRatio || 1;
  const pair = document.querySelector(".pair");
  const width = pair.clientWidth, gap = 12, captionH = document.querySelector("figcaption").offsetHeight + 4;
  const other = document.body.offsetHeight - pair.offsetHeight;
  const room = window.innerHeight - other - 8;
  const fits = (f, side, checkHeight) => {
    const cw = (w * f) / dpr, ch = (h * f) / dpr;
    const okW = side ? 2 * cw + gap <= width : cw <= width;
    const okH = side ? ch + captionH <= room : 2 * (ch + captionH) + gap <= room;
    return okW && (!checkHeight || okH);
  };
  let pick = null;
  for (const f of FACTORS) {
    if (fits(f, true, true)) pick = [f, true];
    else if (fits(f, false, true)) pick = [f, false];
    if (pick) break;
  }
  if (!pick) pick = [FACTORS.find((f) => fits(f, true, false)) || FACTORS[FACTORS.length - 1], true];
  const [f, side] = pick;
  for (const el of [$("left"), $("right")]) {
    el.style.width = `${(w * f) / dpr}px`;
    el.style.height = `${(h * f) / dpr}px`;
    el.classList.toggle("exact", f >= 1);
  }
  pair.classList.toggle("stacked", !side);
  names = side ? ["left", "right"] : ["top", "bottom"];
  for (const el of document.querySelectorAll(".first-name")) el.textContent = names[0];
  for (const el of document.querySelectorAll(".second-name")) el.textContent = names[1];
  document.querySelector("[data-choice=left]").setAttribute("aria-label", cap(label("left")));
  document.querySelector("[data-choice=right]").setAttribute("aria-label", cap(label("right")));
  document.documentElement.dataset.layout = side ? "side" : "stacked";
  document.documentElement.dataset.scale = String(f);
}

function render() {
  const pair = state.pairs[pos];
  const voted = state.pairs.filter((p) => p.choice).length;
  $("who").textContent = state.rater;
  $("bar").value = voted / state.total;
  $("count").textContent = `${voted} of ${state.total} voted`;
  $("position").textContent = `Pair ${pos + 1} of ${state.total}`;
  $("closed").hidden = !state.closed;
  $("done").hidden = state.closed || voted < state.total;
  $("hint").hidden = state.closed || pair.played;
  for (const side of ["left", "right"]) {
    const v = $(side);
    if (v.dataset.src !== pair[side]) {
      v.pause();
      playing = null;
      v.dataset.src = pair[side];
      v.poster = pair[`${side}_poster`] || ""; // the first predicted frame, shown before play
      v.src = pair[side];
      v.load();
    }
  }
  $("play-text").textContent = pair.played ? "Play both again" : "Play both";
  $("play").setAttribute("aria-label", pair.played ? "Play both again" : "Play both");
  for (const b of document.querySelectorAll("[data-choice]")) {
    b.classList.toggle("chosen", b.dataset.choice === pair.choice);
    b.setAttribute("aria-pressed", String(b.dataset.choice === pair.choice));
    b.disabled = state.closed || !pair.played;
  }
  $("prev").disabled = pos === 0;
  $("next").disabled = pos === state.total - 1;
}

function go(delta) {
  pos = Math.min(state.total - 1, Math.max(0, pos + delta));
  render();
}

async function playBoth() {
  const pair = state.pairs[pos];
  const [l, r] = [$("left"), $("right")];
  l.currentTime = 0;
  r.currentTime = 0;
  l.muted = false;
  r.muted = true; // both videos carry the same sound: play it once
  playing = null;
  try {
    await Promise.all([l.play(), r.play()]);
  } catch (e) {
    status(`Could not play: ${e.message}`, true);
    return;
  }
  playing = pair.id;
  try {
    await post("api/play", { pair: pair.id, event: "start" });
  } catch (e) {
    status(`Connection problem: ${e.message}. Please play again.`, true);
  }
}

async function ended() {
  const pair = state.pairs[pos];
  if (!$("left").ended || !$("right").ended || playing !== pair.id) return;
  playing = null;
  try {
    const [res, body] = await post("api/play", { pair: pair.id, event: "end" });
    if (res.ok && body.played) {
      pair.played = true;
      if (!pair.choice) status(`Pair ${pos + 1} played: which one is more realistic?`);
    } else {
      status(`Not counted as played: ${body.error}`, true);
    }
  } catch (e) {
    status(`Connection problem: ${e.message}. Please play again.`, true);
  }
  render();
}

async function vote(choice) {
  const pair = state && state.pairs[pos];
  if (!pair || state.closed || sending || performance.now() - lastVote < DEBOUNCE_MS) return;
  if (!pair.played) {
    status("Play both videos to the end first, then vote.", true);
    return;
  }
  sending = true;
  lastVote = performance.now();
  const focusWasOnVote = document.activeElement && document.activeElement.dataset.choice;
  try {
    const [res, body] = await post("api/vote", { pair: pair.id, choice });
    if (!res.ok) {
      if (res.status === 403) state.closed = true;
      if (res.status === 409) pair.played = false;
      status(`Not saved: ${body.error}`, true);
    } else {
      pair.choice = choice;
      status(`Saved for pair ${pos + 1}: ${label(choice)}.`);
      const next = state.pairs.findIndex((p, i) => i > pos && !p.choice);
      if (next >= 0) pos = next;
      else if (pos < state.total - 1) pos += 1;
    }
  } catch (e) {
    status(`Not saved (connection problem): ${e.message}. Please try again.`, true);
  } finally {
    sending = false;
    render();
    if (focusWasOnVote && document.activeElement.disabled !== false) $("play").focus();
  }
}

function onKey(e) {
  if (e.altKey || e.ctrlKey || e.metaKey || !state) return;
  const t = e.target instanceof Element ? e.target : null;
  if (t && t.closest("video, audio, input, textarea, select, [contenteditable]")) return;
  if (t && t.closest("button") && (e.key === " " || e.key === "Enter")) return; // the focused button's own action
  const actions = {
    "1": () => vote("left"), ArrowLeft: () => vote("left"),
    "2": () => vote("right"), ArrowRight: () => vote("right"),
    "0": () => vote("tie"), ArrowDown: () => vote("tie"),
    " ": playBoth, p: () => go(-1), P: () => go(-1), n: () => go(1), N: () => go(1),
  };
  const act = actions[e.key];
  if (!act) return;
  e.preventDefault();
  if (!e.repeat) act();
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
  document.documentElement.style.setProperty("--gen", `rgb(${state.generated_rgb.join(",")})`);
  const first = state.pairs.findIndex((p) => !p.choice);
  pos = first >= 0 ? first : 0;
  for (const b of document.querySelectorAll("[data-choice]")) b.addEventListener("click", () => vote(b.dataset.choice));
  $("play").addEventListener("click", playBoth);
  $("prev").addEventListener("click", () => go(-1));
  $("next").addEventListener("click", () => go(1));
  for (const side of ["left", "right"]) {
    $(side).addEventListener("ended", ended);
    $(side).addEventListener("loadedmetadata", layout);
  }
  document.addEventListener("keydown", onKey);
  window.addEventListener("resize", layout);
  render();
  layout();
}

start();
