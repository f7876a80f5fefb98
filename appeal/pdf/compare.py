"""Comparing two PDFs as their readers see them: every reachable object, the glyphs, the pages' pixels."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from io import BytesIO
from typing import Any

import pikepdf

from appeal.pdf.metadata import TOOL
from appeal.pdf.untrusted import Unreadable

# The resolution pages are compared at: a letter of 8 pt body text is about 17 pixels high.
COMPARE_DPI = 150


def differences_from(data: bytes, rebuilt: bytes, fonts: bool) -> Iterator[str]:
    """What differs between a file and the rebuild, each named with its page: every object a reader
    reaches from the pages and the catalogue (content streams decoded, resources, annotations,
    actions, optional content, attachments, tags, outline), the information and the XMP
    metadata, then each page's rendering and text. With `fonts` False (another stack), the font
    programs may differ, but must draw each glyph the pages use as the rebuild's do, and the
    creator marks may differ in the tool's version and fingerprint."""
    import pypdfium2 as pdfium

    with pikepdf.open(BytesIO(data)) as mine, pikepdf.open(BytesIO(rebuilt)) as theirs:
        if len(mine.pages) != len(theirs.pages):
            yield f"it has {len(mine.pages)} pages, the rebuild {len(theirs.pages)}"
        left, right = Canon(mine, tolerant=not fonts), Canon(theirs, tolerant=not fonts)
        for number, (a, b) in enumerate(zip(mine.pages, theirs.pages, strict=False), 1):
            where = _first_difference(left.page(a), right.page(b))
            if where is None:
                continue
            if where.startswith("/Contents"):
                yield f"page {number}: its content differs from the rebuild's (what it draws)"
            elif where.startswith("/Resources"):
                yield f"page {number}: its resources differ at {where} (fonts, images, forms)"
            else:
                yield f"page {number}: its entry {where or 'itself'} differs (annotations, boxes, actions)"
        skip = {"/Pages", "/Metadata"}
        where = _first_difference(left.value(mine.Root, skip), right.value(theirs.Root, skip))
        if where is not None:
            yield f"the document catalogue differs at {where} (attachments, tags, outline or actions)"
        where = _first_difference(left.value(mine.trailer.get("/Info")),
                                  right.value(theirs.trailer.get("/Info")))
        if where is not None:
            yield f"the document information differs at {where or 'its whole'}"
        if _xmp(mine, fonts) != _xmp(theirs, fonts):
            yield "the XMP metadata differs"
        if not fonts and len(left.fonts) == len(right.fonts):
            for (program, used, label), (other, _, _) in zip(left.fonts, right.fonts, strict=True):
                yield from _glyph_differences(program, other, used, label)
    documents = pdfium.PdfDocument(data), pdfium.PdfDocument(rebuilt)
    try:
        for index in range(min(len(documents[0]), len(documents[1]))):
            yield from _page_differences(index, documents[0][index], documents[1][index])
    finally:
        for document in documents:
            document.close()
# Tables of a font program that PDF readers do not draw with (a CIDFont's glyphs are drawn from
# glyf by glyph id); another subsetter may add or drop them.
_NEUTRAL_TABLES = {"GlyphOrder", "name", "post", "OS/2", "gasp", "GDEF", "GSUB", "GPOS", "cmap", "DSIG",
                   "meta", "Silt", "FFTM"}
def _glyph_differences(mine: bytes, theirs: bytes, used: list[int] | None, label: str) -> Iterator[str]:
    """How the font program `mine` draws the glyphs `used` otherwise than `theirs`, the rebuild's."""
    from fontTools.ttLib import TTFont

    try:
        a, b = TTFont(BytesIO(mine), lazy=True), TTFont(BytesIO(theirs), lazy=True)
        extra = sorted(set(a.keys()) - set(b.keys()) - _NEUTRAL_TABLES)
        if extra:
            yield (f"the font program of {label} has tables the rebuild's lacks ({', '.join(extra)}), which "
                   "can change how a reader draws it")
            return
        if a["head"].unitsPerEm != b["head"].unitsPerEm or "glyf" not in a or "glyf" not in b:
            yield f"the font program of {label} is not scaled or built as the rebuild's"
            return
        order_a, order_b = a.getGlyphOrder(), b.getGlyphOrder()
        for gid in used if used is not None else range(max(len(order_a), len(order_b))):
            if gid >= len(order_a) or gid >= len(order_b):
                yield f"the font program of {label} lacks glyph {gid}, which the page uses"
                return
            if _glyph(a, order_a[gid]) != _glyph(b, order_b[gid]):
                yield f"the font program of {label} draws glyph {gid} otherwise than the rebuild's"
                return
    except Exception as exc:  # fontTools on a damaged program: any exception
        yield f"the font program of {label} cannot be read ({type(exc).__name__}: {str(exc)[:80]})"
def _glyph(font, name: str) -> tuple:
    """A glyph as drawn: its outline with components resolved, its instructions and its metrics."""
    glyf = font["glyf"]
    glyph = glyf[name]
    coordinates, ends, flags = glyph.getCoordinates(glyf)
    program = glyph.program.getBytecode() if hasattr(glyph, "program") else b""
    return list(coordinates), list(ends), bytes(flags), program, tuple(font["hmtx"][name])
