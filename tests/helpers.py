"""Test helpers: PDFs read as a reader would (text in order, ignoring line breaks, hyphens), data."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml
from pypdf import PdfReader
from pypdf.generic import ArrayObject

# Hyphens a line break may add or a typesetter may break at: hyphen-minus, U+2010 HYPHEN, soft hyphen.
_IGNORED = re.compile(r"[\s\-\u2010\u00ad]+")


def squash(text: str) -> str:
    """Text without white space or hyphens: what survives any line breaking and hyphenation."""
    return _IGNORED.sub("", text)


def page_texts(pdf: Path | PdfReader) -> list[str]:
    """Each page's text as PDFium reads it (fast), or as pypdf does when given a pypdf reader;
    line ends as line feeds, a hyphen PDFium joined at a line's end given back as one."""
    if isinstance(pdf, PdfReader):
        return [page.extract_text() or "" for page in pdf.pages]
    from appeal.pdf.text import pdfium_pages

    return pdfium_pages(Path(pdf).read_bytes())


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


def verify_fails(path: Path, capsys, expected: str, *extra: str) -> str:
    """`build.py verify path` fails (exit 1, no traceback) with a FAIL line holding `expected`, and
    its verdict is NOT verified; what it printed."""
    from appeal.cli import main

    assert main(["verify", str(path), *extra]) == 1
    out = capsys.readouterr().out
    assert "Traceback" not in out
    assert any(expected in line for line in out.splitlines() if line.startswith("FAIL")), out
    assert any(line.endswith(": NOT verified") for line in out.splitlines()), out  # then --extract's
    return out


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


@dataclass(frozen=True)
class TextLine:
    """One line of text as drawn: its text and its box in points from the page's top left."""

    text: str
    left: float
    right: float
    top: float
    bottom: float


def _widths(font) -> dict[int, float]:
    """A CID font's glyph widths (/W), in thousandths of the font size."""
    descendant = font["/DescendantFonts"][0].get_object()
    table, items, index = {}, list(descendant.get("/W", [])), 0
    while index < len(items):
        first, following = int(items[index]), items[index + 1]
        if isinstance(following, list | ArrayObject):
            for offset, width in enumerate(following):
                table[first + offset] = float(width)
            index += 2
        else:
            for cid in range(first, int(following) + 1):
                table[cid] = float(items[index + 2])
            index += 3
    table["default"] = float(descendant.get("/DW", 1000))
    return table


def text_lines(pdf: Path, page_number: int = 0) -> list[TextLine]:
    """Every line drawn on a page, with its box from the fonts' widths, ascent and descent."""
    page = PdfReader(pdf).pages[page_number]
    height = float(page.mediabox.height)
    # The resources in force: the page's, or a form XObject's while its content is read (a layer).
    resources = [page["/Resources"].get_object()]
    state: dict = {}
    lines: list[TextLine] = []

    def before(operator, operands, cm, tm):
        if operator == b"Do":
            xobject = resources[-1]["/XObject"][operands[0]].get_object()
            resources.append(xobject.get("/Resources", resources[-1]).get_object())
        elif operator == b"Tf":
            font = resources[-1]["/Font"][operands[0]].get_object()
            state["font"], state["size"] = font, float(operands[1])
        elif operator == b"TJ":
            font, size = state["font"], state["size"]
            widths = state.setdefault(font.indirect_reference, _widths(font))
            advance = 0.0
            for part in operands[0]:
                if isinstance(part, bytes | str):
                    raw = part.encode("latin-1") if isinstance(part, str) else part
                    for i in range(0, len(raw), 2):
                        advance += widths.get(int.from_bytes(raw[i:i + 2], "big"), widths["default"])
                else:
                    advance -= float(part)
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            scale = abs(tm[3] * cm[3])
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            ascent, descent = float(descriptor["/Ascent"]), float(descriptor["/Descent"])
            state["pending"] = (x, x + advance / 1000 * size * abs(tm[0] * cm[0]),
                                height - y - ascent / 1000 * size * scale,
                                height - y - descent / 1000 * size * scale)

    def text(chunk, cm, tm, font, size):
        if state.get("pending") and chunk.strip():
            lines.append(TextLine(chunk.strip(), *state.pop("pending")))

    def after(operator, operands, cm, tm):
        if operator == b"Do":
            resources.pop()

    page.extract_text(visitor_operand_before=before, visitor_operand_after=after, visitor_text=text)
    return lines


def edge_marks(pdf: Path, page_number: int = 0) -> list[tuple[float, float]]:
    """Short rules drawn from the page's left edge (fold and hole marks): (mm from top, length mm),
    in the page's content and in the form XObjects it draws (a layer drawn over the page)."""
    import pikepdf

    with pikepdf.open(pdf) as document:
        page = document.pages[page_number]
        marks: list[tuple[float, float]] = []
        _marks(page, page.obj, [1.0, 0, 0, 1.0, 0, 0], float(page.mediabox[3]), marks)
    return marks


def _times(m, ctm):
    a, b, c, d, e, f = m
    A, B, C, D, E, F = ctm
    return [a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F]


