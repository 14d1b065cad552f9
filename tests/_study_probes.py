"""Hostile-client probes of a study server at ``url`` over raw sockets; each returns what the client saw, as a short
string ("400", "closed after 1.6 s", "no reply in 5.0 s", ...), so the tests and the table in docs/study.md share them.

Run as a script (``python tests/_study_probes.py URL RATER_TOKEN``) to print the table for any running server.
"""
from __future__ import annotations

import socket
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlsplit


def _addr(url: str) -> tuple[str, int]:
    u = urlsplit(url)
    return u.hostname or "127.0.0.1", u.port or 80


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


def _read_reply(sock: socket.socket, wait: float) -> str:
    """The status code of the reply, 'closed after X s' if the server closed first, or 'no reply in X s'."""
    start, data = time.monotonic(), b""
    sock.settimeout(0.2)
    while time.monotonic() - start < wait:
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return f"reset after {time.monotonic() - start:.1f} s"
        if not chunk:
            return data.split(b" ")[1].decode() if data.startswith(b"HTTP/") else \
                f"closed after {time.monotonic() - start:.1f} s"
        data += chunk
        if b"\r\n" in data:
            return data.split(b" ")[1].decode()
    return f"no reply in {wait:.1f} s"


def raw(url: str, head: bytes, body: bytes = b"", wait: float = 5.0) -> str:
    """Send ``head`` (request line and headers, without the blank line) and ``body``; what came back."""
    with socket.create_connection(_addr(url), timeout=5) as s:
        s.sendall(head + b"\r\n\r\n" + body)
        return _read_reply(s, wait)


def post(url: str, body: bytes, length: int | None = None, wait: float = 5.0) -> str:
    head = (f"POST {_path(url)} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body) if length is None else length}\r\nConnection: close").encode()
    return raw(url, head, body, wait)


def nested_json(vote_url: str) -> str:
    return post(vote_url, b"[" * 1000)


def truncated_body(vote_url: str, wait: float = 5.0) -> str:
    """Content-Length: 100, then 10 bytes and silence."""
    return post(vote_url, b'{"pair": 1', length=100, wait=wait)


def slow_headers(url: str, wait: float = 8.0, every: float = 0.5) -> str:
    """A request whose header lines trickle in, one byte every ``every`` seconds (slowloris)."""
    start = time.monotonic()
    with socket.create_connection(_addr(url), timeout=5) as s:
        s.sendall(f"GET {_path(url)} HTTP/1.1\r\n".encode())
        try:
            while time.monotonic() - start < wait:
                s.sendall(b"X")
                time.sleep(every)
        except OSError:
            return f"closed after {time.monotonic() - start:.1f} s"
        return _read_reply(s, 0.5).replace("in 0.5 s", f"in {wait:.1f} s")


def idle_connections(url: str, n: int = 60, hold: float = 4.0) -> str:
    """``n`` connections that send only a request line; how many the server still holds after ``hold`` s, and
    whether a normal request got through meanwhile."""
    socks = [socket.create_connection(_addr(url), timeout=5) for _ in range(n)]
    try:
        for s in socks:
            s.sendall(f"GET {_path(url)} HTTP/1.1\r\n".encode())
        time.sleep(0.3)
        served = raw(url, f"GET {_path(url)} HTTP/1.1\r\nHost: x\r\nConnection: close".encode(), wait=5)
        time.sleep(hold)
        held = 0
        for s in socks:
            s.settimeout(0.01)
            try:
                held += s.recv(1) != b""
            except socket.timeout:
                held += 1
            except OSError:
                pass
        return f"{held}/{n} held after {hold:.0f} s; a normal GET meanwhile: {served}"
    finally:
        for s in socks:
            s.close()


def burst(url: str, n: int = 200) -> str:
    """``n`` GETs of ``url`` at once, one connection each; the count of each outcome."""
    out: list[str] = []
    lock, gate = threading.Lock(), threading.Barrier(n)

    def one() -> None:
        gate.wait()
        try:
            r = raw(url, f"GET {_path(url)} HTTP/1.1\r\nHost: x\r\nConnection: close".encode(), wait=20)
        except OSError as e:
            r = type(e).__name__
        with lock:
            out.append(r)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return ", ".join(f"{k} x{v}" for k, v in sorted(Counter(out).items()))


def early_disconnect(media_url: str, n: int = 20) -> str:
    """Ask for a video and hang up at once with a reset (RST), ``n`` times; the server log is checked by the caller."""
    import struct

    for _ in range(n):
        s = socket.create_connection(_addr(media_url), timeout=5)
        s.sendall(f"GET {_path(media_url)} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    return f"{n} resets sent"


def table(base: str, token: str, media: str = "p0001-L.mp4") -> list[tuple[str, str]]:
    r = f"{base}/r/{token}"
    return [("POST api/vote, body of 1000 '['", nested_json(f"{r}/api/vote")),
            ("POST api/vote, Content-Length 100, 10 bytes sent", truncated_body(f"{r}/api/vote")),
            ("GET, headers trickling 1 byte / 0.5 s", slow_headers(f"{r}/api/state")),
            ("60 connections sending only a request line", idle_connections(f"{r}/api/state")),
            ("burst of 200 GET api/state at once", burst(f"{r}/api/state")),
            ("20 media requests reset by the client", early_disconnect(f"{r}/media/{media}"))]


if __name__ == "__main__":
    for what, got in table(sys.argv[1].rstrip("/"), sys.argv[2]):
        print(f"| {what} | {got} |")
