"""The HTTP server behind /metrics, /healthz and /readyz: waitress, bounded and with timeouts.

Why waitress and not the standard library's ``ThreadingWSGIServer`` (what prometheus-client uses): that
server starts a thread per connection, reads with no timeout and listens with a backlog of 5, so a few
hundred idle or slow ("slowloris") connections held as many threads and pushed a normal scrape from
~50 ms to a second. Waitress reads and writes every connection in one I/O thread (poll-based here, so
thousands of sockets are fine) and hands only *complete* requests to a fixed pool of worker threads: a
slow client costs a file descriptor, never a worker. Idle connections are closed after
``channel_timeout``; the backlog is 1024.

Left as is: waitress has no deadline for reading a request's headers as a whole, so a client that trickles
one byte every few seconds keeps its connection (and only that) until it stops; ``connection_limit``
bounds how many such connections exist at once.
"""

from __future__ import annotations

import logging
import resource
import threading
from collections.abc import Callable, Iterable
from typing import Any, Final

from waitress.server import create_server

__all__ = ["HttpServer"]

log = logging.getLogger(__name__)

WORKERS: Final = 4
"""Requests rendered at once (/metrics renders in ~25 ms for a province; Prometheus HA pairs scrape twice)."""
CONNECTION_LIMIT: Final = 4096
CHANNEL_TIMEOUT_S: Final = 30
"""An idle connection is closed after this long (Prometheus reconnects at its next scrape)."""
BACKLOG: Final = 1024

App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _raise_fd_limit(wanted: int) -> None:
    """Lift the soft limit of open files towards ``wanted`` (never above the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


class HttpServer:
    """A WSGI app served on ``host:port`` from a background thread until :meth:`close`.

    Binding happens in the constructor, so a port in use raises ``OSError`` there (a clear start-up error).
    """

    def __init__(self, app: App, host: str, port: int, *, workers: int = WORKERS) -> None:
        _raise_fd_limit(CONNECTION_LIMIT + 1024)
        self._server: Any = create_server(
            app, host=host, port=port, threads=workers, backlog=BACKLOG,
            connection_limit=CONNECTION_LIMIT, channel_timeout=CHANNEL_TIMEOUT_S, cleanup_interval=5,
            asyncore_use_poll=True, ident="netmon", clear_untrusted_proxy_headers=True,
            expose_tracebacks=False,
        )  # fmt: skip
        self._thread = threading.Thread(target=self._server.run, name="netmon-http", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port): the real port when constructed with port 0."""
        return str(self._server.effective_host), int(self._server.effective_port)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Stop accepting, close every connection, stop the workers; idempotent."""
        server = self._server
        waitress_log = logging.getLogger("waitress")
        level = waitress_log.level
        waitress_log.setLevel(logging.ERROR)  # closing channels mid-request is expected here
        try:
            for channel in list(server._map.values()):  # the listener, its trigger and every connection
                channel.handle_close()
            server.task_dispatcher.shutdown(timeout=2)
        finally:
            waitress_log.setLevel(level)
        if self._thread.is_alive():
            self._thread.join(timeout=2)
