"""The editions of the appeal: one function each, from validated data to a finished PDF."""

from __future__ import annotations

from dataclasses import dataclass

from .model import Appeal, Words
from .render import Rendered, Renderer, modification_time, pdf_date, render_html


@dataclass(frozen=True)
class Edition:
    """What one output file is: its name in the output folder and how to make it."""

    filename: str
    kind: str
    paper: str


HANDOUTS = (Edition("appeal-a4.pdf", "handout", "a4"), Edition("appeal-letter.pdf", "handout", "letter"))


def context(appeal: Appeal, words: Words, **extra) -> dict:
    return {"appeal": appeal, "words": words, "created": pdf_date(appeal.date),
            "modified": pdf_date(modification_time(appeal.date)), **extra}


def handout(renderer: Renderer, appeal: Appeal, words: Words, paper: str) -> Rendered:
    """The appeal and its signature page, to print for meetings and conferences."""
    html = render_html("handout.html", **context(appeal, words))
    return renderer.pdf(html, paper, pdf_tags=True)
