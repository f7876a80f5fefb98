"""The software stack that makes the PDFs: recorded in the archive, printed by the benchmarks."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import hashlib
import importlib
import os
from importlib.metadata import version


def _harfbuzz_version() -> str:
    # The soname first: find_library runs ldconfig in a subprocess (layout.libraries).
    for name in ("libharfbuzz.so.0", ctypes.util.find_library("harfbuzz")):
        with contextlib.suppress(OSError, TypeError):
            library = ctypes.CDLL(name)
            break
    else:
        return "unknown"
    library.hb_version_string.restype = ctypes.c_char_p
    return library.hb_version_string().decode()


SUBSETTER_VARIABLE = "APPEAL_SUBSETTER"
SUBSETTER_CHOICES = ("fonttools", "harfbuzz")


def chosen_subsetter() -> str | None:
    """`fonttools` or `harfbuzz` as APPEAL_SUBSETTER names it (any case), None when it is unset or
    empty; anything else is the caller's error to report (cli.main does, with exit status 2)."""
    value = os.environ.get(SUBSETTER_VARIABLE, "").strip().lower()
    return value or None


def apply_subsetter_choice() -> None:
    """APPEAL_SUBSETTER=fonttools makes WeasyPrint subset the fonts with fontTools even where
    HarfBuzz-Subset is installed: to run the tests with each subsetter on one machine, or to
    reproduce the bytes of an archive built where libharfbuzz-subset0 was missing."""
    global set_aside
    if chosen_subsetter() == "fonttools":
        from appeal.layout.libraries import weasyprint_ffi

        fonts = importlib.import_module("weasyprint.pdf.fonts")
        set_aside = weasyprint_ffi.harfbuzz_subset or set_aside
        fonts.harfbuzz_subset = None
        weasyprint_ffi.harfbuzz_subset = None


set_aside = None  # the HarfBuzz-Subset library APPEAL_SUBSETTER=fonttools set aside, if any


@functools.cache
def subsetter() -> str:
    """Which font subsetter WeasyPrint uses here: the two write different font programs."""
    apply_subsetter_choice()
    from appeal.layout.libraries import weasyprint_ffi

    if weasyprint_ffi.harfbuzz_subset and weasyprint_ffi.harfbuzz.hb_version_atleast(4, 1, 0):
        return f"HarfBuzz-Subset {_harfbuzz_version()}"
    return f"fontTools {version('fonttools')}"


@functools.cache
def stack() -> str:
    """`WeasyPrint 70.0, Pango 1.50.12, HarfBuzz 6.0.0, subsetter HarfBuzz-Subset 6.0.0, ...`."""
    from appeal.layout.libraries import weasyprint_ffi

    number = weasyprint_ffi.pango.pango_version()
    pango_version = f"{number // 10000}.{number // 100 % 100}.{number % 100}"
    return (f"WeasyPrint {version('weasyprint')}, pydyf {version('pydyf')}, Pango {pango_version}, "
            f"HarfBuzz {_harfbuzz_version()}, subsetter {subsetter()}, pikepdf {version('pikepdf')}")


@functools.cache
def tool_version() -> str:
    """The installed version of this tool; read once (the package metadata is parsed on each
    read: 3.7 ms, which every letter pack paid)."""
    try:
        return version("appeal-edition")
    except Exception:  # run from a checkout that was never installed
        return "unknown"


@functools.cache
def _tool_files_digest() -> bytes:
    from appeal.paths import ROOT

    digest = hashlib.sha256()
    for folder, pattern in (("appeal", "**/*.py"), ("templates", "*.html"), ("styles", "*.css"),
                            ("styles/fonts", "*")):
        for path in sorted((ROOT / folder).glob(pattern)):
            if path.is_file():
                name = path.relative_to(ROOT).as_posix()
                digest.update(f"{name}\0".encode() + path.read_bytes() + b"\0")
    return digest.digest()


def fingerprint(words_json: str) -> str:
    """What made an edition besides its data and the stack: this tool's code, templates, styles and
    fonts, and the words it printed around the data. The same fingerprint, data and stack give
    the same bytes; `verify` compares it to say whether a byte-for-byte rebuild is to be expected."""
    return hashlib.sha256(_tool_files_digest() + words_json.encode()).hexdigest()[:16]