def _page_differences(index: int, mine, theirs) -> Iterator[str]:
    from PIL import ImageChops

    number = index + 1
    text_mine, text_theirs = mine.get_textpage().get_text_range(), theirs.get_textpage().get_text_range()
    if text_mine != text_theirs:
        at = next((i for i, (a, b) in enumerate(zip(text_mine, text_theirs, strict=False)) if a != b),
                  min(len(text_mine), len(text_theirs)))
        yield (f"page {number}: its text differs from the rebuild's at {text_mine[at:at + 40]!r} "
               f"(the rebuild has {text_theirs[at:at + 40]!r})")
    scale = COMPARE_DPI / 72
    image_mine = mine.render(scale=scale, may_draw_forms=True).to_pil().convert("RGB")
    image_theirs = theirs.render(scale=scale, may_draw_forms=True).to_pil().convert("RGB")
    if image_mine.size != image_theirs.size:
        yield f"page {number}: its size differs from the rebuild's"
        return
    box = ImageChops.difference(image_mine, image_theirs).getbbox()
    if box:
        mm = 25.4 / COMPARE_DPI
        left, top, right, bottom = (round(v * mm) for v in box)
        yield (f"page {number}: looks different from the rebuild in the area {left} to {right} mm from "
               f"the left, {top} to {bottom} mm from the top")
def _xmp(pdf: pikepdf.Pdf, fonts: bool) -> str:
    metadata = pdf.Root.get("/Metadata")
    text = metadata.read_bytes().decode("utf-8", "replace") if metadata is not None else ""
    return text if fonts else _unversioned(text)
def _unversioned(text: str) -> str:
    """A creator mark with the tool's version and fingerprint left out: what another checkout of this
    tool writes otherwise."""
    return re.sub(rf"{TOOL} \S+ \(([^;()]+); fingerprint [0-9a-f]+\)", rf"{TOOL} * (\1; fingerprint *)", text)
# How deep verify follows references from one object (a tag tree is about 10 levels deep).
CANON_DEPTH = 400
class Canon:
    """Objects as plain Python values that two files can be compared by, independent of object
    numbers: a page as its number, a stream as its decoded data's SHA-256, an object met again
    as the order in which it was first met (outline and structure trees refer back). `tolerant`:
    a font program as its place (kept in `fonts` for comparing its glyphs), the creator marks
    without the tool's version and fingerprint."""

    def __init__(self, pdf: pikepdf.Pdf, tolerant: bool = False) -> None:
        self.pages = {page.objgen: index for index, page in enumerate(pdf.pages)}
        self.tolerant = tolerant
        self.fonts: list[tuple[bytes, list[int] | None, str]] = []
        self._used: list[int] | None = None
        self._label = ""

    def page(self, page: pikepdf.Page) -> Any:
        return {key: self.value(value, depth=1) for key, value in page.obj.items() if key != "/Parent"}

    def value(self, obj: Any, skip: set[str] = frozenset(), seen: dict | None = None, depth: int = 0) -> Any:
        seen = {} if seen is None else seen
        if depth > CANON_DEPTH:
            raise Unreadable(f"its objects refer to each other more than {CANON_DEPTH} levels deep, "
                             "the limit")
        if isinstance(obj, pikepdf.Object) and obj.is_indirect:
            if obj.objgen in self.pages:
                return ("page", self.pages[obj.objgen])
            if obj.objgen in seen:
                return ("again", seen[obj.objgen])
            seen[obj.objgen] = len(seen)
        if isinstance(obj, pikepdf.Stream):
            entries = {k: self.value(v, frozenset(), seen, depth + 1) for k, v in obj.stream_dict.items()
                       if k not in ("/Length", "/Filter", "/DecodeParms")}
            return ("stream", hashlib.sha256(obj.read_bytes()).hexdigest(), entries)
        if isinstance(obj, pikepdf.Dictionary):
            if self.tolerant and "/FontDescriptor" in obj:
                self._used, self._label = _widths_cids(obj.get("/W")), str(obj.get("/BaseFont", "a font"))
            result = {}
            for key, value in obj.items():
                if key in skip:
                    continue
                if self.tolerant and key in ("/FontFile2", "/FontFile3", "/FontFile") and \
                        isinstance(value, pikepdf.Stream):
                    self.fonts.append((value.read_bytes(), self._used, self._label.lstrip("/")))
                    result[key] = ("font program", len(self.fonts))
                elif (self.tolerant and key in ("/Creator", "/CreatorTool")
                      and isinstance(value, pikepdf.String)):
                    result[key] = ("mark", _unversioned(str(value)))
                else:
                    result[key] = self.value(value, frozenset(), seen, depth + 1)
            return result
        if isinstance(obj, pikepdf.Array):
            return [self.value(item, frozenset(), seen, depth + 1) for item in obj]
        if isinstance(obj, pikepdf.Name | pikepdf.String):
            return (type(obj).__name__, bytes(obj) if isinstance(obj, pikepdf.String) else str(obj))
        return obj
def _widths_cids(widths: Any) -> list[int] | None:
    """The glyph ids a CIDFont's /W gives widths for: the glyphs its pages use."""
    if not isinstance(widths, pikepdf.Array):
        return None
    cids: set[int] = set()
    items, index = list(widths), 0
    while index < len(items):
        first = items[index]
        if index + 1 < len(items) and isinstance(items[index + 1], pikepdf.Array):
            cids.update(range(int(first), min(int(first) + len(items[index + 1]), 65536)))
            index += 2
        elif index + 2 < len(items):
            cids.update(range(int(first), min(int(items[index + 1]) + 1, 65536)))
            index += 3
        else:
            break
    return sorted(cids)
def _first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """The key path of the first place where two canonical values differ, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}{key}"
            found = _first_difference(a[key], b[key], f"{path}{key}")
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path} ({len(a)} items, the rebuild {len(b)})"
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _first_difference(x, y, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    return None if a == b else path
