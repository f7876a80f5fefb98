"""The data the appeal's editions print, read and checked once: appeal, words, endorsements, sign-on."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from appeal.dates import modification_time
from appeal.errors import Collected, UserError
from appeal.inputs.endorsements import Endorsements, Group, load_endorsements, published_csv
from appeal.inputs.models import Appeal, Words, load_appeal, lookup, read_words, words_for
from appeal.inputs.source import Source
from appeal.layout.fonts import check_coverage, listed_fonts, missing_glyph

if TYPE_CHECKING:  # imported where a sign-on sheet is read: an edition without one never pays for it
    from appeal.inputs.signon import SignOn


@dataclass(frozen=True)
class Data:
    """Everything the appeal's editions print, validated."""

    appeal: Appeal
    source: Source
    words: Words
    endorsements: Endorsements | None = None
    sign_on: SignOn | None = None  # the sign-on sheet's settings, when it is built
    sign_on_source: Source | None = None
    # When the editions say they were last modified: SOURCE_DATE_EPOCH as the user set it, else
    # the appeal's date (dates.modification_time); verify gives the date the archive records.
    modified: dt.datetime | None = None
    # A translation's editions: what the first page says of it, in its language (who translated
    # it, and that the original is authoritative); None for the original.
    translation: str | None = None
    original: bytes | None = None  # a translation's: the original's source data, as read

    def __post_init__(self) -> None:
        if self.modified is None:
            object.__setattr__(self, "modified", modification_time(self.appeal.date))

    @property
    def next_number(self) -> int:
        """The number the next endorsement will take: the sign-on sheet's first row."""
        published = len(self.endorsements.published) if self.endorsements else 0
        return len(self.appeal.signatories) + published + 1

    @cached_property
    def groups(self) -> list[Group]:
        """The endorsements under their headings, numbered on from the signatories."""
        if self.endorsements is None:
            return []
        return self.endorsements.groups(self.words.endorsements, len(self.appeal.signatories) + 1)

    @cached_property
    def endorsements_csv(self) -> bytes | None:
        """What the archive embeds of the endorsements: the published rows, the printed columns."""
        return published_csv(self.endorsements) if self.endorsements and self.endorsements.published \
            else None


def load_data(appeal_path: Path, words: Source | Path | None, endorsements_path: Path | None = None, *,
              appeal_raw: bytes | None = None, endorsements_raw: bytes | None = None,
              sign_on_path: Path | None = None) -> Data | None:
    """The appeal (from `appeal_path`, or `appeal_raw` named so), its words (the words file, read
    or named), its endorsements and the sign-on sheet's settings, each checked; one UserError
    names file, line and key (or column) of every problem of every file. With `words` None (the
    caller could not read them, and says why) the others are checked, and None is returned."""
    found = Collected()
    if isinstance(words, Path):
        words = found.attempt(read_words, words)
    loaded = found.attempt(load_appeal, appeal_path, appeal_raw)
    appeal, source = loaded or (None, None)
    edition_words = None
    if appeal is not None:
        if words is not None:
            edition_words = found.attempt(words_for, words, appeal.language, source)
        found.attempt(check_coverage, appeal.texts(), source)
    endorsements = None
    if endorsements_path is not None:
        endorsements = found.attempt(_endorsements, endorsements_path, endorsements_raw)
    sign_on, sign_on_source = None, None
    if sign_on_path is not None:
        sign_on, sign_on_source = found.attempt(
            _sign_on, sign_on_path, len(appeal.body) if appeal is not None else None) or (None, None)
    found.raise_any()
    if edition_words is None:
        return None
    return Data(appeal, source, edition_words, endorsements, sign_on, sign_on_source)


def translated_data(data: Data, path: Path, words: Source, raw: bytes | None = None) -> Data:
    """The data of a translation's editions: the translation at `path` applied to the original's
    data (its endorsements, its dates), its words from the words file's section for its language,
    which must say how a translated edition describes itself (translation_notice)."""
    from dataclasses import replace

    from appeal.inputs.models import fill
    from appeal.inputs.source import Problem
    from appeal.inputs.translation import load_translation
    from appeal.layout.writing import writing

    translation, source = load_translation(path, data.appeal, raw)
    edition_words = words_for(words, translation.language, source)
    if edition_words.translation_notice is None:
        found = lookup(translation.language, words.data)
        raise words.error([Problem((found, "translation_notice"), (
            f"missing: a translated edition ({path.name}) says on its first page that it is a "
            "translation, by whom, and that the original is authoritative; add translation_notice with "
            "{translator} and {date}"))])
    appeal = translation.applied(data.appeal)
    check_coverage(appeal.texts(), source)
    translator = writing(translation.language).isolate(translation.translator)  # its own direction
    notice = fill(edition_words.translation_notice, translator=translator,
                  date=edition_words.date(data.appeal.date))
    return replace(data, appeal=appeal, source=source, words=edition_words, sign_on=None,
                   sign_on_source=None, translation=notice, original=data.source.raw)


def _endorsements(path: Path, raw: bytes | None) -> Endorsements:
    endorsements = load_endorsements(path, raw)
    files = listed_fonts()
    for line, column, text in endorsements.texts():
        problem = missing_glyph(text, files)
        if problem:
            raise UserError(f"{path}:{line}: {column}: {problem}")
    return endorsements


def _sign_on(path: Path, paragraphs: int | None) -> tuple[SignOn, Source]:
    from appeal.inputs.signon import load_sign_on

    sign_on, source = load_sign_on(path, paragraphs)
    check_coverage([(("heading",), sign_on.heading), (("full_text",), sign_on.full_text),
                    (("privacy",), sign_on.privacy),
                    *((("columns", key), text) for key, text in sign_on.columns)], source)
    return sign_on, source
