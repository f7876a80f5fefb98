"""The editions of the appeal: one function each, from validated data to a finished PDF."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .archive import ArchiveFacts
from .errors import UserError
from .model import Appeal, Words
from .render import Rendered, Renderer, modification_time, overflows, pdf_date, render_html
from .source import Problem, Source, parse_key_path


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


def laid_out(renderer: Renderer, html: str, paper: str, source: Source, **options):
    """`html` laid out on `paper`; a UserError names, by key path, any text that runs outside its
    box (a word too long to break), before a page of it is written."""
    document = renderer.document(html, paper, **options)
    problems = []
    for overflow in overflows(document):
        sample = overflow.text if len(overflow.text) <= 40 else overflow.text[:40] + "…"
        where = f"runs past the edge of its box on page {overflow.page} ({sample!r})"
        if overflow.key == "@bottom-right":
            raise UserError(f"the running footer's page number runs past its box on page {overflow.page} "
                            f"({sample!r}): shorten page_of in the words")
        loc = ("short_title",) if overflow.key == "@bottom-left" else parse_key_path(overflow.key)
        problems.append(Problem(loc, f"{where}; shorten it or break the long word"))
    if problems:
        raise source.error(problems)
    return document


def handout(renderer: Renderer, appeal: Appeal, words: Words, paper: str, source: Source) -> Rendered:
    """The appeal and its signature page, to print for meetings and conferences."""
    html = render_html("handout.html", **context(appeal, words))
    document = laid_out(renderer, html, paper, source, pdf_tags=True)
    return Rendered(document.write_pdf(pdf_tags=True), len(document.pages))


def archive_facts(appeal: Appeal, words: Words, source: bytes) -> ArchiveFacts:
    from .versions import fingerprint, stack, tool_version

    return ArchiveFacts(
        appeal=appeal, source=source, modified=modification_time(appeal.date),
        created=dt.datetime(appeal.date.year, appeal.date.month, appeal.date.day, tzinfo=dt.UTC),
        stack=stack(), edition=words.edition_archive, version=tool_version(),
        fingerprint=fingerprint(words.model_dump_json()))


def archive(renderer: Renderer, appeal: Appeal, words: Words, source: Source,
            facts: ArchiveFacts | None = None, signing=None) -> Rendered:
    """The appeal fixed for archiving: PDF/A-3a and PDF/UA-1, its source data embedded; signed
    in its empty signature field when `signing` (signing.Signing) is given.

    `facts` (verify gives them) may name the stack and dates another build recorded.
    """
    from .archive import SIGNATURE_FIELD, SOURCE_NAME, finish

    facts = facts or archive_facts(appeal, words, source.raw)
    html = render_html("archive.html", **context(
        appeal, words, edition=f"{words.edition_archive} (PDF/A-3a, PDF/UA-1)",
        source_name=SOURCE_NAME, source_sha256=facts.sha256, stack=facts.stack))
    options = {"pdf_variant": "pdf/a-3a", "pdf_tags": True}
    document = laid_out(renderer, html, ARCHIVE.paper, source, **options)
    data = finish(document.write_pdf(**options), facts)
    if signing is not None:
        data = signing(data, facts.modified, existing_field=SIGNATURE_FIELD)
    return Rendered(data, len(document.pages))


def make(edition: Edition, renderer: Renderer, appeal: Appeal, words: Words, source: Source,
         signing=None) -> Rendered:
    """The edition's PDF; the archive is signed when `signing` is given (handouts are for print)."""
    if edition.archival:
        return archive(renderer, appeal, words, source, signing=signing)
    return handout(renderer, appeal, words, edition.paper, source)
