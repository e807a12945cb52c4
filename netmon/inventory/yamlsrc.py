"""Read one YAML file into plain Python data; find any value's position when an error needs it.

Speed matters (the 10× province is ~4 MB): libyaml's C parser emits events and
:class:`_Builder` turns them straight into dicts and lists, typing plain
scalars with YAML 1.2 core rules.  Building PyYAML nodes (or using its
constructors) costs ~4× more because of the Python objects and the pure-Python
resolver; ruamel.yaml's round-trip loader is slower still.  Positions are only
needed when something is wrong, so :meth:`Source.locate` composes the node
tree lazily, on the first error in that file.

The builder also refuses what a safe loader must: alias-expansion bombs,
duplicate keys (YAML silently keeps the last), several documents in one file.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from netmon.gcpause import gc_paused
from netmon.inventory.problems import Problem

MAX_FILE_BYTES = 32 * 1024 * 1024
"""Refuse larger files: the 10× province is ~6 MB; anything far beyond is a mistake or an attack."""

ALIAS_BUDGET = 10_000
"""How many nodes alias expansion may add beyond the file's own nodes (billion-laughs guard)."""

# The *base* loader: libyaml parses and composes in C, and no implicit-type resolver runs (PyYAML's
# resolver is pure Python and was ~75 % of the load time of the 10× province). Plain scalars are typed
# by `_scalar` below instead, with YAML 1.2 core rules.
try:
    _Loader: Any = yaml.CBaseLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.BaseLoader

_INT = re.compile(r"^[-+]?[0-9][0-9_]*$|^0x[0-9a-fA-F_]+$|^0o[0-7_]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$")
_NUMERIC_START = frozenset("0123456789+-.")
_KEYWORDS: dict[str, Any] = {
    "true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False,
    "null": None, "Null": None, "NULL": None, "~": None, "": None,
    ".inf": float("inf"), "-.inf": float("-inf"), ".nan": float("nan"),
}


@dataclass(frozen=True, slots=True)
class Source:
    """A parsed file: its data and the node tree that knows where each value is."""

    file: str
    data: Any
    text: str
    mtime: float = field(default=0.0, compare=False)
    """When the file was last changed: a record in two files is blamed on the newer one."""
    _nodes: list[Node | None] = field(default_factory=list, compare=False, repr=False)

    @property
    def node(self) -> Node | None:
        """The composed node tree (built on first use: only error reporting needs it)."""
        if not self._nodes:
            self._nodes.append(yaml.compose(self.text, Loader=_Loader))
        return self._nodes[0]

    def locate(self, loc: tuple[int | str, ...]) -> tuple[int, int, bool]:
        """Line and column (1-based) of the value at ``loc``; the bool says whether it was found.

        When the path does not exist (a missing field), the position of the
        deepest existing parent is returned, which is where the field belongs.
        """
        node = self.node
        found = True
        for part in loc:
            child = _child(node, part)
            if child is None:
                found = False
                break
            node = child
        if node is None:
            return 1, 1, False
        return node.start_mark.line + 1, node.start_mark.column + 1, found

    def locate_key(self, loc: tuple[int | str, ...]) -> tuple[int, int]:
        """Position of the *key* at the end of ``loc`` (for unknown-field errors)."""
        parent = self.node
        for part in loc[:-1]:
            parent = _child(parent, part)
        if isinstance(parent, MappingNode):
            for key, _ in parent.value:
                if key.value == loc[-1]:
                    return key.start_mark.line + 1, key.start_mark.column + 1
        line, col, _ = self.locate(loc[:-1])
        return line, col


def _child(node: Node | None, part: int | str) -> Node | None:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value == part:
                found: Node = value
                return found
        return None
    if isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        item: Node = node.value[part]
        return item
    return None


def read_yaml(path: Path, display: str) -> tuple[Source | None, list[Problem]]:
    """Parse ``path``; on failure return ``None`` and the problems (never raises for bad input)."""
    with gc_paused():
        return _read_yaml(path, display)


