"""How a language is written: its direction, and the bundled family its text is set in first.

Latin and Cyrillic are Charis SIL's ("Appeal Serif"). Greek, Arabic, Hebrew and Chinese text is
set in Noto faces of their script first (base.css `:lang()`), so that no word mixes two typefaces;
digits, Latin names and the punctuation those faces lack stay Charis. Arabic and Hebrew are
written from right to left: their editions get `dir="rtl"` and the mirrored styles (rtl.css),
their booklets are bound on the right, and a name in Latin letters is isolated in their text
(`isolate`) so that its own punctuation stays with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FSI, PDI = "\u2068", "\u2069"  # FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE (Unicode bidi)
LRI = "\u2066"  # LEFT-TO-RIGHT ISOLATE
# A range of numbers: 1999-2008, 10–40. WeasyPrint 70 breaks such a run at its hyphen and draws its
# parts in right-to-left order ("(2017-2009)" for "(2009-2017)" at a line's end, measured), and the
# Unicode rules themselves put the parts of an en-dash range so; isolated, it reads as written.
_RANGES = re.compile(r"\d+(?:[-\u2010\u2013]\d+)+")


@dataclass(frozen=True)
class Writing:
    direction: str = "ltr"
    family: str | None = None  # the family set before "Appeal Serif" for the script
    italic: bool = True  # whether the script's faces have an italic (Arabic, Hebrew, Chinese: none)

    @property
    def rtl(self) -> bool:
        return self.direction == "rtl"

    @property
    def start(self) -> str:
        """The side a line starts on: "left", or "right" from right to left."""
        return "right" if self.rtl else "left"

    @property
    def end(self) -> str:
        return "left" if self.rtl else "right"

    def isolate(self, text: str) -> str:
        """`text` as one directional run of its own in right-to-left text ("Dr. Jane Doe." keeps
        its full stop at its end); unchanged in left-to-right text, so that those editions' bytes
        stay what they were."""
        return f"{FSI}{text}{PDI}" if self.rtl and text else text

    def numbers(self, text: str) -> str:
        """`text` with each range of numbers (1999-2008) one left-to-right run in right-to-left
        text; unchanged in left-to-right text."""
        return _RANGES.sub(lambda match: f"{LRI}{match[0]}{PDI}", text) if self.rtl else text


WRITINGS = {
    "el": Writing(family="Appeal Greek"),
    "ar": Writing("rtl", "Appeal Arabic", italic=False),
    "he": Writing("rtl", "Appeal Hebrew", italic=False),
    "zh": Writing(family="Appeal Chinese", italic=False),
}


def writing(language: str) -> Writing:
    """How text in `language` (a BCP 47 tag: `ar`, `ar-EG`, `el`) is written."""
    return WRITINGS.get(language.split("-")[0].lower(), Writing())
