"""Numeric OIDs: tuples of int in code, dotted strings at the edges (config, logs, metrics labels).

Tuples are what the BER codec produces and what a poller compares: walking a column is
``oid[:len(column)] == column``, which is a C-level tuple comparison, with no parsing on the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

__all__ = [
    "DEVICE_SPEC",
    "DISCOVERY_SPEC",
    "IF_MIB_SPEC",
    "Oid",
    "PollSpec",
    "format_oid",
    "is_prefix",
    "parse_oid",
]

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

# --- collect/snmp: what a poll reads. Numeric only: no MIB is loaded anywhere on the hot path. -------------


@dataclass(frozen=True, slots=True)
class PollSpec:
    """What one poll reads: scalar instances and table columns, all numeric.

    Scalars must be ``.0`` instances: a v2c poll reads them as GETBULK non-repeaters, i.e. as a GETNEXT
    of the object OID (``sysUpTime`` → ``sysUpTime.0``), so they share the first request with the walk.
    Columns are walked together, several per GETBULK; none may contain another.
    """

    name: str
    scalars: tuple[Oid, ...] = ()
    columns: tuple[Oid, ...] = ()

    def __post_init__(self) -> None:
        for oid in self.scalars:
            if len(oid) < 3 or oid[-1] != 0:
                raise ValueError(f"{self.name}: scalar {format_oid(oid)} is not a .0 instance")
        if len(set(self.scalars)) != len(self.scalars) or len(set(self.columns)) != len(self.columns):
            raise ValueError(f"{self.name}: an OID is listed twice")
        for a in self.columns:
            if len(a) < 2:
                raise ValueError(f"{self.name}: column {format_oid(a)} is too short")
            for b in self.columns:
                if a != b and is_prefix(a, b):
                    raise ValueError(f"{self.name}: column {format_oid(b)} lies inside {format_oid(a)}")


SYSTEM = (1, 3, 6, 1, 2, 1, 1)
SYS_DESCR = (*SYSTEM, 1, 0)
SYS_OBJECT_ID = (*SYSTEM, 2, 0)
SYS_UPTIME = (*SYSTEM, 3, 0)
SYS_CONTACT = (*SYSTEM, 4, 0)
SYS_NAME = (*SYSTEM, 5, 0)
SYS_LOCATION = (*SYSTEM, 6, 0)

IF_NUMBER = (1, 3, 6, 1, 2, 1, 2, 1, 0)
IF_ENTRY = (1, 3, 6, 1, 2, 1, 2, 2, 1)  # ifTable columns 1..22
IF_INDEX = (*IF_ENTRY, 1)
IF_DESCR = (*IF_ENTRY, 2)
IF_TYPE = (*IF_ENTRY, 3)
IF_MTU = (*IF_ENTRY, 4)
IF_SPEED = (*IF_ENTRY, 5)
IF_PHYS_ADDRESS = (*IF_ENTRY, 6)
IF_ADMIN_STATUS = (*IF_ENTRY, 7)
IF_OPER_STATUS = (*IF_ENTRY, 8)
IF_LAST_CHANGE = (*IF_ENTRY, 9)
IF_IN_OCTETS = (*IF_ENTRY, 10)
IF_IN_DISCARDS = (*IF_ENTRY, 13)
IF_IN_ERRORS = (*IF_ENTRY, 14)
IF_OUT_OCTETS = (*IF_ENTRY, 16)
IF_OUT_DISCARDS = (*IF_ENTRY, 19)
IF_OUT_ERRORS = (*IF_ENTRY, 20)

IF_X_ENTRY = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)  # ifXTable columns 1..19
IF_NAME = (*IF_X_ENTRY, 1)
IF_HC_IN_OCTETS = (*IF_X_ENTRY, 6)
IF_HC_OUT_OCTETS = (*IF_X_ENTRY, 10)
IF_HIGH_SPEED = (*IF_X_ENTRY, 15)
IF_ALIAS = (*IF_X_ENTRY, 18)
IF_COUNTER_DISCONTINUITY_TIME = (*IF_X_ENTRY, 19)

ENT_PHYSICAL_ENTRY = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1)
ENT_PHYSICAL_DESCR = (*ENT_PHYSICAL_ENTRY, 2)
ENT_PHYSICAL_CLASS = (*ENT_PHYSICAL_ENTRY, 5)
ENT_PHYSICAL_NAME = (*ENT_PHYSICAL_ENTRY, 7)
ENT_PHYSICAL_HARDWARE_REV = (*ENT_PHYSICAL_ENTRY, 8)
ENT_PHYSICAL_FIRMWARE_REV = (*ENT_PHYSICAL_ENTRY, 9)
ENT_PHYSICAL_SOFTWARE_REV = (*ENT_PHYSICAL_ENTRY, 10)
ENT_PHYSICAL_SERIAL_NUM = (*ENT_PHYSICAL_ENTRY, 11)
ENT_PHYSICAL_MFG_NAME = (*ENT_PHYSICAL_ENTRY, 12)
ENT_PHYSICAL_MODEL_NAME = (*ENT_PHYSICAL_ENTRY, 13)

HR_PROCESSOR_LOAD = (1, 3, 6, 1, 2, 1, 25, 3, 3, 1, 2)
HR_STORAGE_ENTRY = (1, 3, 6, 1, 2, 1, 25, 2, 3, 1)
HR_STORAGE_TYPE = (*HR_STORAGE_ENTRY, 2)
HR_STORAGE_DESCR = (*HR_STORAGE_ENTRY, 3)
HR_STORAGE_ALLOCATION_UNITS = (*HR_STORAGE_ENTRY, 4)
HR_STORAGE_SIZE = (*HR_STORAGE_ENTRY, 5)
HR_STORAGE_USED = (*HR_STORAGE_ENTRY, 6)

IF_MIB_SPEC = PollSpec(
    "if_mib",
    scalars=(SYS_UPTIME, IF_NUMBER),
    columns=tuple((*IF_ENTRY, c) for c in range(1, 23)) + tuple((*IF_X_ENTRY, c) for c in range(1, 20)),
)
"""What ``../shared/bench/snmp_exporter_if_mib.yml`` reads: GET sysUpTime.0, walk 1.3.6.1.2.1.2 (ifNumber.0
and the 22 ifTable columns) and 1.3.6.1.2.1.31.1.1 (the 19 ifXTable columns) — for a like-for-like bench."""

DEVICE_SPEC = PollSpec(
    "device",
    scalars=(SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_CONTACT, SYS_NAME, SYS_LOCATION),
    columns=(
        IF_DESCR, IF_TYPE, IF_SPEED, IF_PHYS_ADDRESS, IF_ADMIN_STATUS, IF_OPER_STATUS, IF_LAST_CHANGE,
        IF_IN_OCTETS, IF_IN_DISCARDS, IF_IN_ERRORS, IF_OUT_OCTETS, IF_OUT_DISCARDS, IF_OUT_ERRORS,
        IF_NAME, IF_HC_IN_OCTETS, IF_HC_OUT_OCTETS, IF_HIGH_SPEED, IF_ALIAS, IF_COUNTER_DISCONTINUITY_TIME,
    ),
)
"""The regular monitoring poll: system group and the interface columns health/ needs (state, rates, errors)."""

DISCOVERY_SPEC = PollSpec(
    "discovery",
    columns=(
        ENT_PHYSICAL_DESCR, ENT_PHYSICAL_CLASS, ENT_PHYSICAL_NAME, ENT_PHYSICAL_HARDWARE_REV,
        ENT_PHYSICAL_FIRMWARE_REV, ENT_PHYSICAL_SOFTWARE_REV, ENT_PHYSICAL_SERIAL_NUM, ENT_PHYSICAL_MFG_NAME,
        ENT_PHYSICAL_MODEL_NAME, HR_PROCESSOR_LOAD, HR_STORAGE_TYPE, HR_STORAGE_DESCR,
        HR_STORAGE_ALLOCATION_UNITS, HR_STORAGE_SIZE, HR_STORAGE_USED,
    ),
)
"""The slow poll (hours): hardware inventory (ENTITY-MIB), CPU load and storage (HOST-RESOURCES-MIB)."""

# --- collect/usm, collect/v3: the counters an SNMPv3 agent names in a Report PDU (RFC 3412, 3414). ----------

USM_STATS = (1, 3, 6, 1, 6, 3, 15, 1, 1)
USM_STATS_UNSUPPORTED_SEC_LEVELS = (*USM_STATS, 1, 0)
USM_STATS_NOT_IN_TIME_WINDOWS = (*USM_STATS, 2, 0)
USM_STATS_UNKNOWN_USER_NAMES = (*USM_STATS, 3, 0)
USM_STATS_UNKNOWN_ENGINE_IDS = (*USM_STATS, 4, 0)
USM_STATS_WRONG_DIGESTS = (*USM_STATS, 5, 0)
USM_STATS_DECRYPTION_ERRORS = (*USM_STATS, 6, 0)
SNMP_UNKNOWN_SECURITY_MODELS = (1, 3, 6, 1, 6, 3, 11, 2, 1, 1, 0)
SNMP_INVALID_MSGS = (1, 3, 6, 1, 6, 3, 11, 2, 1, 2, 0)
SNMP_UNKNOWN_PDU_HANDLERS = (1, 3, 6, 1, 6, 3, 11, 2, 1, 3, 0)
SNMP_UNAVAILABLE_CONTEXTS = (1, 3, 6, 1, 6, 3, 12, 1, 4, 0)
SNMP_UNKNOWN_CONTEXTS = (1, 3, 6, 1, 6, 3, 12, 1, 5, 0)
