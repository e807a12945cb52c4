"""``/metrics`` served from :meth:`MonitorCollector.render_pieces` (the fast text renderer), as a WSGI app.

In place of ``prometheus_client.make_wsgi_app(registry)`` for the registry holding the MonitorCollector::

    collector = MonitorCollector(monitor)
    registry.register(collector)           # registry.collect() users still see every family
    metrics = make_metrics_app(collector)

Differences from prometheus-client's app, each for the scrape time:

* always the text format 0.0.4 (``Content-Type: text/plain; version=0.0.4``): Prometheus asks for
  OpenMetrics first but takes the text format, and the series are the same;
* gzip at level 1 when the client accepts it (Prometheus does): several times faster than
  prometheus-client's level 9 for a slightly bigger body (``bench/exposition.py`` prints both); the
  collector's pieces (one per family) are made, then compressed or written, one by one — never copied
  into one buffer of the whole exposition, nor all held at once;
* ``?name[]=…`` (a debugging filter: only these samples) goes the slow way, through ``collect()`` and
  ``generate_latest`` (prometheus-client's own filter finds nothing in a registry without auto-describe).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs

from prometheus_client import generate_latest
from prometheus_client.core import Metric

from netmon.expose.metrics import CONTENT_TYPE, MonitorCollector
from netmon.expose.text import Pieces

GZIP_LEVEL = 1

StartResponse = Callable[..., Any]
App = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def gzip_fast(body: bytes | Iterable[bytes], level: int = GZIP_LEVEL) -> bytes:
    """A gzip member (RFC 1952) of ``body`` (or of its pieces, in order), at ``level``."""
    z = zlib.compressobj(level, zlib.DEFLATED, 31)  # 16 + 15: gzip header and trailer
    if isinstance(body, bytes):
        return z.compress(body) + z.flush()
    return b"".join([*map(z.compress, body), z.flush()])


def _accepts_gzip(header: str | None) -> bool:
    for part in (header or "").split(","):
        token, _, params = part.strip().partition(";")
        if token.strip().lower() in ("gzip", "*"):
            q = params.strip().removeprefix("q=")
            try:
                return not params or float(q) > 0
            except ValueError:
                return True
    return False


class _Only:
    """The collector's samples named ``names`` only (``?name[]=``)."""

    def __init__(self, collector: MonitorCollector, names: set[str]) -> None:
        self.collector, self.names = collector, names

    def collect(self) -> Iterator[Metric]:
        for metric in self.collector.collect():
            samples = [s for s in metric.samples if s.name in self.names]
            if samples:
                only = Metric(metric.name, metric.documentation, metric.type)
                only.samples = samples
                yield only


def make_metrics_app(collector: MonitorCollector) -> App:
    """WSGI app answering any path with the collector's exposition (mount it at ``/metrics``)."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "OPTIONS":
            start_response("200 OK", [("Allow", "OPTIONS,GET,HEAD")])
            return [b""]
        if method not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Allow", "OPTIONS,GET,HEAD")])
            return [f"# HTTP 405: {method}; use OPTIONS or GET\n".encode()]
        names = parse_qs(environ.get("QUERY_STRING", "")).get("name[]")
        # The pieces are made one family at a time as they are compressed or sent (see Pieces).
        parts: Iterable[bytes] = ([generate_latest(_Only(collector, set(names)))] if names
                                  else collector.render_pieces())
        headers = [("Content-Type", CONTENT_TYPE)]
        if _accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING")):
            parts = [gzip_fast(parts)]
            headers.append(("Content-Encoding", "gzip"))
        size = parts.size if isinstance(parts, Pieces) else sum(map(len, parts))
        headers.append(("Content-Length", str(size)))
        start_response("200 OK", headers)
        return [b""] if method == "HEAD" else parts

    return app
