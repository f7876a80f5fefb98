"""Safe YAML reading that remembers where every key stands, for messages that name file and line."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from appeal.errors import UserError
from appeal.inputs.text import normalise, refusal

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


def parse_key_path(text: str) -> Loc:
    """`signatories[3].name` -> `('signatories', 3, 'name')`: the inverse of key_path."""
    loc: list[str | int] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", text):
        loc.append(int(index) if index else name)
    return tuple(loc)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one value of a source file."""

    loc: Loc
    message: str


@dataclass
class Source:
    """A parsed YAML file: its plain data and the line of every key and item in it."""

    path: Path
    data: Any  # None once compacted: the models made from it hold what the build uses
    lines: dict[Loc, int] | None  # None once compacted: found again in `raw` when a message needs them
    raw: bytes
    held: list[Problem] | None = None  # once compacted, the placeholders its data held

    def compact(self, held: list[Problem]) -> None:
        """Let go of the plain data and the lines once every record has been checked and made into
        models, keeping `held`, the placeholders the data holds (placeholders.placeholders): a
        parliament's recipients kept 13 MB of lines and 6 MB of plain data through the letters'
        run (10,000, measured). The lines are found again in `raw` for a message that names one."""
        self.held = held
        self.data = None
        self.lines = None

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """The line of `loc` or of its nearest ancestor that the file has."""
        if self.lines is None:
            self.lines = parse_yaml(self.raw, self.path, "file").lines
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), None)

    def lines_for(self, problems: Iterable[Problem]) -> list[str]:
        """`file:line: key.path: message` for each problem, in the file's order."""
        rows = []
        for problem in sorted(problems, key=lambda p: self.line_of(p.loc) or 0):
            line = self.line_of(problem.loc)
            where = f"{self.path}:{line}" if line else str(self.path)
            path = key_path(problem.loc)
            rows.append(f"{where}: {path}: {problem.message}" if path else f"{where}: {problem.message}")
        return rows

    def error(self, problems: Iterable[Problem]) -> UserError:
        """One message naming file, line and key path for each problem."""
        return UserError("\n".join(self.lines_for(problems)))

    def validate(self, model: type[M], at: Loc = (), data: Any = None) -> M:
        """The data found at key path `at` (or `data`, named as if it stood there) as `model`, or
        a UserError listing every problem."""
        if data is None:
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
        if loc and loc[-1] == "[key]":  # a mapping's key, not its value, is wrong: name the key
            loc = loc[:-1]
        kind = err["type"]
        if kind == "missing":
            message = "is required"
        elif kind == "extra_forbidden":
            message = "is not a known key (a typo?)"
        elif kind in ("string_too_short", "too_short"):
            message = "must not be empty"
        elif kind in ("string_too_long", "too_long"):
            unit = "characters" if isinstance(err.get("input"), str) else "items"
            message = f"is too long: at most {err['ctx']['max_length']:,} {unit}"
        elif kind in ("string_type", "list_type", "dict_type", "model_type"):
            expected = {"string_type": "text", "list_type": "a list",
                        "dict_type": "a mapping of keys", "model_type": "a mapping of keys"}[kind]
            message = f"must be {expected}, not {_describe(err.get('input'))}"
        elif kind == "literal_error":
            message = f"must be {err['ctx']['expected']}, not {err.get('input')!r}"
        elif kind in ("int_type", "int_parsing", "int_from_float"):
            message = f"must be a whole number, not {_describe(err.get('input'))}"
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
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):
    """The safe loader, with dates left as text: the models read them, so that an impossible date
    such as 2025-02-30 gets a message naming its key instead of a crash in the YAML constructor."""

    yaml_implicit_resolvers: ClassVar = {
        first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()}


# What the data may be made of: text, numbers, true/false, lists and mappings. Any other tag
# (!!python/..., !!binary, !!timestamp, !!set) is refused before anything is constructed.
_PLAIN_TAGS = {f"tag:yaml.org,2002:{kind}" for kind in ("str", "int", "float", "bool", "null", "seq", "map")}
# The data is a few levels deep; anything deeper is not the data (and costs stack to walk).
MAX_DEPTH = 32
# Every text of the data, in characters. The longest paragraph of the appeal has about 1,000.
MAX_TEXT = 10_000


def read_limited(path: Path, what: str, limit: int) -> bytes:
    """The bytes of `path`, refused past `limit` bytes without reading further (`/dev/zero` ends
    here); a FIFO or a socket is refused, without waiting for a writer; any unreadable input is a
    UserError naming the file."""
    try:
        # Opened without blocking, so that a FIFO is seen for what it is before anything waits on it.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(descriptor, "rb") as file:
            mode = os.fstat(file.fileno()).st_mode
            if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
                raise UserError(f"{path}: not a regular file but a "
                                f"{'FIFO' if stat.S_ISFIFO(mode) else 'socket'} ({what})")
            os.set_blocking(file.fileno(), True)
            raw = file.read(limit + 1)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file ({what})") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, not a file ({what})") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if len(raw) > limit:
        raise UserError(f"{path}: larger than {_size(limit)}, the limit for the {what}; "
                        "is this the right file?")
    return raw


def _size(limit: int) -> str:
    return f"{limit // 2**20} MB" if limit >= 2**20 else f"{limit // 2**10} kB"


def read_yaml(path: Path, what: str, limit: int, keep_lines: bool = True) -> Source:
    """Read `path` as YAML with the safe loader; any unreadable input is a UserError naming the file."""
    return parse_yaml(read_limited(path, what, limit), path, what, keep_lines)


