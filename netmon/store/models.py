"""Database tables (SQLModel). Schema changes go through Alembic (``store/migrations``).

Inventory tables mirror the YAML and are owned by ``netmon sync``; the columns
a poller learns (facts) live beside them but are never touched by a sync.
Time series are not stored here: they live in Prometheus.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Table, Text
from sqlmodel import Field, SQLModel

metadata = SQLModel.metadata


def table(model: type[SQLModel]) -> Table:
    """The Core table of a model, typed (SQLModel's stubs do not declare ``Model.__table__``)."""
    name = model.__tablename__
    return metadata.tables[name if isinstance(name, str) else name()]


# ------------------------------------------------------------------ inventory
class Unit(SQLModel, table=True):
    """Province, district or commune, keyed by its GSO code."""

    code: str = Field(primary_key=True, max_length=8)
    name: str
    type: str
    level: str  # province / district / commune
    parent_code: str | None = Field(default=None, max_length=8)
    lat: float | None = None
    lon: float | None = None


class Site(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    name: str
    kind: str
    level: str
    district: str | None = Field(default=None, max_length=8, index=True)
    commune: str | None = Field(default=None, max_length=8)
    address: str | None = None
    lat: float
    lon: float
    uplink: str | None = Field(default=None, max_length=64)


class Device(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    site: str = Field(max_length=64, index=True)
    mgmt: str
    role: str
    platform: str
    model: str | None = None
    snmp_profile: str
    ssh_profile: str | None = None
    interfaces: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Facts learnt by polling / SSH (never written by sync).
    sys_name: str | None = None
    sys_descr: str | None = Field(default=None, sa_column=Column(Text))
    sys_object_id: str | None = None
    serial: str | None = None
    os_version: str | None = None
    hardware: str | None = None
    facts_at: datetime | None = None


class Link(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    a_device: str = Field(max_length=64)
    a_interface: str
    b_device: str = Field(max_length=64)
    b_interface: str
    circuit: str | None = None
    provider: str | None = None
    bandwidth_mbps: float | None = None


class BaseStation(SQLModel, table=True):
    __tablename__ = "base_station"

    id: str = Field(primary_key=True, max_length=64)
    operator: str = Field(index=True)
    technologies: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    district: str = Field(max_length=8)
    commune: str = Field(max_length=8, index=True)
    lat: float
    lon: float
    mgmt: str | None = None
    snmp_profile: str | None = None


class SnmpProfile(SQLModel, table=True):
    """Only references to secrets (``env:…``/``file:…``) are stored, never their values."""

    __tablename__ = "snmp_profile"

    name: str = Field(primary_key=True, max_length=64)
    version: str
    community_ref: str | None = None
    user: str | None = None
    auth_protocol: str | None = None
    auth_key_ref: str | None = None
    priv_protocol: str | None = None
    priv_key_ref: str | None = None
    port: int
    timeout_s: float
    retries: int


class SshProfile(SQLModel, table=True):
    __tablename__ = "ssh_profile"

    name: str = Field(primary_key=True, max_length=64)
    username: str
    password_ref: str | None = None
    key_file_ref: str | None = None
    enable_secret_ref: str | None = None
    port: int
    timeout_s: float


class Maintenance(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    description: str | None = None
    spec: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# ------------------------------------------------------------ learnt by polling
class Interface(SQLModel, table=True):
    """An interface seen on a device, with when it was first and last seen."""

    device_id: str = Field(primary_key=True, max_length=64)
    if_index: int = Field(primary_key=True)
    name: str | None = None
    descr: str | None = None
    alias: str | None = None
    if_type: int | None = None
    speed_bps: int | None = Field(default=None, sa_column=Column(BigInteger))
    """64-bit: a 10G uplink (or a router's 8 Gbit/s loopback) does not fit a 32-bit INTEGER on PostgreSQL."""
    admin_status: int | None = None
    oper_status: int | None = None
    first_seen: datetime
    last_seen: datetime


# ------------------------------------------------------------ outages & events
class Outage(SQLModel, table=True):
    """One incident per root cause; ``ended_at`` is NULL while it is open."""

    id: int | None = Field(default=None, primary_key=True)
    object_type: str  # device / link / base_station
    object_id: str = Field(max_length=64, index=True)
    site_id: str | None = Field(default=None, max_length=64)
    kind: str  # down / flapping
    root_cause: str
    affected: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    detected_by: str  # poll / trap / icmp
    started_at: datetime = Field(index=True)
    ended_at: datetime | None = Field(default=None, index=True)
    duration_s: float | None = None


class Event(SQLModel, table=True):
    """Things worth a line in the history: reboots, traps, monitoring gaps."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    object_type: str
    object_id: str = Field(max_length=64)
    kind: str  # reboot / cold_start / warm_start / monitoring_gap / ...
    detail: str | None = None


class MonitorRun(SQLModel, table=True):
    """A heartbeat per running netmon, so time while it was stopped becomes a monitoring gap."""

    __tablename__ = "monitor_run"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None = None


class ConfigBackup(SQLModel, table=True):
    """One stored version of a device's running configuration (secrets scrubbed)."""

    __tablename__ = "config_backup"
    __table_args__ = (Index("ix_config_backup_device_taken", "device_id", "taken_at"),)

    id: int | None = Field(default=None, primary_key=True)
    device_id: str = Field(max_length=64)
    taken_at: datetime
    sha256: str = Field(max_length=64)
    content: str = Field(sa_column=Column(Text, nullable=False))


# ---------------------------------------------------------------- several pollers (PostgreSQL)
class Poller(SQLModel, table=True):
    """A running ``netmon run`` in a cluster: it registers, then beats; silent past ``failover`` it is dead."""

    id: str = Field(primary_key=True, max_length=64)
    url: str
    """Where its /metrics is, as Prometheus should scrape it (served by ``/sd``)."""
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None = None


class Lease(SQLModel, table=True):
    """One row per lease (``assign``): who holds it, until when, and its epoch (bumped at each new holder)."""

    name: str = Field(primary_key=True, max_length=32)
    holder: str = Field(max_length=64)
    epoch: int = Field(sa_column=Column(BigInteger, nullable=False))
    expires_at: datetime


class Assignment(SQLModel, table=True):
    """Which poller owns which unit (a subtree of the uplink tree, or a district's base stations)."""

    unit_id: str = Field(primary_key=True, max_length=128)
    poller_id: str = Field(max_length=64, index=True)
    epoch: int = Field(sa_column=Column(BigInteger, nullable=False))
    """The lease epoch it was written under (a stale leader cannot overwrite a newer one)."""
    assigned_at: datetime
