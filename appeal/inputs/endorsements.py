"""Endorsements gathered after publication, from a form tool's CSV export: who may be printed.

Only rows marked `publish: yes` are kept, and of them only the name, role, country and group:
an export's e-mail addresses, time stamps and the rows of people who did not agree to be named
never reach a PDF, its metadata or a file name. The archive embeds the kept rows, rewritten as
a CSV of those columns (`published_csv`), so that it carries no more than it prints.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from appeal.errors import UserError
from appeal.inputs.source import MAX_TEXT, read_limited
from appeal.inputs.text import normalise, refusal

LIMIT = 32 * 2**20
COLUMNS = ("name", "role", "country", "group", "publish")
REQUIRED = ("name", "publish")
PRINTED = ("name", "role", "country", "group")
# The name the kept rows carry inside the archive.
EMBEDDED_NAME = "endorsements.csv"


@dataclass(frozen=True)
class Endorsement:
    name: str
    role: str
    country: str
    group: str
    line: int  # in the file, for messages

    @property
    def detail(self) -> str:
        """What stands under the name: the role and the country."""
        return ", ".join(part for part in (self.role, self.country) if part)


@dataclass(frozen=True)
class Group:
    """Endorsements listed under one heading, numbered on from `first`."""

    heading: str
    first: int
    entries: tuple[Endorsement, ...]

    def numbered(self) -> list[tuple[int, Endorsement]]:
        return list(enumerate(self.entries, self.first))


@dataclass(frozen=True)
class Endorsements:
    path: Path
    published: tuple[Endorsement, ...]
    rows: int  # every row of the file, published or not
    notes: tuple[str, ...]

    def groups(self, default_heading: str, first: int) -> list[Group]:
        """The published endorsements under their headings, in the order the file first names
        each group, entries in file order, numbered on from `first`."""
        order: dict[str, list[Endorsement]] = {}
        for entry in self.published:
            order.setdefault(entry.group, []).append(entry)
        groups, number = [], first
        for heading, entries in order.items():
            groups.append(Group(heading or default_heading, number, tuple(entries)))
            number += len(entries)
        return groups

    def texts(self):
        """Every text an edition prints, with where it stands (for the font coverage check)."""
        for entry in self.published:
            for column in PRINTED:
                if getattr(entry, column):
                    yield entry.line, column, getattr(entry, column)


def load_endorsements(path: Path, raw: bytes | None = None) -> Endorsements:
    """The endorsements of the CSV at `path` (or `raw`, named `path`), every row checked; a
    UserError names the file, the line and the column of each problem."""
    if raw is None:
        raw = read_limited(path, "endorsements (a CSV file)", LIMIT)
    elif len(raw) > LIMIT:
        raise UserError(f"{path}: larger than {LIMIT // 2**20} MB, the limit for the endorsements")
    try:
        text = raw.decode("utf-8-sig")  # with or without the byte-order mark spreadsheets write
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise UserError(f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); export the "
                        "form as CSV in UTF-8") from None
    if "\x00" in text:
        raise UserError(f"{path}: a NUL byte: this is a binary file, not a CSV export")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems: list[str] = []
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            raise UserError(f"{path}: the file is empty; it should start with a header row "
                            f"({', '.join(COLUMNS)})")
        columns = [normalise(cell).strip().casefold() for cell in header]
        missing = [name for name in REQUIRED if name not in columns]
        if missing:
            raise UserError(f"{path}:1: the header has no column {' or '.join(missing)} (it has: "
                            f"{', '.join(cell for cell in header if cell) or 'none'})")
        repeated = sorted({name for name in columns if name in COLUMNS and columns.count(name) > 1})
        if repeated:
            raise UserError(f"{path}:1: the column {repeated[0]} is given twice in the header")
        unknown = [cell.strip() for cell, name in zip(header, columns, strict=True) if name not in COLUMNS]
        index = {name: columns.index(name) for name in COLUMNS if name in columns}
        published, rows, seen = [], 0, {}
        line = reader.line_num + 1
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            rows += 1
            entry = _row(path, start, cells, index, problems)
            if entry is None:
                continue
            publish, endorsement = entry
            key = (endorsement.name.casefold(), endorsement.role.casefold())  # spaces collapsed in _row
            if key in seen:
                problems.append(f"{path}:{start}: name: {endorsement.name!r} endorses twice (first on "
                                f"line {seen[key]})")
            else:
                seen[key] = start
            if publish:
                published.append(endorsement)
    except csv.Error as exc:
        raise UserError(f"{path}:{reader.line_num}: not valid CSV: {exc}") from None
    if problems:
        raise UserError("\n".join(problems))
    notes = (f"{path}: the columns {', '.join(repr(c) for c in unknown)} are not used (only "
             f"{', '.join(PRINTED)} are printed, and publish decides)",) if unknown else ()
    return Endorsements(path, tuple(published), rows, notes)


def _row(path: Path, line: int, cells: list[str], index: dict[str, int],
         problems: list[str]) -> tuple[bool, Endorsement] | None:
    values = {}
    for column, at in index.items():
        value = _from_text(normalise(cells[at]).strip()) if at < len(cells) else ""
        why = refusal(value) or (f"is {len(value):,} characters long; the limit is {MAX_TEXT:,}"
                                 if len(value) > MAX_TEXT else None)
        if why:
            problems.append(f"{path}:{line}: {column}: {why}")
            return None
        values[column] = " ".join(value.split())
    if not values["name"]:
        problems.append(f"{path}:{line}: name: must not be empty")
        return None
    publish = values["publish"].casefold()
    if publish not in ("yes", "no"):
        problems.append(f"{path}:{line}: publish: must be yes or no, not {values['publish']!r}")
        return None
    return publish == "yes", Endorsement(values["name"], values.get("role", ""), values.get("country", ""),
                                         values.get("group", ""), line)


# A cell a spreadsheet would run as a formula starts with one of these (OWASP, "CSV Injection"):
# the embedded copy shows it as text with a leading apostrophe, as spreadsheets do, and reading
# an endorsements file takes one such apostrophe off again, so that the copy gives the same pages.
_FORMULA = re.compile(r"'*[=+\-@]")


def _as_text(cell: str) -> str:
    return "'" + cell if _FORMULA.match(cell) else cell


def _from_text(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and _FORMULA.match(cell) else cell


def published_csv(endorsements: Endorsements) -> bytes:
    """The published rows as the archive embeds them: the printed columns and `publish`, in file
    order, every cell that a spreadsheet would run as a formula kept as text (`_as_text`); itself a
    valid endorsements file that gives the same pages."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for entry in endorsements.published:
        writer.writerow([_as_text(cell) for cell in (entry.name, entry.role, entry.country, entry.group)]
                        + ["yes"])
    return out.getvalue().encode("utf-8")
