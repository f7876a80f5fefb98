"""Concatenating PDFs page by page into one file, streaming: one source in memory at a time.

pikepdf (qpdf) holds a whole document's object graph in memory, about 10 kB a page: 60,000 pages
of a parliament's print file took 700 MB. This writer reads each source with pikepdf, writes its
pages and the objects they use straight to the output, and keeps only each object's offset.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from decimal import Decimal
from typing import BinaryIO

import pikepdf

# What a page keeps of its source page (not its place in a structure tree, nor annotations).
PAGE_KEYS = ("/MediaBox", "/CropBox", "/BleedBox", "/TrimBox", "/ArtBox", "/Rotate", "/Resources",
             "/Contents", "/Group", "/UserUnit")
PAGES_PER_NODE = 256  # a two-level page tree: readers find a page without reading 60,000 kids


class Concatenation:
    """`add(pdf)` for each source in order, then `close(info)`; writes to `out` as it goes."""

    def __init__(self, out: BinaryIO, version: str = "1.7") -> None:
        self.out = out
        self.digest = hashlib.md5(usedforsecurity=False)
        self.position = 0
        self.offsets: list[int | None] = [None]  # by object number; 0 is the free-list head
        self.root = self._reserve()
        self.nodes: list[tuple[int, list[int]]] = []
        self._write(f"%PDF-{version}\n%\xe2\xe3\xcf\xd3\n".encode("latin-1"))

    def _reserve(self) -> int:
        self.offsets.append(None)
        return len(self.offsets) - 1

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.digest.update(data)
        self.position += len(data)

    def _object(self, number: int, body: bytes, stream: bytes | None = None) -> None:
        self.offsets[number] = self.position
        data = b"%d 0 obj\n" % number + body
        if stream is not None:
            data += b"\nstream\n" + stream + b"\nendstream"
        self._write(data + b"\nendobj\n")

    def add(self, pdf: pikepdf.Pdf) -> int:
        """Append every page of `pdf`; the number of pages added."""
        numbers: dict[tuple[int, int], int] = {}
        pending: list[pikepdf.Object] = []

        def reference(obj: pikepdf.Object) -> int:
            if obj.objgen not in numbers:
                numbers[obj.objgen] = self._reserve()
                pending.append(obj)
            return numbers[obj.objgen]

        for page in pdf.pages:
            if not self.nodes or len(self.nodes[-1][1]) == PAGES_PER_NODE:
                self.nodes.append((self._reserve(), []))
            node, kids = self.nodes[-1]
            number = self._reserve()
            kids.append(number)
            entries = b""
            for key in PAGE_KEYS:
                value = _inherited(page.obj, key)
                if value is not None:
                    entries += pikepdf.Name(key).unparse() + b" " + _serialize(value, reference) + b" "
            self._object(number, b"<< /Type /Page /Parent %d 0 R " % node + entries + b">>")
            while pending:
                obj = pending.pop()
                self._indirect(numbers[obj.objgen], obj, reference)
        return len(pdf.pages)

    def _indirect(self, number: int, obj: pikepdf.Object, reference) -> None:
        if isinstance(obj, pikepdf.Stream):
            raw = obj.read_raw_bytes()
            entries = b"".join(pikepdf.Name(key).unparse() + b" " + _serialize(value, reference) + b" "
                               for key, value in obj.stream_dict.items() if key != "/Length")
            self._object(number, b"<< " + entries + b"/Length %d >>" % len(raw), raw)
        else:
            self._object(number, _serialize(obj, reference, top=True))

    def close(self, info: dict[str, str], catalog: dict[str, str] | None = None) -> int:
        """Write the page tree, catalogue, information dictionary and cross-reference table."""
        count = sum(len(kids) for _, kids in self.nodes)
        for node, kids in self.nodes:
            self._object(node, b"<< /Type /Pages /Parent %d 0 R /Kids [%s] /Count %d >>" % (
                self.root, b" ".join(b"%d 0 R" % kid for kid in kids), len(kids)))
        self._object(self.root, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
            b" ".join(b"%d 0 R" % node for node, _ in self.nodes), count))
        catalog_number, info_number = self._reserve(), self._reserve()
        extra = b"".join(pikepdf.Name(k).unparse() + b" " + pikepdf.String(v).unparse() + b" "
                         for k, v in (catalog or {}).items())
        self._object(catalog_number, b"<< /Type /Catalog /Pages %d 0 R " % self.root + extra + b">>")
        self._object(info_number, b"<< " + b"".join(
            pikepdf.Name(k).unparse() + b" " + pikepdf.String(v).unparse() + b" " for k, v in info.items())
            + b">>")
        # The identifier is derived from the content, so the same pages give the same bytes.
        identifier = self.digest.hexdigest().encode()
        xref = self.position
        rows = [b"0000000000 65535 f \n"] + [b"%010d 00000 n \n" % offset for offset in self.offsets[1:]]
        self._write(b"xref\n0 %d\n" % len(self.offsets) + b"".join(rows))
        self._write(b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [<%s> <%s>] >>\n"
                    % (len(self.offsets), catalog_number, info_number, identifier, identifier))
        self._write(b"startxref\n%d\n%%%%EOF\n" % xref)
        return count


# Entries a page may take from its ancestors in the page tree (ISO 32000-1, 7.7.3.4).
_INHERITABLE = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")


def _inherited(page: pikepdf.Dictionary, key: str):
    node = page
    while node is not None:
        if key in node:
            return node[key]
        if key not in _INHERITABLE:
            return None
        node = node.get("/Parent")
    return None


def _serialize(value, reference: Callable[[pikepdf.Object], int], top: bool = False) -> bytes:
    """`value` in PDF syntax, indirect objects written as references numbered by `reference`."""
    if isinstance(value, pikepdf.Object) and value.is_indirect and not top:
        return b"%d 0 R" % reference(value)
    if isinstance(value, pikepdf.Dictionary):
        return b"<< " + b"".join(pikepdf.Name(key).unparse() + b" " + _serialize(item, reference) + b" "
                                 for key, item in value.items()) + b">>"
    if isinstance(value, pikepdf.Array):
        return b"[" + b" ".join(_serialize(item, reference) for item in value) + b"]"
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, int):
        return b"%d" % value
    if isinstance(value, Decimal | float):
        return format(Decimal(value).normalize(), "f").encode()
    if value is None:
        return b"null"
    return value.unparse()
