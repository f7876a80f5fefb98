"""The design measured: one text block and one footer position on every page of an edition."""

from __future__ import annotations

import itertools
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


@pytest.mark.parametrize("name", ["sign-on-a4.pdf", "sign-on-letter.pdf"])
def test_the_sign_on_sheet_notice_reads_and_the_email_column_takes_a_handwritten_address(built, name):
    """The privacy notice at 8.5 pt or larger in lines of at most 100 characters, without a
    hyphen at a line end; the e-mail column 60 mm wide on A4 landscape."""
    import pypdfium2
    import yaml

    from appeal.paths import DATA_DIR
    from helpers import squash, text_lines

    notice = squash(yaml.safe_load((DATA_DIR / "sign-on.yaml").read_text(encoding="utf-8"))["privacy"])
    for number in range(len(pypdfium2.PdfDocument(built / name))):
        lines = [line for line in text_lines(built / name, number)
                 if len(line.text) > 20 and squash(line.text) in notice]
        assert len(lines) >= 3 and all(len(line.text) <= 100 for line in lines), [len(x.text) for x in lines]
        assert not any(line.text.rstrip().endswith("-") for line in lines)
        # 8.5 pt or larger: lines 1.3 times the size apart in each column (8.5 pt: 11.05 pt).
        columns: dict[int, list[float]] = {}
        for line in lines:
            columns.setdefault(round(line.left / 20), []).append(line.top)
        pitches = [b - a for tops in columns.values() for a, b in itertools.pairwise(sorted(tops))]
        assert pitches and min(pitches) >= 8.5 * 1.3 - 0.3, pitches
    header = {line.text: line for line in text_lines(built / name, 0)}
    email = next(line for text, line in header.items() if text.startswith("E-mail"))
    signature = next(line for text, line in header.items() if text.startswith("Signature"))
    if name == "sign-on-a4.pdf":
        assert signature.left - email.left >= 60 * MM, (signature.left - email.left) / MM
