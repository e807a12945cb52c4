"""The inventory model: what operators write in ``inventory/*.yaml``.

Every model forbids unknown keys so a typo is an error, never a silently ignored
field.  Cross-references (site → unit, device → profile, uplink cycles …) are
checked in :mod:`netmon.inventory.validate`, not here, so that one pass reports
all of them with their positions.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, time
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from netmon.inventory.text import known_zone

ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
Id = Annotated[str, Field(pattern=ID_PATTERN, description="lower-case slug: a-z 0-9 . _ -")]


def _code_as_text(value: Any) -> Any:
    # `district: 848` is what people type; GSO codes are text (leading zeros matter elsewhere).
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


GSO_PATTERN = r"^[0-9]{2,5}$"
GsoCode = Annotated[str, BeforeValidator(_code_as_text), Field(pattern=GSO_PATTERN, description="official GSO code")]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]

SECRET_REF = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|file:/\S+)$")


class Model(BaseModel):
    """Base of every inventory record: strict keys, immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False)
    """``allow_inf_nan=False``: YAML's ``.nan`` and ``.inf`` are numbers to a parser, never a coordinate or a
    bandwidth (``.nan`` passed every range check and came out as "should be ≤ 90")."""


class Located(Model):
    """A record with lat/lon: swapped coordinates get their own message, not just "≤ 90"."""

    @model_validator(mode="before")
    @classmethod
    def _swapped(cls, data: Any) -> Any:
        if isinstance(data, dict):
            lat, lon = data.get("lat"), data.get("lon")
            if (isinstance(lat, int | float) and isinstance(lon, int | float)
                    and abs(lat) > 90 and abs(lon) <= 90):
                raise ValueError(f"lat {lat} and lon {lon} look swapped: latitude (north–south) is within ±90")
        return data


# --------------------------------------------------------------------- secrets
class SecretRef(str):
    """A reference to a secret (``env:NAME`` or ``file:/path``), never the secret itself.

    The value is resolved only at the edge (:mod:`netmon.secrets`), so models can be
    logged, exported and stored without leaking anything.
    """

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(
            cls._check, core_schema.str_schema(strip_whitespace=True)
        )

    @classmethod
    def _check(cls, value: str) -> SecretRef:
        if SECRET_REF.match(value):
            return cls(value)
        if value.startswith("file:"):  # a reference, mistyped: the path is no secret and is shown
            path = value[5:]
            if not path:
                raise ValueError("file: needs the secret file's absolute path, e.g. file:/run/secrets/snmp")
            if not path.startswith("/"):
                raise ValueError(f"file: needs an absolute path: {path!r} is relative (netmon does not guess the "
                                 f"folder); write file:/…/{path.lstrip('./')}")
            raise ValueError("file: path must not contain spaces")
        if value.startswith("env:"):  # the name is not shown: a secret may have been pasted after env:
            raise ValueError("env: needs a variable name of letters, digits and '_', not starting with a digit "
                             "(e.g. env:NETMON_SNMP_COMMUNITY)")
        # Never echo the value: it may be the literal secret itself.
        raise ValueError("literal secrets are not allowed; write a reference: env:VARIABLE or file:/path/to/secret")


# ------------------------------------------------------------ administrative units
class UnitType(StrEnum):
    THANH_PHO = "thành phố"
    THI_XA = "thị xã"
    HUYEN = "huyện"
    PHUONG = "phường"
    XA = "xã"
    THI_TRAN = "thị trấn"


class Commune(Model):
    code: GsoCode
    name: str = Field(min_length=1)
    type: UnitType
    lat: Latitude | None = None
    lon: Longitude | None = None


class District(Model):
    code: GsoCode
    name: str = Field(min_length=1)
    type: UnitType
    lat: Latitude | None = None
    lon: Longitude | None = None
    communes: list[Commune] = Field(default_factory=list)


