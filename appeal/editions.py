"""The editions of the appeal: one function each, from validated data to a finished PDF."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .model import Appeal, Words
from .render import Rendered, Renderer, modification_time, pdf_date, render_html


@dataclass(frozen=True)
class Edition:
    """One output file: the name `--edition` takes, its file name and its paper."""

    name: str
    filename: str
    paper: str
    archival: bool = False


HANDOUTS = (Edition("a4", "appeal-a4.pdf", "a4"), Edition("letter", "appeal-letter.pdf", "letter"))
ARCHIVE = Edition("archive", "appeal-archive.pdf", "a4", archival=True)
EDITIONS = {edition.name: edition for edition in (*HANDOUTS, ARCHIVE)}
# `sha256sum -c SHA256SUMS` in the output folder checks every PDF of the build.
CHECKSUMS = "SHA256SUMS"


def context(appeal: Appeal, words: Words, **extra) -> dict:
    return {"appeal": appeal, "words": words, "created": pdf_date(appeal.date),
            "modified": pdf_date(modification_time(appeal.date)), **extra}


def handout(renderer: Renderer, appeal: Appeal, words: Words, paper: str) -> Rendered:
    """The appeal and its signature page, to print for meetings and conferences."""
    html = render_html("handout.html", **context(appeal, words))
    return renderer.pdf(html, paper, pdf_tags=True)


def archive(renderer: Renderer, appeal: Appeal, words: Words, source: bytes) -> Rendered:
    """The appeal fixed for archiving: PDF/A-3a and PDF/UA-1, its source data embedded."""
    from .archive import SOURCE_NAME, ArchiveFacts, finish
    from .versions import stack

    modified = modification_time(appeal.date)
    created = dt.datetime(appeal.date.year, appeal.date.month, appeal.date.day, tzinfo=dt.UTC)
    facts = ArchiveFacts(appeal=appeal, source=source, created=created, modified=modified,
                         stack=stack(), edition=words.edition_archive)
    html = render_html("archive.html", **context(
        appeal, words, edition=f"{words.edition_archive} (PDF/A-3a, PDF/UA-1)",
        source_name=SOURCE_NAME, source_sha256=facts.sha256, stack=facts.stack))
    rendered = renderer.pdf(html, ARCHIVE.paper, pdf_variant="pdf/a-3a", pdf_tags=True)
    return Rendered(finish(rendered.data, facts), rendered.pages)


def make(edition: Edition, renderer: Renderer, appeal: Appeal, words: Words, source: bytes) -> Rendered:
    if edition.archival:
        return archive(renderer, appeal, words, source)
    return handout(renderer, appeal, words, edition.paper)
