"""The pages of an edition as a reader's engine (PDFium) sees them: each page's lines of text with
their boxes, the imposed booklets cut back into their pages in reading order."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MM = 72 / 25.4
IN = 72.0
# Each paper's margins (top, right, bottom, left) in pt, as its sheet sets them (styles/*.css).
MARGINS = {
    "a4": (24 * MM, 43 * MM, 26 * MM, 43 * MM),
    "letter": (0.9 * IN, 1.81 * IN, 1 * IN, 1.81 * IN),
    "a5": (17 * MM, 26 * MM, 20 * MM, 26 * MM),
    "half-letter": (0.7 * IN, 0.85 * IN, 0.8 * IN, 0.85 * IN),
}
# The editions whose pages are the appeal's, each with its paper and whether it is imposed.
EDITIONS = {
    "appeal-a4.pdf": ("a4", False), "appeal-letter.pdf": ("letter", False),
    "appeal-archive.pdf": ("a4", False), "press/appeal-a4.pdf": ("a4", False),
    "press/appeal-a5.pdf": ("a5", False), "appeal-booklet.pdf": ("a5", True),
    "appeal-booklet-letter.pdf": ("half-letter", True),
}


@dataclass
class Line:
    text: str  # as drawn; a break hyphen (PDFium's U+FFFE) is "-"
    hyphen: bool  # it ends in a hyphen
    left: float  # pt from the page's left edge (the trim)
    right: float
    bottom: float  # pt from the page's bottom edge
    top: float


@dataclass
class Page:
    number: int  # in reading order, from 1
    width: float
    height: float
    lines: list[Line]
    fold: str | None = None  # "left" or "right": the side of the page the fold is on (booklets)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def _lines(textpage, left: float, bottom: float) -> list[Line]:
    lines, chars = [], []

    def close(hyphen: bool) -> None:
        boxes = [box for char, box in chars if char.strip()]
        if boxes:
            text = "".join(char for char, _ in chars).strip()
            lines.append(Line(text, hyphen or text.endswith("-"), min(b[0] for b in boxes) - left,
                              max(b[2] for b in boxes) - left, min(b[1] for b in boxes) - bottom,
                              max(b[3] for b in boxes) - bottom))
        chars.clear()

    for index in range(textpage.count_chars()):
        char = textpage.get_text_range(index, 1)
        if char in "\r\n":
            close(False)
        elif char == "\ufffe":
            chars.append(("-", textpage.get_charbox(index)))
            close(True)
        else:
            chars.append((char, textpage.get_charbox(index)))
    close(False)
    return lines


def pages(path: Path, imposed: bool = False) -> list[Page]:
    """The pages of `path` in reading order; a booklet's sheets (two pages side by side, in the
    order a folded stack of sheets needs) are cut at the fold."""
    import pypdfium2

    document = pypdfium2.PdfDocument(path)
    found: list[Page] = []
    for index, pdf_page in enumerate(document):
        left, bottom, right, top = pdf_page.get_trimbox()
        width, height = right - left, top - bottom
        lines = _lines(pdf_page.get_textpage(), left, bottom)
        if not imposed:
            found.append(Page(index + 1, width, height, lines))
            continue
        total = 2 * len(document)  # the booklet's pages
        # Sheet side `index` holds pages (total - index, index + 1) on a front, the reverse on a back.
        numbers = (total - index, index + 1) if index % 2 == 0 else (index + 1, total - index)
        half = width / 2
        for side, number in enumerate(numbers):
            own = [Line(line.text, line.hyphen, line.left - side * half, line.right - side * half,
                        line.bottom, line.top) for line in lines if (line.left >= half) == bool(side)]
            found.append(Page(number, half, height, own, fold="right" if side == 0 else "left"))
    document.close()
    return sorted(found, key=lambda page: page.number)


def body_lines(page: Page, paper: str) -> list[Line]:
    """The lines of the text area, between the running head (in the top margin) and the footer
    (in the bottom margin), top to bottom."""
    top_margin, _, bottom_margin, _ = MARGINS[paper]
    return sorted((line for line in page.lines
                   if line.bottom > bottom_margin - 1 and line.top < page.height - top_margin + 1),
                  key=lambda line: -line.top)
