"""Hyphenation under control: no break hyphen on a page's last line, at most two in a row.

WeasyPrint hyphenates line by line and knows neither rule (CSS's hyphenate-limit-lines is not
implemented), so the layout is read back: each line of a data paragraph that ends in a hyphen the
layout inserted is found in the paragraph's own text, and a word that broke where the rules forbid
is kept whole (a span the stylesheet does not hyphenate, base.css `.unbroken`) in the next layout.
Most layouts break no rule and are laid out once; each fix moves a word to the next line and may
move a fault further on, so the layout is repeated until none is left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup, escape

from appeal.layout.boxes import walk

HYPHEN = "-"  # base.css hyphenate-character
ATTEMPTS = 8  # layouts at most; a fix is a word moved to the next line, and none took more than two


@dataclass(frozen=True)
class Break:
    """A line that ends in a break hyphen: where, and the word it broke, in its element's text."""

    page: int  # from 1
    key: str  # the data-key of the paragraph (templates/macros.html)
    text: str  # the paragraph's whole text
    start: int  # the broken word, text[start:end]
    end: int
    last: bool  # the last line of its page
    run: int  # hyphenated lines in a row up to this one (1 for the first)

    @property
    def word(self) -> str:
        return self.text[self.start:self.end]

    @property
    def fault(self) -> bool:
        return self.last or self.run > 2


def _is_letter(char: str) -> bool:
    return char.isalpha() or char in "’'"


def _line_text(line) -> str:
    """The characters a line box draws of its element's text (generated content left out)."""
    return "".join(box.text for box, _ in walk(line)
                   if type(box).__name__ == "TextBox" and getattr(box, "pseudo_type", None) is None)


def _block(box, parent):
    if getattr(box, "element", None) is not None and type(box).__name__ != "LineBox" and \
            box.element.get("data-key") is not None:
        return box
    return parent


def breaks(document) -> list[Break]:
    """Every hyphenated line end of the data's paragraphs in a laid-out `document`, in reading
    order, each found in its paragraph's text (a hyphen of the text itself is not a break)."""
    found: list[Break] = []
    positions: dict[int, int | None] = {}  # element → how far its text has been laid out
    run = 0
    for number, page in enumerate(document.pages, 1):
        page_lines = [(box, block) for box, block in walk(
            page._page_box, None, _block, prune=lambda box: type(box).__name__ == "MarginBox")
            if type(box).__name__ == "LineBox" and block is not None]
        for index, (line, block) in enumerate(page_lines):
            element = block.element
            text = "".join(element.itertext())
            position = positions.get(id(element), 0)
            drawn = _line_text(line).rstrip()
            if position is None or not drawn:
                continue
            while position < len(text) and text[position].isspace():
                position += 1
            broken = None
            if text.startswith(drawn, position):
                position += len(drawn)
            elif drawn.endswith(HYPHEN) and text.startswith(drawn[:-1], position) and \
                    position + len(drawn) - 1 < len(text) and _is_letter(text[position + len(drawn) - 1]):
                position += len(drawn) - 1
                start, end = position, position
                while start > 0 and _is_letter(text[start - 1]):
                    start -= 1
                while end < len(text) and _is_letter(text[end]):
                    end += 1
                broken = (start, end)
            else:  # a line this reading cannot follow (text the stylesheet transforms): left alone
                positions[id(element)] = None
                continue
            positions[id(element)] = position
            run = run + 1 if broken else 0
            if broken:
                found.append(Break(number, element.get("data-key"), text, *broken,
                                   last=index == len(page_lines) - 1, run=run))
    return found


def keep_whole(html: str, kept: dict[str, tuple[str, frozenset[tuple[int, int]]]]) -> str:
    """`html` with the words of `kept` (by data-key: the paragraph's text and the spans of its
    words) in `<span class="unbroken">`; a paragraph whose text is not plain in the HTML is left."""
    for key, (text, spans) in kept.items():
        plain = f'data-key="{escape(key)}">{escape(text)}<'
        if html.count(plain) != 1:
            continue
        pieces, at = [], 0
        for start, end in sorted(spans):
            pieces += [escape(text[at:start]), Markup('<span class="unbroken">'), escape(text[start:end]),
                       Markup("</span>")]
            at = end
        pieces.append(escape(text[at:]))
        html = html.replace(plain, f'data-key="{escape(key)}">{"".join(pieces)}<')
    return html


def settled(lay_out: Callable[[str], object], html: str):
    """`lay_out(html)`, laid out again with each word kept whole that broke against the rules,
    until none does (or ATTEMPTS layouts; the last is kept: a text so narrow that every fix makes
    another fault is still printed)."""
    kept: dict[str, tuple[str, frozenset[tuple[int, int]]]] = {}
    current = html
    document = lay_out(current)
    for _ in range(ATTEMPTS - 1):
        faults = [found for found in breaks(document) if found.fault]
        for fault in faults:
            _, spans = kept.get(fault.key, (fault.text, frozenset()))
            kept[fault.key] = (fault.text, spans | {(fault.start, fault.end)})
        fixed = keep_whole(html, kept)
        if fixed == current:
            break  # no fault, or none this can keep whole
        current = fixed
        document = lay_out(current)
    return document

