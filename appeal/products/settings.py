"""What a build gives every recipe besides the data: the signing, the press editions' settings.

Apart from the recipes (editions.py), which load the layout engine: `check` makes these too.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PressSettings:
    """What a build gives the press editions: the output intent (bundled FOGRA39, or the shop's
    profile), and whether to draw crop marks."""

    intent: object  # pdfx.OutputIntent
    marks: bool = False


@dataclass(frozen=True)
class Settings:
    """What a build gives every recipe besides the data: the signing (the archive is signed when
    it is given), and the press editions' settings."""

    signing: object | None = None  # sign.Signing
    press: PressSettings | None = None
