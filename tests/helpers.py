"""Test helpers: PDFs read as a reader would (text in order, ignoring line breaks, hyphens), data."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pypdf import PdfReader

# Hyphens a line break may add or a typesetter may break at: hyphen-minus, U+2010 HYPHEN, soft hyphen.
_IGNORED = re.compile(r"[\s\-\u2010\u00ad]+")


def squash(text: str) -> str:
    """Text without white space or hyphens: what survives any line breaking and hyphenation."""
    return _IGNORED.sub("", text)


def page_texts(pdf: Path | PdfReader) -> list[str]:
    reader = pdf if isinstance(pdf, PdfReader) else PdfReader(pdf)
    return [page.extract_text() or "" for page in reader.pages]


def without_footer(text: str) -> str:
    """A page's text less its running footer (the line that ends in "Page N of M")."""
    return "\n".join(line for line in text.splitlines() if not re.search(r"Page \d+ of \d+$", line))


def assert_in_order(haystack: str, needles: list[str]) -> None:
    """Every needle occurs in `haystack`, each after the one before (all squashed)."""
    squashed = squash(haystack)
    position = 0
    for needle in needles:
        found = squashed.find(squash(needle), position)
        assert found >= 0, f"not found (in order) in the PDF's text: {needle[:70]!r}"
        position = found + len(squash(needle))


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file below `folder` with its bytes and modification time."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def write_data(tmp_path: Path, data, name: str = "appeal.yaml") -> Path:
    path = tmp_path / name
    if isinstance(data, (bytes, str)):
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    else:
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
