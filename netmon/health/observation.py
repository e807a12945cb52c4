"""What a poll says about a device: the observation health/ judges, rates and the store keep.

One observation type per device (:class:`DeviceObs`) and per interface (:class:`InterfaceObs`): made by
:func:`netmon.health.interpret.interpret` from a walk, read as they are by the counter rates
(:mod:`netmon.health.rates`), the checks of the state machine (:mod:`netmon.health.judge`), the fact store
and the exposition.  Immutable: a new poll makes a new observation, so a reader can keep the previous one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal, TypeAlias, get_args

from netmon.serial import serial

UP, DOWN = 1, 2

CounterName: TypeAlias = Literal[
    "in_octets",
    "out_octets",
    "in_packets",
    "out_packets",
    "in_errors",
    "out_errors",
    "in_discards",
    "out_discards",
]
COUNTERS: Final[tuple[CounterName, ...]] = get_args(CounterName)
"""The counter names, in order."""
ALWAYS_32: Final[frozenset[CounterName]] = frozenset({"in_errors", "out_errors", "in_discards", "out_discards"})
"""Counters IF-MIB has no 64-bit (HC) version of."""


@dataclass(frozen=True, slots=True)
class InterfaceObs:
    """One interface in one poll. ``bits`` (32 or 64) is the width of the octet and packet counters."""

    if_index: int
    name: str | None = None
    descr: str | None = None
    alias: str | None = None
    if_type: int | None = None
    speed_bps: int | None = None
    admin_status: int | None = None  # 1 up, 2 down, 3 testing
    oper_status: int | None = None  # 1 up, 2 down, … 7 lowerLayerDown
    last_change_ticks: int | None = None
    bits: int = 32  # 64 when the octet counters come from ifXTable's HC columns
    in_octets: int | None = None
    out_octets: int | None = None
    in_errors: int | None = None
    out_errors: int | None = None
    in_discards: int | None = None
    out_discards: int | None = None
    discontinuity_ticks: int | None = None
    in_packets: int | None = None  # not polled (DEVICE_SPEC): rates handle them when a poll brings them
    out_packets: int | None = None

    def __post_init__(self) -> None:
        if self.bits not in (32, 64):
            raise ValueError(f"bits must be 32 or 64, not {self.bits!r}")

    def value(self, name: CounterName) -> int | None:
        found: int | None = getattr(self, name)
        return found

    def width(self, name: CounterName) -> int:
        return 32 if name in ALWAYS_32 else self.bits

    @property
    def label(self) -> str:
        """The name operators know the interface by (ifName, else ifDescr, else its index)."""
        return self.name or self.descr or f"ifIndex {self.if_index}"

    @property
    def oper_up(self) -> bool | None:
        return None if self.oper_status is None else self.oper_status == UP

    @property
    def admin_up(self) -> bool | None:
        return None if self.admin_status is None else self.admin_status == UP


@dataclass(frozen=True, slots=True)
class CollectionState:
    """How much of a poll came back: a device that answers is reachable, and what its agent got wrong lowers
    completeness instead (see :class:`netmon.collect.walk.PollResult`).

    ``completeness``: share of the polled scalars and columns read completely (1.0 clean, 0.0 nothing: no
    answer, or an answer without any value); ``faults``: protocol faults by reason, how many times each;
    ``tables``: each group or table polled (``system``, ``ifTable``, ``ifXTable`` …) → ``"complete"`` or the
    first reason it is not; ``incomplete``: each object not read completely (``ifDescr``, ``sysUpTime`` …) →
    why; ``notes``: the first few faults in words.
    """

    completeness: float = 1.0
    faults: Mapping[str, int] = field(default_factory=dict)
    tables: Mapping[str, str] = field(default_factory=dict)
    incomplete: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("faults", "tables", "incomplete"):  # immutable, like the observation that holds it
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    @property
    def complete(self) -> bool:
        return self.completeness >= 1.0 and not self.faults

    def as_dict(self) -> dict[str, object]:
        """For JSON (``netmon poll --json``)."""
        return {"completeness": round(self.completeness, 4), "tables": dict(self.tables),
                "incomplete": dict(self.incomplete), "faults": dict(self.faults), "notes": list(self.notes)}


COMPLETE: Final = CollectionState()
NOTHING: Final = CollectionState(completeness=0.0)


@dataclass(frozen=True, slots=True)
class DeviceObs:
    """One poll of one device. ``at``: when the poll started (seconds); uptime in hundredths of a second."""

    device_id: str
    at: float
    ok: bool
    error: str | None = None
    sys_name: str | None = None
    sys_descr: str | None = None
    sys_object_id: str | None = None
    sys_contact: str | None = None
    sys_location: str | None = None
    uptime_ticks: int | None = None
    interfaces: dict[int, InterfaceObs] = field(default_factory=dict)
    collection: CollectionState = COMPLETE
    serial: int = field(default_factory=serial, compare=False, repr=False)  # see netmon.serial

    def interface_named(self, name: str) -> InterfaceObs | None:
        """The interface the inventory calls ``name``: by ifName, ifDescr, or ``ifIndex N`` (:attr:`InterfaceObs.label`
        when an agent has neither name)."""
        for itf in self.interfaces.values():
            if name in (itf.name, itf.descr):
                return itf
        for itf in self.interfaces.values():
            if name == itf.label:
                return itf
        return None


@dataclass(frozen=True, slots=True)
class Hardware:
    """The chassis as ENTITY-MIB describes it (entPhysicalClass 3), for the device's facts."""

    model: str | None
    serial: str | None
    software: str | None
    manufacturer: str | None
