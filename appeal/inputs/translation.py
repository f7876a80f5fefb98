"""A translation of the appeal (data/translations/<tag>.yaml): its text, held to the original.

The English text of the appeal is the authoritative one; a translation is data the campaign adds,
never made up by the tool. It gives the title, the body (paragraph for paragraph), each
signatory's role (names are never translated) and who translated it; the words an edition prints
around the text in its language come from data/words.yaml, the section for its language, as
for a letter in that language: one place for a language's words.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from appeal.inputs.models import Appeal, Language, Signatory, Strict, Text
from appeal.inputs.source import Problem, Source, read_or_parse

TRANSLATION_LIMIT = 4 * 2**20
TRANSLATIONS = "translations"  # the folder under data/


class Translation(Strict):
    """A translation of the appeal (data/translations/<tag>.yaml, the file named by its language)."""

    language: Language
    """The translation's language, a BCP 47 tag such as fr, pl or zh-Hans; the file is named by it
    (fr.yaml)."""
    translator: Text
    """Who translated the appeal, as the edition prints it, for example "the campaign's translation
    team"."""
    title: Text
    """The appeal's title in the language."""
    short_title: Annotated[Text, Field(max_length=160)] | None = None
    """A short form of the title for the running footer (at most 160 characters)."""
    publication: Text
    """The line under the title: where and when the appeal was published, in the language."""
    subject: Text | None = None
    """One sentence on what the appeal asks, for the PDF's description; not printed."""
    keywords: list[Text] = Field(default_factory=list)
    """Words a search should find the PDF by, in the language; not printed."""
    body: Annotated[list[Text], Field(min_length=1)]
    """The appeal's paragraphs in the language, as many as the original's and in its order."""
    roles: Annotated[list[Text], Field(min_length=1)]
    """Each signatory's role in the language, in the original's order (the names stay as
    published)."""


    def applied(self, original: Appeal) -> Appeal:
        """The appeal in this language: the translation's text, the original's date, names and
        order."""
        return Appeal(
            language=self.language, date=original.date, title=self.title, short_title=self.short_title,
            publication=self.publication, subject=self.subject, keywords=self.keywords, body=self.body,
            signatories=[Signatory(name=signatory.name, role=role)
                         for signatory, role in zip(original.signatories, self.roles, strict=True)])


def load_translation(path: Path, original: Appeal, raw: bytes | None = None) -> tuple[Translation, Source]:
    """The translation at `path` (or `raw`, named `path`: an archive's), validated and held to
    `original`: as many paragraphs and roles, a file named by its language. A UserError names
    every problem by file, line and key."""
    source = read_or_parse(path, raw, "translation", TRANSLATION_LIMIT)
    translation = source.validate(Translation)
    problems = []
    for key, have, want, what in (("body", len(translation.body), len(original.body), "paragraphs"),
                                  ("roles", len(translation.roles), len(original.signatories), "roles")):
        if have != want:
            problems.append(Problem((key,), f"has {have} {what}; the original has {want}, and a translation "
                                            f"gives every one of them, in the original's order"))
    if raw is None and path.stem != translation.language:
        problems.append(Problem(("language",), f"is {translation.language!r}, but the file is named "
                                               f"{path.name}; name it {translation.language}.yaml"))
    if translation.language.lower() == original.language.lower():
        problems.append(Problem(("language",), f"is the original's language ({original.language})"))
    if problems:
        raise source.error(problems)
    return translation, source
