"""The design measured: one text block and one footer position on every page of an edition."""

from __future__ import annotations

from pathlib import Path

import pytest

MM = 72 / 25.4
# The editions whose pages stand alone (the booklets' sheets are these pages imposed).
# Their measure (a4.css, letter.css, a5.css): the width of the text block.
MEASURE = {"appeal-a4.pdf": 124 * MM, "appeal-letter.pdf": 124 * MM, "appeal-archive.pdf": 124 * MM,
           "press/appeal-a4.pdf": 124 * MM, "press/appeal-a5.pdf": 96 * MM}
PAGES = list(MEASURE)


def _boxes(path: Path) -> list[tuple[float, float, list[tuple[float, float, float, float]]]]:
    """Each page's height, width and the boxes (left, bottom, right, top, in pt from the bottom
    left of the trim) of its visible characters, by PDFium."""
    import pypdfium2

    document = pypdfium2.PdfDocument(path)
    pages = []
    for page in document:
        text = page.get_textpage()
        left, bottom, _, _ = page.get_trimbox()
        boxes = []
        for index in range(text.count_chars()):
            if text.get_text_range(index, 1).strip():
                x0, y0, x1, y1 = text.get_charbox(index)
                boxes.append((x0 - left, y0 - bottom, x1 - left, y1 - bottom))
        width, height = page.get_size()
        pages.append((height, width, boxes))
    return pages


@pytest.mark.parametrize("name", PAGES)
def test_one_text_block_and_one_footer_position_on_every_page(built, name):
    """The left edge of the text (running head, body, signatures) and the footer's baseline are
    the same on every page, within 0.5 mm: the signature pages are set on the body's measure."""
    pages = _boxes(built / name)
    footer_zone = 30 * MM if "a5" not in name else 22 * MM
    lefts, footers, rights = [], [], []
    for _, _, boxes in pages:
        body = [box for box in boxes if box[1] > footer_zone]
        footer = [box for box in boxes if box[3] < footer_zone]
        lefts.append(min(box[0] for box in body))
        rights.append(max(box[2] for box in body))
        footers.append(min(box[1] for box in footer))
    assert max(lefts) - min(lefts) <= 0.5 * MM, [round(x / MM, 1) for x in lefts]
    assert max(footers) - min(footers) <= 0.5 * MM, [round(y / MM, 1) for y in footers]
    # Ragged right, and no page's text wider than the body's measure (the signatures' too).
    assert max(rights) - min(lefts) <= MEASURE[name] + 0.5 * MM, [round(x / MM, 1) for x in rights]
