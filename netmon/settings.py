"""Runtime settings from the environment (``NETMON_*``) — one place for every knob.

Secrets are not settings: they are resolved from ``env:``/``file:`` references in
the inventory's credential profiles (:mod:`netmon.secrets`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from netmon.inventory.text import known_zone

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
"""The province's clock (UTC+7, no daylight saving): how every command reads and prints a time."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NETMON_", extra="ignore")

    database_url: str = "sqlite:///netmon.db"
    """SQLite file in the working directory by default; ``postgresql+psycopg://…`` in production."""
    inventory: str = "inventory"
    timezone: str = DEFAULT_TIMEZONE
    """IANA zone of the province: a time typed without an offset (``--since 2026-11-01``, ``--at 08:00``) is read
    in it, and every time printed is shown in it (machine output: ISO 8601 with the offset)."""
    lang: Literal["vi", "en"] = "vi"
    """The command line's own words (messages, table headers, reports): Vietnamese, or English (``en``).
    Machine output (JSON keys, CSV columns, ids) is the same in both."""

    # Poll classes: how often each is polled. Each interval is spread over `slices` batches, so the
    # load is even and a device is never polled twice at once (a batch never overlaps itself).
    router_interval_s: float = Field(60.0, gt=0)
    bts_interval_s: float = Field(300.0, gt=0)
    discovery_interval_s: float = Field(6 * 3600.0, gt=0)
    slices: int = Field(6, ge=1, le=60)
    confirm_after_s: float = Field(5.0, gt=0)
    """A device that failed once is re-checked after this long (N failures in seconds, not N intervals)."""
    failures_to_down: int = Field(2, ge=1)
    flap_changes: int = Field(4, ge=1)
    """A link that changes state more than this many times within ``flap_window_s`` is flapping."""
    flap_window_s: float = Field(300.0, gt=0)
    flap_hold_s: float = Field(180.0, ge=0)
    """A flapping link stays flapping (one alert) until it has been stable this long."""
    flap_down_s: float | None = Field(None, ge=0)
    """A flapping (or churning) link seen down without a change this long is down — an outage, not a flap
    (default: one router poll interval)."""
    link_linger_s: float | None = None
    """A link incident stays open until the link has been back this long, so a flap stays one incident
    (default: two router poll intervals)."""
    blind_after_s: float | None = Field(None, ge=0)
    """A device that answers ping but not SNMP (or whose agent gives no data) this long makes netmon blind to
    it: ``netmon_device_blind`` and the DeviceBlind warning (default: three router poll intervals)."""
    concurrency: int = Field(256, ge=1)
    icmp: bool | None = None
    """None: on when running as root (raw sockets), off otherwise."""
    icmp_count: int = Field(3, ge=1, le=20)

    watch_path: bool = True
    """Watch netmon's own path toward the tree's root (the route and the egress interface's carrier, Linux): when
    it is gone, netmon says it is cut off — one incident — instead of paging the root router down."""

    listen: str = "127.0.0.1:9750"
    """Where /metrics, /healthz and /readyz are served."""
    trap_listen: str | None = "127.0.0.1:1162"
    """SNMP trap receiver; empty to disable. 1162 so it runs unprivileged."""
    heartbeat_s: float = Field(15.0, gt=0)
    outbox: str = "netmon-outbox.jsonl"
    """Where outage-history changes wait, on disk, while the database is away (relative to the working
    folder; empty: in memory only). Written first at the next start if netmon stops meanwhile."""
    retry_s: float = Field(5.0, gt=0)
    """How often what waits for the database is tried again."""
    backups: bool = True
    """Daily SSH configuration backups (and soon after a config-change trap) for devices with an SSH profile."""
    webhook_url: str | None = None
    """Optional: POST incidents here in Alertmanager's webhook payload shape (sites without Alertmanager)."""

    # Several pollers, one province (PostgreSQL only): see README "Scaling out".
    cluster: bool = False
    """Run as one of N pollers sharing the PostgreSQL database: each polls, judges, writes and exports only the
    devices assigned to it, and takes over a dead one's. Off: this netmon polls everything (SQLite: always)."""
    poller_id: str | None = None
    """This poller's name in the cluster (default: host name and listen port); unique, stable across restarts."""
    advertise: str | None = None
    """The /metrics URL the others and Prometheus reach this poller at (default: http://<host name>:<listen
    port>/metrics); listed by the ``/sd`` endpoint (Prometheus ``http_sd_configs``)."""
    failover_s: float = Field(60.0, gt=0)
    """A poller silent this long is dead: its devices go to the others at once (and PollerDown fires)."""
    cluster_beat_s: float = Field(5.0, gt=0)
    """How often a poller beats, renews or takes the lease, and reads what it owns."""
    cluster_margin: float = Field(0.2, ge=0)
    """Devices move to balance the load only while the pollers' loads differ by more than this share of the
    fair load (hysteresis: a poller that joins gets work past it, none ever ping-pongs)."""


    _known_zone = field_validator("timezone")(known_zone)


def get_settings() -> Settings:
    return Settings()


def split_hostport(text: str, default_port: int) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, default_port
    return host.strip("[]") or "0.0.0.0", int(port)