def _read_yaml(path: Path, display: str) -> tuple[Source | None, list[Problem]]:

    def problem(line: int, col: int, message: str) -> tuple[None, list[Problem]]:
        return None, [Problem(display, line, col, "", message)]

    try:
        stat = path.stat()
        size = stat.st_size
        if size > MAX_FILE_BYTES:
            return problem(1, 1, f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,} (refused unread)")
        raw = path.read_bytes()
    except OSError as exc:
        return problem(1, 1, f"cannot read file: {exc.strerror or exc}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return problem(line, col, f"file is not UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8")
    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        return problem(1, 1, "file is empty; remove it or add inventory sections")
    builder = _Builder(display)
    try:
        data = builder.build(yaml.parse(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return problem(line, col, f"YAML syntax error: {exc.problem or exc}")
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow; position is a UTF-8 offset
        encoded = text.encode("utf-8")
        start = encoded.rfind(b"\n", 0, exc.position) + 1
        line, col = encoded.count(b"\n", 0, exc.position) + 1, len(encoded[start : exc.position].decode()) + 1
        return problem(line, col, f"character U+{exc.character:04X} is not allowed in YAML ({exc.reason}); "
                       "remove it, or write it as an escape in double quotes")
    except yaml.YAMLError as exc:
        return problem(1, 1, f"YAML error: {exc}")
    except _Refused as exc:
        return None, [exc.problem]
    if builder.problems:
        return None, builder.problems
    if data is None:
        return problem(1, 1, "file is empty; remove it or add inventory sections")
    return Source(display, data, text, stat.st_mtime), []


class _Refused(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


class _Builder:
    """Turns parser events into dicts, lists and scalars, with the checks a safe loader owes."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.anchors: dict[str, tuple[Any, int]] = {}  # anchor -> (value, its size in nodes)
        self.extra = 0  # nodes that aliases would add if expanded

    def build(self, events: Iterator[Any]) -> Any:
        documents = 0
        result: Any = None
        for event in events:
            if isinstance(event, DocumentStartEvent):
                documents += 1
                if documents > 1:
                    self._problem(event, "a second YAML document ('---') in one file: split it into files")
                    return None
                result, _ = self._value(next(events), events)
            elif isinstance(event, StreamEndEvent):
                break
        return result

    def _value(self, event: Any, events: Iterator[Any]) -> tuple[Any, int]:
        """Build the value that starts with ``event``; return it and its size in nodes."""
        if isinstance(event, ScalarEvent):
            try:
                value = _scalar(event)
            except ValueError:  # `!!int abc`, `0x_`: the tag or the form promises a number that isn't
                kind = (event.tag or "number").rsplit(":", 1)[-1]
                self._problem(event, f"{event.value!r} is not a valid {kind}")
                value = None
            size = 1
        elif isinstance(event, SequenceStartEvent):
            items: list[Any] = []
            size = 1
            for child in events:
                if isinstance(child, SequenceEndEvent):
                    break
                item, n = self._value(child, events)
                items.append(item)
                size += n
            value = items
        elif isinstance(event, MappingStartEvent):
            value, size = self._mapping(events)
        elif isinstance(event, AliasEvent):
            found = self.anchors.get(event.anchor or "")
            if found is None:  # pragma: no cover - libyaml reports unknown anchors itself
                self._problem(event, f"unknown alias *{event.anchor}")
                return None, 1
            self.extra += found[1]
            if self.extra > ALIAS_BUDGET:
                line, col = _position(event)
                raise _Refused(Problem(self.file, line, col, "",
                                       f"YAML aliases expand to more than {ALIAS_BUDGET:,} extra nodes; "
                                       "refused (an alias bomb?)"))
            return found
        else:  # pragma: no cover - the parser emits nothing else here
            self._problem(event, f"unexpected YAML event {type(event).__name__}")
            return None, 1
        anchor = getattr(event, "anchor", None)
        if anchor:
            self.anchors[anchor] = (value, size)
        return value, size

    def _mapping(self, events: Iterator[Any]) -> tuple[dict[Any, Any], int]:
        out: dict[Any, Any] = {}
        size = 1
        merged: list[dict[Any, Any]] = []
        for key_event in events:
            if isinstance(key_event, MappingEndEvent):
                break
            key, n = self._value(key_event, events)
            value, m = self._value(next(events), events)
            size += n + m
            if key == "<<" and isinstance(key_event, ScalarEvent) and key_event.style == "":
                sources = value if isinstance(value, list) else [value]
                if all(isinstance(v, dict) for v in sources):
                    merged += sources
                else:
                    self._problem(key_event, "'<<' merge needs a mapping or a list of mappings")
                continue
            if not isinstance(key, str | int | float | bool) and key is not None:
                self._problem(key_event, "mapping keys must be plain text")
                continue
            if key in out:
                self._problem(key_event, f"key {key!r} appears twice in the same mapping")
            out[key] = value
        for source in merged:
            for k, v in source.items():
                out.setdefault(k, v)
        return out, size

    def _problem(self, event: Any, message: str) -> None:
        line, col = _position(event)
        self.problems.append(Problem(self.file, line, col, "", message))


def _position(event: Event) -> tuple[int, int]:
    """1-based line and column where ``event`` starts (libyaml always marks events; 1:1 if not)."""
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _scalar(node: ScalarEvent) -> Any:
    """Type a scalar with YAML 1.2 core rules: only *plain* (unquoted) scalars can be non-text.

    So ``"842"`` stays text, ``842`` is an int, ``yes``/``no`` stay text (no Norway problem), and
    ``22:00`` (YAML 1.1 sexagesimal 1320) stays text for pydantic to parse as a time. Explicit tags
    (``!!str``) are honoured.
    """
    value: str = node.value
    if not value.isascii():
        # Vietnamese typed with combining marks (NFD, "Unicode tổ hợp") must equal the precomposed
        # form, or the same name would compare unequal: text is kept as NFC.
        value = unicodedata.normalize("NFC", value)
    tag = node.tag
    if tag is not None and tag != "!":
        return _tagged(tag, value)
    if node.style:  # quoted or block scalar: always text
        return value
    if value in _KEYWORDS:
        return _KEYWORDS[value]
    if value[0] in _NUMERIC_START:
        if _INT.match(value):
            try:
                return int(value.replace("_", ""), 0)
            except ValueError:  # "010": YAML 1.2 reads a plain decimal with leading zeros
                return int(value.replace("_", ""), 10)
        if _FLOAT.match(value):
            return float(value.replace("_", ""))
    return value


def _tagged(tag: str, value: str) -> Any:
    if tag.endswith(":int"):
        return int(value.replace("_", ""), 0)
    if tag.endswith(":float"):
        return float(value)
    if tag.endswith(":bool"):
        return value.lower() == "true"
    if tag.endswith(":null"):
        return None
    return value


NOT_INVENTORY = frozenset({"scenarios"})
"""Sub-folders of the inventory folder that are not inventory (the simulator's scenarios)."""


def inventory_files(path: Path) -> tuple[list[Path], list[Problem]]:
    """The inventory files in ``path``, in name order (merges are deterministic), and a problem for every
    other entry: nothing in the folder is skipped silently.

    Read: ``*.yaml``/``*.yml`` (symlinks followed; one that cannot be followed is reported when read).
    Left alone, by rule: hidden entries (``.git``, an editor's swap file) and the ``scenarios/`` folder.
    Anything else — ``BASE_STATIONS.YAML``, ``notes.txt``, a sub-folder — is an error naming it, because an
    operator who put it there expects it to count, and a sync without it could delete what it held.
    """
    if not path.is_dir():
        return [path], []
    files: list[Path] = []
    problems: list[Problem] = []
    for entry in sorted(path.iterdir()):
        name = entry.name
        if name.startswith(".") or (name in NOT_INVENTORY and entry.is_dir()):
            continue
        where = str(entry)
        if name.endswith((".yaml", ".yml")):
            if entry.is_dir():
                problems.append(Problem(where, 1, 1, "", "a folder named like an inventory file; "
                                        "rename it or move it out of the inventory folder"))
            else:
                files.append(entry)  # a dangling or looping symlink fails to read: reported there
        elif name.lower().endswith((".yaml", ".yml")):
            problems.append(Problem(where, 1, 1, "", f"not read: inventory files end in lower-case .yaml or "
                                    f".yml; rename it to {entry.stem}{entry.suffix.lower()}"))
        elif entry.is_dir():
            problems.append(Problem(where, 1, 1, "", "a sub-folder is not inventory (only scenarios/ may be "
                                    "here): move it out of the inventory folder"))
        else:
            problems.append(Problem(where, 1, 1, "", "not an inventory file (only *.yaml and *.yml are read): "
                                    "move it out of the inventory folder, or rename it if it is inventory"))
    return files, problems