class BoundingBox(Model):
    """Coordinates outside this box are rejected: they are almost always swapped lat/lon or a typo."""

    min_lat: Latitude
    max_lat: Latitude
    min_lon: Longitude
    max_lon: Longitude

    def contains(self, lat: float, lon: float) -> bool:
        return self.min_lat <= lat <= self.max_lat and self.min_lon <= lon <= self.max_lon


class Province(Model):
    code: GsoCode
    name: str = Field(min_length=1)
    bbox: BoundingBox
    districts: list[District] = Field(default_factory=list)


# ---------------------------------------------------------------------- sites
class SiteKind(StrEnum):
    PARTY = "party"
    STATE = "state"


class Level(StrEnum):
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"


class Site(Located):
    id: Id
    name: str = Field(min_length=1, description="Vietnamese name with diacritics")
    kind: SiteKind
    level: Level
    district: GsoCode | None = Field(None, description="GSO code of the district (district/commune level)")
    commune: GsoCode | None = Field(None, description="GSO code of the commune (commune level)")
    address: str | None = None
    lat: Latitude
    lon: Longitude
    uplink: Id | None = Field(None, description="parent site whose failure makes this one unreachable")

    @model_validator(mode="after")
    def _level_needs_unit(self) -> Site:
        if self.level is not Level.PROVINCE and self.district is None:
            raise ValueError(f"a {self.level.value}-level site needs 'district'")
        if self.level is Level.COMMUNE and self.commune is None:
            raise ValueError("a commune-level site needs 'commune'")
        return self


# -------------------------------------------------------------------- devices
class Address(str):
    """A management address: ``127.10.0.1``, ``127.10.0.1:1161``, ``::1`` or ``[::1]:1161``."""

    host: str
    port: int | None

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(
            cls.parse, core_schema.str_schema(strip_whitespace=True)
        )

    @classmethod
    def parse(cls, text: str) -> Address:
        host, port = text, None
        if text.startswith("["):
            end = text.find("]")
            if end < 0:
                raise ValueError("IPv6 address opened with '[' but has no ']'")
            host, rest = text[1:end], text[end + 1 :]
            if rest:
                if not rest.startswith(":"):
                    raise ValueError("expected ':PORT' after ']'")
                port = _port(rest[1:])
        elif text.count(":") == 1:
            host, port_text = text.split(":")
            port = _port(port_text)
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"{host!r} is not an IPv4 or IPv6 address") from None
        canonical = f"[{ip}]" if ip.version == 6 and port is not None else str(ip)
        obj = cls(canonical if port is None else f"{canonical}:{port}")
        obj.host, obj.port = str(ip), port
        return obj

    def endpoint(self, default_port: int = 161) -> tuple[str, int]:
        return self.host, self.port if self.port is not None else default_port


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"port {text!r} is not a number from 1 to 65535")
    return int(text)


class InterfaceRole(StrEnum):
    UPLINK = "uplink"
    DOWNLINK = "downlink"
    LAN = "lan"


MAX_BANDWIDTH_MBPS = 400_000
"""400 Gbit/s, the fastest Ethernet in use: a contracted bandwidth above it is a unit mistake (kbit/s, bit/s)."""


def _plausible_bandwidth(value: float | None) -> float | None:
    if value is not None and value > MAX_BANDWIDTH_MBPS:
        raise ValueError(f"{value:g} Mbit/s is not a real circuit (at most {MAX_BANDWIDTH_MBPS:,} = 400 Gbit/s): "
                         "bandwidth_mbps is in Mbit/s, not kbit/s or bit/s")
    return value


Bandwidth = Annotated[float | None, Field(gt=0), AfterValidator(_plausible_bandwidth)]


class WatchedInterface(Model):
    """An interface whose state is a service: usually the uplink circuit of a site."""

    name: str = Field(min_length=1, description="ifName/ifDescr as the device reports it")
    role: InterfaceRole = InterfaceRole.UPLINK
    circuit: str | None = Field(None, description="provider circuit id")
    provider: str | None = None
    bandwidth_mbps: Bandwidth = Field(None, description="contracted bandwidth (Mbit/s)")


