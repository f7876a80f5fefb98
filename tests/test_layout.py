"""The design measured: one text block and one footer position on every page of an edition."""

from __future__ import annotations

import itertools

import pytest

MM = 72 / 25.4
# The editions whose pages stand alone (the booklets' sheets are these pages imposed).
# Their measure (a4.css, letter.css, a5.css): the width of the text block.
MEASURE = {"appeal-a4.pdf": 124 * MM, "appeal-letter.pdf": 124 * MM, "appeal-archive.pdf": 124 * MM,
           "press/appeal-a4.pdf": 124 * MM, "press/appeal-a5.pdf": 96 * MM}
PAGES = list(MEASURE)


@pytest.mark.parametrize("name", PAGES)
def test_one_text_block_and_one_footer_position_on_every_page(built, name):
    """The left edge of the text (running head, body, signatures) and the footer's baseline are
    the same on every page, within 0.5 mm: the signature pages are set on the body's measure."""
    from pages import pages

    footer_zone = 30 * MM if "a5" not in name else 22 * MM
    lefts, footers, rights = [], [], []
    for page in pages(built / name):
        body = [line for line in page.lines if line.bottom > footer_zone]
        footer = [line for line in page.lines if line.top < footer_zone]
        lefts.append(min(line.left for line in body))
        rights.append(max(line.right for line in body))
        footers.append(min(line.bottom for line in footer))
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


# Pages filled, hyphenation, the small pages' margins, the booklets' sequence: read by PDFium
# from the files as written (tests/pages.py), on the default build and on 500 endorsements.

def _source_text(appeal_data) -> str:
    import yaml

    return yaml.safe_dump(appeal_data, allow_unicode=True, width=10**6)


def _editions(built, endorsed):
    from pages import EDITIONS

    found = [(built / name, *EDITIONS[name]) for name in EDITIONS]
    found += [(endorsed / name, *EDITIONS[name]) for name in
              ("appeal-a4.pdf", "press/appeal-a5.pdf", "appeal-booklet.pdf")]
    return found


def _first_row_height(page, paper) -> float:
    """The height of the first unit on `page`'s text area: its lines down to the first gap wider
    than a line's leading (a row of entries, or the first paragraph's lines)."""
    from pages import body_lines

    lines = body_lines(page, paper)
    top, bottom = lines[0].top, lines[0].bottom
    for line in lines[1:]:
        if bottom - line.top > 2.5 * MM:
            break
        bottom = min(bottom, line.bottom)
    return top - bottom


def test_every_page_but_the_last_is_filled(built, endorsed):
    """No page but an edition's last is less than 80 % full, unless what follows on the next page
    is a unit the design keeps whole (a row of entries) that the space left could not hold."""
    from pages import MARGINS, body_lines, pages

    for path, paper, imposed in _editions(built, endorsed):
        found = [page for page in pages(path, imposed) if body_lines(page, paper)]
        top, _, bottom, _ = MARGINS[paper]
        for page, following in itertools.pairwise(found):
            lines = body_lines(page, paper)
            area = page.height - top - bottom
            left = min(line.bottom for line in lines) - bottom
            fill = 1 - left / area
            # The glyphs' extent is the line boxes' over the leading (1.3 for the entries).
            assert fill >= 0.8 or left < 1.3 * _first_row_height(following, paper) + 3.2 * MM, \
                (path.name, page.number, round(fill * 100))


def _breaks(page, paper, source: str) -> list[tuple[int, str, str]]:
    """The lines of a page's text that end in a break hyphen: (index, the part before, the part
    after); a hyphen the text itself has there ("Stagno-Ugarte", "life-saving") is not one."""
    import re

    from pages import body_lines

    lines = body_lines(page, paper)
    found = []
    for index, line in enumerate(lines):
        if not line.hyphen:
            continue
        before = re.search(r"(\w+)-$", line.text)
        after = re.match(r"\w+", lines[index + 1].text) if index + 1 < len(lines) else None
        if before and after and f"{before[1]}-{after[0]}" not in source:
            found.append((index, before[1], after[0]))
    return found


