"""The cover letters laid out: whole, or as the stationery layer they share and what each adds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO

import pikepdf

from appeal.inputs.load import Data
from appeal.inputs.mailing import Mailing, Pack
from appeal.inputs.source import Problem
from appeal.layout.boxes import find, has_class, lines
from appeal.layout.render import Renderer, overflows, render_html
from appeal.paths import ROOT
from appeal.pdf import marked
from appeal.pdf.clean import save
from appeal.pdf.marked import Marked
from appeal.products import cover_tags, editions
from appeal.products.cover_tags import Entry
from appeal.products.table import PRODUCTS

STYLE = PRODUCTS["letters"].style  # cover-letter.css


def letters_html(data: Data, mailing: Mailing, packs: Sequence[Pack], part: str = "full",
                 salutation_gap: float | None = None) -> str:
    letter = mailing.letter
    signature = (ROOT / letter.signer.signature).as_uri() if letter.signer.signature else None
    return render_html("letters.html", **editions.context(
        data, letter=letter, packs=packs, part=part,
        salutation_gap=salutation_gap, signature_uri=signature))


def _laid_out(renderer: Renderer, data: Data, mailing: Mailing, packs: Sequence[Pack], part: str,
              salutation_gap: float | None = None):
    """The cover letters of `packs` laid out, one page each; a UserError names a letter that runs
    over its page or an address line too long for the envelope window."""
    html = letters_html(data, mailing, packs, part, salutation_gap)
    document = renderer.document(html, packs[0].paper, STYLE, pdf_tags=True)
    starts = {}
    for number, page in enumerate(document.pages):
        for anchor in page.anchors:
            if anchor.startswith("pack-"):
                starts[anchor] = number
    problems = []
    for position, pack in enumerate(packs):
        loc = ("recipients", pack.index)
        first = starts.get(f"pack-{pack.recipient.id}")
        following = starts.get(f"pack-{packs[position + 1].recipient.id}") if position + 1 < len(packs) \
            else len(document.pages)
        if first != position or following != first + 1:
            problems.append(Problem(loc, "the cover letter runs over one page; shorten the body or "
                                         "the address"))
            break
        address = find(document.pages[first], lambda box: box.element_tag == "address")
        fields = [("name",), *([("position",)] if pack.recipient.position else []),
                  *(("address", n) for n in range(len(pack.recipient.address)))]
        for number, line in enumerate(lines(address)):
            if line.width > address.width + 0.01:
                field = fields[min(number, len(fields) - 1)]
                problems.append(Problem((*loc, *field), "is too long for the envelope window"))
    if not problems and part == "full":
        _check_return_address(document.pages[0], mailing)
    if not problems:
        for overflow in overflows(document):
            problems.append(Problem(("recipients", packs[overflow.page - 1].index), (
                f"the cover letter runs past its margin ({overflow.text[:40]!r}); break the long word")))
    if problems:
        raise mailing.recipients_source.error(problems)
    return document


def _first_paragraph(box) -> bool:
    return box.element_tag == "p" and "first-paragraph" in (box.element.get("class") or "")


def _check_return_address(page, mailing: Mailing) -> None:
    """The return address on one line inside the window (DIN 5008: the remarks zone's last line);
    US Letter shows none (the envelope carries it)."""
    window = find(page, lambda box: has_class(box, "window"))
    back = find(page, lambda box: has_class(box, "return-address"))
    if window is not None and back is not None and any(
            line.width > window.width + 0.01 for line in lines(back)):
        raise mailing.letter_source.error([Problem(("sender", "return_address"),
                                                   "is too long for the envelope window")])


@dataclass(frozen=True)
class Stationery:
    """The layer a group of letters shares, laid out once, and where their salutation stands."""

    pdf: bytes  # untagged, for its resources: its content goes inline into each page (marked.py)
    salutation_gap: float  # CSS px between the window's bottom and the first paragraph
    outline: tuple[Entry, ...]  # what is read of it (cover_tags.py), in the stationery's MCIDs
    content: Marked  # its page's content, the resources renamed LAYER_PREFIX + name


LAYER_PREFIX = "S"


def render_stationery(renderer: Renderer, data: Data, mailing: Mailing, pack: Pack) -> Stationery:
    document = renderer.document(letters_html(data, mailing, [pack], "stationery"), pack.paper, STYLE,
                                 pdf_tags=True)
    if len(document.pages) != 1:
        raise mailing.recipients_source.error([Problem(("recipients", pack.index), (
            "the cover letter runs over one page; shorten the body or the address"))])
    page = document.pages[0]
    window = find(page, lambda box: has_class(box, "window"))
    _check_return_address(page, mailing)
    for overflow in overflows(document):  # the text the letters share: the letter's own
        raise mailing.letter_source.error([Problem((), (
            f"the cover letter runs past its margin ({overflow.text[:40]!r}); break the long word"))])
    first = find(page, _first_paragraph)
    gap = first.position_y - (window.position_y + window.margin_height())
    with pikepdf.open(BytesIO(document.write_pdf(pdf_tags=True))) as pdf:
        (outline,) = cover_tags.outlines(document, pdf)
        content = marked.renamed_content(pdf.pages[0], LAYER_PREFIX)
        _untag(pdf)
        return Stationery(saved(pdf), gap, outline, Marked.of(content))


@dataclass(frozen=True)
class Covers:
    """Cover letters laid out, one page each, untagged, and what each page reads as: its entries'
    MCIDs are the page's, numbered from 0, every other sequence on it an artifact."""

    pdf: bytes
    outlines: list[tuple[Entry, ...]]


def render_chunk(renderer: Renderer, data: Data, mailing: Mailing, packs: Sequence[Pack],
                 stationery: Stationery | None = None) -> Covers:
    """The cover letters of `packs` as one PDF, one page each.

    With a stationery layer (the part the letters share), only each letter's address and first
    paragraph are laid out and the layer's content is written after each page's own (its MCIDs
    numbered after the page's); a letter whose first paragraph takes more than one line, which the
    layer leaves room for, is laid out whole instead.
    """
    if stationery is None:
        document = _laid_out(renderer, data, mailing, packs, "full")
        with pikepdf.open(BytesIO(document.write_pdf(pdf_tags=True))) as covers:
            found = [_whole(covers, page, outline) for page, outline
                     in zip(covers.pages, cover_tags.outlines(document, covers), strict=True)]
            _untag(covers)
            return Covers(saved(covers), found)
    document = _laid_out(renderer, data, mailing, packs, "variable", stationery.salutation_gap)
    whole = [number for number, page in enumerate(document.pages)
             if len(lines(find(page, _first_paragraph))) != 1]
    with pikepdf.open(BytesIO(document.write_pdf(pdf_tags=True))) as covers, \
            pikepdf.open(BytesIO(stationery.pdf)) as layer:
        resources = marked.renamed_resources(covers, layer, layer.pages[0], LAYER_PREFIX)
        read = [entry for entry in cover_tags.read(stationery.outline) if entry.name != cover_tags.SLOT]
        layers: dict[int, tuple[pikepdf.Stream, list[Entry]]] = {}
        found = []
        for number, (page, own) in enumerate(zip(covers.pages, cover_tags.outlines(document, covers),
                                                 strict=True)):
            if number in whole:
                found.append(())
                continue
            mine = cover_tags.read(own)
            content, numbers = marked.renumber_all(Marked.of(marked.content_of(page.obj)),
                                                   cover_tags.kept(mine))
            start = len(numbers)
            if start not in layers:  # the layer's MCIDs follow the page's own
                after = {mcid: start + n for n, mcid in enumerate(cover_tags.kept(read))}
                layers[start] = (covers.make_stream(stationery.content.joined(after)),
                                 [entry.renumbered(after) if entry in read else entry
                                  for entry in stationery.outline])
            stream, shared = layers[start]
            marked.draw_inline(covers, page, content, stream)
            marked.merge_resources(page, resources)
            found.append(tuple(cover_tags.merged([entry.renumbered(numbers) for entry in mine], shared)))
        _untag(covers)
        if whole:
            full = _laid_out(renderer, data, mailing, [packs[n] for n in whole], "full")
            with pikepdf.open(BytesIO(full.write_pdf(pdf_tags=True))) as replacements:
                for replacement, outline, number in zip(
                        replacements.pages, cover_tags.outlines(full, replacements), whole, strict=True):
                    found[number] = _whole(replacements, replacement, outline)
                _untag(replacements)
                for replacement, number in zip(replacements.pages, whole, strict=True):
                    covers.pages[number] = replacement
        return Covers(saved(covers), found)


def _whole(pdf: pikepdf.Pdf, page: pikepdf.Page, outline: Sequence[Entry]) -> tuple[Entry, ...]:
    """A letter laid out whole: its furniture made artifacts, what is read numbered from 0."""
    entries = cover_tags.read(outline)
    content, numbers = marked.renumber_all(Marked.of(marked.content_of(page.obj)), cover_tags.kept(entries))
    page.obj.Contents = pdf.make_stream(content)
    return tuple(entry.renumbered(numbers) for entry in entries)


def _untag(pdf: pikepdf.Pdf) -> None:
    """Drop WeasyPrint's structure tree: the pack is given its own (cover_tags.PackTree), and the
    print file is not tagged."""
    for key in ("/StructTreeRoot", "/MarkInfo"):
        if key in pdf.Root:
            del pdf.Root[key]
    for page in pdf.pages:
        for key in ("/StructParents", "/Tabs"):
            if key in page.obj:
                del page.obj[key]


def saved(pdf: pikepdf.Pdf, **options) -> bytes:
    return save(pdf, **options)
