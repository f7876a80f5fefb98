"""The recipes of the appeal's editions (products/table.py names them): validated data to a finished PDF."""

from __future__ import annotations

import datetime as dt

from appeal.errors import UserError
from appeal.inputs.endorsements import EMBEDDED_NAME
from appeal.inputs.load import Data
from appeal.inputs.source import Problem, parse_key_path
from appeal.layout import boxes, hyphenation
from appeal.layout.render import (
    Rendered,
    Renderer,
    overflows,
    render_html,
)
from appeal.layout.writing import writing
from appeal.pdf.metadata import TOOL, Metadata, mark, xmp_date
from appeal.pdf.pdfa import ArchiveFacts
from appeal.products.settings import PressSettings, Settings
from appeal.products.table import ARCHIVE, Product


def context(data: Data, **extra) -> dict:
    appeal = data.appeal
    return {"appeal": appeal, "words": data.words, "groups": data.groups, "created": xmp_date(appeal.date),
            "modified": xmp_date(data.modified), "translation": data.translation, **extra}


def laid_out(renderer: Renderer, html: str, paper: str, data: Data, **options):
    """`html` laid out on `paper`, its hyphenation settled (no break on a page's last line, at most
    two in a row: layout/hyphenation.py), checked that no text runs outside its box; from right to
    left (rtl.css) in a language so written."""
    style = ("appeal", "rtl") if writing(data.appeal.language).rtl else "appeal"
    document = hyphenation.settled(lambda text: renderer.document(text, paper, style, **options), html)
    check_overflows(document, data)
    return document


def check_overflows(document, data: Data) -> None:
    """A UserError naming, by key path (or file, line and column for an endorsement), any text of
    `document` that runs outside its box (a word too long to break), before a page is written."""
    problems: dict[str, list[Problem]] = {"appeal": [], "sign-on": []}
    messages = []
    script = writing(data.appeal.language)  # the page number at the lines' end, the title at their start
    for overflow in overflows(document):
        sample = overflow.text if len(overflow.text) <= 40 else overflow.text[:40] + "…"
        where = f"runs past the edge of its box on page {overflow.page} ({sample!r})"
        if overflow.key == f"@bottom-{script.end}":
            raise UserError(f"the running footer's page number runs past its box on page {overflow.page} "
                            f"({sample!r}): shorten page_of in the words")
        if overflow.key.startswith("endorsement:"):
            line = overflow.key.split(":")[1]
            messages.append(f"{data.endorsements.path}:{line}: the endorsement {where}; shorten it")
        elif overflow.key.startswith("sign-on:"):
            key = overflow.key.removeprefix("sign-on:")
            problems["sign-on"].append(Problem((key,), f"{where}; shorten it"))
        elif overflow.key:
            title = overflow.key == f"@bottom-{script.start}"
            loc = ("short_title",) if title else parse_key_path(overflow.key)
            problems["appeal"].append(Problem(loc, f"{where}; shorten it or break the long word"))
        else:  # text of the templates, not of the data: the styles are wrong
            raise UserError(f"text of the layout itself {where}: the stylesheets need a fix")
    if problems["appeal"]:
        raise data.source.error(problems["appeal"])
    if problems["sign-on"]:
        raise data.sign_on_source.error(problems["sign-on"])
    if messages:
        raise UserError("\n".join(messages))


def appeal_metadata(data: Data, kind: str, producer: str = TOOL) -> Metadata:
    """What a press edition or a booklet says about itself (pdf/metadata.py): the appeal's title,
    authors and dates, and the tool's mark for `kind`."""
    from appeal.versions import tool_version

    appeal = data.appeal
    return Metadata(appeal.title, appeal.authors, appeal.subject or appeal.title, appeal.date,
                    data.modified, mark(tool_version(), kind), producer,
                    language=appeal.language)


