"""The study's web app as a plain WSGI application (``StudyApp``); ``server`` serves it on waitress.

Routes (everything lives under a token; any other path, and any unknown token, is a plain 404)::

    /r/<rater token>/            rater page (page/rater.html, app.js, style.css, favicon.svg)
    /r/<rater token>/api/state   GET: the rater's pairs in their own order, votes, plays, progress, closed or not
    /r/<rater token>/api/play    POST {"pair": int, "event": "start" | "end"}: the rater played a pair (through)
    /r/<rater token>/api/vote    POST {"pair": int, "choice": "left" | "right" | "tie"}: store or change a vote;
                                 409 unless the pair was played through (a start, then an end most of a clip later)
    /r/<rater token>/media/<f>   GET: one of the study's MP4s (byte ranges supported, so players can seek) or its
                                 poster frame (the PNG of the same name)
    /a/<admin token>/            admin page; /a/<admin token>/api/tally: the live tally (``tally.summarize``)

Each worker thread keeps its own SQLite connection; a vote is acknowledged only after its transaction committed.
Every request gives one access record (a dict: method, path with tokens replaced by ``<token>``, status, bytes,
milliseconds, rater id) to ``log``; no exception escapes as a traceback: unexpected ones are a 500 and one line.
"""
from __future__ import annotations

import json
import re
import sqlite3
import sys
import threading
import time
from http import HTTPStatus
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable

from s2sbench.study import store, tally

ROUTE = re.compile(r"/([ra])/([^/]*)(/.*)?")
MEDIA_RE = re.compile(r"p\d{4,6}-[LR]\.(mp4|png)")  # a video and its poster frame
RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")
MAX_BODY = 1024
PLAYED_SHARE = 0.75  # a play's end counts this share of the clip's length after its start, at the earliest
ASSETS = {"r": {"/": "rater.html", "/app.js": "app.js", "/style.css": "style.css", "/favicon.svg": "favicon.svg"},
          "a": {"/": "admin.html", "/admin.js": "admin.js", "/style.css": "style.css", "/favicon.svg": "favicon.svg"}}
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; media-src 'self'; "
                               "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
                               "frame-ancestors 'none'",
}
PAIR_SCHEMA = 'expected {"pair": <int>, %s}'


def redact(text: str) -> str:
    return re.sub(r"/([ra])/[^/\s\"]+", r"/\1/<token>", text)