def test_hyphenation_is_under_control(built, endorsed, appeal_data):
    """At most two hyphenated lines in a row, none on a page's last line, at least 3 letters on
    either side of a break and no word under 7 letters broken; and the text is hyphenated at all
    (the test sees breaks), by the US patterns (no British "star-ted", "dec-ades")."""
    from pages import body_lines, pages

    source = _source_text(appeal_data)
    seen = 0
    for path, paper, imposed in _editions(built, endorsed):
        for page in pages(path, imposed):
            breaks = _breaks(page, paper, source)
            seen += len(breaks)
            indexes = [index for index, _, _ in breaks]
            assert not any(index + 2 in indexes and index + 1 in indexes for index in indexes), \
                (path.name, page.number, breaks)
            assert len(body_lines(page, paper)) - 1 not in indexes, (path.name, page.number, breaks)
            for _, before, after in breaks:
                assert len(before) >= 3 and len(after) >= 3, (path.name, before, after)
                assert len(before + after) >= 7, (path.name, before, after)
                assert f"{before}-{after}" not in ("star-ted", "dec-ades", "evid-ence", "altern-atives")
    assert seen >= 20, seen


def test_a_word_that_breaks_against_the_rules_is_laid_out_again_whole():
    """On a measure narrow enough to break three lines in a row, the first layout breaks the rules
    and the settled one does not; the text is the same."""
    from appeal.inputs.load import load_data
    from appeal.layout import hyphenation
    from appeal.layout.render import Renderer, render_html
    from appeal.paths import DATA_DIR
    from appeal.products.editions import context

    data = load_data(DATA_DIR / "appeal.yaml", DATA_DIR / "words.yaml")
    renderer = Renderer()
    html = render_html("handout.html", **context(data)).replace(
        "</head>", "<style>.appeal-body { width: 55mm }</style></head>")
    first = renderer.document(html, "a4")
    faults = [found for found in hyphenation.breaks(first) if found.fault]
    assert faults and all(fault.run > 2 or fault.last for fault in faults)
    settled = hyphenation.settled(lambda text: renderer.document(text, "a4"), html)
    assert not [found for found in hyphenation.breaks(settled) if found.fault]
    assert len(hyphenation.breaks(settled)) > 20  # still hyphenated, only not there

    def letters(document) -> str:
        return "".join(char for page in document.pages for box, _ in _text_boxes(page)
                       for char in box.text if char.isalnum())
    assert letters(first) == letters(settled)


def _text_boxes(page):
    from appeal.layout.boxes import walk

    """The text of a laid-out page, without its footer and running head (margin boxes)."""
    def margin(box) -> bool:
        return type(box).__name__ == "MarginBox"

    return [(box, None) for box, _ in walk(page._page_box, prune=margin) if type(box).__name__ == "TextBox"]


@pytest.mark.parametrize("name", ["press/appeal-a5.pdf", "appeal-booklet.pdf", "appeal-booklet-letter.pdf"])
def test_the_small_pages_keep_their_distance_from_trim_and_fold_and_a_one_line_footer(built, endorsed, name):
    """10 mm or more from the trim to any text, 12 mm from the fold; the footer one line."""
    from pages import EDITIONS, MARGINS, pages

    paper, imposed = EDITIONS[name]
    for folder in (built, endorsed) if name != "appeal-booklet-letter.pdf" else (built,):
        for page in pages(folder / name, imposed):
            for line in page.lines:
                near = {"left": line.left, "right": page.width - line.right}
                nearest = min(line.bottom, page.height - line.top, *near.values())
                assert nearest >= 10 * MM, (page.number, line)
                if page.fold:
                    assert near[page.fold] >= 12 * MM, (page.number, line)
            footer = [line for line in page.lines if line.top < MARGINS[paper][2]]
            assert len({round(line.bottom) for line in footer}) <= 1, (page.number, footer)


@pytest.mark.parametrize("name", ["appeal-booklet.pdf", "appeal-booklet-letter.pdf"])
def test_a_booklet_has_no_blank_leaf_inside(built, endorsed, name):
    """Read in page order, the booklet's blank pages (if any) are its last: the inside back cover
    and the back cover, never between the text and the signatories."""
    from pages import EDITIONS, pages

    _, imposed = EDITIONS[name]
    for folder in (built, endorsed) if name == "appeal-booklet.pdf" else (built,):
        found = pages(folder / name, imposed)
        blank = [not page.lines for page in found]
        assert blank == sorted(blank), blank  # False (text) first, then True (blank)
        assert blank.count(True) <= 3
        assert "Joint Appeal to Uphold" in found[0].text and "Signatories" in "".join(p.text for p in found)
