"""A booklet any office printer can make: the A5 (half Letter) pages imposed two to a sheet.

Print double-sided, flipping on the short edge, fold the stack in the middle, staple on the fold:
the pages read 1, 2, 3, ... Saddle-stitch order: for n pages (a multiple of 4), sheet i carries
n - 2i and 2i + 1 on its front, 2i + 2 and n - 2i - 1 on its back (for 8 pages: [8|1] [2|7]
[6|3] [4|5]). Each page is placed whole as a form XObject with pikepdf.

A booklet in a language written from right to left is bound on the right: each side's pair is
mirrored ([1|8] [7|2] [3|6] [5|4]), so that the folded stack opens from the left edge and its
pages follow one another from right to left.
"""

from __future__ import annotations

from io import BytesIO

import pikepdf

from appeal.pdf.clean import save
from appeal.pdf.metadata import Metadata


def blanks_needed(pages: int) -> int:
    """The blank pages that make `pages` a multiple of 4 (products/editions.py puts them before the
    signature pages, so that those end the booklet, and numbers every page in reading order)."""
    return -pages % 4


def sheet_order(pages: int, right_to_left: bool = False) -> list[tuple[int, int]]:
    """(left, right) page numbers (from 1) of each side of each sheet, in printing order; bound
    on the right when `right_to_left`."""
    if pages % 4:
        raise ValueError(f"a booklet of {pages} pages: the pages must be a multiple of 4")
    sides = []
    for sheet in range(pages // 4):
        sides.append((pages - 2 * sheet, 2 * sheet + 1))
        sides.append((2 * sheet + 2, pages - 2 * sheet - 1))
    return [(right, left) for left, right in sides] if right_to_left else sides


def impose(pdf_data: bytes, sheet: tuple[float, float], metadata: Metadata,
           right_to_left: bool = False) -> bytes:
    """The pages of `pdf_data` (all the same size, a multiple of 4 in number) two to a landscape
    `sheet` (width, height in points), meeting at its middle, in saddle-stitch order (bound on the
    right when `right_to_left`). A4 is a millimetre wider than two A5 pages: half a millimetre
    each side of the pair stays blank."""
    with pikepdf.open(BytesIO(pdf_data)) as source, pikepdf.new() as booklet:
        width, height = (float(v) for v in source.pages[0].mediabox[2:])
        middle = sheet[0] / 2
        forms = []
        for page in source.pages:
            booklet.pages.append(page)  # copies the page and what it uses into the booklet
            forms.append(pikepdf.Page(booklet.pages[-1]).as_form_xobject())
        count = len(forms)
        for _ in range(count):
            del booklet.pages[0]
        for left, right in sheet_order(count, right_to_left):
            side = booklet.add_blank_page(page_size=sheet)
            for slot, number in enumerate((left, right)):
                x = middle - width if slot == 0 else middle
                name = side.add_resource(forms[number - 1], pikepdf.Name.XObject, pikepdf.Name(f"/P{slot}"))
                placement = side.calc_form_xobject_placement(
                    forms[number - 1], name, pikepdf.Rectangle(x, (sheet[1] - height) / 2, x + width,
                                                               (sheet[1] + height) / 2))
                side.contents_add(booklet.make_stream(b"q\n" + placement + b"\nQ\n"))
        metadata.write_info(booklet)
        booklet.Root.Lang = pikepdf.String(metadata.language)
        return save(booklet, compress_streams=True)