def _marks(content, holder, ctm, height, marks) -> None:
    import pikepdf

    mm = 72 / 25.4
    stack, start = [], None
    for operands, operator in pikepdf.parse_content_stream(content):
        name = str(operator)
        if name == "q":
            stack.append(ctm)
        elif name == "Q":
            ctm = stack.pop()
        elif name == "cm":
            ctm = _times([float(o) for o in operands], ctm)
        elif name == "Do":
            form = holder.Resources.XObject[operands[0]]
            if form.get("/Subtype") == "/Form":
                matrix = [float(x) for x in form.get("/Matrix", [1, 0, 0, 1, 0, 0])]
                _marks(form, form, _times(matrix, ctm), height, marks)
        elif name == "m":
            x, y = (float(o) for o in operands)
            start = (x * ctm[0] + y * ctm[2] + ctm[4], x * ctm[1] + y * ctm[3] + ctm[5])
        elif name == "l" and start is not None:
            x, y = (float(o) for o in operands)
            end = (x * ctm[0] + y * ctm[2] + ctm[4], x * ctm[1] + y * ctm[3] + ctm[5])
            if min(start[0], end[0]) < 0.5 and abs(start[1] - end[1]) < 0.5:
                marks.append((round((height - start[1]) / mm, 1), round(abs(end[0] - start[0]) / mm, 1)))
            start = None


def _to_unicode(font) -> dict[bytes, str]:
    """A Type0 font's ToUnicode map (bfchar and bfrange), code bytes to text."""
    found: dict[bytes, str] = {}
    if "/ToUnicode" not in font:
        return found
    cmap = font.ToUnicode.read_bytes().decode("latin-1")
    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        for code, text in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]*)>", block):
            found[bytes.fromhex(code)] = bytes.fromhex(text).decode("utf-16-be")
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        for start, end, text in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            first, width = int(start, 16), len(start) // 2
            for offset in range(int(end, 16) - first + 1):
                value = int(text, 16) + offset
                found[(first + offset).to_bytes(width, "big")] = chr(value)
    return found


def marked_text(pdf) -> dict[tuple[int, int], str]:
    """The text of each marked-content sequence with an MCID, by (page index, MCID), decoded
    through the fonts' ToUnicode maps (two-byte codes, as WeasyPrint writes them)."""
    import pikepdf

    texts: dict[tuple[int, int], str] = {}
    for number, page in enumerate(pdf.pages):
        fonts = {str(name): _to_unicode(font) for name, font in page.Resources.get("/Font", {}).items()}
        font: dict[bytes, str] = {}
        stack: list[int | None] = []
        for operands, operator in pikepdf.parse_content_stream(page):
            op = str(operator)
            if op == "BDC":
                properties = operands[1] if len(operands) == 2 else None
                stack.append(int(properties.MCID) if isinstance(properties, pikepdf.Dictionary)
                             and "/MCID" in properties else None)
            elif op == "BMC":
                stack.append(None)
            elif op == "EMC" and stack:
                stack.pop()
            elif op == "Tf":
                font = fonts.get(str(operands[0]), {})
            elif op in ("Tj", "TJ") and stack and stack[-1] is not None:
                strings = operands[0] if op == "TJ" else [operands[0]]
                raw = b"".join(bytes(item) for item in strings if isinstance(item, pikepdf.String))
                text = "".join(font.get(raw[i:i + 2], "") for i in range(0, len(raw), 2))
                key = (number, stack[-1])
                texts[key] = texts.get(key, "") + text
    return texts


def structure(pdf) -> list:
    """The structure tree as nested (type, text, children) tuples in document order, the text of
    each element that of its marked content (helpers.marked_text)."""
    import pikepdf

    texts = marked_text(pdf)
    pages = {page.obj.objgen: number for number, page in enumerate(pdf.pages)}

    def kids(node) -> list:
        value = node.get("/K")
        return [] if value is None else list(value) if isinstance(value, pikepdf.Array) else [value]

    def build(node, page) -> tuple:
        page = pages.get(node.Pg.objgen, page) if "/Pg" in node else page
        text, children = "", []
        for kid in kids(node):
            if isinstance(kid, int):
                text += texts.get((page, kid), "")
            elif isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
                child = build(kid, page)
                children.append(child)
                text += child[1]
            elif isinstance(kid, pikepdf.Dictionary) and "/MCID" in kid:
                on = pages.get(kid.Pg.objgen, page) if "/Pg" in kid else page
                text += texts.get((on, int(kid.MCID)), "")
        return str(node.S)[1:], text, children

    root = pdf.Root.StructTreeRoot
    return [build(kid, 0) for kid in kids(root) if isinstance(kid, pikepdf.Dictionary)]



def project_copy(folder: Path) -> Path:
    """This tool's own files (its code, templates, styles and data, and build.py) copied into
    `folder`/project, for a test that must put a file among the tool's styles (a signature image
    is read from there only): it puts it in the copy and runs the copy's build.py (run_copy).
    Written into the checkout's styles/, such a file changed what every build running beside the
    test recorded of the tool, and a test comparing two builds failed."""
    from appeal.paths import ROOT

    copy = folder / "project"
    for name in ("appeal", "templates", "styles", "data"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "build.py", copy / "build.py")
    return copy


def run_copy(copy: Path, args: list[str]) -> subprocess.CompletedProcess:
    """The copy's `build.py ARGS` in a process of its own (its own `appeal` package imported)."""
    return subprocess.run([sys.executable, str(copy / "build.py"), *args], cwd=copy, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(copy)})
