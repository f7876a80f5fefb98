"""Makes the Greek faces in styles/fonts/ from Debian's fonts-noto-core (20201225-1): Noto Serif's
four styles, cut to their Greek and combining letters (about 80 kB a face).

    apt-get download fonts-noto-core && dpkg -x fonts-noto-core_*.deb noto/
    .venv/bin/python scripts/make_fonts.py noto/usr/share/fonts/truetype/noto

Noto Serif is under the SIL Open Font License 1.1 with no Reserved Font Name
(styles/fonts/OFL-Noto.txt), so a cut keeps its name.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

FONTS = Path(__file__).resolve().parent.parent / "styles" / "fonts"
# Greek and Coptic, Greek Extended (polytonic), the combining diacritics, and the spaces and
# punctuation a Greek run holds: Pango draws a run's spaces from its letters' face, and a face
# without them draws .notdef. Digits and Latin letters come from Charis SIL.
GREEK = [*range(0x0370, 0x0400), *range(0x1F00, 0x2000), *range(0x0300, 0x0370),
         *map(ord, " \u00a0!\"'(),-.:;?«»\u2010\u2013\u2014\u2018\u2019\u201c\u201d\u2026")]


def main(folder: str) -> None:
    for style in ("Regular", "Italic", "Bold", "BoldItalic"):
        font = TTFont(Path(folder) / f"NotoSerif-{style}.ttf", recalcTimestamp=False)
        cmap = font.getBestCmap()
        options = subset.Options()
        options.layout_features = ["*"]
        options.name_IDs = ["*"]
        options.notdef_outline = True
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=[code for code in GREEK if code in cmap])
        subsetter.subset(font)
        font.save(FONTS / f"NotoSerifGreek-{style}.ttf")


if __name__ == "__main__":
    main(*sys.argv[1:])
