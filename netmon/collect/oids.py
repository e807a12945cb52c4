"""Numeric OIDs: tuples of int in code, dotted strings at the edges (config, logs, metrics labels).

Tuples are what the BER codec produces and what a poller compares: walking a column is
``oid[:len(column)] == column``, which is a C-level tuple comparison, with no parsing on the hot path.
"""

from __future__ import annotations

from typing import TypeAlias

__all__ = ["Oid", "format_oid", "is_prefix", "parse_oid"]

# ---------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------

Oid: TypeAlias = tuple[int, ...]
"""A numeric OBJECT IDENTIFIER, e.g. ``(1, 3, 6, 1, 2, 1, 1, 3, 0)``."""


def parse_oid(text: str) -> Oid:
    """Parse ``"1.3.6.1.2.1.1.3.0"`` (a leading dot is tolerated, as net-snmp prints it) into a tuple."""
    parts = text.strip().removeprefix(".").split(".")
    try:
        arcs = tuple(int(part) for part in parts)
    except ValueError:
        raise ValueError(f"not a numeric OID: {text!r}") from None
    # int() accepts "+1", " 1" and "1_0"; an OID in a config file must be plain digits.
    if len(arcs) < 2 or not all(part.isdigit() and part.isascii() for part in parts):
        raise ValueError(f"not a numeric OID: {text!r}")
    return arcs


def format_oid(oid: Oid) -> str:
    """Dotted form without a leading dot, the form Prometheus' snmp_exporter and pysnmp print."""
    return ".".join(map(str, oid))


def is_prefix(prefix: Oid, oid: Oid) -> bool:
    """True if ``oid`` lies in the subtree ``prefix`` (or equals it): the stop test of a column walk."""
    return oid[: len(prefix)] == prefix


# ---------------------------------------------------------------------------------------------------------
# OID constants (added by their users below this line)
# ---------------------------------------------------------------------------------------------------------
