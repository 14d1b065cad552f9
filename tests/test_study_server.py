"""The study server over loopback, run as ``s2sbench study serve`` in a subprocess: only tokens get in, inputs are
validated, a vote needs a play-through, 20 concurrent clients lose no vote, and a SIGKILLed or SIGTERMed server
keeps every vote it acknowledged (the SIGTERMed one exits cleanly)."""
from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from _study_fixtures import ROOT, Server, bare_study, wait_until

from s2sbench.study import store

N_PAIRS = 6
FPS = 100  # a clip of the bare study lasts 0.25 s


def request(url: str, body: object = None, ctype: str = "application/json", headers: dict | None = None,
            raw: bytes | None = None) -> tuple[int, bytes, dict]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, headers={**({"Content-Type": ctype} if data else {}),
                                                          **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def play_all(url, tokens, pairs=range(1, N_PAIRS + 1)):
    """Play every pair through for every rater token (a start, a clip's length, an end)."""
    for tok in tokens:
        for p in pairs:
            assert request(f"{url}/r/{tok}/api/play", {"pair": p, "event": "start"})[0] == 200
    time.sleep((5 + 20) / FPS)
    for tok in tokens:
        for p in pairs:
            status, body, _ = request(f"{url}/r/{tok}/api/play", {"pair": p, "event": "end"})
            assert status == 200 and json.loads(body)["played"] is True, body


def invite(study, names):
    conn = store.open_study(study)
    try:
        return {n: store.add_rater(conn, n) for n in names}
    finally:
        conn.close()


@pytest.fixture
def study(tmp_path):
    s = bare_study(tmp_path / "study", N_PAIRS, fps=FPS)
    (s / store.MEDIA_DIR).mkdir()
    for i in range(1, N_PAIRS + 1):
        for side in "LR":
            (s / store.MEDIA_DIR / f"p{i:04d}-{side}.mp4").write_bytes(bytes(range(256)) * 4)
    (s / store.MEDIA_DIR / "p9999-L.mp4").write_bytes(b"not part of the study")
    return s


def test_tokens_validation_and_closing(study, tmp_path):
    tok = invite(study, ["alice", "bob"])
    conn = store.open_study(study)
    admin = store.set_admin_token(conn)
    conn.close()
    srv = Server(study, tmp_path / "server.log")
    try:
        r, a = f"{srv.url}/r/{tok['alice']}", f"{srv.url}/a/{admin}"
        status, body, headers = request(f"{r}/")
        assert status == 200 and b"app.js" in body and headers["Referrer-Policy"] == "no-referrer"
        state = json.loads(request(f"{r}/api/state")[1])
        assert state["rater"] == "alice" and sorted(p["id"] for p in state["pairs"]) == list(range(1, N_PAIRS + 1))
        assert "model-a" not in json.dumps(state)  # raters are blind to the runs
        status, body, headers = request(f"{r}/media/p0001-L.mp4", headers={"Range": "bytes=10-19"})
        assert status == 206 and body == bytes(range(10, 20)) and headers["Content-Range"] == "bytes 10-19/1024"
        # wrong, truncated or other-kind tokens, traversal, files outside the study: all a bare 404
        bad = "x" * len(tok["alice"])
        for url in (f"{srv.url}/r/{bad}/", f"{srv.url}/r/{bad}/api/state", f"{srv.url}/r/{bad}/media/p0001-L.mp4",
                    f"{srv.url}/r/{tok['alice'][:-1]}/media/p0001-L.mp4", f"{srv.url}/a/{tok['alice']}/api/tally",
                    f"{srv.url}/r/{admin}/", f"{srv.url}/", f"{srv.url}/media/p0001-L.mp4",
                    f"{r}/media/..%2Fstudy.db", f"{r}/media/p9999-L.mp4", f"{r}/media/study.db"):
            status, body, _ = request(url)
            assert status == 404 and len(body) < 100, url
        assert request(f"{srv.url}/r/{bad}/api/vote", {"pair": 1, "choice": "left"})[0] == 404
        # input validation
        for raw, ctype, code in ((b'{"pair": 1, "choice": "up"}', "application/json", 400),
                                 (b'{"pair": "1", "choice": "left"}', "application/json", 400),
                                 (b'{"pair": true, "choice": "left"}', "application/json", 400),
                                 (b'{"pair": 1, "choice": "left", "x": 1}', "application/json", 400),
                                 (b'{"pair": 1, "choice": "left"', "application/json", 400),
                                 (b'{"pair": 99, "choice": "left"}', "application/json", 404),
                                 (b'{"pair": 1, "choice": "left"}', "text/plain", 415),
                                 (b"x" * 5000, "application/json", 413)):
            assert request(f"{r}/api/vote", raw=raw, ctype=ctype)[0] == code, raw[:40]
        assert request(f"{r}/api/state", {"pair": 1, "choice": "left"})[0] == 405
        # a vote needs a play-through: an end right after the start does not count
        assert request(f"{r}/api/vote", {"pair": 2, "choice": "left"})[0] == 409
        assert request(f"{r}/api/play", {"pair": 2, "event": "end"})[0] == 409
        assert request(f"{r}/api/play", {"pair": 2, "event": "start"})[0] == 200
        assert request(f"{r}/api/play", {"pair": 2, "event": "end"})[0] == 409
        assert request(f"{r}/api/vote", {"pair": 2, "choice": "left"})[0] == 409
        for bad_play in ({"pair": 2, "event": "stop"}, {"pair": 2}, {"pair": "2", "event": "end"}):
            assert request(f"{r}/api/play", bad_play)[0] == 400
        assert request(f"{r}/api/play", {"pair": 99, "event": "start"})[0] == 404
        play_all(srv.url, [tok["alice"]], [2])
        assert [p["played"] for p in json.loads(request(f"{r}/api/state")[1])["pairs"] if p["id"] == 2] == [True]
        status, body, _ = request(f"{r}/api/vote", {"pair": 2, "choice": "left"})
        assert status == 200 and json.loads(body) == {"ok": True, "pair": 2, "choice": "left", "voted": 1,
                                                      "total": N_PAIRS}
        tally = json.loads(request(f"{a}/api/tally")[1])
        assert tally["votes"] == 1 and tally["preference"]["n_a"] == 1  # pair 2 shows run A on the left
        conn = store.open_study(study)
        store.close(conn)
        conn.close()
        assert request(f"{r}/api/vote", {"pair": 2, "choice": "right"})[0] == 403
        assert json.loads(request(f"{r}/api/state")[1])["closed"] is True
    finally:
        srv.stop()
    conn = store.open_study(study)
    assert [tuple(v) for v in conn.execute("SELECT rater_id, pair_id, choice FROM votes")] == [(1, 2, "left")]
    conn.close()
    log = (tmp_path / "server.log").read_text()
    assert all(t not in log for t in (*tok.values(), admin)) and "Traceback" not in log
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert {"method", "path", "status", "bytes", "ms", "rater"} <= set(records[0])
    assert {(r["path"], r["status"]) for r in records} >= {("/r/<token>/api/vote", 409), ("/r/<token>/api/vote", 200)}


def test_twenty_concurrent_clients_lose_nothing(study, tmp_path):
    names = [f"rater{i:02d}" for i in range(20)]
    tok = invite(study, names)
    rounds, acked, errors = 3, {}, []
    srv = Server(study, tmp_path / "server.log")
    play_all(srv.url, tok.values())
    barrier = threading.Barrier(len(names))

    def client(name):
        barrier.wait()
        last = {}
        try:
            for rnd in range(rounds):
                for pair in range(1, N_PAIRS + 1):
                    choice = store.CHOICES[(int(name[-2:]) + pair + rnd) % 3]
                    status, body, _ = request(f"{srv.url}/r/{tok[name]}/api/vote", {"pair": pair, "choice": choice})
                    assert status == 200, body
                    last[pair] = choice
            acked[name] = last
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"{name}: {e!r}")

    threads = [threading.Thread(target=client, args=(n,)) for n in names]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        srv.stop()
    assert not errors and len(acked) == len(names)
    conn = store.open_study(study)
    rows = conn.execute("SELECT r.name, v.pair_id, v.choice, v.revisions FROM votes v "
                        "JOIN raters r ON r.id = v.rater_id").fetchall()
    conn.close()
    assert len(rows) == len(names) * N_PAIRS == len({(r[0], r[1]) for r in rows})
    for name, pair, choice, revisions in rows:
        assert choice == acked[name][pair] and revisions == rounds - 1


