"""Load ``inventory/*.yaml``: parse, validate each record, merge, cross-check.

The result is an immutable :class:`Inventory`, or an :class:`InventoryError`
listing *every* problem with file, line and column — an operator fixes a
batch of typos in one go instead of one per run.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from netmon.gcpause import gc_paused
from netmon.inventory import schema as s
from netmon.inventory.model import Inventory, Origin, render_loc
from netmon.inventory.problems import InventoryError, Problem
from netmon.inventory.text import invisible
from netmon.inventory.validate import cross_check
from netmon.inventory.yamlsrc import Source, inventory_files, read_yaml

__all__ = ["SECTION_MODELS", "Inventory", "load_inventory"]  # Inventory: defined in inventory.model

SECTION_MODELS: dict[str, type[s.Model]] = {
    "sites": s.Site,
    "devices": s.Device,
    "links": s.Link,
    "base_stations": s.BaseStation,
    "snmp_profiles": s.SnmpProfile,
    "ssh_profiles": s.SshProfile,
    "maintenance": s.Maintenance,
}
KEY_FIELD = {"snmp_profiles": "name", "ssh_profiles": "name"}
TOP_LEVEL = ("province", *SECTION_MODELS)

M = TypeVar("M", bound=s.Model)


def load_inventory(path: Path | str) -> Inventory:
    """Load and fully validate the inventory at ``path`` (a folder or one file).

    Raises :class:`InventoryError` with every problem found.
    """
    with gc_paused():
        return _load(Path(path))


def _load(root: Path) -> Inventory:
    if not root.exists():
        raise InventoryError([Problem(str(root), 1, 1, "", "no such file or folder")])
    files, problems = inventory_files(root)
    if not files:
        raise InventoryError([*problems, Problem(str(root), 1, 1, "", "no *.yaml files here: nothing to load")])
    base = root if root.is_dir() else root.parent
    records: dict[str, list[tuple[Any, Origin]]] = {name: [] for name in TOP_LEVEL}
    broken: set[tuple[str, str]] = set()
    unreadable = False
    for file in files:
        display = _display(file, base)
        src, found = read_yaml(file, display)
        problems += found
        if src is None:
            unreadable = True
            continue
        found, complete = _records(src, records, broken)
        problems += found
        unreadable |= not complete

    provinces = records["province"]
    if not provinces:
        if not problems:
            problems.append(
                Problem(str(root), 1, 1, "province", "no file defines 'province' (the administrative units)")
            )
        raise InventoryError(problems)
    province, province_origin = provinces[0]
    for _, origin in provinces[1:]:
        again_file, line, col = origin.at()
        first_file, first_line, _ = province_origin.at()
        problems.append(
            Problem(again_file, line, col, "province", f"defined again (first in {first_file}:{first_line})")
        )

    keyed: dict[str, dict[str, Any]] = {}
    origins: dict[tuple[str, str], Origin] = {("province", province.code): province_origin}
    for section in SECTION_MODELS:
        keyed[section] = {}
        key_field = KEY_FIELD.get(section, "id")
        for model, origin in records[section]:
            key = getattr(model, key_field)
            if key in keyed[section]:
                problems.append(_duplicate(key_field, key, origins[(section, key)], origin))
                continue
            keyed[section][key] = model
            origins[(section, key)] = origin

    inventory = Inventory(
        province=province,
        sites=keyed["sites"],
        devices=keyed["devices"],
        links=keyed["links"],
        base_stations=keyed["base_stations"],
        snmp_profiles=keyed["snmp_profiles"],
        ssh_profiles=keyed["ssh_profiles"],
        maintenance=keyed["maintenance"],
        origins=origins,
        broken=frozenset(broken),
        incomplete=unreadable,
    )
    problems += cross_check(inventory)
    if problems:
        raise InventoryError(problems)
    return inventory


def _duplicate(key_field: str, key: str, first: Origin, again: Origin) -> Problem:
    """The problem of a key written twice, at the copy most likely the mistake: within a file, the later one;
    across files, the one in the file changed last (the file just added or edited — not the one that has held
    the record for years), the later file in name order when they are as old."""
    blamed, other = again, first
    if first.source.file != again.source.file and first.source.mtime > again.source.mtime:
        blamed, other = first, again
    file, line, col = blamed.at(key_field)
    ofile, oline, _ = other.at(key_field)
    if ofile == file:
        where = f"first at line {oline}"
    elif other.source.mtime < blamed.source.mtime:
        where = f"already in {ofile}:{oline}, an older file"
    else:
        where = f"first in {ofile}:{oline}"
    return Problem(file, line, col, blamed.field(key_field), f"duplicate {key_field} {key!r} ({where})")


def _display(file: Path, base: Path) -> str:
    try:
        return str(file.relative_to(Path.cwd()))
    except ValueError:
        return str(file)


def _records(
    src: Source, out: dict[str, list[tuple[Any, Origin]]], broken: set[tuple[str, str]]
) -> tuple[list[Problem], bool]:
    """Validate every record of one file on its own, so one bad record hides no other problem.

    The bool is False when part of the file could not be read as records (an unknown section,
    a section that is not a list): references to what it held must not be reported as unknown.
    """
    data = src.data
    if not isinstance(data, dict):
        line, col, _ = src.locate(())
        return [Problem(src.file, line, col, "", "the top level must be a mapping of sections "
                        f"({', '.join(TOP_LEVEL)})")], False
    problems: list[Problem] = []
    complete = True
    for key, value in data.items():
        if key not in TOP_LEVEL:
            line, col = src.locate_key((key,))
            message = "unknown section" + _did_you_mean(key, TOP_LEVEL)
            problems.append(Problem(src.file, line, col, str(key), message))
            complete = False
            continue
        if key == "province":
            problems += _validate_one(src, ("province",), s.Province, value, out["province"])
            continue
        if value is None:
            continue  # `base_stations:` with nothing under it is an empty list
        if not isinstance(value, list):
            line, col, _ = src.locate((key,))
            message = "must be a list of records (each starting with '- ')"
            problems.append(Problem(src.file, line, col, key, message))
            complete = False
            continue
        model = SECTION_MODELS[key]
        key_field = KEY_FIELD.get(key, "id")
        for index, item in enumerate(value):
            found = _validate_one(src, (key, index), model, item, out[key])
            if found and isinstance(item, dict) and isinstance(item.get(key_field), str):
                broken.add((key, item[key_field]))
            problems += found
    return problems, complete


def _validate_one(
    src: Source, loc: tuple[int | str, ...], model: type[M], item: Any, out: list[tuple[Any, Origin]]
) -> list[Problem]:
    try:
        record = model.model_validate(item)
    except ValidationError as exc:
        return [_problem(src, loc, model, err) for err in exc.errors(include_url=False, include_input=False)]
    out.append((record, Origin(src, loc)))
    return []


def _problem(src: Source, base: tuple[int | str, ...], model: type[BaseModel], err: ErrorDetails) -> Problem:
    loc = base + tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        line, col = src.locate_key(loc)
        owner = _model_at(model, tuple(err["loc"])[:-1])
        names = tuple(owner.model_fields) if owner else ()
        message = "unknown field" + _did_you_mean(str(loc[-1]), names)
        return Problem(src.file, line, col, render_loc(loc), message)
    line, col, _ = src.locate(loc)
    if kind == "missing":
        message = "required field is missing"
    elif kind == "string_pattern_mismatch" and err.get("ctx", {}).get("pattern") == s.ID_PATTERN:
        value = _value_at(src.data, loc)
        message = ("must be a lower-case id: letters a-z, digits, '.', '_', '-' (at most 64)"
                   + (invisible(value) if isinstance(value, str) else ""))
    elif kind == "string_pattern_mismatch" and err.get("ctx", {}).get("pattern") == s.GSO_PATTERN:
        message = "must be a GSO code of 2 to 5 digits (e.g. 848 for Huyện Cầu Ngang), not a name"
    elif kind == "finite_number":
        message = "must be a finite number (.nan and .inf are not numbers here)"
    else:
        message = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return Problem(src.file, line, col, render_loc(loc), message)


def _value_at(data: Any, loc: tuple[int | str, ...]) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model class that holds the value at ``loc`` (to suggest its field names)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        is_model = isinstance(current, type) and issubclass(current, BaseModel)
        if not is_model or part not in current.model_fields:
            return None
        current = _inner_model(current.model_fields[part].annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    """Unwrap ``list[X]``, ``X | None`` and ``Annotated[X, ...]`` down to a model class."""
    for _ in range(5):
        origin = typing.get_origin(annotation)
        if origin is None:
            return annotation
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if origin in (typing.Union, types.UnionType, list, typing.Annotated) and args:
            annotation = args[0]
        else:
            return annotation
    return annotation