def handout(renderer: Renderer, data: Data, paper: str) -> Rendered:
    """The appeal and its signature pages, to print for meetings and conferences."""
    from appeal.pdf import pdfua
    from appeal.versions import stack

    html = render_html("handout.html", **context(data))
    document = laid_out(renderer, html, paper, data, pdf_tags=True)
    metadata = appeal_metadata(data, f"handout, {paper}", producer=stack())
    pdf = pdfua.finish(document.write_pdf(pdf_tags=True), metadata, pdfua.paragraph_keys(document))
    return Rendered(pdf, len(document.pages))


def archive_facts(data: Data) -> ArchiveFacts:
    from appeal.versions import fingerprint, stack, tool_version

    appeal = data.appeal
    translated = data.original is not None
    return ArchiveFacts(
        appeal=appeal, source=data.original if translated else data.source.raw,
        translation=data.source.raw if translated else None, endorsements=data.endorsements_csv,
        modified=data.modified,
        created=dt.datetime(appeal.date.year, appeal.date.month, appeal.date.day, tzinfo=dt.UTC),
        stack=stack(), edition=data.words.edition_archive, version=tool_version(),
        fingerprint=fingerprint(data.words.model_dump_json()))


def deposit_facts(data: Data) -> ArchiveFacts:
    """What the deposit edition says about itself: the archive's facts, PDF/A-2a, its own name."""
    import dataclasses

    if data.words.edition_deposit is None or data.words.colophon_deposit is None:
        raise UserError(f"the words for {data.appeal.language} have no edition_deposit and colophon_deposit: "
                        "the deposit edition's colophon needs them (docs/data.md)")
    return dataclasses.replace(archive_facts(data), edition=data.words.edition_deposit, part=2)


def archive(renderer: Renderer, data: Data, facts: ArchiveFacts | None = None, signing=None) -> Rendered:
    """The appeal fixed for archiving: PDF/A-3a and PDF/UA-1, its source data embedded; signed
    in its empty signature field when `signing` (signing.Signing) is given. With the facts of
    the deposit edition (part 2), the same pages as PDF/A-2a and PDF/UA-1 with nothing embedded,
    the colophon saying where the source is kept.

    `facts` (verify gives them) may name the stack and dates another build recorded.
    """
    from appeal.pdf.pdfa import SOURCE_NAME, TRANSLATION_NAME, finish
    from appeal.pdf.pdfua import SIGNATURE_FIELD, paragraph_keys

    facts = facts or archive_facts(data)
    deposit = facts.part == 2
    html = render_html("archive.html", **context(
        data, edition=f"{facts.edition} (PDF/A-{facts.part}a, PDF/UA-1)",
        source_name=SOURCE_NAME, source_sha256=facts.sha256, stack=facts.stack,
        endorsements_name=EMBEDDED_NAME, endorsements_sha256=facts.endorsements_sha256,
        translation_name=TRANSLATION_NAME, translation_sha256=facts.translation_sha256, deposit=deposit))
    options = {"pdf_variant": f"pdf/a-{facts.part}a", "pdf_tags": True}
    document = laid_out(renderer, html, ARCHIVE.paper, data, **options)
    pdf = finish(document.write_pdf(**options), facts, paragraph_keys(document))
    if signing is not None:
        pdf = signing(pdf, facts.modified, existing_field=SIGNATURE_FIELD)
    return Rendered(pdf, len(document.pages))


def sign_on(renderer: Renderer, data: Data, paper: str, style: str = "sign-on") -> Rendered:
    """The sign-on sheet: the title and call to action, then numbered rows to sign in by hand,
    as many as fill the pages the settings ask for."""
    def html_for(numbers) -> str:
        return render_html("signon.html", **context(data, sheet=data.sign_on, numbers=numbers))

    from appeal.pdf import pdfua
    from appeal.versions import stack

    _, document = sheet_rows(renderer, html_for, paper, style, data.sign_on.pages, data.next_number)
    check_overflows(document, data)
    metadata = appeal_metadata(data, f"sign-on sheet, {paper}", producer=stack())
    pdf = pdfua.finish(document.write_pdf(pdf_tags=True), metadata, pdfua.paragraph_keys(document))
    return Rendered(pdf, len(document.pages))


