"""The study server as it was before issue #17 (the standard library's ThreadingHTTPServer), kept verbatim as the
reference of benchmarks/bench_study.py only; ``s2sbench study serve`` runs s2sbench/study/server.py (waitress).

``study serve``: the raters' web app and the admin's live tally, on the standard library's ThreadingHTTPServer.

Routes (everything lives under a token; any other path, and any unknown token, is a plain 404)::

    /r/<rater token>/            rater page (page/rater.html, app.js, style.css)
    /r/<rater token>/api/state   GET: the rater's pairs in their own order, their votes, progress, closed or not
    /r/<rater token>/api/vote    POST {"pair": int, "choice": "left" | "right" | "tie"}: store or change a vote
    /r/<rater token>/media/<f>   GET: one of the study's MP4s (byte ranges supported, so players can seek)
    /a/<admin token>/            admin page; /a/<admin token>/api/tally: the live tally (``tally.summarize``)

Each request opens its own SQLite connection; a vote is acknowledged only after its transaction committed. Request
lines are never logged with the token (``log_message`` redacts paths and is silent unless ``verbose``).
"""
from __future__ import annotations

import ipaddress
import json
import re
import sqlite3
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from s2sbench.errors import S2SError
from s2sbench.study import store, tally

ROUTE = re.compile(r"/([ra])/([^/]*)(/.*)?")
MEDIA_RE = re.compile(r"p\d{4,6}-[LR]\.mp4")
RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")
MAX_BODY = 1024
ASSETS = {"r": {"/": "rater.html", "/app.js": "app.js", "/style.css": "style.css"},
          "a": {"/": "admin.html", "/admin.js": "admin.js", "/style.css": "style.css"}}
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8"}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; media-src 'self'; "
                               "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
                               "frame-ancestors 'none'",
}


def redact(text: str) -> str:
    return re.sub(r"/([ra])/[^/\s]+", r"/\1/<token>", text)


class StudyServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many raters may connect at once

    def __init__(self, study: str | Path, host: str = "127.0.0.1", port: int = 8080, verbose: bool = False):
        self.study, self.verbose = Path(study), verbose
        store.open_study(self.study).close()
        page = resources.files("s2sbench.study") / "page"
        self.assets = {name: page.joinpath(name).read_bytes() for d in ASSETS.values() for name in d.values()}
        super().__init__((host, port), Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _Reply(Exception):
    """Raised inside a handler to answer with ``status`` and a JSON error body."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class Handler(BaseHTTPRequestHandler):
    server: StudyServer
    server_version = "s2sbench-study"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's signature)
        if self.server.verbose:
            sys.stderr.write(f"[{self.log_date_time_string()}] {redact(format % args)}\n")

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        try:
            m = ROUTE.fullmatch(urlsplit(self.path).path)
            if not m:
                raise _Reply(404, "not found")
            kind, token, rest = m.groups()
            conn = store.open_study(self.server.study)
            try:
                if kind == "r":
                    who = store.rater_for_token(conn, token)
                    if who is None:
                        raise _Reply(404, "not found")
                    self._route(conn, method, kind, token, rest, who)
                else:
                    if not store.is_admin(conn, token):
                        raise _Reply(404, "not found")
                    self._route(conn, method, kind, token, rest, None)
            finally:
                conn.close()
        except _Reply as r:
            self._json(r.status, {"ok": False, "error": r.message})
        except (BrokenPipeError, ConnectionResetError):
            pass
        except (S2SError, sqlite3.Error, OSError) as e:
            sys.stderr.write(f"study server: {redact(f'{type(e).__name__}: {e}')}\n")
            self._json(500, {"ok": False, "error": "internal error"})

    def _route(self, conn: sqlite3.Connection, method: str, kind: str, token: str, rest: str | None,
               who: sqlite3.Row | None) -> None:
        if rest is None:
            return self._send(301, b"", "text/plain", {"Location": f"/{kind}/{token}/"})
        if rest in ASSETS[kind]:
            self._only(method, "GET")
            name = ASSETS[kind][rest]
            return self._send(200, self.server.assets[name], TYPES[Path(name).suffix])
        if kind == "a" and rest == "/api/tally":
            self._only(method, "GET")
            return self._json(200, tally.summarize(conn))
        if kind == "r" and rest == "/api/state":
            self._only(method, "GET")
            return self._json(200, self._state(conn, who))
        if kind == "r" and rest == "/api/vote":
            self._only(method, "POST")
            return self._vote(conn, who)
        if kind == "r" and rest.startswith("/media/"):
            self._only(method, "GET")
            return self._media(conn, rest[len("/media/"):])
        raise _Reply(404, "not found")

    @staticmethod
    def _only(method: str, allowed: str) -> None:
        if method != allowed:
            raise _Reply(405, f"use {allowed}")

    def _state(self, conn: sqlite3.Connection, who: sqlite3.Row) -> dict[str, Any]:
        info, rows = store.study_info(conn), {p["id"]: p for p in store.pairs(conn)}
        mine = store.votes_of(conn, who["id"])
        order = store.rater_order(list(rows), info["seed"], who["id"])
        return {"rater": who["name"], "closed": store.closed_at(conn) is not None, "total": len(rows),
                "voted": len(mine), "n_past": info["n_past"], "fps": info["fps"], "seen_rgb": info["seen_rgb"],
                "pairs": [{"id": i, "left": f"media/{rows[i]['media_left']}",
                           "right": f"media/{rows[i]['media_right']}", "choice": mine.get(i)} for i in order]}

    def _vote(self, conn: sqlite3.Connection, who: sqlite3.Row) -> None:
        if self.headers.get("Content-Type", "").split(";")[0].strip().lower() != "application/json":
            raise _Reply(415, "send application/json")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise _Reply(411, "Content-Length required") from None
        if not 0 < length <= MAX_BODY:
            raise _Reply(413, f"body must be 1..{MAX_BODY} bytes")
        try:
            data = json.loads(self.rfile.read(length))
        except (ValueError, UnicodeDecodeError):
            raise _Reply(400, "body is not JSON") from None
        if not isinstance(data, dict) or set(data) != {"pair", "choice"}:
            raise _Reply(400, 'expected {"pair": <int>, "choice": "left" | "right" | "tie"}')
        pair, choice = data["pair"], data["choice"]
        if type(pair) is not int or not 0 < pair < 2 ** 31 or choice not in store.CHOICES:
            raise _Reply(400, 'expected {"pair": <int>, "choice": "left" | "right" | "tie"}')
        try:
            store.record_vote(conn, who["id"], pair, choice)
        except store.VoteRefused as e:
            raise _Reply(e.status, str(e)) from None
        voted = conn.execute("SELECT COUNT(*) FROM votes WHERE rater_id = ?", (who["id"],)).fetchone()[0]
        total = conn.execute("SELECT COUNT(*) FROM pairs").fetchone()[0]
        self._json(200, {"ok": True, "pair": pair, "choice": choice, "voted": voted, "total": total})

    def _media(self, conn: sqlite3.Connection, name: str) -> None:
        if not MEDIA_RE.fullmatch(name):
            raise _Reply(404, "not found")
        known = conn.execute("SELECT 1 FROM pairs WHERE media_left = ? OR media_right = ?", (name, name)).fetchone()
        path = self.server.study / store.MEDIA_DIR / name
        if not known or not path.is_file():
            raise _Reply(404, "not found")
        size = path.stat().st_size
        start, end, status, extra = 0, size - 1, 200, {"Accept-Ranges": "bytes"}
        header = self.headers.get("Range")
        if header:
            m = RANGE_RE.fullmatch(header.strip())
            if m and m[1]:
                start, end = int(m[1]), min(int(m[2]), size - 1) if m[2] else size - 1
            elif m and m[2]:
                start = max(0, size - int(m[2]))
            if not m or not (m[1] or m[2]) or start > end:
                return self._send(416, b"", "text/plain", {"Content-Range": f"bytes */{size}"})
            status, extra["Content-Range"] = 206, f"bytes {start}-{end}/{size}"
        self._head(status, "video/mp4", end - start + 1, {**extra, "Cache-Control": "private, max-age=3600"})
        with open(path, "rb") as f:
            f.seek(start)
            left = end - start + 1
            while left > 0:
                chunk = f.read(min(left, 1 << 16))
                if not chunk:
                    break
                self.wfile.write(chunk)
                left -= len(chunk)

    def _head(self, status: int, ctype: str, length: int, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        headers = {**SECURITY_HEADERS, "Content-Type": ctype, "Content-Length": str(length),
                   "Cache-Control": "no-store", **(extra or {})}
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()

    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
        self._head(status, ctype, len(body), extra)
        self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(study: str | Path, host: str = "127.0.0.1", port: int = 8080, verbose: bool = False) -> None:
    """Serve ``study`` until interrupted; print the address (port 0 picks a free port)."""
    server = StudyServer(study, host, port, verbose)
    if not is_loopback(host):
        print(f"warning: listening on {host}, beyond this machine; the links travel unencrypted over plain HTTP "
              "(put a TLS reverse proxy in front for raters elsewhere)", file=sys.stderr, flush=True)
    print(f"serving study {Path(study)} at {server.url}/ (links: `s2sbench study invite`; Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":  # the reference of benchmarks/bench_study.py: python _old_study_server.py STUDY
    serve(sys.argv[1], port=0)
