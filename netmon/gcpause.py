"""Pause the cyclic garbage collector around work that builds many short-lived, acyclic objects.

Two users, one reason: loading the YAML inventory (composing the 10× province makes ~400k nodes; the
collector's repeated passes over them made parsing several times slower) and rendering ``/metrics`` (its
~100k short-lived containers at 10× would set off ~150 young-generation passes per scrape).  Neither makes
reference cycles, so nothing is lost by collecting later: what they keep is scanned in one pass after them,
by whichever thread allocates next.  ``bench/inventory.py`` and ``bench/exposition.py`` measure the effect.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block (re-enabled after it only if it was enabled before)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
