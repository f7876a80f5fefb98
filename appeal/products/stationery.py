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
from appeal.pdf.clean import save
from appeal.products import editions
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
    document = renderer.document(html, packs[0].paper, STYLE)
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

    pdf: bytes
    salutation_gap: float  # CSS px between the window's bottom and the first paragraph


def render_stationery(renderer: Renderer, data: Data, mailing: Mailing, pack: Pack) -> Stationery:
    document = renderer.document(letters_html(data, mailing, [pack], "stationery"), pack.paper, STYLE)
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
    return Stationery(document.write_pdf(), gap)


def render_chunk(renderer: Renderer, data: Data, mailing: Mailing, packs: Sequence[Pack],
                 stationery: Stationery | None = None) -> bytes:
    """The cover letters of `packs` as one PDF, one page each.

    With a stationery layer (the part the letters share), only each letter's address and first
    paragraph are laid out and the layer is drawn over them; a letter whose first paragraph takes
    more than one line, which the layer leaves room for, is laid out whole instead.
    """
    if stationery is None:
        return _laid_out(renderer, data, mailing, packs, "full").write_pdf()
    document = _laid_out(renderer, data, mailing, packs, "variable", stationery.salutation_gap)
    whole = [number for number, page in enumerate(document.pages)
             if len(lines(find(page, _first_paragraph))) != 1]
    with pikepdf.open(BytesIO(document.write_pdf())) as covers, \
            pikepdf.open(BytesIO(stationery.pdf)) as layer:
        form = pikepdf.Page(layer.pages[0]).as_form_xobject()
        for number, page in enumerate(covers.pages):
            if number not in whole:
                _draw_over(page, form)
        if not whole:
            return saved(covers)
        full = _laid_out(renderer, data, mailing, [packs[n] for n in whole], "full").write_pdf()
        with pikepdf.open(BytesIO(full)) as replacements:
            for replacement, number in zip(replacements.pages, whole, strict=True):
                covers.pages[number] = replacement
            return saved(covers)


def _draw_over(page: pikepdf.Page, form: pikepdf.Object) -> None:
    """Draw the form XObject over the page, under a fixed resource name: pikepdf's add_overlay
    picks a random one, and the bytes would change from build to build."""
    name = page.add_resource(form, pikepdf.Name.XObject, pikepdf.Name("/Stationery"))
    placement = page.calc_form_xobject_placement(form, name, pikepdf.Rectangle(page.trimbox))
    page.contents_add(b"q\n", prepend=True)
    page.contents_add(b"Q\n" + placement)
    page.contents_coalesce()


def saved(pdf: pikepdf.Pdf) -> bytes:
    return save(pdf)
