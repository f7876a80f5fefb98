"""The editions of the appeal: one function each, from validated data to a finished PDF."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from appeal.errors import UserError
from appeal.inputs.endorsements import EMBEDDED_NAME
from appeal.inputs.load import Data
from appeal.inputs.source import Problem, parse_key_path
from appeal.layout.render import (
    Rendered,
    Renderer,
    modification_time,
    overflows,
    pdf_date,
    pdf_info_date,
    render_html,
)
from appeal.pdf.pdfa import ArchiveFacts


@dataclass(frozen=True)
class Edition:
    """One output file: the name `--edition` takes, its file name, its paper, and its kind."""

    name: str
    filename: str
    paper: str
    kind: str = "handout"  # "handout", "archive", "sign-on", "press" or "booklet"

    @property
    def archival(self) -> bool:
        return self.kind == "archive"


HANDOUTS = (Edition("a4", "appeal-a4.pdf", "a4"), Edition("letter", "appeal-letter.pdf", "letter"))
ARCHIVE = Edition("archive", "appeal-archive.pdf", "a4", "archive")
SIGN_ON = (Edition("sign-on-a4", "sign-on-a4.pdf", "a4", "sign-on"),
           Edition("sign-on-letter", "sign-on-letter.pdf", "letter", "sign-on"))
PRESS = (Edition("press-a4", "press/appeal-a4.pdf", "press-a4", "press"),
         Edition("press-a5", "press/appeal-a5.pdf", "press-a5", "press"))
BOOKLETS = (Edition("booklet", "appeal-booklet.pdf", "a5", "booklet"),
            Edition("booklet-letter", "appeal-booklet-letter.pdf", "half-letter", "booklet"))
EDITIONS = {edition.name: edition for edition in (*HANDOUTS, ARCHIVE, *PRESS, *BOOKLETS, *SIGN_ON)}
# What a build writes when no --edition is given: the sign-on sheets when their settings exist.
ALWAYS = (*HANDOUTS, ARCHIVE, *PRESS, *BOOKLETS)
# Each press edition's trim, in points: A4 and A5; each booklet's sheet: A4 and Letter, landscape.
TRIMS = {"press-a4": (595.2756, 841.8898), "press-a5": (419.5276, 595.2756)}
SHEETS = {"a5": (841.8898, 595.2756), "half-letter": (792.0, 612.0)}
# `sha256sum -c SHA256SUMS` in the output folder checks every PDF of the build.
CHECKSUMS = "SHA256SUMS"


def context(data: Data, **extra) -> dict:
    appeal = data.appeal
    return {"appeal": appeal, "words": data.words, "groups": data.groups, "created": pdf_date(appeal.date),
            "modified": pdf_date(modification_time(appeal.date)), **extra}


def laid_out(renderer: Renderer, html: str, paper: str, data: Data, **options):
    """`html` laid out on `paper`, checked that no text runs outside its box."""
    document = renderer.document(html, paper, **options)
    check_overflows(document, data)
    return document


def check_overflows(document, data: Data) -> None:
    """A UserError naming, by key path (or file, line and column for an endorsement), any text of
    `document` that runs outside its box (a word too long to break), before a page is written."""
    problems: dict[str, list[Problem]] = {"appeal": [], "sign-on": []}
    messages = []
    for overflow in overflows(document):
        sample = overflow.text if len(overflow.text) <= 40 else overflow.text[:40] + "…"
        where = f"runs past the edge of its box on page {overflow.page} ({sample!r})"
        if overflow.key == "@bottom-right":
            raise UserError(f"the running footer's page number runs past its box on page {overflow.page} "
                            f"({sample!r}): shorten page_of in the words")
        if overflow.key.startswith("endorsement:"):
            line = overflow.key.split(":")[1]
            messages.append(f"{data.endorsements.path}:{line}: the endorsement {where}; shorten it")
        elif overflow.key.startswith("sign-on:"):
            key = overflow.key.removeprefix("sign-on:")
            problems["sign-on"].append(Problem((key,), f"{where}; shorten it"))
        elif overflow.key:
            loc = ("short_title",) if overflow.key == "@bottom-left" else parse_key_path(overflow.key)
            problems["appeal"].append(Problem(loc, f"{where}; shorten it or break the long word"))
        else:  # text of the templates, not of the data: the styles are wrong
            raise UserError(f"text of the layout itself {where}: the stylesheets need a fix")
    if problems["appeal"]:
        raise data.source.error(problems["appeal"])
    if problems["sign-on"]:
        raise data.sign_on_source.error(problems["sign-on"])
    if messages:
        raise UserError("\n".join(messages))


def handout(renderer: Renderer, data: Data, paper: str) -> Rendered:
    """The appeal and its signature pages, to print for meetings and conferences."""
    html = render_html("handout.html", **context(data))
    document = laid_out(renderer, html, paper, data, pdf_tags=True)
    return Rendered(document.write_pdf(pdf_tags=True), len(document.pages))


def archive_facts(data: Data) -> ArchiveFacts:
    from appeal.versions import fingerprint, stack, tool_version

    appeal = data.appeal
    return ArchiveFacts(
        appeal=appeal, source=data.source.raw, endorsements=data.endorsements_csv,
        modified=modification_time(appeal.date),
        created=dt.datetime(appeal.date.year, appeal.date.month, appeal.date.day, tzinfo=dt.UTC),
        stack=stack(), edition=data.words.edition_archive, version=tool_version(),
        fingerprint=fingerprint(data.words.model_dump_json()))


def archive(renderer: Renderer, data: Data, facts: ArchiveFacts | None = None, signing=None) -> Rendered:
    """The appeal fixed for archiving: PDF/A-3a and PDF/UA-1, its source data embedded; signed
    in its empty signature field when `signing` (signing.Signing) is given.

    `facts` (verify gives them) may name the stack and dates another build recorded.
    """
    from appeal.pdf.pdfa import SIGNATURE_FIELD, SOURCE_NAME, finish

    facts = facts or archive_facts(data)
    html = render_html("archive.html", **context(
        data, edition=f"{data.words.edition_archive} (PDF/A-3a, PDF/UA-1)",
        source_name=SOURCE_NAME, source_sha256=facts.sha256, stack=facts.stack,
        endorsements_name=EMBEDDED_NAME, endorsements_sha256=facts.endorsements_sha256))
    options = {"pdf_variant": "pdf/a-3a", "pdf_tags": True}
    document = laid_out(renderer, html, ARCHIVE.paper, data, **options)
    pdf = finish(document.write_pdf(**options), facts)
    if signing is not None:
        pdf = signing(pdf, facts.modified, existing_field=SIGNATURE_FIELD)
    return Rendered(pdf, len(document.pages))


def sign_on(renderer: Renderer, data: Data, paper: str) -> Rendered:
    """The sign-on sheet: the title and call to action, then numbered rows to sign in by hand,
    as many as fill the pages the settings ask for."""
    from appeal.inputs.signon import sheet_rows

    def html_for(numbers) -> str:
        return render_html("signon.html", **context(data, sheet=data.sign_on, numbers=numbers))

    _, document = sheet_rows(renderer, html_for, paper, data.sign_on.pages, data.next_number)
    check_overflows(document, data)
    return Rendered(document.write_pdf(pdf_tags=True), len(document.pages))


@dataclass(frozen=True)
class PressSettings:
    """What a build gives the press editions: the output intent (bundled FOGRA39, or the shop's
    profile), and whether to draw crop marks."""

    intent: object  # press.OutputIntent
    marks: bool = False


def press(renderer: Renderer, data: Data, edition: Edition, settings: PressSettings) -> Rendered:
    """The appeal for a print shop: PDF/X-4, CMYK, a 3 mm bleed, single pages in reading order;
    checked as a preflight would check it before anything is written."""
    from appeal.pdf import pdfx
    from appeal.versions import stack, tool_version

    appeal = data.appeal
    document = laid_out(renderer, render_html("handout.html", **context(data)), edition.paper, data)
    modified = modification_time(appeal.date)
    facts = pdfx.PressFacts(
        title=appeal.title, author=appeal.authors, subject=appeal.subject or appeal.title,
        created=pdf_info_date(appeal.date), modified=pdf_info_date(modified),
        created_xmp=pdf_date(appeal.date), modified_xmp=pdf_date(modified),
        creator_tool=f"appeal-edition {tool_version()} (press edition, {edition.paper}, PDF/X-4)",
        producer=stack())
    pdf = pdfx.finish(document.write_pdf(), facts, settings.intent, settings.marks)
    problems = pdfx.problems(pdf, TRIMS[edition.paper], settings.marks)
    if problems:
        raise UserError(f"{edition.filename}: the press edition just built would fail a print shop's "
                        "preflight, so the build stops and writes nothing:\n  " + "\n  ".join(problems[:12]))
    return Rendered(pdf, len(document.pages))


def booklet(renderer: Renderer, data: Data, edition: Edition) -> Rendered:
    """The appeal as a booklet for the office printer: its A5 (half Letter) pages, padded with
    blank pages before the signature pages to a multiple of 4, imposed two to a sheet."""
    from appeal.pdf.impose import blanks_needed, impose

    document = laid_out(renderer, render_html("handout.html", **context(data, blanks=0)), edition.paper, data)
    blanks = blanks_needed(len(document.pages))
    if blanks:  # laid out again, so that every page's footer gives its number in the booklet
        html = render_html("handout.html", **context(data, blanks=blanks))
        document = laid_out(renderer, html, edition.paper, data)
    from appeal.versions import tool_version

    appeal = data.appeal
    info = {"/Title": appeal.title, "/Author": appeal.authors, "/Subject": appeal.subject or appeal.title,
            "/CreationDate": pdf_info_date(appeal.date),
            "/ModDate": pdf_info_date(modification_time(appeal.date)), "/Producer": "appeal-edition",
            "/Creator": f"appeal-edition {tool_version()} (booklet, {edition.paper})"}
    pdf = impose(document.write_pdf(), SHEETS[edition.paper], info, appeal.language)
    return Rendered(pdf, len(document.pages) // 2)


def make(edition: Edition, renderer: Renderer, data: Data, signing=None,
         press_settings: PressSettings | None = None) -> Rendered:
    """The edition's PDF; the archive is signed when `signing` is given (handouts are for print)."""
    if edition.archival:
        return archive(renderer, data, signing=signing)
    if edition.kind == "sign-on":
        return sign_on(renderer, data, edition.paper)
    if edition.kind == "press":
        return press(renderer, data, edition, press_settings or PressSettings(_default_intent()))
    if edition.kind == "booklet":
        return booklet(renderer, data, edition)
    return handout(renderer, data, edition.paper)


def _default_intent():
    from appeal.pdf.pdfx import output_intent

    return output_intent(None)
