"""A PDF from anywhere, read within bounds before anything else reads it.

verify and sign read files a hostile user may have made: a dictionary nested 450 levels deep
(PDFium silently leaves out a form nested 63 levels or more, where Poppler draws it), a content
stream of 2 MB that inflates to 2 GiB (PDFium aborts the process), a field whose /Kids holds
itself (a walk that never ends). `preflight` looks at every object of the file once, with an
explicit stack and limits far above what this tool writes, before pikepdf, pyHanko or PDFium
decode a stream or follow a tree; each problem names the limit it broke.
"""

from __future__ import annotations

import base64
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import pikepdf

# This tool's editions nest direct dictionaries and arrays at most 4 levels deep; readers agree
# far beyond that, and PDFium stops at 63.
DEPTH = 32
# The archive of 5,000 endorsements has about 60,000 objects.
OBJECTS = 1_000_000
# A decoded stream: the largest this tool writes is a font program of about 250 kB (the press
# editions' ICC profile, 0.5 MB); the embedded sources are limited on their own (model, endorsements).
STREAM = 64 * 2**20
TOTAL = 512 * 2**20
# Walking the file: the archive of 5,000 endorsements takes well under a second.
SECONDS = 60
# The filters this tool (WeasyPrint, pikepdf, pyHanko) and a faithful re-saver (qpdf) write: Flate,
# and a text layer over a stream whose data would end in a carriage return (ASCII85 in the
# archive's own revision, pdf/pdfa.py; hexadecimal in its validation data, pdf/ltv.py).
_FLATE, _A85, _HEX = pikepdf.Name.FlateDecode, pikepdf.Name.ASCII85Decode, pikepdf.Name.ASCIIHexDecode
FILTERS = ([], [_FLATE], [_A85], [_A85, _FLATE], [_HEX], [_HEX, _FLATE])
PREDICTOR_KEYS = {"/Predictor", "/Columns", "/Colors", "/BitsPerComponent"}


class Unreadable(Exception):
    """The file breaks one of the limits: the message says which."""


@dataclass
class Budget:
    """What reading one file may take: decoded bytes and time."""

    decoded: int = 0
    deadline: float = 0.0

    def __post_init__(self) -> None:
        self.deadline = self.deadline or time.monotonic() + SECONDS

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise Unreadable(f"reading it takes longer than {SECONDS} s, the limit for one file")


def preflight(pdf: pikepdf.Pdf) -> None:
    """Raise Unreadable unless every object of `pdf` is within the limits and of the shapes the
    edition's readers rely on."""
    warnings = [str(w) for w in pdf.get_warnings()]
    if warnings:
        raise Unreadable(f"damaged: a PDF reader must repair it to open it ({warnings[0][:120]}); "
                         "readers repair in different ways, so what one shows is not what another does")
    budget = Budget()
    for count, obj in enumerate(pdf.objects, 1):
        if count > OBJECTS:
            raise Unreadable(f"holds more than {OBJECTS:,} objects, the limit")
        if count % 1000 == 0:
            budget.tick()
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Array | pikepdf.Stream):
            _bounded_nesting(obj)
        if isinstance(obj, pikepdf.Stream):
            _bounded_stream(obj, budget)
    _shapes(pdf)


