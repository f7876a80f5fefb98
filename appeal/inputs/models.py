"""Typed models of the appeal's data and of the words an edition prints around it."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from appeal.inputs.source import Problem, Source, duplicates, read_or_parse, read_yaml
from appeal.inputs.text import lookup


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    return text


def _iso_date(value: Any) -> Any:
    # The YAML loader leaves dates as text (source.py): an impossible one gets a message here.
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"{text} is not a day of the calendar (check the month and the day)") \
                    from None
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}.*", text):
            raise ValueError("must be a date (YYYY-MM-DD), without a time")
    raise ValueError(f"must be an ISO 8601 date such as 2025-06-16, not {value!r}")


# BCP 47 in the shape editions need: a primary language subtag and optional subtags (en, en-GB, sr-Latn).
_BCP47 = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")


def _bcp47(tag: str) -> str:
    if not _BCP47.fullmatch(tag):
        raise ValueError(f"must be a BCP 47 language tag such as en or fr-CH, not {tag!r}")
    return tag


def is_language_tag(text: str) -> bool:
    return _BCP47.fullmatch(text) is not None


# What the JSON Schemas (build.py schema) say besides the types: an editor underlines these as
# the build would reject them. Only the schema reads them; the validators above give the messages.
_SOME_TEXT = {"pattern": r"\S"}  # not only spaces
LANGUAGE_PATTERN = {"pattern": f"^{_BCP47.pattern}$"}

Text = Annotated[str, Field(min_length=1, json_schema_extra=_SOME_TEXT), AfterValidator(_not_blank)]
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
Language = Annotated[str, Field(json_schema_extra=LANGUAGE_PATTERN), AfterValidator(_bcp47)]


AUTHORS_LENGTH = 1_000


class Strict(BaseModel):
    """Unknown keys are typos; text is never coerced from numbers. The docstring below each field
    is its description in the JSON Schemas (build.py schema), which editors show on hover: it is
    written for the people who edit the data."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, use_attribute_docstrings=True)


class Signatory(Strict):
    """One of the people who signed the appeal, as published."""

    name: Text
    """The signatory's name as published, for example "Jody Williams"."""
    role: Text
    """What the appeal gives under the name, for example "Nobel Peace Laureate and Founding Chair of
    the Nobel Women’s Initiative"."""


class Appeal(Strict):
    """The appeal as published (data/appeal.yaml): its text is signed, so it is kept verbatim."""

    language: Language
    """The language of the text, a BCP 47 tag such as en or fr-CH; data/words.yaml must have words
    for it."""
    date: IsoDate
    """The day the appeal was published, as YYYY-MM-DD, for example 2025-06-16. Every edition is
    dated by it."""
    title: Text
    """The appeal's full title, printed at the head of every edition."""
    # The running footer's: it shares the footer with the page number, on two lines at most.
    short_title: Annotated[Text, Field(max_length=160)] | None = None
    """A short form of the title for the running footer (at most 160 characters), for example "Joint
    Appeal to Uphold the Mine Ban and Cluster Munitions Conventions". Without it the footer
    repeats the title."""
    publication: Text
    """The line under the title that says where and when the appeal was published, for example
    "(Published on ReliefWeb on 16 June 2025)"."""
    subject: Text | None = None
    """One sentence on what the appeal asks, for the PDF's description (a library catalogue shows
    it); not printed."""
    keywords: list[Text] = []
    """Words a search should find the PDF by, for example "cluster munitions"; not printed."""
    body: Annotated[list[Text], Field(min_length=1)]
    """The appeal's paragraphs in order, each one text, verbatim as published."""
    signatories: Annotated[list[Signatory], Field(min_length=1)]
    """The signatories in the published order, each with name and role. Endorsements gathered
    later go in data/endorsements.csv, not here."""

    @property
    def running_title(self) -> str:
        return self.short_title or self.title

    @property
    def authors(self) -> str:
        """The signatories' names for the PDF's Author entry, cut short with "…" past AUTHORS_LENGTH
        characters: a PDF/A string holds at most 32,767 bytes, and thousands of names do not fit."""
        names = ""
        for signatory in self.signatories:
            joined = f"{names}, {signatory.name}" if names else signatory.name
            if len(joined) > AUTHORS_LENGTH:
                return f"{names}, …"
            names = joined
        return names

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


def _fields(template: str, required: set[str], optional: frozenset[str] = frozenset()) -> str:
    """A template with `{name}` fields, filled in by plain replacement (never str.format: data is
    not code, and `{month.__class__}` or `{day:>20000000}` must not run): the required fields
    present, and nothing else in braces."""
    rest = template
    for field in required | optional:
        rest = rest.replace("{" + field + "}", "")
    missing = [field for field in sorted(required) if "{" + field + "}" not in template]
    if missing or "{" in rest or "}" in rest:
        names = ", ".join("{" + f + "}" for f in sorted(required))
        extra = f" (and may contain {', '.join('{' + f + '}' for f in sorted(optional))})" if optional else ""
        raise ValueError(f"must contain {names}{extra} and nothing else in braces")
    return template


_FIELD = re.compile(r"\{(\w+)\}")


def fill(template: str, **values: object) -> str:
    """`template` with each `{name}` of `values` replaced, in one pass: what is inserted is never
    filled in again (a month named "{year}" prints as it is)."""
    return _FIELD.sub(lambda match: str(values[match[1]]) if match[1] in values else match[0], template)


def _twelve_months(months: list[str]) -> list[str]:
    if len(months) != 12:
        raise ValueError(f"must name the 12 months, not {len(months)}")
    return months


