"""Makes the Greek, Arabic, Hebrew and Chinese faces in styles/fonts/ from Debian's Noto packages,
each Noto face cut to its script's letters, marks and the spaces and punctuation a run of that
script holds: Noto Serif's four styles to Greek (about 85 kB a face), Noto Naskh Arabic's two to
Arabic and Noto Serif Hebrew's two to Hebrew (fonts-noto-core 20201225-1), Noto Serif CJK SC's
regular and bold to the 6,763 Chinese characters of GB 2312 with its symbols and the CJK and
full-width punctuation (fonts-noto-cjk 1:20220127+repack1-1, about 5 MB a face).

    apt-get download fonts-noto-core fonts-noto-cjk
    for deb in fonts-noto-*.deb; do dpkg -x "$deb" noto/; done
    .venv/bin/python scripts/make_fonts.py noto/usr/share/fonts

The Noto fonts are under the SIL Open Font License 1.1 with no Reserved Font Name
(styles/fonts/OFL-Noto.txt), so a cut keeps its name.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

FONTS = Path(__file__).resolve().parent.parent / "styles" / "fonts"
# The spaces and punctuation a run of the script holds: Pango draws a run's spaces from its
# letters' face, and a face without them draws .notdef. Digits and Latin letters come from
# Charis SIL, except where the script's face has its own (Arabic's digits and punctuation).
PUNCTUATION = [*map(ord, " \u00a0!\"'(),-.:;?«»\u2010\u2013\u2014\u2018\u2019\u201c\u201d\u2026")]


def gb2312() -> list[int]:
    """The characters of GB 2312 (the Chinese national standard of 1980): 6,763 Chinese
    characters, the symbols, full-width forms, kana and the Greek and Cyrillic letters it holds."""
    characters = set()
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            with contextlib.suppress(UnicodeDecodeError):  # a code GB 2312 leaves empty
                characters.add(ord(bytes((high, low)).decode("gb2312")))
    return sorted(characters)


# Each source (its path under the folder given, "#n" for the n-th font of a collection), the file
# it makes, its styles and the code points kept.
SCRIPTS = {
    # Greek and Coptic, Greek Extended (polytonic), the combining diacritics.
    "truetype/noto/NotoSerif{style}.ttf": ("NotoSerifGreek{style}.ttf",
                                           ("-Regular", "-Italic", "-Bold", "-BoldItalic"),
                                           [*range(0x0370, 0x0400), *range(0x1F00, 0x2000),
                                            *range(0x0300, 0x0370)]),
    # Arabic, its Supplement and Extended-A, the presentation forms, the joiners (ZWNJ, ZWJ), the
    # Arabic digits and punctuation, the dotted circle a lone mark is drawn on.
    "truetype/noto/NotoNaskhArabic{style}.ttf": ("NotoNaskhArabic{style}.ttf", ("-Regular", "-Bold"),
                                   [*range(0x0600, 0x0700), *range(0x0750, 0x0780), *range(0x08A0, 0x0900),
                                    *range(0xFB50, 0xFE00), *range(0xFE70, 0xFF00), 0x200C, 0x200D,
                                    *range(0x30, 0x3A), 0x25CC]),
    # Hebrew, its points and cantillation, and the Hebrew presentation forms.
    "truetype/noto/NotoSerifHebrew{style}.ttf": ("NotoSerifHebrew{style}.ttf", ("-Regular", "-Bold"),
                                                 [*range(0x0590, 0x0600), *range(0xFB1D, 0xFB50), 0x25CC]),
    # Simplified Chinese (the SC font of the collection): GB 2312, CJK Symbols and Punctuation,
    # the full-width and half-width forms.
    "opentype/noto/NotoSerifCJK{style}.ttc#2": ("NotoSerifSC{style}.otf", ("-Regular", "-Bold"),
                                                [*gb2312(), *range(0x3000, 0x3040), *range(0xFF00, 0xFFF0)]),
}


def main(folder: str) -> None:
    for source, (target, styles, letters) in SCRIPTS.items():
        for style in styles:
            path, _, number = source.format(style=style).partition("#")
            font = TTFont(Path(folder) / path, recalcTimestamp=False, fontNumber=int(number or -1))
            cmap = font.getBestCmap()
            options = subset.Options()
            options.layout_features = ["*"]
            options.name_IDs = ["*"]
            options.notdef_outline = True
            subsetter = subset.Subsetter(options)
            subsetter.populate(unicodes=[code for code in [*letters, *PUNCTUATION] if code in cmap])
            subsetter.subset(font)
            font.save(FONTS / target.format(style=style))


if __name__ == "__main__":
    main(*sys.argv[1:])