def _bounded_nesting(obj: pikepdf.Object) -> None:
    """The direct dictionaries and arrays inside one object nest at most DEPTH levels."""
    top = obj.stream_dict if isinstance(obj, pikepdf.Stream) else obj
    pending: list[tuple[pikepdf.Object, int]] = [(top, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > DEPTH:
            raise Unreadable(f"object {obj.objgen[0]} nests dictionaries and arrays more than {DEPTH} levels "
                             "deep (the limit; readers disagree on such objects: PDFium leaves out a form "
                             "nested 63 levels deep, Poppler draws it)")
        values = item.values() if isinstance(item, pikepdf.Dictionary) else item
        for value in values:
            if isinstance(value, pikepdf.Dictionary | pikepdf.Array) and not value.is_indirect:
                pending.append((value, depth + 1))


def _bounded_stream(stream: pikepdf.Stream, budget: Budget) -> None:
    """A stream's filters are ones this tool writes and it inflates to at most STREAM bytes."""
    what = f"object {stream.objgen[0]} (a stream)"
    filters = stream.stream_dict.get("/Filter")
    filters = list(filters) if isinstance(filters, pikepdf.Array) else [] if filters is None else [filters]
    if filters not in FILTERS:
        raise Unreadable(f"{what} is encoded with {' '.join(map(str, filters))}, which no edition uses")
    parameters = stream.stream_dict.get("/DecodeParms")
    each = list(parameters) if isinstance(parameters, pikepdf.Array) else [parameters]
    if not all(item is None or (
            isinstance(item, pikepdf.Dictionary) and set(item.keys()) <= PREDICTOR_KEYS
            and all(isinstance(v, int) and 0 <= v <= 2**16 for v in item.values())) for item in each):
        raise Unreadable(f"{what} has decoding parameters no edition uses")
    raw, filters = without_text_layer(stream.read_raw_bytes(), filters, what)
    if not filters or not raw:  # the booklets' blank pages: empty streams marked as compressed
        size = len(raw)
    else:
        inflate = zlib.decompressobj()
        try:
            size = len(inflate.decompress(raw, STREAM + 1))
        except zlib.error as exc:
            raise Unreadable(f"{what} cannot be decompressed ({exc})") from None
        if size > STREAM or inflate.unconsumed_tail:
            raise Unreadable(f"{what} inflates to more than {STREAM // 2**20} MB, the limit for one stream")
        if not inflate.eof or inflate.unused_data.strip():
            raise Unreadable(f"{what} is a cut or padded compressed stream; readers decode such streams "
                             "differently")
    budget.decoded += size
    if budget.decoded > TOTAL:
        raise Unreadable(f"its streams inflate to more than {TOTAL // 2**20} MB together, the limit")


def without_text_layer(raw: bytes, filters: list, what: str) -> tuple[bytes, list]:
    """A stream's data and filters with its ASCII85 or hexadecimal layer, if it has one, decoded
    (text decodes to fewer bytes than it has: no bomb), or Unreadable."""
    if not filters or filters[0] not in (_A85, _HEX):
        return raw, filters
    return _text_decoded(raw, filters[0], what), filters[1:]


def _text_decoded(raw: bytes, name: pikepdf.Name, what: str) -> bytes:
    """ASCII85 (ending in `~>`) or hexadecimal (ending in `>`) data decoded, or Unreadable."""
    body = b"".join(raw.split())  # white space is ignored in both
    try:
        if name == _A85:
            if not body.endswith(b"~>"):
                raise ValueError("no ~> at its end")
            return base64.a85decode(body[:-2])
        if not body.endswith(b">") or body.count(b">") != 1:
            raise ValueError("no > at its end")
        digits = body[:-1]
        return bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode("ascii"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unreadable(f"{what} is not valid {str(name)[1:]} data ({exc})") from None


def _shapes(pdf: pikepdf.Pdf) -> None:
    """The entries verify and sign read have the types the PDF standard gives them."""
    root = pdf.trailer.get("/Root")
    if not isinstance(root, pikepdf.Dictionary):
        raise Unreadable("its document catalogue is not a dictionary")
    for key, kind, name in (("/AF", pikepdf.Array, "an array"), ("/Metadata", pikepdf.Stream, "a stream"),
                            ("/AcroForm", pikepdf.Dictionary, "a dictionary"),
                            ("/Names", pikepdf.Dictionary, "a dictionary")):
        if key in root and not isinstance(root[key], kind):
            raise Unreadable(f"the catalogue's {key} is not {name}")
    if not all(isinstance(item, pikepdf.Dictionary) for item in root.get("/AF", [])):
        raise Unreadable("an entry of the catalogue's /AF is not a file specification")
    for _ in fields(pdf):
        pass


def fields(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Dictionary]:
    """Every field and widget of the form, each once (a /Kids that holds itself is named)."""
    form = pdf.Root.get("/AcroForm")
    if form is None:
        return
    top = form.get("/Fields", pikepdf.Array())
    if not isinstance(top, pikepdf.Array):
        raise Unreadable("the form's /Fields is not an array")
    pending, seen = [(field, 1) for field in top], set()
    while pending:
        field, depth = pending.pop()
        if not isinstance(field, pikepdf.Dictionary):
            raise Unreadable("a field of the form is not a dictionary")
        if field.is_indirect:
            if field.objgen in seen:
                raise Unreadable(f"the form's field tree reaches object {field.objgen[0]} twice (a /Kids "
                                 "that holds itself or an ancestor)")
            seen.add(field.objgen)
        if depth > DEPTH or len(seen) > OBJECTS:
            raise Unreadable(f"the form's field tree is more than {DEPTH} levels deep, the limit")
        yield field
        kids = field.get("/Kids", pikepdf.Array())
        if not isinstance(kids, pikepdf.Array):
            raise Unreadable(f"a field's /Kids (object {field.objgen[0]}) is not an array")
        pending.extend((kid, depth + 1) for kid in kids)