class Words(Strict):
    """What an edition prints around the data, in one language: a translation needs no template change."""

    document_kind: Text
    """What kind of document the appeal is, printed above its title with its date, for example
    "Joint appeal"."""
    signatories: Text
    """The heading of the signature page, for example "Signatories"."""
    signatories_continued: Text
    """The heading when the signatories run on to another page, for example "Signatories
    (continued)"."""
    endorsements: Text  # the heading of endorsements that name no group
    """The heading of the endorsements gathered since publication that name no group, for example
    "Endorsements"."""
    continued: Annotated[Text, AfterValidator(lambda f: _fields(f, {"heading"}))]
    """A heading carried on to the next page: must contain {heading}, for example "{heading}
    (continued)"."""
    page_of: Annotated[Text, AfterValidator(lambda f: _fields(f, {"page"}, frozenset({"pages"})))]
    """The page number in the footer: must contain {page} and may contain {pages}, for example "Page
    {page} of {pages}"."""
    edition_handout: Text
    """The name of the handout edition, for example "Handout edition"."""
    edition_archive: Text
    """The name of the archival edition, printed in its colophon, for example "Archival edition"."""
    colophon: Text
    """The heading of the archival edition's last page, for example "About this edition"."""
    colophon_edition: Text
    """The colophon's label for the edition's name, for example "Edition"."""
    colophon_date: Text
    """The colophon's label for the appeal's date, for example "Date of the appeal"."""
    colophon_source: Text
    """The colophon's label for the embedded source data, for example "Source data"."""
    colophon_sha256: Text
    """The colophon's label for the source data's checksum, for example "SHA-256 of the source
    data"."""
    colophon_endorsements: Text
    """The colophon's label for the published endorsements' checksum, for example "SHA-256 of the
    published endorsements"."""
    colophon_verify: Text
    """The colophon's sentence on how a reader checks the copy, for example "The source data is
    embedded in this file. To check that this copy is unchanged, ..."."""
    colophon_stack: Text
    """The colophon's label for the software that made the edition, for example "Made with"."""
    edition_deposit: Text | None = None
    """The name of the deposit edition (the archive's pages without embedded files), printed in its
    colophon, for example "Deposit edition". The deposit edition is made in the original's language."""
    colophon_deposit: Text | None = None
    """The deposit edition's colophon sentence on where its source data is kept and how a reader
    checks the copy, for example "This edition carries no embedded file. Its source data ..."."""
    translation_notice: Annotated[Text, AfterValidator(lambda f: _fields(f, {"translator", "date"}))] | None \
        = None
    """What a translated edition says on its first page, in its language: must contain {translator}
    and {date} (the day the original was published), for example "Translated by {translator}. The
    English text of {date} is the authoritative one." A translation in the language needs it."""
    months: Annotated[list[Text], Field(json_schema_extra={"minItems": 12, "maxItems": 12}),
                      AfterValidator(_twelve_months)]
    """The names of the 12 months, January first, as dates are written in the language."""
    date_format: Annotated[Text, AfterValidator(lambda f: _fields(f, {"day", "month", "year"}))]
    """How the language writes a date: must contain {day}, {month} and {year}, for example "{day}
    {month} {year}" (16 June 2025) or "{month} {day}, {year}" (June 16, 2025)."""

    def date(self, day: dt.date) -> str:
        """`day` as the language writes it in a letter: 16 June 2025."""
        return fill(self.date_format, day=day.day, month=self.months[day.month - 1], year=day.year)


# The most each data file may weigh: generous for the data, small enough that a wrong file
# (a video, /dev/zero) is refused at once. 2,500 signatories take about 150 kB.
APPEAL_LIMIT = 4 * 2**20
WORDS_LIMIT = 256 * 2**10
LETTER_LIMIT = 256 * 2**10
RECIPIENTS_LIMIT = 32 * 2**20


def load_appeal(path: Path, raw: bytes | None = None) -> tuple[Appeal, Source]:
    """The appeal from `path` (or from `raw`, named `path`), validated.

    A UserError names every problem with file, line and key path.
    """
    source = read_or_parse(path, raw, "appeal data", APPEAL_LIMIT)
    appeal = source.validate(Appeal)
    problems = duplicates((s.name for s in appeal.signatories), ("signatories",), "name", "signatory")
    if problems:
        raise source.error(problems)
    return appeal, source


def read_words(path: Path) -> Source:
    """The words file, read once for every language a build prints in."""
    return read_yaml(path, "edition words", WORDS_LIMIT)


def _inherited(sections: dict, tag) -> object:
    """The section `tag` over the sections it narrows (zh-Hant-TW over zh-Hant over zh): a region's
    section holds what differs from its language's, the rest is that one's."""
    section = sections[tag]
    parent = lookup(str(tag).rpartition("-")[0], sections) if "-" in str(tag) else None
    if parent is None or parent == tag or not isinstance(section, dict):
        return section
    base = _inherited(sections, parent)
    return {**base, **section} if isinstance(base, dict) else section


def words_for(words: Source, language: str, cited_by: Source, at: tuple = ("language",)) -> Words:
    """The words for `language` from the words file, by BCP 47 lookup (en-GB is served by en).

    A language the file lacks is reported at the key `at` of the data that asked for it.
    """
    found = lookup(language, words.data)
    if found is not None:
        return words.validate(Words, at=(found,), data=_inherited(words.data, found))
    known = ", ".join(sorted(map(str, words.data))) or "none"
    raise cited_by.error([Problem(at, (
        f"no words for the language {language!r} in {words.path} (it has: {known}); "
        f"add a section {language.split('-')[0]}: there with the same keys as the others"))])
