"""The bundled fonts: the only ones a build can use, and a check that they draw every character."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from appeal.paths import FONT_DIR

if TYPE_CHECKING:  # the package imports this module first: it must not load pydantic for everyone
    from appeal.inputs.source import Loc, Source

# Characters Pango lays out without drawing a glyph: line ends and tabs (the data may hold no others).
_NOT_DRAWN = {"\n", "\t"}


def isolate_fontconfig() -> Path:
    """Point Fontconfig at a configuration that knows only `styles/fonts/`.

    Fontconfig otherwise falls back to system fonts silently. WeasyPrint reads the configuration
    when each FontConfiguration is made, so this must run before the first one.
    """
    conf = os.environ.get("APPEAL_FONTCONFIG_FILE")
    if conf and Path(conf).is_file():
        os.environ["FONTCONFIG_FILE"] = conf
        return Path(conf)
    folder = Path(tempfile.mkdtemp(prefix="appeal-fontconfig-"))
    atexit.register(shutil.rmtree, folder, True)
    conf_path = folder / "fonts.conf"
    conf_path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
        "<fontconfig>\n"
        f"  <dir>{_xml(str(FONT_DIR))}</dir>\n"
        f"  <cachedir>{_xml(str(folder / 'cache'))}</cachedir>\n"
        "</fontconfig>\n", encoding="utf-8")
    os.environ["FONTCONFIG_FILE"] = str(conf_path)
    # Child processes of this one (tests, benchmarks) reuse the same file.
    os.environ["APPEAL_FONTCONFIG_FILE"] = str(conf_path)
    return conf_path


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def font_files() -> list[Path]:
    """The bundled fonts' files, listed again only when the folder changed (a parliament's
    recipients ask about 13 texts each: a listing each took 9 of 10 s of loading 10,000)."""
    return list(listed_fonts())


def listed_fonts() -> tuple[Path, ...]:
    """font_files(), as the same tuple until the folder changes."""
    return _font_files(FONT_DIR.stat().st_mtime_ns)


@functools.lru_cache(maxsize=2)
def _font_files(changed: int) -> tuple[Path, ...]:
    return tuple(sorted(path for path in FONT_DIR.iterdir() if path.suffix in (".ttf", ".otf")))


@functools.cache
def _coverage(paths: tuple[Path, ...]) -> tuple[frozenset[int], tuple[str, ...]]:
    """The code points the fonts at `paths` draw in every style, and the families' names.

    A family covers what each of its faces (regular, italic, bold, bold italic) has; the fonts
    cover what some family covers: Charis SIL the Latin and Cyrillic scripts, Noto Serif's Greek
    faces the Greek one, Noto Naskh Arabic, Noto Serif Hebrew and Noto Serif CJK SC (regular and
    bold: those scripts have no italic) theirs (base.css puts each first for text in its language).
    """
    from fontTools.ttLib import TTFont

    families: dict[str, set[int]] = {}
    for path in paths:
        with TTFont(path, lazy=True) as font:
            cmap = set(font.getBestCmap())
            family = font["name"].getDebugName(1) or path.name
        families[family] = families[family] & cmap if family in families else cmap
    covered = set().union(*families.values()) if families else set()
    return frozenset(covered), tuple(families)


def missing_glyph(text: str, files: tuple[Path, ...] | None = None) -> str | None:
    """Why `text` cannot be drawn with the bundled fonts (naming the first character they lack and
    the fonts searched), or None. `files`: listed_fonts(), when the caller asks about many texts.

    Charis SIL's faces are read first; the other scripts' only for a character Charis lacks (the
    Chinese faces' character maps alone take 75 ms to read, measured: an English build need not).
    """
    files = listed_fonts() if files is None else files
    latin, drawn = _latin(files)
    if drawn.issuperset(text):  # the common case, in C: every character in Charis SIL
        return None
    for char in text:
        if ord(char) not in latin and char not in _NOT_DRAWN:
            covered, names = _coverage(files)
            if ord(char) in covered:
                continue
            name = unicodedata.name(char, "unnamed character")
            return (f"the character {char!r} (U+{ord(char):04X} {name}) is not in the bundled fonts "
                    f"({', '.join(names)} in {FONT_DIR}); add a font that has it to styles/fonts/ "
                    "or correct the text")
    return None


def _latin(files: tuple[Path, ...]) -> tuple[frozenset[int], frozenset[str]]:
    """Charis SIL's coverage, as code points and as the characters it draws (with those no font
    need draw); kept for the last `files` asked about, known by identity (hashing its paths for
    every text took longer than the check)."""
    if _last_latin[0] is not files:
        latin, _ = _coverage(tuple(path for path in files if path.name.startswith("CharisSIL-")))
        _last_latin[:] = [files, (latin, frozenset(map(chr, latin)) | frozenset(_NOT_DRAWN))]
    return _last_latin[1]


_last_latin: list = [None, None]


def check_coverage(texts: Iterable[tuple[Loc, str]], source: Source) -> None:
    """Fail, naming the character, its key path and the fonts searched, if a face lacks a glyph."""
    from appeal.inputs.source import Problem

    files = listed_fonts()
    for loc, text in texts:
        problem = missing_glyph(text, files)
        if problem:
            raise source.error([Problem(loc, problem)])
