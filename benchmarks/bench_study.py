"""Load on the study server: ``--raters`` concurrent raters vote as fast as they can for ``--duration`` seconds,
against ``s2sbench study serve`` (waitress) and, in the same run, the http.server implementation it replaced
(benchmarks/_old_study_server.py). Each rater is its own client process with one keep-alive connection (the old
server answers HTTP/1.0, so its clients reconnect per vote); every vote is timed from sending to the full reply.

Afterwards the database is compared with what was acknowledged: for every rater and pair the stored choice must be
the last acknowledged one and ``revisions + 1`` the number of acknowledgements (fewer: a vote lost; more: one stored
twice or without an acknowledgement). Prints votes/s, latency percentiles, errors, lost and duplicated per server,
and whether the new server's p99 is within 200 ms. Both servers get a fresh study of ``--pairs`` pairs.

    PYTHONPATH=. python benchmarks/bench_study.py [--raters 20] [--duration 60] [--pairs 20]
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from _study_fixtures import bare_study  # noqa: E402

from s2sbench.study import store  # noqa: E402

FPS = 100  # clips of 0.25 s: the raters "play" every pair through before the timed part
P99_LIMIT_MS = 200.0
SERVERS = {  # name -> command line serving a study on a free port, printing "... at URL/ ..." first
    "http.server (before)": lambda study: [sys.executable, str(ROOT / "benchmarks" / "_old_study_server.py"), study],
    "waitress (now)": lambda study: [sys.executable, "-m", "s2sbench", "study", "serve", study, "--port", "0",
                                     "--no-access-log"],
}


def _post(conn: http.client.HTTPConnection, path: str, obj: dict) -> tuple[int, bytes]:
    body = json.dumps(obj).encode()
    conn.request("POST", path, body, {"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    if r.getheader("Connection", "").lower() == "close" or r.version == 10:
        conn.close()  # http.client reconnects on the next request
    return r.status, data


def rater(args: tuple[str, str, int, int, float, float, bool]) -> dict:
    """One rater: optionally play every pair through, then vote round-robin over the pairs from ``t_start`` for
    ``duration`` seconds."""
    url, token, index, n_pairs, t_start, duration, play = args
    host, port = url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    base = f"/r/{token}"
    if play:
        for p in range(1, n_pairs + 1):
            _post(conn, f"{base}/api/play", {"pair": p, "event": "start"})
        time.sleep(25 / FPS)
        for p in range(1, n_pairs + 1):
            assert _post(conn, f"{base}/api/play", {"pair": p, "event": "end"})[0] == 200
    time.sleep(max(0.0, t_start - time.time()))  # everyone starts together
    t_end = t_start + duration
    lat, acked, errors, k = [], [], 0, 0
    while time.time() < t_end:
        pair, choice = k % n_pairs + 1, store.CHOICES[(index + k // n_pairs) % 3]
        t0 = time.perf_counter()
        try:
            status, _ = _post(conn, f"{base}/api/vote", {"pair": pair, "choice": choice})
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            continue
        lat.append(time.perf_counter() - t0)
        if status == 200:
            acked.append((pair, choice))
        else:
            errors += 1
        k += 1
    return {"lat": lat, "acked": acked, "errors": errors}


def check(study: Path, tokens: dict[str, str], results: dict[str, dict]) -> tuple[int, int]:
    """(lost, duplicated) votes: the database against the acknowledgements."""
    conn = store.open_study(study)
    rows = {(r[0], r[1]): (r[2], r[3]) for r in conn.execute(
        "SELECT r.name, v.pair_id, v.choice, v.revisions FROM votes v JOIN raters r ON r.id = v.rater_id")}
    conn.close()
    lost = dup = 0
    for name in tokens:
        by_pair: dict[int, list[str]] = {}
        for pair, choice in results[name]["acked"]:
            by_pair.setdefault(pair, []).append(choice)
        for pair in {p for n, p in rows if n == name} | set(by_pair):
            acks = by_pair.get(pair, [])
            choice, revisions = rows.get((name, pair), (None, -1))
            stored = revisions + 1  # how many times this vote was written
            lost += max(0, len(acks) - stored) or int(bool(acks) and choice != acks[-1])
            dup += max(0, stored - len(acks))
    return lost, dup


def run(kind: str, cmd, tmp: Path, raters: int, duration: float, n_pairs: int) -> dict:
    study = bare_study(tmp / kind.split()[0], n_pairs, fps=FPS)
    conn = store.open_study(study)
    tokens = {f"r{i:02d}": store.add_rater(conn, f"r{i:02d}") for i in range(raters)}
    conn.close()
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen(cmd(str(study)), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    try:
        line = proc.stdout.readline().decode()
        url = line.split(" at ")[1].split()[0].rstrip("/")
        t_start = time.time() + 3 + 25 / FPS + raters * n_pairs * 0.01  # after everyone has played
        with mp.get_context("fork").Pool(raters) as pool:
            out = pool.map(rater, [(url, tok, i, n_pairs, t_start, duration, "waitress" in kind)
                                   for i, tok in enumerate(tokens.values())])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    results = dict(zip(tokens, out))
    lost, dup = check(study, tokens, results)
    lat = sorted(x for r in out for x in r["lat"])
    pct = lambda q: 1000 * lat[min(len(lat) - 1, int(q * len(lat)))]  # noqa: E731
    return {"votes": sum(len(r["acked"]) for r in out), "rate": len(lat) / duration, "p50": pct(0.5),
            "p95": pct(0.95), "p99": pct(0.99), "max": 1000 * lat[-1], "errors": sum(r["errors"] for r in out),
            "lost": lost, "dup": dup}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--raters", type=int, default=20)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of voting per server")
    ap.add_argument("--pairs", type=int, default=20)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_study."))
    try:
        res = {kind: run(kind, cmd, tmp, a.raters, a.duration, a.pairs) for kind, cmd in SERVERS.items()}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{a.raters} raters voting continuously for {a.duration:.0f} s per server, {a.pairs} pairs, "
          f"{os.cpu_count()} CPUs, SQLite WAL synchronous=FULL")
    print(f"{'server':22s} {'votes':>7s} {'votes/s':>8s} {'p50 ms':>7s} {'p95 ms':>7s} {'p99 ms':>7s} {'max ms':>7s} "
          f"{'errors':>6s} {'lost':>5s} {'dup':>4s}")
    for kind, r in res.items():
        print(f"{kind:22s} {r['votes']:7d} {r['rate']:8.1f} {r['p50']:7.1f} {r['p95']:7.1f} {r['p99']:7.1f} "
              f"{r['max']:7.1f} {r['errors']:6d} {r['lost']:5d} {r['dup']:4d}")
    old, new = res.values()
    print(f"now / before: votes/s x{new['rate'] / old['rate']:.2f}, p99 x{new['p99'] / old['p99']:.2f}")
    ok = new["p99"] <= P99_LIMIT_MS and not (new["lost"] or new["dup"] or new["errors"])
    print(f"{'PASS' if ok else 'FAIL'}: p99 {new['p99']:.1f} ms (limit {P99_LIMIT_MS:.0f}), "
          f"{new['lost']} lost, {new['dup']} duplicated, {new['errors']} errors")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
