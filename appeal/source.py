"""Safe YAML reading that remembers where every key stands, for messages that name file and line."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .errors import UserError

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


def key_path(loc: Sequence[str | int]) -> str:
    """`('signatories', 3, 'name')` -> `signatories[3].name` (indices count from 0)."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one value of a source file."""

    loc: Loc
    message: str


@dataclass
class Source:
    """A parsed YAML file: its plain data and the line of every key and item in it."""

    path: Path
    data: Any
    lines: dict[Loc, int]
    raw: bytes

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """The line of `loc` or of its nearest ancestor that the file has."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), None)

    def error(self, problems: Iterable[Problem]) -> UserError:
        """One message naming file, line and key path for each problem."""
        rows = []
        for problem in sorted(problems, key=lambda p: self.line_of(p.loc) or 0):
            line = self.line_of(problem.loc)
            where = f"{self.path}:{line}" if line else str(self.path)
            path = key_path(problem.loc)
            rows.append(f"{where}: {path}: {problem.message}" if path else f"{where}: {problem.message}")
        return UserError("\n".join(rows))

    def validate(self, model: type[M], at: Loc = ()) -> M:
        """The data found at key path `at` as `model`, or a UserError listing every problem."""
        data = self.data
        for part in at:
            data = data[part]
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise self.error(Problem(at + p.loc, p.message) for p in _problems(exc)) from None


def _problems(exc: ValidationError) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        if kind == "missing":
            message = "is required"
        elif kind == "extra_forbidden":
            message = "is not a known key (a typo?)"
        elif kind in ("string_too_short", "too_short"):
            message = "must not be empty"
        elif kind in ("string_type", "list_type", "dict_type", "model_type"):
            expected = {"string_type": "text", "list_type": "a list",
                        "dict_type": "a mapping of keys", "model_type": "a mapping of keys"}[kind]
            message = f"must be {expected}, not {_describe(err.get('input'))}"
        else:
            message = err["msg"].removeprefix("Value error, ")
        problems.append(Problem(loc, message))
    return problems


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


# libyaml's parser when PyYAML was built with it (a parliament's recipients parse 10 times
# faster); the same safe constructor either way: tags that make Python objects are refused.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path, what: str) -> Source:
    """Read `path` as YAML with the safe loader; any unreadable input is a UserError naming the file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file ({what})") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, not a YAML file ({what})") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot be read: {exc.strerror}") from None
    return parse_yaml(raw, path, what)


def parse_yaml(raw: bytes, path: Path, what: str) -> Source:
    """`raw` as YAML, named `path` in messages; any unreadable input is a UserError."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UserError(f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                        f"is this the {what}?") from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise UserError(f"{path}:{line}: a NUL byte: this is a binary file, not the {what}")
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise UserError(f"{path}: the file is empty; it should hold the {what}")
        lines: dict[Loc, int] = {}
        problems: list[Problem] = []
        _walk(node, (), lines, problems)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        reason = exc.problem or str(exc)
        if "constructor for the tag" in reason:
            tag = reason.split("'")[1] if "'" in reason else reason
            reason = f"the YAML tag {tag!r} is not allowed: the data is plain text, lists and keys"
        raise UserError(f"{path}{line}: not valid YAML: {reason}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    source = Source(path, data, lines, raw)
    if problems:
        raise source.error(problems)
    if not isinstance(data, dict):
        raise source.error([Problem((), f"the {what} must be a mapping of keys, not {_describe(data)}")])
    return source


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int], problems: list[Problem]) -> None:
    """Record the line of every key and item; flag keys given twice (PyYAML keeps the last silently)."""
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            if key in seen:
                problems.append(Problem((*loc, key), "is given twice"))
            seen.add(key)
            _walk(value_node, (*loc, key), lines, problems)
            lines[(*loc, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*loc, index), lines, problems)


def duplicates(values: Iterable[str], loc: Loc, field: str, what: str) -> list[Problem]:
    """A problem for each value that repeats an earlier one (compared ignoring case and spacing)."""
    first: dict[str, int] = {}
    problems = []
    for index, value in enumerate(values):
        norm = " ".join(value.split()).casefold()
        if norm in first:
            problems.append(Problem((*loc, index, field),
                                    f"{what} {value!r} is listed twice "
                                    f"(first at {key_path((*loc, first[norm]))})"))
        else:
            first[norm] = index
    return problems
