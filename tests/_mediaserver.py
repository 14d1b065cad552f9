"""A loopback HTTP server (127.0.0.1 only) for downloader tests: Range support and scripted faults per file.

``MediaServer(directory)`` serves files with ``Accept-Ranges`` and 206 answers; ``faults[name]`` is a list of actions
consumed one per GET of that file: an int answers with that HTTP status, ``"cut"`` sends half the body and drops the
connection. ``aliases[name]`` serves another file under ``name`` (an id without extension, as YouTube's are).
``log`` records (method, name, Range header) for every request. Use as a context manager.
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import socket
import threading


class _Handler(http.server.SimpleHTTPRequestHandler):
    server: "_Server"

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def send_head(self):
        name = self.path.lstrip("/").split("?", 1)[0]
        if name in self.server.aliases:
            self.path = "/" + self.server.aliases[name]
        with self.server.lock:
            self.server.log.append((self.command, name, self.headers.get("Range")))
            queue = self.server.faults.get(name)
            action = queue.pop(0) if queue else None
        if isinstance(action, int):
            self.send_error(action)
            return None
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            return super().send_head()
        size = os.path.getsize(path)
        m = re.match(r"bytes=(\d*)-(\d*)", self.headers.get("Range") or "")
        a, b = (int(m.group(1) or 0), int(m.group(2)) if m.group(2) else size - 1) if m else (0, size - 1)
        self.send_response(206 if m else 200)
        if m:
            self.send_header("Content-Range", f"bytes {a}-{b}/{size}")
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(b - a + 1))
        self.end_headers()
        f = open(path, "rb")
        f.seek(a)
        self._remaining, self._cut = b - a + 1, action == "cut"
        return f

    def copyfile(self, source, outputfile) -> None:
        if self._cut:
            outputfile.write(source.read(self._remaining // 2))
            outputfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        outputfile.write(source.read(self._remaining))


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


class MediaServer:
    def __init__(self, directory: str | os.PathLike) -> None:
        self.httpd = _Server(("127.0.0.1", 0), functools.partial(_Handler, directory=str(directory)))
        self.httpd.faults, self.httpd.log, self.httpd.lock = {}, [], threading.Lock()
        self.httpd.aliases = {}
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def faults(self) -> dict:
        return self.httpd.faults

    @property
    def aliases(self) -> dict:
        return self.httpd.aliases

    @property
    def log(self) -> list:
        return self.httpd.log

    def requests(self, name: str) -> int:
        return sum(1 for _, n, _ in self.log if n == name)

    def __enter__(self) -> "MediaServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
