"""Typed models of the appeal's data and of the words an edition prints around it."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from .source import Problem, Source, duplicates, parse_yaml, read_yaml


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    return text


def _iso_date(value: Any) -> Any:
    # YAML already turns 2025-06-16 into a date; text must be ISO 8601 too, never a number.
    if isinstance(value, dt.datetime):
        raise ValueError("must be a date (YYYY-MM-DD), without a time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"must be an ISO 8601 date such as 2025-06-16, not {value!r}")


# BCP 47 in the shape editions need: a primary language subtag and optional subtags (en, en-GB, sr-Latn).
_BCP47 = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")


def _bcp47(tag: str) -> str:
    if not _BCP47.fullmatch(tag):
        raise ValueError(f"must be a BCP 47 language tag such as en or fr-CH, not {tag!r}")
    return tag


Text = Annotated[str, Field(min_length=1), AfterValidator(_not_blank)]
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
Language = Annotated[str, AfterValidator(_bcp47)]


class Strict(BaseModel):
    """Unknown keys are typos; text is never coerced from numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Signatory(Strict):
    name: Text
    role: Text


class Appeal(Strict):
    """The appeal as published: the text is signed, so it is kept verbatim."""

    language: Language
    date: IsoDate
    title: Text
    short_title: Text | None = None
    publication: Text
    subject: Text | None = None
    keywords: list[Text] = []
    body: Annotated[list[Text], Field(min_length=1)]
    signatories: Annotated[list[Signatory], Field(min_length=1)]

    @property
    def running_title(self) -> str:
        return self.short_title or self.title

    def texts(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Every text an edition may print, with its key path (for the font coverage check)."""
        out: list[tuple[tuple[str | int, ...], str]] = [
            (("title",), self.title), (("publication",), self.publication),
            (("short_title",), self.running_title)]
        out += [(("subject",), self.subject)] if self.subject else []
        out += [(("keywords", i), k) for i, k in enumerate(self.keywords)]
        out += [(("body", i), p) for i, p in enumerate(self.body)]
        for i, s in enumerate(self.signatories):
            out += [(("signatories", i, "name"), s.name), (("signatories", i, "role"), s.role)]
        return out


_PAGE_OF_FIELDS = re.compile(r"\{(\w*)\}")


def _page_of(template: str) -> str:
    unknown = {f for f in _PAGE_OF_FIELDS.findall(template)} - {"page", "pages"}
    if unknown or "{page}" not in template:
        raise ValueError("must contain {page} (and may contain {pages}), nothing else in braces")
    return template


def _placeholders(template: str, fields: set[str]) -> str:
    if set(_PAGE_OF_FIELDS.findall(template)) != fields:
        raise ValueError(f"must contain {', '.join('{' + f + '}' for f in sorted(fields))} "
                         "and nothing else in braces")
    return template


def _twelve_months(months: list[str]) -> list[str]:
    if len(months) != 12:
        raise ValueError(f"must name the 12 months, not {len(months)}")
    return months


class Words(Strict):
    """What an edition prints around the data, in one language: a translation needs no template change."""

    signatories: Text
    signatories_continued: Text
    page_of: Annotated[Text, AfterValidator(_page_of)]
    edition_handout: Text
    edition_archive: Text
    colophon: Text
    colophon_edition: Text
    colophon_date: Text
    colophon_source: Text
    colophon_sha256: Text
    colophon_verify: Text
    colophon_stack: Text
    months: Annotated[list[Text], AfterValidator(_twelve_months)]
    date_format: Annotated[Text, AfterValidator(lambda f: _placeholders(f, {"day", "month", "year"}))]

    def date(self, day: dt.date) -> str:
        """`day` as the language writes it in a letter: 16 June 2025."""
        return self.date_format.format(day=day.day, month=self.months[day.month - 1], year=day.year)


def load_appeal(path: Path, raw: bytes | None = None) -> tuple[Appeal, Source]:
    """The appeal from `path` (or from `raw`, named `path`), validated.

    A UserError names every problem with file, line and key path.
    """
    source = read_yaml(path, "appeal data") if raw is None else parse_yaml(raw, path, "appeal data")
    appeal = source.validate(Appeal)
    problems = duplicates((s.name for s in appeal.signatories), ("signatories",), "name", "signatory")
    if problems:
        raise source.error(problems)
    return appeal, source


def load_words(path: Path, language: str, cited_by: Source, at: tuple = ("language",)) -> Words:
    """The words for `language` (or its primary subtag: en-GB falls back to en) from `path`.

    A language the file lacks is reported at the key `at` of the data that asked for it.
    """
    source = read_yaml(path, "edition words")
    for tag in (language, language.split("-")[0]):
        if tag in source.data:
            return source.validate(Words, at=(tag,))
    known = ", ".join(sorted(map(str, source.data))) or "none"
    raise cited_by.error([Problem(at, (
        f"no words for the language {language!r} in {path} (it has: {known}); "
        f"add a section {language.split('-')[0]}: there with the same keys as the others"))])


# The cover letters: data/letter.yaml and data/recipients.yaml.

# A recipient's id becomes a file name: letters, digits, and . _ - inside, nothing else.
_FILE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def _file_id(value: str) -> str:
    if not _FILE_ID.fullmatch(value):
        raise ValueError(f"must be usable as a file name (letters, digits, '.', '_', '-'), not {value!r}")
    return value


def _project_image(value: str) -> str:
    from .paths import ROOT, STYLE_DIR

    path = (ROOT / value).resolve()
    if not path.is_relative_to(STYLE_DIR) or not path.is_file():
        raise ValueError(f"must name an image file under styles/ (the build reads no other), not {value!r}")
    return value


Paper = Literal["a4", "letter"]


class Sender(Strict):
    organisation: Text
    address: Annotated[list[Text], Field(min_length=1)]
    return_address: Text
    contact: list[Text] = []


class Signer(Strict):
    name: Text
    title: Text
    signature: Annotated[str, AfterValidator(_project_image)] | None = None


class LetterText(Strict):
    """The words of the letter in one language."""

    subject: Text
    body: Text
    closing: Text
    enclosure: Text


class Letter(Strict):
    language: Language
    date: IsoDate
    paper: Paper = "a4"
    sender: Sender
    signer: Signer
    subject: Text
    body: Text
    closing: Text
    enclosure: Text
    translations: dict[str, LetterText] = {}

    def text(self, language: str | None) -> LetterText | None:
        """The letter's words in `language` (None: the letter's own), or None if it has none."""
        if language in (None, self.language):
            return LetterText(subject=self.subject, body=self.body, closing=self.closing,
                              enclosure=self.enclosure)
        return self.translations.get(language) or self.translations.get(language.split("-")[0])


class Recipient(Strict):
    id: Annotated[str, AfterValidator(_file_id)]
    name: Text
    address: Annotated[list[Text], Field(min_length=1)]
    salutation: Text | None = None
    title: Text | None = None
    language: Language | None = None
    paper: Paper | None = None

    @property
    def addressee(self) -> str:
        """The first line of the address block: title and name."""
        return f"{self.title} {self.name}" if self.title else self.name


class Recipients(Strict):
    recipients: Annotated[list[Recipient], Field(min_length=1)]