class DeviceRole(StrEnum):
    CORE = "core"
    DISTRICT = "district"
    ACCESS = "access"
    FIREWALL = "firewall"
    SWITCH = "switch"


PLATFORMS = (
    "cisco_ios",
    "cisco_xe",
    "cisco_nxos",
    "cisco_xr",
    "arista_eos",
    "juniper_junos",
    "huawei",
    "hp_comware",
    "mikrotik_routeros",
    "fortinet",
    "linux",
)
Platform = Literal[
    "cisco_ios",
    "cisco_xe",
    "cisco_nxos",
    "cisco_xr",
    "arista_eos",
    "juniper_junos",
    "huawei",
    "hp_comware",
    "mikrotik_routeros",
    "fortinet",
    "linux",
]


class Device(Model):
    id: Id
    site: Id
    mgmt: Address
    role: DeviceRole
    platform: Platform = Field(description="netmiko device_type")
    model: str | None = None
    snmp_profile: str
    ssh_profile: str | None = None
    interfaces: list[WatchedInterface] = Field(default_factory=list)

    @field_validator("interfaces")
    @classmethod
    def _unique_interfaces(cls, value: list[WatchedInterface]) -> list[WatchedInterface]:
        seen: set[str] = set()
        for itf in value:
            if itf.name in seen:
                raise ValueError(f"interface {itf.name!r} is listed twice")
            seen.add(itf.name)
        return value


# ---------------------------------------------------------------------- links
class LinkEnd(Model):
    device: Id
    interface: str = Field(min_length=1)


class Link(Model):
    id: Id
    a: LinkEnd
    b: LinkEnd
    circuit: str | None = None
    provider: str | None = None
    bandwidth_mbps: Bandwidth = None


# -------------------------------------------------------------- base stations
class Operator(StrEnum):
    VNPT = "VNPT"
    VIETTEL = "Viettel"
    MOBIFONE = "MobiFone"
    FPT = "FPT"
    GTEL = "Gtel"
    VIETNAMOBILE = "Vietnamobile"


class Technology(StrEnum):
    G2 = "2G"
    G3 = "3G"
    G4 = "4G"
    G5 = "5G"


class BaseStation(Located):
    id: Id
    operator: Operator
    technologies: list[Technology] = Field(min_length=1)
    district: GsoCode
    commune: GsoCode
    lat: Latitude
    lon: Longitude
    mgmt: Address | None = None
    snmp_profile: str | None = None

    @model_validator(mode="after")
    def _profile_with_address(self) -> BaseStation:
        if self.mgmt is not None and self.snmp_profile is None:
            raise ValueError("a base station with 'mgmt' needs 'snmp_profile'")
        return self


# ------------------------------------------------------------------- profiles
class SnmpVersion(StrEnum):
    V1 = "1"
    V2C = "2c"
    V3 = "3"


class AuthProtocol(StrEnum):
    MD5 = "MD5"
    SHA = "SHA"
    SHA224 = "SHA224"
    SHA256 = "SHA256"
    SHA384 = "SHA384"
    SHA512 = "SHA512"


class PrivProtocol(StrEnum):
    """Names as net-snmp and snmp_exporter (gosnmp) use them; see netmon/collect/usm.py."""

    DES = "DES"
    AES = "AES"  # AES-128
    AES192 = "AES192"  # key extension of draft-blumenthal-aes-usm (net-snmp AES-192)
    AES256 = "AES256"
    AES192C = "AES192C"  # Reeder key extension, as Cisco devices (net-snmp AES-192-C)
    AES256C = "AES256C"


