"""The HTTP server: slow and idle clients cost a socket, never a worker; close() frees everything."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from netmon.expose.server import HttpServer


def _app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]


def _get(port: int) -> tuple[int, bytes, float]:
    t0 = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.status, r.read(), time.perf_counter() - t0


def test_half_requests_hold_no_threads_and_a_normal_request_is_answered() -> None:
    server = HttpServer(_app, "127.0.0.1", 0)
    server.start()
    port = server.address[1]
    slow: list[socket.socket] = []
    try:
        threads_before = threading.active_count()
        for _ in range(500):  # slowloris: a request line and one header, never finished
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            slow.append(s)
        time.sleep(0.3)
        status, body, _ = _get(port)
        assert (status, body) == (200, b"ok\n")
        assert threading.active_count() <= threads_before + 1  # waitress' pool is fixed (started lazily)
    finally:
        for s in slow:
            s.close()
        server.close()


def test_close_frees_the_port_and_stops_the_thread() -> None:
    server = HttpServer(_app, "127.0.0.1", 0)
    server.start()
    port = server.address[1]
    assert _get(port)[0] == 200
    server.close()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    assert not any(t.name == "netmon-http" for t in threading.enumerate())


def test_a_port_in_use_fails_at_construction() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        try:
            HttpServer(_app, "127.0.0.1", taken.getsockname()[1])
        except OSError:
            return
    raise AssertionError("binding a port in use did not raise OSError")
