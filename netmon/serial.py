"""A process-wide serial number for immutable results (observations, rate results, ICMP results).

Why: the exposition keeps each device's text until the monitor replaces the result it was made from. A
serial tells a new result from the one the text came from without keeping a reference to it — an old
observation is freed by the poller that replaced it, and the cache holds plain ints, which the garbage
collector does not scan (weak references would be two more tracked objects per device).
"""

from __future__ import annotations

from itertools import count

_next = count(1).__next__  # one C call: atomic under the GIL


def serial() -> int:
    """The next serial (from 1; 0 stands for "no result")."""
    return _next()
