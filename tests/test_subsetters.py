"""Both font subsetters make the same pages: WeasyPrint's HarfBuzz-Subset (Debian's
libharfbuzz-subset0) and its fontTools fallback. APPEAL_SUBSETTER=fonttools chooses the fallback on
a machine that has both, so each is tested here whatever the machine has; the whole suite runs with
either (README: "A locked stack")."""

from __future__ import annotations

import ctypes.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader

from appeal.paths import ROOT
from helpers import page_texts

SUBSET_NAME = re.compile(r"/[A-Z]{6}\+")  # a subset font's name: six capitals and a plus


def build(*arguments: str, choice: str | None) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "APPEAL_SUBSETTER"}
    if choice is not None:
        env["APPEAL_SUBSETTER"] = choice
    return subprocess.run([sys.executable, str(ROOT / "build.py"), *arguments], env=env,
                          capture_output=True, text=True, timeout=300)


def pdfs(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.pdf"))


def fonts(pdf: Path) -> list[str]:
    """Every font the pages use, also inside form XObjects (a booklet's pages are imposed ones)."""
    found: set[str] = set()

    def walk(resources) -> None:
        for font in (resources.get("/Font") or {}).values():
            found.add(str(font.BaseFont))
        for xobject in (resources.get("/XObject") or {}).values():
            if xobject.get("/Subtype") == "/Form" and "/Resources" in xobject:
                walk(xobject.Resources)

    with pikepdf.open(pdf) as document:
        for page in document.pages:
            walk(page.Resources)
    return sorted(found)


def creator_tool(pdf: Path) -> str:
    with pikepdf.open(pdf) as document:
        return document.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False)["xmp:CreatorTool"]


def test_fonttools_makes_every_file_with_the_pages_and_text_of_the_default_build(built, tmp_path):
    out = tmp_path / "out"
    result = build("--out", str(out), choice="fonttools")
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: fonts are subset")]
    assert notes == ["note: fonts are subset with fontTools, as APPEAL_SUBSETTER=fonttools asks"]
    assert "subsetter fontTools " in creator_tool(out / "appeal-archive.pdf")
    assert pdfs(out) == pdfs(built)
    for name in pdfs(out):
        # The layout is Pango's and HarfBuzz's shaping, whichever program subsets the fonts.
        # The archive's colophon names the stack, the subsetter with it: the one line that differs
        # (and, the names being of other lengths, where that line wraps in the text block).
        def same(text: str) -> str:
            return " ".join(re.sub(r"subsetter [^,]+,", "subsetter …,", " ".join(text.split())).split())

        assert [same(text) for text in page_texts(out / name)] == \
            [same(text) for text in page_texts(built / name)], name
        for page, other in zip(PdfReader(out / name).pages, PdfReader(built / name).pages, strict=True):
            assert page.mediabox == other.mediabox, name
        names = fonts(out / name)
        assert names, name
        assert all(SUBSET_NAME.match(font) and "Appeal-Serif" in font for font in names), (name, names)
    verified = build("verify", str(out / "appeal-archive.pdf"), choice="fonttools")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_harfbuzz_is_used_when_asked_and_refused_where_it_is_missing(tmp_path):
    out = tmp_path / "out"
    result = build("--edition", "archive", "--out", str(out), choice="harfbuzz")
    if ctypes.util.find_library("harfbuzz-subset"):  # Debian 12's is HarfBuzz 6
        assert result.returncode == 0, result.stderr
        assert "subsetter HarfBuzz-Subset " in creator_tool(out / "appeal-archive.pdf")
        return
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == (
        "error: APPEAL_SUBSETTER=harfbuzz: HarfBuzz-Subset (4.1 or later) is not installed here; install it "
        "with: sudo apt-get install libharfbuzz-subset0")
    assert not out.exists()


@pytest.mark.parametrize("value", ["fonttool", "hb", "none", "fonttools;rm -rf /"])
def test_another_choice_of_subsetter_is_refused_and_nothing_is_built(earlier_build, value):
    before = {p: p.read_bytes() for p in earlier_build.rglob("*") if p.is_file()}
    result = build("--out", str(earlier_build), choice=value)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: APPEAL_SUBSETTER={value}: must be 'fonttools' or 'harfbuzz'")
    assert {p: p.read_bytes() for p in earlier_build.rglob("*") if p.is_file()} == before
