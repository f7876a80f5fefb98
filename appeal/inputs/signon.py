"""The sign-on sheet: a page to lay on a table at a meeting, to collect signatures on paper."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from appeal.inputs.models import Strict, Text
from appeal.inputs.source import Problem, Source, read_yaml

LIMIT = 256 * 2**10


class Columns(Strict):
    """The headings of the sheet's columns: those of the endorsements file, and two for paper."""

    def __getitem__(self, key: str) -> str:
        return getattr(self, key)

    number: Text
    """The heading of the rows' numbers, for example "No."."""
    name: Text
    """The heading of the name column, for example "Name"."""
    role: Text
    """The heading of the organisation or title column, for example "Organisation / title"."""
    country: Text
    """The heading of the country column, for example "Country"."""
    email: Text
    """The heading of the e-mail column; say that it is never published, for example "E-mail
    (optional, never published)"."""
    signature: Text
    """The heading of the signature column, for example "Signature"."""
    publish: Text
    """The heading of the consent box, for example "Tick: you may publish my name with the appeal"."""


class SignOn(Strict):
    """The sign-on sheet for meetings (data/sign-on.yaml): output/sign-on-a4.pdf and
    sign-on-letter.pdf."""

    heading: Text
    """The sheet's heading, for example "Sign the appeal"."""
    call_paragraph: Annotated[int, Field(ge=0)]
    """Which paragraph of the appeal's body to print above the table, counting from 0: its call to
    action, for example 2."""
    full_text: Text
    """A line that says where to read the whole appeal, for example "Read the whole appeal and its
    signatories at" and the web address."""
    pages: Annotated[int, Field(ge=1, le=50)]
    """How many pages of rows to print, 1 to 50; rows are numbered on from the last published
    endorsement."""
    columns: Columns
    """The headings of the table's columns."""
    privacy: Text
    """The privacy notice printed under the table: who collects the names, what is published, and
    how to withdraw."""


def load_sign_on(path: Path, paragraphs: int | None) -> tuple[SignOn, Source]:
    """The sheet's settings, checked; `call_paragraph` must name one of the appeal's `paragraphs`
    (not checked with None: the appeal could not be read)."""
    source = read_yaml(path, "sign-on sheet settings", LIMIT)
    sign_on = source.validate(SignOn)
    if paragraphs is not None and sign_on.call_paragraph >= paragraphs:
        raise source.error([Problem(("call_paragraph",), (
            f"is {sign_on.call_paragraph}, but the appeal has {paragraphs} paragraphs (counting from 0)"))])
    return sign_on, source
