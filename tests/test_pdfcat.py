"""The streaming concatenation behind the letters' print file."""

from __future__ import annotations

from io import BytesIO

import pikepdf
from pypdf import PdfReader

from appeal.pdf.concat import Concatenation
from helpers import page_texts


def _concatenate(*sources) -> bytes:
    out = BytesIO()
    concatenation = Concatenation(out)
    for source in sources:
        with pikepdf.open(source) as pdf:
            concatenation.add(pdf)
    assert concatenation.close({"/Title": "Both handouts"}, {"/Lang": "en"}) == sum(
        len(PdfReader(source).pages) for source in sources)
    return out.getvalue()


def test_pages_text_and_sizes_in_order(built):
    sources = [built / "appeal-a4.pdf", built / "appeal-letter.pdf"]
    joined = _concatenate(*sources)
    reader = PdfReader(BytesIO(joined), strict=True)
    expected = [page for source in sources for page in PdfReader(source).pages]
    assert len(reader.pages) == len(expected)
    for page, original in zip(reader.pages, expected, strict=True):
        assert page.mediabox == original.mediabox
    assert [t for t in page_texts(reader)] == [t for s in sources for t in page_texts(s)]
    assert reader.metadata["/Title"] == "Both handouts"
    assert reader.trailer["/Root"]["/Lang"] == "en"
    with pikepdf.open(BytesIO(joined)) as pdf:
        assert len(pdf.pages) == len(expected)
        assert pdf.get_warnings() == []  # qpdf read it without repairing anything


def test_the_same_sources_give_the_same_bytes(built):
    sources = [built / "appeal-a4.pdf", built / "appeal-archive.pdf"]
    assert _concatenate(*sources) == _concatenate(*sources)


def test_a_two_level_page_tree(built):
    from appeal.pdf import concat as pdfcat

    joined = _concatenate(*[built / "appeal-a4.pdf"] * 70)  # 280 pages: more than one node
    with pikepdf.open(BytesIO(joined)) as pdf:
        kids = pdf.Root.Pages.Kids
        assert len(kids) == -(-280 // pdfcat.PAGES_PER_NODE)
        assert all(kid.Type == "/Pages" for kid in kids)
        assert sum(int(kid.Count) for kid in kids) == int(pdf.Root.Pages.Count) == 280