class SnmpProfile(Model):
    name: Id
    version: SnmpVersion
    community: SecretRef | None = None
    user: str | None = None
    auth_protocol: AuthProtocol | None = None
    auth_key: SecretRef | None = None
    priv_protocol: PrivProtocol | None = None
    priv_key: SecretRef | None = None
    port: int = Field(161, gt=0, lt=65536)
    timeout_s: float = Field(2.0, gt=0, le=60)
    retries: int = Field(1, ge=0, le=10)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        # YAML reads `version: 3` as an int; accept it without forcing quotes on operators.
        return str(value) if isinstance(value, int) else value

    @model_validator(mode="after")
    def _credentials_fit_version(self) -> SnmpProfile:
        if self.version is SnmpVersion.V3:
            if not self.user:
                raise ValueError("an SNMPv3 profile needs 'user'")
            if self.community is not None:
                raise ValueError("'community' is for SNMP v1/v2c; v3 uses 'user' and keys")
            if (self.auth_protocol is None) != (self.auth_key is None):
                raise ValueError("'auth_protocol' and 'auth_key' go together")
            if (self.priv_protocol is None) != (self.priv_key is None):
                raise ValueError("'priv_protocol' and 'priv_key' go together")
            if self.priv_protocol is not None and self.auth_protocol is None:
                raise ValueError("privacy without authentication is not allowed by SNMPv3")
        else:
            if self.community is None:
                raise ValueError(f"an SNMP v{self.version.value} profile needs 'community'")
            extra = [f for f in ("user", "auth_protocol", "auth_key", "priv_protocol", "priv_key")
                     if getattr(self, f) is not None]
            if extra:
                raise ValueError(f"{', '.join(extra)}: only for SNMPv3 profiles")
        return self


class SshProfile(Model):
    name: Id
    username: str = Field(min_length=1)
    password: SecretRef | None = None
    key_file: SecretRef | None = None
    enable_secret: SecretRef | None = None
    port: int = Field(22, gt=0, lt=65536)
    timeout_s: float = Field(20.0, gt=0, le=300)

    @model_validator(mode="after")
    def _some_credential(self) -> SshProfile:
        if self.password is None and self.key_file is None:
            raise ValueError("an SSH profile needs 'password' or 'key_file'")
        return self


# ---------------------------------------------------------------- maintenance
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Recurrence(Model):
    """A weekly or daily window in local time, e.g. every Sunday 02:00 for 120 minutes."""

    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)
    start: time
    duration_minutes: int = Field(gt=0, le=7 * 24 * 60)
    timezone: str = "Asia/Ho_Chi_Minh"

    _known_zone = field_validator("timezone")(known_zone)


class Maintenance(Model):
    id: Id
    description: str | None = None
    sites: list[Id] = Field(default_factory=list)
    devices: list[Id] = Field(default_factory=list)
    base_stations: list[Id] = Field(default_factory=list)
    start: datetime | None = Field(None, description="one-off window start (with time zone)")
    end: datetime | None = None
    recurrence: Recurrence | None = None

    @model_validator(mode="after")
    def _one_kind_of_window(self) -> Maintenance:
        if not (self.sites or self.devices or self.base_stations):
            raise ValueError("a maintenance window needs at least one of 'sites', 'devices', 'base_stations'")
        one_off = self.start is not None or self.end is not None
        if one_off == (self.recurrence is not None):
            raise ValueError("give either 'start' and 'end' (one-off) or 'recurrence', not both or neither")
        if one_off:
            if self.start is None or self.end is None:
                raise ValueError("a one-off window needs both 'start' and 'end'")
            if self.start.tzinfo is None or self.end.tzinfo is None:
                raise ValueError("'start' and 'end' need a time zone, e.g. 2026-12-01T22:00:00+07:00")
            if self.end <= self.start:
                raise ValueError("'end' must be after 'start'")
        return self


# ------------------------------------------------------------ one file, merged
class InventoryFile(Model):
    """What one YAML file may hold; every list is merged with the other files'."""

    province: Province | None = None
    sites: list[Site] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    base_stations: list[BaseStation] = Field(default_factory=list)
    snmp_profiles: list[SnmpProfile] = Field(default_factory=list)
    ssh_profiles: list[SshProfile] = Field(default_factory=list)
    maintenance: list[Maintenance] = Field(default_factory=list)


SECTIONS = ("sites", "devices", "links", "base_stations", "snmp_profiles", "ssh_profiles", "maintenance")