def _vote_until_stopped(study, tmp_path, stop_server):
    """8 clients vote as fast as they can until ``stop_server(srv)`` ends the server; every acknowledged vote must be
    stored, and at most the one request per client in flight at the end may be stored without an acknowledgement."""
    names = [f"k{i}" for i in range(8)]
    tok = invite(study, names)
    srv = Server(study, tmp_path / "server.log")
    play_all(srv.url, tok.values())
    acked = {n: [] for n in names}  # (pair, choice) in the order the server acknowledged them
    inflight = {}  # the one request per client that may have been cut off by the stop
    stop = threading.Event()

    def client(i, name):
        k = 0
        while not stop.is_set():
            pair, choice = k % N_PAIRS + 1, store.CHOICES[(i + k // N_PAIRS) % 3]
            inflight[name] = (pair, choice)
            try:
                status, _, _ = request(f"{srv.url}/r/{tok[name]}/api/vote", {"pair": pair, "choice": choice})
            except (OSError, http.client.HTTPException):  # the server died mid-request
                return
            if status != 200:
                return
            acked[name].append((pair, choice))
            k += 1

    threads = [threading.Thread(target=client, args=(i, n)) for i, n in enumerate(names)]
    for t in threads:
        t.start()
    try:
        assert wait_until(lambda: sum(map(len, acked.values())) >= 150, timeout=60)
        rc = stop_server(srv)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        srv.stop()
    conn = store.open_study(study)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {(r[0], r[1]): (r[2], r[3]) for r in conn.execute(
        "SELECT r.name, v.pair_id, v.choice, v.revisions FROM votes v JOIN raters r ON r.id = v.rater_id")}
    conn.close()
    for name in names:
        for pair in range(1, N_PAIRS + 1):
            mine = [c for p, c in acked[name] if p == pair]
            cut = inflight[name][1] if inflight[name][0] == pair and inflight[name] not in acked[name][-1:] else None
            if (name, pair) not in stored:
                assert not mine  # at most the request cut off by the stop is missing
                continue
            choice, revisions = stored[(name, pair)]
            if revisions + 1 == len(mine):
                assert choice == mine[-1]
            else:  # the request in flight at the stop was committed but not acknowledged
                assert cut is not None and revisions + 1 == len(mine) + 1 and choice == cut
    return rc, (tmp_path / "server.log").read_text()


def test_sigkill_keeps_every_acknowledged_vote(study, tmp_path):
    rc, _ = _vote_until_stopped(study, tmp_path, lambda srv: srv.kill())


def test_sigterm_stops_gracefully_and_a_busy_port_is_one_line(study, tmp_path):
    def term(srv):
        port = srv.url.rsplit(":", 1)[1]  # a second server on the same port: one Error line, exit status 1
        second = subprocess.run([sys.executable, "-m", "s2sbench", "study", "serve", str(study), "--port", port],
                                capture_output=True, text=True, timeout=30, cwd=ROOT)
        assert second.returncode == 1 and second.stderr.count("\n") == 1, second.stderr
        assert second.stderr.startswith("Error: ") and "already in use" in second.stderr
        srv.proc.send_signal(signal.SIGTERM)
        return srv.proc.wait(20)

    rc, log = _vote_until_stopped(study, tmp_path, term)
    assert rc == 0 and "stopped (" in log and "Traceback" not in log


def test_poster_frames_are_listed_and_served_when_present(study, tmp_path):
    (study / store.MEDIA_DIR / "p0001-L.png").write_bytes(b"\x89PNG poster")
    (study / store.MEDIA_DIR / "p9999-L.png").write_bytes(b"\x89PNG not part of the study")
    tok = invite(study, ["alice"])
    srv = Server(study, tmp_path / "server.log")
    try:
        r = f"{srv.url}/r/{tok['alice']}"
        pairs = {p["id"]: p for p in json.loads(request(f"{r}/api/state")[1])["pairs"]}
        assert pairs[1]["left_poster"] == "media/p0001-L.png" and "right_poster" not in pairs[1]
        assert "left_poster" not in pairs[2]  # a study made without posters plays as before
        status, body, headers = request(f"{r}/media/p0001-L.png")
        assert status == 200 and body == b"\x89PNG poster" and headers["Content-Type"] == "image/png"
        assert request(f"{r}/media/p9999-L.png")[0] == 404 and request(f"{r}/media/p0002-L.png")[0] == 404
    finally:
        srv.stop()
