"""The data the appeal's editions print, read and checked once: appeal, words, endorsements, sign-on."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from appeal.errors import UserError
from appeal.inputs.endorsements import Endorsements, Group, load_endorsements, published_csv
from appeal.inputs.models import Appeal, Words, load_appeal, load_words
from appeal.inputs.signon import SignOn, load_sign_on
from appeal.inputs.source import Source
from appeal.layout.fonts import check_coverage, missing_glyph


@dataclass(frozen=True)
class Data:
    """Everything the appeal's editions print, validated."""

    appeal: Appeal
    source: Source
    words: Words
    endorsements: Endorsements | None = None
    sign_on: SignOn | None = None  # the sign-on sheet's settings, when it is built
    sign_on_source: Source | None = None

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


def load_data(appeal_path: Path, words_path: Path, endorsements_path: Path | None = None, *,
              appeal_raw: bytes | None = None, endorsements_raw: bytes | None = None,
              sign_on_path: Path | None = None) -> Data:
    """The appeal (from `appeal_path`, or `appeal_raw` named so), its words, its endorsements and
    the sign-on sheet's settings, each checked; a UserError names file, line and key (or column)
    of every problem."""
    appeal, source = load_appeal(appeal_path, appeal_raw)
    words = load_words(words_path, appeal.language, source)
    check_coverage(appeal.texts(), source)
    endorsements = None
    if endorsements_path is not None:
        endorsements = load_endorsements(endorsements_path, endorsements_raw)
        for line, column, text in endorsements.texts():
            problem = missing_glyph(text)
            if problem:
                raise UserError(f"{endorsements_path}:{line}: {column}: {problem}")
    sign_on, sign_on_source = None, None
    if sign_on_path is not None:
        sign_on, sign_on_source = load_sign_on(sign_on_path, len(appeal.body))
        check_coverage([(("heading",), sign_on.heading), (("full_text",), sign_on.full_text),
                        (("privacy",), sign_on.privacy),
                        *((("columns", key), text) for key, text in sign_on.columns)], sign_on_source)
    return Data(appeal, source, words, endorsements, sign_on, sign_on_source)
