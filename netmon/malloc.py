"""glibc's malloc, set for one long-running process whose threads take turns (``netmon run``).

glibc gives each thread that allocates its own arena (up to 8 per core) and keeps in each what its thread
freed. The ``/metrics`` renders run in the HTTP server's worker threads, each scrape in whichever is free:
every worker's arena came to hold a scrape's worth of freed text (tens of MB at 10× the province), and the
process grew with every scrape until each worker had rendered once. Python threads run one at a time (the
GIL), so one arena costs no contention worth having: with ``M_ARENA_MAX`` = 1 they reuse the same free
memory. ``bench/memory.py`` measures it; ``MALLOC_ARENA_MAX`` in the environment wins over this.
"""

from __future__ import annotations

import ctypes
import os

M_ARENA_MAX = -8  # glibc's malloc.h


def one_arena() -> bool:
    """``mallopt(M_ARENA_MAX, 1)`` before threads start; False where it does not apply (not glibc, or
    ``MALLOC_ARENA_MAX`` set by the operator)."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # another C library (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, 1))


def trim() -> bool:
    """``malloc_trim(0)``: give the pages malloc holds free back to the system (False where it does not apply).

    What a poll batch or a scrape allocated and freed stays with the process otherwise, counted in its RSS
    until it is needed again; the next one that needs it takes it back page by page (a few ms)."""
    try:
        malloc_trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    malloc_trim.argtypes, malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    return bool(malloc_trim(0))