class Reply(Exception):
    """Raised inside a handler to answer with ``status`` and a JSON error body."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


Response = tuple[int, dict[str, str], Iterable[bytes], int]  # status, headers, body, its length


def _bytes(status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> Response:
    return status, {"Content-Type": ctype, "Cache-Control": "no-store", **(extra or {})}, [body], len(body)


def _json(status: int, obj: Any) -> Response:
    return _bytes(status, json.dumps(obj).encode(), "application/json")


class StudyApp:
    """WSGI application of the study directory ``study``; ``log(record)`` gets one dict per request."""

    def __init__(self, study: str | Path, log: Callable[[dict[str, Any]], None] | None = None):
        self.study, self.log = Path(study), log
        conn = store.open_study(self.study)
        try:
            store.ensure_plays(conn)
            info = store.study_info(conn)
        finally:
            conn.close()
        self.min_play = PLAYED_SHARE * (info["n_past"] + info["n_future"]) / info["fps"]
        page = resources.files("s2sbench.study") / "page"
        self.assets = {name: page.joinpath(name).read_bytes() for d in ASSETS.values() for name in d.values()}
        self._local = threading.local()
        # one writer at a time inside this process: threads queue on this lock instead of in SQLite's busy handler,
        # which sleeps in steps of up to 100 ms and made the slowest votes slow
        self._write = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = store.open_study(self.study)
        return conn

    def _drop_conn(self) -> None:
        conn, self._local.conn = getattr(self._local, "conn", None), None
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                pass

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        t0, record = time.perf_counter(), {"rater": None}
        try:
            status, headers, body, length = self._dispatch(environ, record)
        except Reply as r:
            status, headers, body, length = _json(r.status, {"ok": False, "error": r.message})
        except Exception as e:  # noqa: BLE001 - one line, never a traceback (nor a token) in the log
            sys.stderr.write(f"study server: {environ.get('REQUEST_METHOD')} "
                             f"{redact(environ.get('PATH_INFO', ''))}: {redact(f'{type(e).__name__}: {e}')}\n")
            self._drop_conn()  # a fresh connection for the next request
            status, headers, body, length = _json(500, {"ok": False, "error": "internal error"})
        headers = {**SECURITY_HEADERS, **headers, "Content-Length": str(length)}
        start_response(f"{status} {HTTPStatus(status).phrase}", list(headers.items()))
        if self.log:
            self.log({"method": environ.get("REQUEST_METHOD"), "path": redact(environ.get("PATH_INFO", "")),
                      "status": status, "bytes": length, "ms": round(1000 * (time.perf_counter() - t0), 2),
                      "remote": environ.get("REMOTE_ADDR"), **record})
        return body

    def _dispatch(self, environ: dict[str, Any], record: dict[str, Any]) -> Response:
        method = environ.get("REQUEST_METHOD", "GET")
        m = ROUTE.fullmatch(environ.get("PATH_INFO", ""))
        if not m:
            raise Reply(404, "not found")
        kind, token, rest = m.groups()
        conn = self._conn()
        who = None
        if kind == "r":
            who = store.rater_for_token(conn, token)
            if who is None:
                raise Reply(404, "not found")
            record["rater"] = who["id"]
        elif not store.is_admin(conn, token):
            raise Reply(404, "not found")
        if rest is None:
            return _bytes(301, b"", "text/plain", {"Location": f"/{kind}/{token}/"})
        if rest in ASSETS[kind]:
            _only(method, "GET")
            name = ASSETS[kind][rest]
            return _bytes(200, self.assets[name], TYPES[Path(name).suffix])
        if kind == "a" and rest == "/api/tally":
            _only(method, "GET")
            return _json(200, tally.summarize(conn))
        if kind == "r" and rest == "/api/state":
            _only(method, "GET")
            return _json(200, self._state(conn, who))
        if kind == "r" and rest in ("/api/vote", "/api/play"):
            _only(method, "POST")
            data = _body(environ)
            return self._vote(conn, who, data) if rest == "/api/vote" else self._play(conn, who, data)
        if kind == "r" and rest.startswith("/media/"):
            _only(method, "GET")
            return self._media(conn, rest[len("/media/"):], environ)
        raise Reply(404, "not found")

    def _state(self, conn: sqlite3.Connection, who: sqlite3.Row) -> dict[str, Any]:
        info, rows = store.study_info(conn), {p["id"]: p for p in store.pairs(conn)}
        mine, played = store.votes_of(conn, who["id"]), store.played_pairs(conn, who["id"])
        order = store.rater_order(list(rows), info["seed"], who["id"])
        return {"rater": who["name"], "closed": store.closed_at(conn) is not None, "total": len(rows),
                "voted": len(mine), "n_past": info["n_past"], "fps": info["fps"], "seen_rgb": info["seen_rgb"],
                "generated_rgb": info.get("generated_rgb", [60, 60, 60]),
                "pairs": [{"id": i, "left": f"media/{rows[i]['media_left']}",
                           "right": f"media/{rows[i]['media_right']}", **self._posters(rows[i]),
                           "choice": mine.get(i), "played": i in played} for i in order]}

    def _posters(self, row: sqlite3.Row) -> dict[str, str]:
        """``left_poster`` / ``right_poster``: the videos' poster frames, for studies made with them."""
        out = {}
        for side in ("left", "right"):
            name = Path(row[f"media_{side}"]).with_suffix(".png").name
            if (self.study / store.MEDIA_DIR / name).is_file():
                out[f"{side}_poster"] = f"media/{name}"
        return out

    def _vote(self, conn: sqlite3.Connection, who: sqlite3.Row, data: Any) -> Response:
        if not isinstance(data, dict) or set(data) != {"pair", "choice"} or data["choice"] not in store.CHOICES:
            raise Reply(400, PAIR_SCHEMA % '"choice": "left" | "right" | "tie"')
        pair, choice = _pair(data, '"choice": "left" | "right" | "tie"'), data["choice"]
        try:
            with self._write:
                store.record_vote(conn, who["id"], pair, choice, require_played=True)
        except store.VoteRefused as e:
            raise Reply(e.status, str(e)) from None
        voted = conn.execute("SELECT COUNT(*) FROM votes WHERE rater_id = ?", (who["id"],)).fetchone()[0]
        total = conn.execute("SELECT COUNT(*) FROM pairs").fetchone()[0]
        return _json(200, {"ok": True, "pair": pair, "choice": choice, "voted": voted, "total": total})

    def _play(self, conn: sqlite3.Connection, who: sqlite3.Row, data: Any) -> Response:
        if not isinstance(data, dict) or set(data) != {"pair", "event"} or data["event"] not in ("start", "end"):
            raise Reply(400, PAIR_SCHEMA % '"event": "start" | "end"')
        pair = _pair(data, '"event": "start" | "end"')
        try:
            with self._write:
                done = store.record_play(conn, who["id"], pair, data["event"], self.min_play)
        except store.VoteRefused as e:
            raise Reply(e.status, str(e)) from None
        return _json(200, {"ok": True, "pair": pair, "played": done})

    def _media(self, conn: sqlite3.Connection, name: str, environ: dict[str, Any]) -> Response:
        if not MEDIA_RE.fullmatch(name):
            raise Reply(404, "not found")
        video = name[:-4] + ".mp4"  # a poster belongs to the video of the same name
        known = conn.execute("SELECT 1 FROM pairs WHERE media_left = ? OR media_right = ?", (video, video)).fetchone()
        path = self.study / store.MEDIA_DIR / name
        if not known or not path.is_file():
            raise Reply(404, "not found")
        size = path.stat().st_size
        start, end, status, extra = 0, size - 1, 200, {"Accept-Ranges": "bytes"}
        header = environ.get("HTTP_RANGE")
        if header:
            m = RANGE_RE.fullmatch(header.strip())
            if m and m[1]:
                start, end = int(m[1]), min(int(m[2]), size - 1) if m[2] else size - 1
            elif m and m[2]:
                start = max(0, size - int(m[2]))
            if not m or not (m[1] or m[2]) or start > end:
                return _bytes(416, b"", "text/plain", {"Content-Range": f"bytes */{size}"})
            status, extra["Content-Range"] = 206, f"bytes {start}-{end}/{size}"
        f = open(path, "rb")  # noqa: SIM115 - closed by the server when the response is sent
        f.seek(start)
        wrapper = environ.get("wsgi.file_wrapper")
        # waitress's file wrapper sends from the current position up to Content-Length
        body = wrapper(f, 1 << 16) if wrapper else _chunks(f, end - start + 1)
        ctype = "image/png" if name.endswith(".png") else "video/mp4"
        return status, {"Content-Type": ctype, "Cache-Control": "private, max-age=3600", **extra}, body, \
            end - start + 1


def _chunks(f: Any, left: int) -> Iterable[bytes]:
    with f:
        while left > 0:
            chunk = f.read(min(left, 1 << 16))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


def _only(method: str, allowed: str) -> None:
    if method != allowed:
        raise Reply(405, f"use {allowed}")


def _body(environ: dict[str, Any]) -> Any:
    """The request's JSON body: 415 unless JSON, 411 without a length, 413 over ``MAX_BODY``, 400 unless it parses
    (deep nesting included)."""
    if environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower() != "application/json":
        raise Reply(415, "send application/json")
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        raise Reply(411, "Content-Length required") from None
    if not 0 < length <= MAX_BODY:
        raise Reply(413, f"body must be 1..{MAX_BODY} bytes")
    raw = environ["wsgi.input"].read(length)
    if len(raw) != length:
        raise Reply(400, f"body ended after {len(raw)} of {length} bytes")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Reply(400, "body is not JSON") from None


def _pair(data: dict[str, Any], rest: str) -> int:
    pair = data["pair"]
    if type(pair) is not int or not 0 < pair < 2 ** 31:
        raise Reply(400, PAIR_SCHEMA % rest)
    return pair