def press(renderer: Renderer, data: Data, edition: Product, settings: Settings) -> Rendered:
    """The appeal for a print shop: PDF/X-4, CMYK, a 3 mm bleed, single pages in reading order;
    checked as a preflight would check it before anything is written."""
    from appeal.pdf import pdfx
    from appeal.versions import stack

    document = laid_out(renderer, render_html("handout.html", **context(data)), edition.paper, data)
    facts = appeal_metadata(data, f"press edition, {edition.paper}, PDF/X-4", producer=stack())
    press_settings = settings.press or PressSettings(pdfx.output_intent(None))
    pdf = pdfx.finish(document.write_pdf(), facts, press_settings.intent, press_settings.marks)
    problems = pdfx.problems(pdf, edition.size, press_settings.marks)
    if problems:
        raise UserError(f"{edition.filename}: the press edition just built would fail a print shop's "
                        "preflight, so the build stops and writes nothing:\n  " + "\n  ".join(problems[:12]))
    return Rendered(pdf, len(document.pages))


def booklet(renderer: Renderer, data: Data, edition: Product, settings: Settings | None = None) -> Rendered:
    """The appeal as a booklet for the office printer: its A5 (half Letter) pages, padded with
    blank pages before the signature pages to a multiple of 4, imposed two to a sheet."""
    from appeal.pdf.impose import blanks_needed, impose

    document = laid_out(renderer, render_html("handout.html", **context(data, blanks=0)), edition.paper, data)
    blanks = blanks_needed(len(document.pages))
    if blanks:  # laid out again, so that every page's footer gives its number in the booklet
        html = render_html("handout.html", **context(data, blanks=blanks))
        document = laid_out(renderer, html, edition.paper, data)
    pdf = impose(document.write_pdf(), edition.size, appeal_metadata(data, f"booklet, {edition.paper}"),
                 right_to_left=writing(data.appeal.language).rtl)
    return Rendered(pdf, len(document.pages) // 2)


# More 10 mm rows than a landscape A4 or Letter page holds (about 17 without the title): the first
# layout of a sign-on sheet needs only enough to fill every page.
ROWS_AT_MOST = 20


def sheet_rows(renderer, html_for, paper: str, style: str, pages: int, first: int) -> tuple[str, object]:
    """The sheet's HTML and layout with as many rows as fill `pages` pages: laid out once with
    more rows than fit, the rows on the first `pages` pages counted, then laid out with that many."""
    generous = html_for(range(first, first + ROWS_AT_MOST * pages))
    document = renderer.document(generous, paper, style, pdf_tags=True)
    fitting = sum(_rows_on(page) for page in document.pages[:pages])
    html = html_for(range(first, first + fitting))
    return html, renderer.document(html, paper, style, pdf_tags=True)


def _is_row(box) -> bool:
    return box.element_tag == "tr" and "row" in (box.element.get("class") or "")


def _rows_on(page) -> int:
    return boxes.count(page, _is_row)


# The recipes the table names that need more than the paper: each is called as
# recipe(renderer, data, product, settings); press() and booklet() above already are.

def handout_edition(renderer: Renderer, data: Data, product: Product, settings: Settings) -> Rendered:
    return handout(renderer, data, product.paper)


def archive_edition(renderer: Renderer, data: Data, product: Product, settings: Settings) -> Rendered:
    return archive(renderer, data, signing=settings.signing)


def deposit_edition(renderer: Renderer, data: Data, product: Product, settings: Settings) -> Rendered:
    return archive(renderer, data, deposit_facts(data), signing=settings.signing)


def sign_on_edition(renderer: Renderer, data: Data, product: Product, settings: Settings) -> Rendered:
    return sign_on(renderer, data, product.paper, product.style)
