"""``study serve``: the study's WSGI app (``app.StudyApp``) on waitress, hardened for clients on the open network.

waitress (the ``[study]`` extra) is a pure-Python production WSGI server: one event loop reads and buffers every
request completely before a worker thread sees it, so slow or idle clients hold a socket, never a thread; bodies and
headers have size limits; idle connections are closed after ``timeout`` seconds. On top of waitress this module adds
a deadline for a request to *arrive* (a client trickling a byte at a time keeps a connection "active" and would
otherwise stay forever), JSON access logs without tokens, one-line errors for a busy port, and a graceful stop on
SIGTERM and Ctrl-C: stop accepting, let the requests in progress finish and their replies go out (up to ``GRACE``
seconds), then exit. A vote is acknowledged only after its SQLite transaction committed, so every acknowledged vote
is in ``study.db`` however the server ends (SIGKILL included).
"""
from __future__ import annotations

import errno
import ipaddress
import json
import logging
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from s2sbench.errors import ToolError
from s2sbench.study.app import StudyApp

DEFAULT_TIMEOUT = 20  # seconds: idle keep-alive connections close, and a request must arrive completely, by then
THREADS = 8
GRACE = 10.0  # seconds the requests in progress get to finish on a stop
LIMITS = {"max_request_header_size": 16 * 1024, "max_request_body_size": 64 * 1024, "connection_limit": 1000,
          "backlog": 1024}

_log_lock = threading.Lock()


def _access_log(record: dict[str, Any]) -> None:
    line = json.dumps({"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()), **record})
    with _log_lock:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def _waitress():
    try:
        from waitress import wasyncore
        from waitress.adjustments import Adjustments
        from waitress.channel import HTTPChannel
        from waitress.server import TcpWSGIServer
        from waitress.task import ThreadedTaskDispatcher
    except ImportError:
        raise ToolError("`study serve` needs the waitress web server: pip install 's2sbench[study]'") from None

    class Channel(HTTPChannel):
        started = 0.0  # when the request now arriving began

        def received(self, data: bytes) -> bool:
            if self.request is None and data:
                self.started = time.time()
            return super().received(data)

    class Server(TcpWSGIServer):
        channel_class = Channel

        def maintenance(self, now: float) -> None:
            super().maintenance(now)  # closes connections idle for channel_timeout
            cutoff = now - self.adj.channel_timeout
            for ch in list(self.active_channels.values()):
                if ch.request is not None and not ch.requests and ch.started < cutoff:  # still arriving: too slow
                    ch.will_close = True

    return wasyncore, Adjustments, HTTPChannel, Server, ThreadedTaskDispatcher


class StudyServer:
    """The study ``study`` served at ``host:port`` (0: a free port); ``run()`` until ``stop()`` or a signal."""

    def __init__(self, study: str | Path, host: str = "127.0.0.1", port: int = 8080,
                 timeout: int = DEFAULT_TIMEOUT, access_log: bool = True, threads: int = THREADS):
        self.wasyncore, Adjustments, self._channel, Server, Dispatcher = _waitress()
        self.app = StudyApp(study, log=_access_log if access_log else None)
        try:
            adj = Adjustments(host=host, port=port, threads=threads, channel_timeout=timeout, cleanup_interval=1,
                              ident="s2sbench-study", log_socket_errors=False, expose_tracebacks=False,
                              asyncore_use_poll=True, **LIMITS)
            dispatcher = Dispatcher()
            dispatcher.set_thread_count(adj.threads)
            self.server = Server(self.app, map={}, dispatcher=dispatcher, adj=adj, sockinfo=adj.listen[0])
        except OSError as e:
            raise ToolError(_listen_error(host, port, e)) from None
        _quiet_waitress()
        self._stop = threading.Event()

    @property
    def url(self) -> str:
        host = self.server.effective_host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.server.effective_port}"

    def stop(self) -> None:
        """Ask ``run`` to stop (thread- and signal-safe)."""
        self._stop.set()
        self.server.pull_trigger()

    def run(self, grace: float = GRACE) -> int:
        """Serve until ``stop``; then finish the requests in progress (up to ``grace`` s); return how many were."""
        loop, m = self.wasyncore.loop, self.server._map
        while not self._stop.is_set():
            loop(timeout=1.0, map=m, use_poll=True, count=1)
        self.wasyncore.dispatcher.close(self.server)  # stop accepting (the listening socket only)
        busy = [ch for ch in list(m.values()) if self._busy(ch)]
        deadline = time.monotonic() + grace
        while any(self._busy(ch) for ch in list(m.values())) and time.monotonic() < deadline:
            loop(timeout=0.05, map=m, use_poll=True, count=1)
        self.server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
        self.wasyncore.close_all(m)
        return len(busy)

    def _busy(self, ch: Any) -> bool:
        return isinstance(ch, self._channel) and bool(ch.requests or ch.total_outbufs_len)


def _listen_error(host: str, port: int, e: OSError) -> str:
    if e.errno == errno.EADDRINUSE:
        return (f"{host}:{port} is already in use (another `study serve`?): stop that server or choose another "
                "--port (--port 0 picks a free one)")
    if e.errno == errno.EACCES:
        return f"{host}:{port}: not allowed to listen there (ports below 1024 need root): choose another --port"
    if isinstance(e, socket.gaierror) or e.errno == errno.EADDRNOTAVAIL:
        return f"--host {host}: not an address of this machine ({e.strerror or e}): use 127.0.0.1 or 0.0.0.0"
    return f"cannot listen on {host}:{port}: {e.strerror or e}"


def _quiet_waitress() -> None:
    """waitress's own messages as one line each on stderr; its queue-depth notes only in real trouble."""
    log = logging.getLogger("waitress")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("study server: waitress: %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(logging.WARNING)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(study: str | Path, host: str = "127.0.0.1", port: int = 8080, timeout: int = DEFAULT_TIMEOUT,
          access_log: bool = True) -> None:
    """Serve ``study`` until SIGTERM or Ctrl-C; print the address first (port 0 picks a free port)."""
    server = StudyServer(study, host, port, timeout=timeout, access_log=access_log)
    if not is_loopback(host):
        print(f"warning: listening on {host}, beyond this machine; the links travel unencrypted over plain HTTP "
              "(put a TLS reverse proxy in front for raters elsewhere)", file=sys.stderr, flush=True)
    previous = {s: signal.signal(s, lambda *_: server.stop()) for s in (signal.SIGINT, signal.SIGTERM)}
    print(f"serving study {Path(study)} at {server.url}/ (links: `s2sbench study invite`; Ctrl-C or SIGTERM stops)",
          flush=True)
    try:
        finished = server.run()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    print(f"stopped ({finished} requests in progress finished); every acknowledged vote is in "
          f"{Path(study) / 'study.db'}", file=sys.stderr, flush=True)
