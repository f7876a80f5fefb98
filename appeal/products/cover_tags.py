"""What a screen reader reads of a cover letter, taken from WeasyPrint's tags, and the letter's tree.

WeasyPrint tags each article as an `Art` whose kids follow the article's boxes one to one; the
cover letter's parts are known by their class (letter-macros.html). A layered letter is two
documents, the stationery and the variable part (stationery.py): their outlines are merged here
into the one the letter reads as, the address first, the salutation in its place after the
subject. The letterhead, the return address and the fold and hole marks are page furniture
(artifacts): the letterhead repeats what the signer's lines say, the return address what the
envelope shows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pikepdf
from pikepdf import Name

from appeal.layout.boxes import children, find

ARTIFACTS = frozenset({"mark", "letterhead", "return-address", "salutation-gap"})
ADDRESS, SLOT = "address", "first-paragraph"
_ROLES = {"/NonStruct": "/P", "/Span": "/P"}  # a block read as a paragraph (the address's lines)


@dataclass(frozen=True)
class Entry:
    """One part of the letter as it is read: its class (or tag), role, MCIDs in reading order,
    and for a figure its alternative text."""

    name: str
    role: str
    mcids: tuple[int, ...]
    alt: str | None = None

    def renumbered(self, numbers) -> Entry:
        return Entry(self.name, self.role, tuple(numbers[mcid] for mcid in self.mcids), self.alt)


def outlines(document, pdf: pikepdf.Pdf) -> list[tuple[Entry, ...]]:
    """Each page's parts, in order, from the tagged PDF WeasyPrint wrote of `document`."""
    root = pdf.Root.StructTreeRoot.K
    top = root[0] if isinstance(root, pikepdf.Array) else root
    arts = [kid for kid in _kids(top) if kid.get("/S") == Name.Art]
    if len(arts) != len(document.pages):
        raise ValueError(f"{len(arts)} tagged articles on {len(document.pages)} pages")
    return [tuple(_entries(find(page, lambda box: box.element_tag == "article"), art))
            for page, art in zip(document.pages, arts, strict=True)]


def _kids(element: pikepdf.Dictionary) -> list[pikepdf.Dictionary]:
    kids = element.get("/K")
    kids = list(kids) if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []
    return [kid for kid in kids if isinstance(kid, pikepdf.Dictionary) and "/S" in kid]


def _entries(box, element: pikepdf.Dictionary):
    boxes = [getattr(child, "_box", child) for child in children(box)]
    boxes = [child for child in boxes if getattr(child, "element", None) is not None]
    kids = _kids(element)
    if len(boxes) != len(kids):
        raise ValueError(f"{len(kids)} tagged elements for {len(boxes)} boxes in a cover letter")
    for child, kid in zip(boxes, kids, strict=True):
        classes = (child.element.get("class") or "").split()
        name = classes[0] if classes else child.element_tag
        if name == "window":
            yield from _entries(child, kid)
            continue
        alt = kid.get("/Alt")
        yield Entry(name, _ROLES.get(str(kid.S), str(kid.S)), tuple(mcids(kid)),
                    str(alt) if alt is not None else None)


def mcids(element) -> list[int]:
    """The MCIDs under a structure element, in order."""
    found = []
    pending = [element]
    while pending:
        node = pending.pop()
        if isinstance(node, pikepdf.Array):
            pending.extend(reversed(list(node)))
        elif isinstance(node, pikepdf.Dictionary):
            if "/MCID" in node:
                found.append(int(node.MCID))
            elif "/S" in node and "/K" in node:
                pending.append(node.K)
        elif isinstance(node, int) or getattr(node, "is_integer", False):
            found.append(int(node))
    return found


def read(outline: Sequence[Entry]) -> list[Entry]:
    """The parts read of a letter laid out whole: its artifacts and the empty left out."""
    return [entry for entry in outline if entry.name not in ARTIFACTS and entry.mcids]


def merged(own: Sequence[Entry], shared: Sequence[Entry]) -> list[Entry]:
    """A layered letter's parts: its own address first, then the stationery's (`shared`) with the
    stationery's empty first paragraph replaced by its own."""
    mine = {entry.name: entry for entry in read(own)}
    out = [mine[ADDRESS]] if ADDRESS in mine else []
    for entry in shared:
        if entry.name == SLOT:
            out.extend([mine[SLOT]] if SLOT in mine else [])
        elif entry.name not in ARTIFACTS and entry.mcids:
            out.append(entry)
    return out


