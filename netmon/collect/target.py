"""Who to poll and how: :class:`Target`, built from the inventory with its secrets resolved at the edge."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from netmon import secrets
from netmon.inventory import schema as s
from netmon.inventory.load import Inventory
from netmon.secrets import Secret

__all__ = ["Target", "targets_from_inventory"]

Version = Literal["1", "2c", "3"]


@dataclass(frozen=True, slots=True)
class Target:
    """One SNMP agent. ``host`` is an IP literal: nothing on the hot path resolves names.

    Secrets are :class:`~netmon.secrets.Secret`, whose repr shows only the reference (``env:NAME``), so a
    Target can be logged. ``auth_protocol``/``priv_protocol`` use the inventory's names
    (:class:`~netmon.inventory.schema.AuthProtocol`, :class:`~netmon.inventory.schema.PrivProtocol`).
    """

    device_id: str
    host: str
    port: int = 161
    version: Version = "2c"
    community: Secret | None = None
    user: str | None = None
    auth_protocol: str | None = None
    auth_key: Secret | None = None
    priv_protocol: str | None = None
    priv_key: Secret | None = None
    timeout_s: float = 2.0
    retries: int = 1

    def __post_init__(self) -> None:
        try:
            canonical = str(ipaddress.ip_address(self.host))
        except ValueError:
            raise ValueError(f"{self.device_id}: host {self.host!r} is not an IP address") from None
        object.__setattr__(self, "host", canonical)  # replies are matched against the canonical form
        if self.version == "3":
            if not self.user:
                raise ValueError(f"{self.device_id}: SNMPv3 needs a user")
            if (self.auth_protocol is None) != (self.auth_key is None):
                raise ValueError(f"{self.device_id}: auth_protocol and auth_key go together")
            if (self.priv_protocol is None) != (self.priv_key is None):
                raise ValueError(f"{self.device_id}: priv_protocol and priv_key go together")
        elif self.community is None:
            raise ValueError(f"{self.device_id}: SNMP v{self.version} needs a community")
        if self.timeout_s <= 0 or self.retries < 0:
            raise ValueError(f"{self.device_id}: timeout_s must be > 0 and retries >= 0")


def targets_from_inventory(
    inv: Inventory, kinds: Iterable[str] = ("devices", "base_stations")
) -> list[Target]:
    """A Target for every device / base station with a management address, in inventory order.

    Each secret reference is resolved once per profile; a missing one raises
    :class:`~netmon.secrets.SecretError` naming the profile and the variable or file.
    """
    resolved: dict[tuple[str, str], Secret] = {}

    def secret(profile: s.SnmpProfile, what: str, ref: str | None) -> Secret | None:
        if ref is None:
            return None
        key = (profile.name, what)
        if key not in resolved:
            resolved[key] = secrets.resolve(ref, owner=f"{what} of SNMP profile {profile.name}")
        return resolved[key]

    out: list[Target] = []
    for kind in kinds:
        if kind not in ("devices", "base_stations"):
            raise ValueError(f"unknown inventory section {kind!r}: use 'devices' or 'base_stations'")
        records: Iterable[s.Device | s.BaseStation] = getattr(inv, kind).values()
        for rec in records:
            if rec.mgmt is None or rec.snmp_profile is None:
                continue
            p = inv.snmp_profiles[rec.snmp_profile]
            host, port = rec.mgmt.endpoint(p.port)
            out.append(
                Target(
                    device_id=rec.id,
                    host=host,
                    port=port,
                    version=p.version.value,
                    community=secret(p, "community", p.community),
                    user=p.user,
                    auth_protocol=p.auth_protocol.value if p.auth_protocol else None,
                    auth_key=secret(p, "auth_key", p.auth_key),
                    priv_protocol=p.priv_protocol.value if p.priv_protocol else None,
                    priv_key=secret(p, "priv_key", p.priv_key),
                    timeout_s=p.timeout_s,
                    retries=p.retries,
                )
            )
    return out
