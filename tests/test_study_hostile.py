"""Hostile and clumsy clients against the real server process (``s2sbench study serve --timeout 1``): deeply nested
JSON, a body shorter than its Content-Length, headers that trickle in, idle connections, a burst of 200 requests,
clients that hang up mid-download. Each is answered (or cut off) promptly, the server keeps serving, and its log has
no traceback and no token. The probes are tests/_study_probes.py (the table in docs/study.md comes from them)."""
from __future__ import annotations

import json
import re
import urllib.request

import _study_probes as probes
import pytest
from _study_fixtures import Server, bare_study

from s2sbench.study import store


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    study = bare_study(tmp / "study", 2, fps=100)
    (study / store.MEDIA_DIR).mkdir()
    for i in (1, 2):
        for side in "LR":
            (study / store.MEDIA_DIR / f"p{i:04d}-{side}.mp4").write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    conn = store.open_study(study)
    token = store.add_rater(conn, "mallory")
    conn.close()
    srv = Server(study, tmp / "server.log", "--timeout", "1")
    yield srv, f"{srv.url}/r/{token}", token
    srv.stop()
    log = (tmp / "server.log").read_text()
    assert "Traceback" not in log and "Error" not in log and token not in log, log[-2000:]
    assert all(json.loads(line)["path"].count("<token>") <= 1 for line in log.splitlines() if line.startswith("{"))


def _closed_within(outcome: str, seconds: float) -> bool:
    m = re.fullmatch(r"closed after ([\d.]+) s", outcome)
    return bool(m) and float(m[1]) <= seconds


def _alive(r: str) -> bool:
    with urllib.request.urlopen(f"{r}/api/state", timeout=5) as res:
        return res.status == 200


def test_nested_json_is_a_400(served):
    _, r, _ = served
    assert probes.nested_json(f"{r}/api/vote") == "400"
    assert probes.post(f"{r}/api/play", b"{" * 500 + b"}" * 500) == "400"
    assert _alive(r)


def test_truncated_body_and_trickling_headers_are_cut_off(served):
    _, r, _ = served
    assert _closed_within(probes.truncated_body(f"{r}/api/vote", wait=6), 3.5)
    assert _closed_within(probes.slow_headers(f"{r}/api/state", wait=8, every=0.3), 3.5)
    assert _alive(r)


def test_idle_connections_are_closed_without_blocking_others(served):
    _, r, _ = served
    assert probes.idle_connections(f"{r}/api/state", n=60, hold=3) == "0/60 held after 3 s; a normal GET meanwhile: 200"


def test_burst_and_hangups(served):
    _, r, _ = served
    assert probes.burst(f"{r}/api/state", 200) == "200 x200"
    probes.early_disconnect(f"{r}/media/p0001-L.mp4", 20)
    assert _alive(r)