def read_or_parse(path: Path, raw: bytes | None, what: str, limit: int) -> Source:
    """The YAML file at `path`, or `raw` named `path` (a file an archive embeds), within `limit`."""
    if raw is None:
        return read_yaml(path, what, limit)
    if len(raw) > limit:
        raise UserError(f"{path}: larger than {_size(limit)}, the limit for the {what}")
    return parse_yaml(raw, path, what)


def parse_yaml(raw: bytes, path: Path, what: str, keep_lines: bool = True) -> Source:
    """`raw` as YAML, named `path` in messages; any unreadable input is a UserError. Without
    `keep_lines`, the line of each key and item is not kept: it is found again in `raw` when a
    message needs one (a parliament's recipients: 13 MB of lines at 10,000).

    Aliases may not expand the data more than tenfold (a kilobyte of nested aliases expands to
    gigabytes); tags other than plain ones are refused; every text is normalised to NFC and
    checked for characters the data may not hold (text.py).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UserError(f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                        f"is this the {what}?") from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise UserError(f"{path}:{line}: a NUL byte: this is a binary file, not the {what}")
    loader = _Loader(text)
    lines: dict[Loc, int] | None = {} if keep_lines else None
    try:
        node = loader.get_single_node()
        if node is None:
            raise UserError(f"{path}: the file is empty; it should hold the {what}")
        problems: list[Problem] = []
        _walk(node, lines, problems, path)
        data = loader.construct_document(node)
        del node  # the nodes and their marks go before the texts are cleaned into a copy
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        reason = exc.problem or str(exc)
        raise UserError(f"{path}{line}: not valid YAML: {reason}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    data = _clean(data, (), problems)
    if lines is None and (problems or not isinstance(data, dict)):
        return parse_yaml(raw, path, what)  # read again with the lines, which the messages name
    source = Source(path, data, lines, raw)
    if problems:
        raise source.error(problems)
    if not isinstance(data, dict):
        raise source.error([Problem((), f"the {what} must be a mapping of keys, not {_describe(data)}")])
    return source


def _walk(root: yaml.Node, lines: dict[Loc, int] | None, problems: list[Problem], path: Path) -> None:
    """Record the line of every key and item (in `lines`, unless None); flag keys given twice
    (PyYAML keeps the last silently).

    Refuses, with the line, what would make the data more than plain text: a tag, nesting past
    MAX_DEPTH, and aliases that expand the data more than EXPANSION times (the composer shares one
    node between an anchor and its aliases; walking the data expands them: a kilobyte of nested
    aliases, a "billion laughs", would be gigabytes).
    """
    budget = EXPANSION * _distinct_nodes(root) + 1_000
    pending: list[tuple[yaml.Node, Loc]] = [(root, ())]
    while pending:
        node, loc = pending.pop()
        line = node.start_mark.line + 1
        budget -= 1
        if budget < 0:
            raise UserError(f"{path}:{line}: {key_path(loc) or 'the data'}: aliases (*name) expand the data "
                            f"more than {EXPANSION} times over; write the values out")
        if node.tag not in _PLAIN_TAGS:
            raise UserError(f"{path}:{line}: not valid YAML: the YAML tag {node.tag!r} is not allowed: "
                            "the data is plain text, lists and keys")
        if len(loc) > MAX_DEPTH:
            raise UserError(f"{path}:{line}: the data is nested more than {MAX_DEPTH} levels deep")
        if lines is not None:
            lines.setdefault(loc, line)
        if isinstance(node, yaml.MappingNode):
            keys: set[Any] = set()
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
                if key in keys:
                    problems.append(Problem((*loc, key), "is given twice"))
                keys.add(key)
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _PLAIN_TAGS:
                    pending.append((key_node, (*loc, key)))
                pending.append((value_node, (*loc, key)))
                if lines is not None:
                    lines[(*loc, key)] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(((item, (*loc, index)) for index, item in enumerate(node.value)))


# How many times over aliases may repeat the data they name (a merge of shared defaults is a few).
EXPANSION = 10


def _distinct_nodes(root: yaml.Node) -> int:
    seen: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            pending.extend(part for pair in node.value for part in pair)
        elif isinstance(node, yaml.SequenceNode):
            pending.extend(node.value)
    return len(seen)


def _clean(value: Any, loc: Loc, problems: list[Problem], texts: dict[str, str] | None = None) -> Any:
    """`value` with every text in NFC; a problem for each text the data may not hold. Equal texts
    become one object (`texts`): a parliament's recipients repeat their building, city and
    salutation, and each copy the YAML made is a string kept through the letters' run."""
    texts = {} if texts is None else texts
    if isinstance(value, str):
        value = normalise(value)
        why = refusal(value)
        if why:
            problems.append(Problem(loc, why))
        elif len(value) > MAX_TEXT:
            problems.append(Problem(loc, f"is {len(value):,} characters long; the limit for one text "
                                         f"is {MAX_TEXT:,}"))
        return texts.setdefault(value, value)
    if isinstance(value, list):
        return [_clean(item, (*loc, index), problems, texts) for index, item in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(key, str):
                key = normalise(key)
                key = texts.setdefault(key, key)
                if refusal(key):
                    problems.append(Problem((*loc, key), refusal(key)))
            out[key] = _clean(item, (*loc, key), problems, texts)
        return out
    return value


def duplicates(values: Iterable[str], loc: Loc, field: str, what: str) -> list[Problem]:
    """A problem for each value that repeats an earlier one (compared ignoring case and spacing)."""
    first: dict[str, int] = {}
    problems = []
    for index, value in enumerate(values):
        norm = " ".join(normalise(value).split()).casefold()
        if norm in first:
            problems.append(Problem((*loc, index, field),
                                    f"{what} {value!r} is listed twice "
                                    f"(first at {key_path((*loc, first[norm]))})"))
        else:
            first[norm] = index
    return problems
