"""The sign-on sheet: a page to lay on a table at a meeting, to collect signatures on paper."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from .model import Strict, Text
from .source import Problem, Source, read_yaml

LIMIT = 256 * 2**10
# More 10 mm rows than a landscape A4 or Letter page holds (about 17 without the title): the first
# layout needs only enough to fill every page.
ROWS_AT_MOST = 20


class Columns(Strict):
    """The headings of the sheet's columns: those of the endorsements file, and two for paper."""

    def __getitem__(self, key: str) -> str:
        return getattr(self, key)

    number: Text
    name: Text
    role: Text
    country: Text
    email: Text
    signature: Text
    publish: Text


class SignOn(Strict):
    heading: Text
    call_paragraph: Annotated[int, Field(ge=0)]
    full_text: Text
    pages: Annotated[int, Field(ge=1, le=50)]
    columns: Columns
    privacy: Text


def load_sign_on(path: Path, paragraphs: int) -> tuple[SignOn, Source]:
    """The sheet's settings, checked; `call_paragraph` must name one of the appeal's `paragraphs`."""
    source = read_yaml(path, "sign-on sheet settings", LIMIT)
    sign_on = source.validate(SignOn)
    if sign_on.call_paragraph >= paragraphs:
        raise source.error([Problem(("call_paragraph",), (
            f"is {sign_on.call_paragraph}, but the appeal has {paragraphs} paragraphs (counting from 0)"))])
    return sign_on, source


def sheet_rows(renderer, html_for, paper: str, pages: int, first: int) -> tuple[str, object]:
    """The sheet's HTML and layout with as many rows as fill `pages` pages: laid out once with
    more rows than fit, the rows on the first `pages` pages counted, then laid out with that many."""
    generous = html_for(range(first, first + ROWS_AT_MOST * pages))
    document = renderer.document(generous, paper, pdf_tags=True)
    fitting = sum(_rows_on(page) for page in document.pages[:pages])
    html = html_for(range(first, first + fitting))
    return html, renderer.document(html, paper, pdf_tags=True)


def _rows_on(page) -> int:
    count, pending = 0, [page._page_box]
    while pending:
        box = pending.pop()
        if getattr(box, "element_tag", None) == "tr" and "row" in (box.element.get("class") or ""):
            count += 1
            continue
        pending.extend(getattr(box, "children", ()))
    return count
