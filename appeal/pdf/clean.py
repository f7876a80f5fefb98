"""How pikepdf saves the files it assembles: no empty stream marked as compressed, a version that covers them.

Ghostscript, the engine of many print shops' RIPs, reports "Page drawing error" on a page whose
content stream is empty but marked /FlateDecode, which is what pikepdf's blank pages became when
saved compressed. A file assembled by pikepdf.new() says PDF 1.3 whatever its pages use; the
pages come from WeasyPrint, which writes PDF 1.7, and the catalogue's /Lang needs 1.4.
"""

from __future__ import annotations

from io import BytesIO

import pikepdf

VERSION = "1.7"  # what WeasyPrint writes, and what the pages assembled from its files may use


def drop_empty_contents(pdf: pikepdf.Pdf) -> None:
    """Take every empty content stream off the pages (a blank page then has no /Contents, which
    ISO 32000-1, 7.7.3.3, reads as empty)."""
    for page in pdf.pages:
        contents = page.obj.get("/Contents")
        if contents is None:
            continue
        streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
        kept = [stream for stream in streams if stream.read_raw_bytes()]
        if len(kept) == len(streams):
            continue
        if not kept:
            del page.obj["/Contents"]
        else:
            page.obj.Contents = kept[0] if len(kept) == 1 else pikepdf.Array(kept)


def save(pdf: pikepdf.Pdf, **options) -> bytes:
    """`pdf` saved with a content-derived /ID, empty content streams dropped, as PDF VERSION or
    later."""
    drop_empty_contents(pdf)
    out = BytesIO()
    pdf.save(out, deterministic_id=True, min_version=VERSION, **options)
    return out.getvalue()