def kept(entries: Sequence[Entry]) -> list[int]:
    return [mcid for entry in entries for mcid in entry.mcids]


class PackTree:
    """One letter pack's PDF, made once for a run of packs and given each cover letter in turn:
    the appeal's pages, its structure tree copied once, an empty tagged signature field; for each
    letter only the cover page, its article and the field's page change. Saving writes what the
    catalogue reaches, so a letter given before leaves nothing in the next pack's file.
    (Copying the appeal's pages and tree for every pack cost 3 ms a pack.)"""

    def __init__(self, appeal: pikepdf.Pdf, field: Callable[[pikepdf.Pdf], None]) -> None:
        self.pdf = pdf = pikepdf.new()
        pdf.pages.extend(appeal.pages)
        self.appeal_language = str(appeal.Root.Lang)
        tree_root = pdf.copy_foreign(appeal.Root.StructTreeRoot)
        document = tree_root.K[0] if isinstance(tree_root.K, pikepdf.Array) else tree_root.K
        copied = {page.objgen for page in pdf.pages}
        first = next(iter(_kids(document)), None)
        while first is not None and "/Pg" not in first:
            first = next(iter(_kids(first)), None)
        if first is None or first.Pg.objgen not in copied:
            raise ValueError("the appeal's structure tree does not point at the pack's pages")
        kids = document.get("/K")
        document.K = pikepdf.Array([None, *(list(kids) if isinstance(kids, pikepdf.Array) else
                                            [kids] if kids is not None else [])])
        self.parents = pikepdf.NumberTree(tree_root.ParentTree)
        self.key = max(self.parents.keys(), default=-1) + 1
        tree_root.ParentTreeNextKey = self.key + 1
        self.document = document
        pdf.Root.StructTreeRoot = tree_root
        pdf.Root.MarkInfo = pikepdf.Dictionary(Marked=True)
        pdf.Root.ViewerPreferences = pikepdf.Dictionary(DisplayDocTitle=True)
        self.field = field
        self.widget: pikepdf.Dictionary | None = None

    def letter(self, page: pikepdf.Page, entries: Sequence[Entry], language: str) -> pikepdf.Pdf:
        """The pack with `page` (a cover letter of another PDF) as its first page, read as `entries`
        in `language`."""
        pdf = self.pdf
        if self.widget is None:
            pdf.pages.insert(0, page)
        else:
            pdf.pages[0] = page
        cover = pdf.pages[0].obj
        art = pdf.make_indirect(pikepdf.Dictionary(Type=Name.StructElem, S=Name.Art, P=self.document,
                                                   Lang=pikepdf.String(language)))
        owners: dict[int, pikepdf.Object] = {}
        elements = []
        for entry in entries:
            element = pdf.make_indirect(pikepdf.Dictionary(
                Type=Name.StructElem, S=Name(entry.role), P=art, Pg=cover,
                K=pikepdf.Array(list(entry.mcids)) if len(entry.mcids) > 1 else entry.mcids[0]))
            if entry.alt is not None:
                element.Alt = pikepdf.String(entry.alt)
            elements.append(element)
            for mcid in entry.mcids:
                owners[mcid] = element
        art.K = pikepdf.Array(elements)
        self.document.K[0] = art
        if language != self.appeal_language:
            self.document.Lang = pikepdf.String(self.appeal_language)
        elif "/Lang" in self.document:
            del self.document["/Lang"]
        self.parents[self.key] = pdf.make_indirect(pikepdf.Array([owners[n] for n in range(len(owners))]))
        cover.StructParents = self.key
        cover.Tabs = Name.S
        if self.widget is None:
            self.field(pdf)
            self.widget = pdf.Root.AcroForm.Fields[0]
        else:  # the field moves to the new cover page
            self.widget.P = cover
            cover.Annots = pdf.make_indirect(pikepdf.Array([self.widget]))
            self.parents[int(self.widget.StructParent)].K.Pg = cover
        return pdf
