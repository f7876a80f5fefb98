"""Marked content renumbered and content layers drawn inline, so that a page stays one tagged page.

A cover letter drawn from a shared stationery layer and its own variable part must read as one
letter: its marked-content sequences numbered 0..n-1 on the page, each reached by one structure
element. A form XObject cannot hold the layer's tags without a structure tree of its own for every
page it is drawn on, so the layer's content is written into each page's content array instead,
its resources renamed apart from the page's own and its MCIDs numbered after the page's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import pikepdf
from pikepdf import Name

# A marked-content sequence as WeasyPrint opens it (and pikepdf unparses it), `/Span <</MCID 12>>
# BDC`, read in the bytes: parsing and rewriting every content stream took most of the finishing
# of a long list (3 of 7 s for 140 pages of 5,000 endorsements). A stream with a BDC of any other
# form is not `plain`, and its readers parse it.
_TAGGED = re.compile(rb"(/[^\s/<>\[\]()%]+)\s*<<\s*/MCID\s+(\d+)\s*>>\s*BDC")
_ANY_BDC = re.compile(rb"(?<![^\s\]>)])BDC(?![^\s/\[<(%])")


def plain(content: bytes) -> bool:
    """Whether every BDC of `content` has the form Marked reads."""
    return len(_TAGGED.findall(content)) == len(_ANY_BDC.findall(content))

# Operators whose name operand is a key of the page's resources, by the resource category.
_NAMED = {"Tf": Name.Font, "gs": Name.ExtGState, "Do": Name.XObject, "cs": Name.ColorSpace,
          "CS": Name.ColorSpace, "sh": Name.Shading, "scn": Name.Pattern, "SCN": Name.Pattern}


@dataclass(frozen=True)
class Marked:
    """A plain content stream cut at its marked-content openings: pieces[i] is the text before
    the i-th opening, pieces[-1] the rest; openings[i], tags[i] and mcids[i] the i-th opening as
    written, its tag and its MCID."""

    pieces: tuple[bytes, ...]
    openings: tuple[bytes, ...]
    tags: tuple[bytes, ...]
    mcids: tuple[int, ...]

    @classmethod
    def of(cls, content: bytes) -> Marked:
        if not plain(content):
            raise ValueError("a marked-content opening of a form this tool does not renumber")
        matches = list(_TAGGED.finditer(content))
        pieces, start = [], 0
        for match in matches:
            pieces.append(content[start:match.start()])
            start = match.end()
        pieces.append(content[start:])
        return cls(tuple(pieces), tuple(m[0] for m in matches), tuple(m[1] for m in matches),
                   tuple(int(m[2]) for m in matches))

    def joined(self, numbers: Mapping[int, int | None] | Callable[[int], int | None]) -> bytes:
        """The content with each MCID m renumbered numbers[m] (an opening whose number stays is
        kept as written); None makes its sequence an artifact (`/Artifact BMC`, closed by the same
        EMC)."""
        number = numbers if callable(numbers) else numbers.get
        out = [self.pieces[0]]
        for opening, tag, mcid, piece in zip(self.openings, self.tags, self.mcids, self.pieces[1:],
                                             strict=True):
            new = number(mcid)
            out.append(b"/Artifact BMC" if new is None else opening if new == mcid else
                       tag + b" <</MCID %d>> BDC" % new)
            out.append(piece)
        return b"".join(out)


def content_of(page: pikepdf.Object) -> bytes:
    contents = page.get("/Contents")
    streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents] if contents else []
    return b"\n".join(stream.read_bytes() for stream in streams)


def renamed_content(page: pikepdf.Page, prefix: str) -> bytes:
    """The page's content with every resource it names renamed `prefix` + name: a layer to draw
    on pages that have resources of their own under the same names (renamed_resources)."""
    resources = page.obj.get("/Resources", pikepdf.Dictionary())
    instructions = []
    for operands, operator in pikepdf.parse_content_stream(page):
        category = _NAMED.get(str(operator))
        if category is not None:
            operands = [_renamed(operand, resources.get(category), prefix) for operand in operands]
        instructions.append((operands, operator))
    return pikepdf.unparse_content_stream(instructions)


def renamed_resources(pdf: pikepdf.Pdf, source: pikepdf.Pdf, page: pikepdf.Page, prefix: str
                      ) -> pikepdf.Dictionary:
    """The resources of `page` (of `source`) under the names renamed_content gives them, copied
    into `pdf`."""
    resources = page.obj.get("/Resources", pikepdf.Dictionary())
    renamed = pikepdf.Dictionary()
    for category in set(_NAMED.values()):
        entries = resources.get(category)
        if isinstance(entries, pikepdf.Dictionary):
            renamed[category] = pikepdf.Dictionary({
                f"/{prefix}{str(key)[1:]}": _copied(pdf, source, value) for key, value in entries.items()})
    return renamed


def _copied(pdf: pikepdf.Pdf, source: pikepdf.Pdf, value: pikepdf.Object) -> pikepdf.Object:
    if isinstance(value, (pikepdf.Dictionary, pikepdf.Array, pikepdf.Stream)):
        return pdf.copy_foreign(value if value.is_indirect else source.make_indirect(value))
    return value


def _renamed(operand, entries, prefix: str):
    if isinstance(operand, pikepdf.Name) and isinstance(entries, pikepdf.Dictionary) and operand in entries:
        return pikepdf.Name(f"/{prefix}{str(operand)[1:]}")
    return operand


def merge_resources(page: pikepdf.Page, extra: pikepdf.Dictionary) -> None:
    """Add the layer's (renamed) resources to the page's."""
    resources = page.obj.get("/Resources")
    if resources is None:
        page.obj.Resources = resources = pikepdf.Dictionary()
    for category, entries in extra.items():
        own = resources.get(category)
        if own is None:
            resources[category] = pikepdf.Dictionary(dict(entries.items()))
            continue
        for key, value in entries.items():
            own[key] = value


def draw_inline(pdf: pikepdf.Pdf, page: pikepdf.Page, own: bytes, layer: pikepdf.Stream) -> None:
    """The page's contents: its own content in a saved graphics state, then the layer's."""
    page.obj.Contents = pikepdf.Array([pdf.make_stream(b"q\n" + own + b"\nQ\n"), layer])


def renumber_all(marked: Marked, keep: Iterable[int]) -> tuple[bytes, dict[int, int]]:
    """The content with the MCIDs `keep` numbered 0..n-1 in their order and every other
    sequence an artifact; the mapping."""
    numbers = {mcid: new for new, mcid in enumerate(sorted(set(keep)))}
    return marked.joined(numbers), numbers
