"""What a poll reads: :class:`PollSpec` and the specs netmon polls with, built from :mod:`netmon.mib`.

The OIDs themselves (and ``Oid``, ``parse_oid``, ``format_oid``, ``is_prefix``) live in :mod:`netmon.mib`,
where ``health/`` reads them too without importing ``collect/``; the OIDs only a collector uses (a trap's
varbinds, USM statistics) may stay beside their users here.
"""

from __future__ import annotations

from dataclasses import dataclass

from netmon.mib import (
    ENT_PHYSICAL_CLASS,
    ENT_PHYSICAL_DESCR,
    ENT_PHYSICAL_FIRMWARE_REV,
    ENT_PHYSICAL_HARDWARE_REV,
    ENT_PHYSICAL_MFG_NAME,
    ENT_PHYSICAL_MODEL_NAME,
    ENT_PHYSICAL_NAME,
    ENT_PHYSICAL_SERIAL_NUM,
    ENT_PHYSICAL_SOFTWARE_REV,
    HR_PROCESSOR_LOAD,
    HR_STORAGE_ALLOCATION_UNITS,
    HR_STORAGE_DESCR,
    HR_STORAGE_SIZE,
    HR_STORAGE_TYPE,
    HR_STORAGE_USED,
    IF_ADMIN_STATUS,
    IF_ALIAS,
    IF_COUNTER_DISCONTINUITY_TIME,
    IF_DESCR,
    IF_ENTRY,
    IF_HC_IN_OCTETS,
    IF_HC_OUT_OCTETS,
    IF_HIGH_SPEED,
    IF_IN_DISCARDS,
    IF_IN_ERRORS,
    IF_IN_OCTETS,
    IF_LAST_CHANGE,
    IF_NAME,
    IF_NUMBER,
    IF_OPER_STATUS,
    IF_OUT_DISCARDS,
    IF_OUT_ERRORS,
    IF_OUT_OCTETS,
    IF_PHYS_ADDRESS,
    IF_SPEED,
    IF_TYPE,
    IF_X_ENTRY,
    SYS_CONTACT,
    SYS_DESCR,
    SYS_LOCATION,
    SYS_NAME,
    SYS_OBJECT_ID,
    SYS_UPTIME,
    Oid,
    format_oid,
    is_prefix,
    parse_oid,
)

__all__ = [
    "DEVICE_SPEC",
    "DISCOVERY_SPEC",
    "IF_MIB_SPEC",
    "STATION_SPEC",
    "Oid",
    "PollSpec",
    "format_oid",
    "is_prefix",
    "parse_oid",
]

# --- collect/snmp: what a poll reads. Numeric only: no MIB is loaded anywhere on the hot path. -------------


@dataclass(frozen=True, slots=True)
class PollSpec:
    """What one poll reads: scalar instances and table columns, all numeric.

    Scalars must be ``.0`` instances: a v2c poll reads them as GETBULK non-repeaters, i.e. as a GETNEXT
    of the object OID (``sysUpTime`` → ``sysUpTime.0``), so they share the first request with the walk.
    Columns are walked together, several per GETBULK; none may contain another. With ``rows`` the columns
    are not walked: only those rows (index arcs, e.g. ``(1,)`` for ifIndex 1) are read, by GET together with
    the scalars — one request, whatever the size of the table.
    """

    name: str
    scalars: tuple[Oid, ...] = ()
    columns: tuple[Oid, ...] = ()
    rows: tuple[Oid, ...] = ()

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
        if any(not row for row in self.rows) or len(set(self.rows)) != len(self.rows):
            raise ValueError(f"{self.name}: rows must be distinct, non-empty indexes")


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

STATION_SPEC = PollSpec("station", scalars=DEVICE_SPEC.scalars, columns=DEVICE_SPEC.columns, rows=((1,),))
"""A base station's poll: the same, for its backhaul port (ifIndex 1) only — one GET. Its radio ports (10 or
more a station) are neither exported nor judged, and at 10× the province walking them was most of the
varbinds netmon read and held."""

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
