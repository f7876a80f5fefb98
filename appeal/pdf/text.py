"""The text of an edition as its reader reads it, right-to-left lines in logical order.

The pages' text less their artifacts; verify proves it against the source.
"""

from __future__ import annotations

import unicodedata
from io import BytesIO

import pikepdf
from pypdf import PdfReader


def _bidi_class(character: str, chunk_class: str) -> str:
    kind = unicodedata.bidirectional(character)
    if kind in ("R", "AL"):
        return "R"
    if kind in ("L", "EN", "AN", "ES", "CS", "ET"):
        return kind if kind != "AN" else "EN"
    return chunk_class if kind == "NSM" else "N"


def logical_line(chunks: list[str]) -> str:
    """A line of right-to-left text in the order it is read, from the chunks drawn for it.

    WeasyPrint draws one line of a paragraph as one text object, its runs from left to right, and
    pypdf gives each right-to-left chunk's characters in logical order already. The line is put
    back in visual order, its characters given their levels as the Unicode Bidirectional Algorithm
    (UAX #9) gives them in a right-to-left paragraph, and reordered by its rule L2, which undoes
    itself: right-to-left letters level 1; Latin letters and numbers 2 (a separator or currency
    sign between digits is part of the number, W4 and W5); a neutral between two Latin runs 2, any
    other 1 (N1, N2; numbers count as right-to-left there).
    """
    visual: list[tuple[str, str]] = []
    for chunk in chunks:
        right = any(unicodedata.bidirectional(c) in ("R", "AL") for c in chunk)
        for character in (reversed(chunk) if right else chunk):
            visual.append((character, _bidi_class(character, "R" if right else "L")))
    kinds = [kind for _, kind in visual]
    for index, kind in enumerate(kinds):  # W4, W5: 1,4 and 1999-2008 and 10% are one number
        if kind in ("ES", "CS", "ET"):
            before = kinds[index - 1] if index else None
            after = kinds[index + 1] if index + 1 < len(kinds) else None
            number = before == after == "EN" or (kind == "ET" and "EN" in (before, after))
            kinds[index] = "EN" if number else "N"
    strong = ["R" if kind == "EN" else kind for kind in kinds]
    levels = []
    for index, kind in enumerate(kinds):
        if kind == "N":
            before = next((k for k in reversed(strong[:index]) if k != "N"), "R")
            after = next((k for k in strong[index + 1:] if k != "N"), "R")
            levels.append(2 if before == after == "L" else 1)
        else:
            levels.append(1 if kind == "R" else 2)
    order = list(range(len(visual)))
    for level in (2, 1):  # L2: reverse every run at this level or higher, highest level first
        index = 0
        while index < len(order):
            if levels[order[index]] >= level:
                end = index
                while end < len(order) and levels[order[end]] >= level:
                    end += 1
                order[index:end] = reversed(order[index:end])
                index = end
            else:
                index += 1
    return "".join(visual[index][0] for index in order)


def _right_to_left_text(page) -> str:
    """The page's text, each text object (a line of a paragraph, a list number) in logical order."""
    lines: list[list[str]] = []
    where = [None]

    def visit(text, cm, tm, *_):
        position = (tuple(cm), tuple(tm))
        if "\n" in text or position != where[0] or not lines:
            lines.append([])
        where[0] = position
        lines[-1].append(text.replace("\n", ""))

    page.extract_text(visitor_text=visit)
    return "\n".join(logical_line(line) for line in lines if "".join(line))


def reading_text(pdf_data: bytes, right_to_left: bool = False) -> str:
    """The text a reader reads: every page's text less its artifacts (running footers, page numbers),
    right-to-left lines in logical order when the edition's language is written so."""
    return "\n".join(reading_pages(pdf_data, right_to_left))


def reading_pages(pdf_data: bytes, right_to_left: bool = False) -> list[str]:
    """reading_text, page by page."""
    with pikepdf.open(BytesIO(pdf_data)) as pdf:
        for page in pdf.pages:
            kept, artifact = [], []
            for operands, operator in pikepdf.parse_content_stream(page):
                name = str(operator)
                if name in ("BMC", "BDC"):
                    artifact.append((artifact and artifact[-1]) or str(operands[0]) == "/Artifact")
                elif name == "EMC" and artifact:
                    artifact.pop()
                    continue
                if not (artifact and artifact[-1]):
                    kept.append((operands, operator))
            page.obj.Contents = pdf.make_stream(pikepdf.unparse_content_stream(kept))
        copy = BytesIO()
        pdf.save(copy)
    if right_to_left:
        copy.seek(0)
        return [_right_to_left_text(page) for page in PdfReader(copy).pages]
    return pdfium_pages(copy.getvalue())


def pdfium_pages(pdf_data: bytes) -> list[str]:
    """Each page's text as PDFium reads it (Chrome's engine; twenty times faster than pypdf's
    reading, which the archive's check paid on every build: 0.2 s of 4 pages), with its line ends
    as line feeds and a hyphen it joined at a line's end (U+FFFE) given back as one."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf_data)
    try:
        pages = []
        for number in range(len(document)):
            page = document[number]
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range().replace("\r\n", "\n").replace("\ufffe", "-\n"))
            textpage.close()
            page.close()
        return pages
    finally:
        document.close()
