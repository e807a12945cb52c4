"""The MIB objects netmon reads, by number: numeric OIDs, tuples of int in code, dotted strings at the edges.

A leaf both sides reach: ``collect/`` builds its walks from these OIDs (:mod:`netmon.collect.oids`: what a
poll asks for), ``health/`` reads the answers by them (:mod:`netmon.health.interpret`: what they mean), and
neither imports the other.  No MIB is loaded anywhere: the hot path compares tuples.

Tuples are what the BER codec produces and what a poller compares: walking a column is
``oid[:len(column)] == column``, which is a C-level tuple comparison, with no parsing on the hot path.
"""

from __future__ import annotations

from typing import TypeAlias

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
# MIB-II system group, IF-MIB, ENTITY-MIB, HOST-RESOURCES-MIB
# ---------------------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------------------
# Names, for people: what a poll says it could not read completely (``netmon poll``, logs, the live view)
# ---------------------------------------------------------------------------------------------------------

NAMES: dict[Oid, str] = {
    SYS_DESCR: "sysDescr", SYS_OBJECT_ID: "sysObjectID", SYS_UPTIME: "sysUpTime", SYS_CONTACT: "sysContact",
    SYS_NAME: "sysName", SYS_LOCATION: "sysLocation", IF_NUMBER: "ifNumber",
    IF_INDEX: "ifIndex", IF_DESCR: "ifDescr", IF_TYPE: "ifType", IF_MTU: "ifMtu", IF_SPEED: "ifSpeed",
    IF_PHYS_ADDRESS: "ifPhysAddress", IF_ADMIN_STATUS: "ifAdminStatus", IF_OPER_STATUS: "ifOperStatus",
    IF_LAST_CHANGE: "ifLastChange", IF_IN_OCTETS: "ifInOctets", IF_IN_DISCARDS: "ifInDiscards",
    IF_IN_ERRORS: "ifInErrors", IF_OUT_OCTETS: "ifOutOctets", IF_OUT_DISCARDS: "ifOutDiscards",
    IF_OUT_ERRORS: "ifOutErrors", IF_NAME: "ifName", IF_HC_IN_OCTETS: "ifHCInOctets",
    IF_HC_OUT_OCTETS: "ifHCOutOctets", IF_HIGH_SPEED: "ifHighSpeed", IF_ALIAS: "ifAlias",
    IF_COUNTER_DISCONTINUITY_TIME: "ifCounterDiscontinuityTime",
    ENT_PHYSICAL_DESCR: "entPhysicalDescr", ENT_PHYSICAL_CLASS: "entPhysicalClass",
    ENT_PHYSICAL_NAME: "entPhysicalName", ENT_PHYSICAL_HARDWARE_REV: "entPhysicalHardwareRev",
    ENT_PHYSICAL_FIRMWARE_REV: "entPhysicalFirmwareRev", ENT_PHYSICAL_SOFTWARE_REV: "entPhysicalSoftwareRev",
    ENT_PHYSICAL_SERIAL_NUM: "entPhysicalSerialNum", ENT_PHYSICAL_MFG_NAME: "entPhysicalMfgName",
    ENT_PHYSICAL_MODEL_NAME: "entPhysicalModelName", HR_PROCESSOR_LOAD: "hrProcessorLoad",
    HR_STORAGE_TYPE: "hrStorageType", HR_STORAGE_DESCR: "hrStorageDescr",
    HR_STORAGE_ALLOCATION_UNITS: "hrStorageAllocationUnits", HR_STORAGE_SIZE: "hrStorageSize",
    HR_STORAGE_USED: "hrStorageUsed",
}  # fmt: skip
TABLES: dict[Oid, str] = {
    SYSTEM: "system", IF_NUMBER[:-1]: "interfaces", IF_ENTRY[:-1]: "ifTable", IF_X_ENTRY[:-1]: "ifXTable",
    ENT_PHYSICAL_ENTRY[:-1]: "entPhysicalTable", HR_PROCESSOR_LOAD[:-2]: "hrProcessorTable",
    HR_STORAGE_ENTRY[:-1]: "hrStorageTable",
}
"""The group or table each polled object belongs to, by its OID prefix."""


def name_of(oid: Oid) -> str:
    """``ifDescr`` for the ifDescr column, ``sysUpTime`` for sysUpTime.0; the dotted OID for anything else."""
    return NAMES.get(oid) or format_oid(oid)


def table_of(oid: Oid) -> str:
    """The group or table (:data:`TABLES`) an object lies in; for one of no known table, its parent OID."""
    for size in range(len(oid) - 1, 1, -1):
        found = TABLES.get(oid[:size])
        if found is not None:
            return found
    return format_oid(oid[:-1])
