"""Scripted incidents for the simulated province: the scenarios shipped with netmon (``netmon/sim/scenarios/``:
``demo``, ``province-day``, ``district-outage``, on the sample province's ids) or a file of your own.

A scenario is a list of steps at offsets from the simulator's start::

    steps:
      - {at: 30s, action: device_down, device: rt-ubnd-huyen-cau-ngang, for: 2m}
      - {at: 20s, action: link_flap, device: rt-ubnd-xa-..., interface: GigabitEthernet0/0/0, count: 5, every: 6s}

:func:`timeline` expands it into single, time-ordered events (``for`` adds the
undo step, a flap its downs and ups), so the runner is a plain loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from netmon.inventory.problems import InventoryError, Problem
from netmon.inventory.yamlsrc import read_yaml

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(value: Any) -> float:
    """``90``, ``"90s"``, ``"1.5m"``, ``"250ms"`` → seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and (match := _DURATION.match(value)):
        return float(match.group(1)) * _UNITS[match.group(2)]
    raise ValueError("a duration like 30, '30s', '2m' or '250ms'")


Seconds = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]


class Action(StrEnum):
    DEVICE_DOWN = "device_down"  # powered off: it and everything behind it stop answering
    DEVICE_UP = "device_up"  # back on (a cold start)
    LINK_DOWN = "link_down"
    LINK_UP = "link_up"
    LINK_FLAP = "link_flap"
    REBOOT = "reboot"  # sysUpTime and counters restart; a coldStart trap
    SLOW = "slow"  # answers after `delay`
    DROP = "drop"  # the agent drops every packet (the device stays up)
    NORMAL = "normal"  # undo slow/drop


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    at: Seconds
    action: Action
    device: str
    interface: str | None = None
    duration: Seconds | None = Field(None, alias="for", description="undo after this long")
    count: int = Field(3, ge=1, le=1000, description="link_flap: down/up cycles")
    every: Seconds = Field(5.0, gt=0, description="link_flap: seconds between changes")
    delay: Seconds = Field(2.5, le=30, description="slow: response delay")

    @model_validator(mode="after")
    def _interface_for_links(self) -> Step:
        if self.action in (Action.LINK_DOWN, Action.LINK_UP, Action.LINK_FLAP) and not self.interface:
            raise ValueError(f"{self.action.value} needs 'interface'")
        return self


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str | None = None
    steps: list[Step] = Field(default_factory=list)


UNDO = {
    Action.DEVICE_DOWN: Action.DEVICE_UP,
    Action.LINK_DOWN: Action.LINK_UP,
    Action.SLOW: Action.NORMAL,
    Action.DROP: Action.NORMAL,
}


@dataclass(frozen=True, order=True)
class Event:
    at: float
    seq: int
    action: Action
    device: str
    interface: str | None = None
    delay: float = 2.5


def timeline(scenario: Scenario) -> list[Event]:
    """Expand steps into time-ordered single events (ties keep file order)."""
    events: list[Event] = []

    def add(at: float, action: Action, step: Step) -> None:
        events.append(Event(at, len(events), action, step.device, step.interface, step.delay))

    for step in scenario.steps:
        if step.action is Action.LINK_FLAP:
            for i in range(step.count):
                add(step.at + 2 * i * step.every, Action.LINK_DOWN, step)
                add(step.at + (2 * i + 1) * step.every, Action.LINK_UP, step)
            continue
        add(step.at, step.action, step)
        if step.duration is not None and step.action in UNDO:
            add(step.at + step.duration, UNDO[step.action], step)
    return sorted(events)


SHIPPED = Path(__file__).with_name("scenarios")
"""The scenarios that ship in the package, beside the sample province's generator whose ids they use."""


def shipped_scenarios() -> dict[str, Path]:
    """Name → file of every shipped scenario (``demo`` → ``…/netmon/sim/scenarios/demo.yaml``)."""
    return {p.stem: p for p in sorted(SHIPPED.glob("*.yaml"))}


def scenario_path(text: str) -> Path | None:
    """The scenario ``text`` names: a file (as given), else a shipped scenario by name; None when neither."""
    path = Path(text)
    if path.is_file():
        return path
    return shipped_scenarios().get(path.name.removesuffix(".yaml")) if path.parent == Path(".") else None


def load_scenario(path: Path, known_devices: set[str] | None = None) -> Scenario:
    """Read and check a scenario file; problems carry file:line like inventory errors."""
    src, problems = read_yaml(path, str(path))
    if src is None:
        raise InventoryError(problems)
    try:
        scenario = Scenario.model_validate(src.data)
    except ValidationError as exc:
        out = []
        for err in exc.errors(include_url=False, include_input=False):
            loc = tuple(err["loc"])
            line, col, _ = src.locate(loc)
            field = ".".join(str(p) for p in loc)
            out.append(Problem(src.file, line, col, field, err["msg"].removeprefix("Value error, ")))
        raise InventoryError(out) from None
    if known_devices is not None:
        unknown = []
        for i, step in enumerate(scenario.steps):
            if step.device not in known_devices:
                line, col, _ = src.locate(("steps", i, "device"))
                unknown.append(Problem(src.file, line, col, f"steps.{i}.device",
                                       f"unknown device {step.device!r} (not simulated)"))
        if unknown:
            raise InventoryError(unknown)
    return scenario
