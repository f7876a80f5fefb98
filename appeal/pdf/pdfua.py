"""PDF/UA-1 finishing of WeasyPrint's tagged output: footers as artifacts, lists as lists, the claim.

The archive (pdfa.py) and the editions read on a screen (the handouts, the sign-on sheets) go
through these steps; page-validation's `ua1` profile then finds no failed rule, which the build
checks before anything is written (verify/checks.ua_problems).
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO

import pikepdf
from pikepdf import Name

from appeal.pdf.clean import save
from appeal.pdf.marked import Marked, content_of, plain
from appeal.pdf.metadata import Metadata

SIGNATURE_FIELD = "Signature"  # the empty field the archive and the letter packs carry, signed later
UA_NAMESPACES = '    xmlns:pdfuaid="http://www.aiim.org/pdfua/ns/id/"'


def ua_claims(language: str) -> str:
    """The XMP a PDF/UA-1 file states besides the metadata: its language and the claim."""
    from xml.sax.saxutils import escape

    return (f"   <dc:language><rdf:Bag><rdf:li>{escape(language)}</rdf:li></rdf:Bag></dc:language>\n"
            "   <pdfuaid:part>1</pdfuaid:part>")


def finish(pdf_data: bytes, metadata: Metadata, paragraphs: dict[str, Sequence[int]] | None = None) -> bytes:
    """A tagged WeasyPrint PDF made PDF/UA-1 (`restructure`), the metadata and the PDF/UA
    identification in Info and XMP, a content-derived /ID."""
    with pikepdf.open(BytesIO(pdf_data)) as pdf:
        restructure(pdf, paragraphs)
        metadata.write(pdf, UA_NAMESPACES, ua_claims(metadata.language), replace=False)
        return save(pdf, compress_streams=True, object_stream_mode=pikepdf.ObjectStreamMode.preserve)


def restructure(pdf: pikepdf.Pdf, paragraphs: dict[str, Sequence[int]] | None = None) -> None:
    """The structure a screen reader should read, from what WeasyPrint tags: the running footers
    as artifacts, list rows lifted out of their blocks, each numbered entry's number as its label
    (Lbl), a paragraph, a section or a list broken across pages one element again (`paragraphs`:
    paragraph_keys of the layout), table header cells with their scope."""
    footers_as_artifacts(pdf)
    flatten_list_rows(pdf)
    list_labels(pdf)
    for kind, keys in (paragraphs or {}).items():
        join_split(pdf, kind, keys)
    column_headers(pdf)
    reading_direction(pdf)


def reading_direction(pdf: pikepdf.Pdf) -> None:
    """A document in a language written from right to left says so to viewers (/Direction /R2L):
    a two-page view then puts page 2 to the right of page 3, as the bound booklet does."""
    from appeal.layout.writing import writing

    if writing(str(pdf.Root.get("/Lang", ""))).rtl:
        preferences = pdf.Root.get("/ViewerPreferences")
        if preferences is None:
            pdf.Root.ViewerPreferences = preferences = pikepdf.Dictionary()
        preferences.Direction = pikepdf.Name.R2L


# The elements a page break may split, and what WeasyPrint tags each one.
SPLIT = {"p": "/P", "main": "/Part", "section": "/Sect", "ol": "/L"}


def paragraph_keys(document) -> dict[str, list[int]]:
    """For each kind of element a page break may split (SPLIT), the keys of its boxes in a laid-out
    document, in the order WeasyPrint tags them (page by page, in document order): the parts of an
    element split over pages have the same key (its HTML element's)."""
    from appeal.layout.boxes import walk

    keys: dict[str, list[int]] = {kind: [] for kind in SPLIT.values()}
    for page in document.pages:
        for box, _ in walk(page._page_box):
            if type(box).__name__ == "BlockBox" and getattr(box, "element_tag", None) in SPLIT:
                keys[SPLIT[box.element_tag]].append(id(box.element))
    return keys


def _elements(tree_root: pikepdf.Dictionary):
    """The structure elements in document order (depth first), with their parents."""
    pending = [(kid, tree_root) for kid in reversed(_as_list(tree_root.get("/K", [])))]
    while pending:
        node, parent = pending.pop()
        if isinstance(node, pikepdf.Dictionary) and "/S" in node:
            yield node, parent
            pending.extend((kid, node) for kid in reversed(_as_list(node.get("/K", []))))


def list_labels(pdf: pikepdf.Pdf) -> int:
    """Make each list entry's number its label: WeasyPrint tags an entry (LI) as one LBody whose
    first paragraph begins with the number (a ::before box, tagged NonStruct); the number becomes
    the LI's Lbl, before the LBody. The count of labels made."""
    made = 0
    tree_root = pdf.Root.get("/StructTreeRoot")
    if tree_root is None:
        return 0
    for element, _ in list(_elements(tree_root)):
        if element.S != Name.LI:
            continue
        kids = _as_list(element.get("/K", []))
        body = kids[0] if kids else None
        if not isinstance(body, pikepdf.Dictionary) or body.get("/S") != Name.LBody:
            continue
        first = next((kid for kid in _as_list(body.get("/K", []))
                      if isinstance(kid, pikepdf.Dictionary) and kid.get("/S") == Name.P), None)
        inner = _as_list(first.get("/K", [])) if first is not None else []
        number = inner[0] if inner else None
        if not isinstance(number, pikepdf.Dictionary) or number.get("/S") != Name.NonStruct:
            continue
        number.S, number.P = Name.Lbl, element
        first.K = pikepdf.Array(inner[1:])
        element.K = pikepdf.Array([number, *kids])
        made += 1
    return made


def join_split(pdf: pikepdf.Pdf, kind: str, keys: Sequence[int]) -> int:
    """Make an element that a page break split (a P, a Sect, an L) one element again: `keys` gives
    each element of that `kind`, in document order, the key of what it was laid out from
    (paragraph_keys); one with its predecessor's key gives its content to it and leaves the tree.
    Nothing is joined when the counts disagree. The count of elements joined."""
    tree_root = pdf.Root.get("/StructTreeRoot")
    if tree_root is None:
        return 0
    wanted = Name(kind)
    found = [(element, parent) for element, parent in _elements(tree_root) if str(element.S) == str(wanted)]
    if not keys or len(found) != len(keys):
        return 0
    joined, owner_of = 0, {}
    extra: dict[tuple[int, int], tuple[pikepdf.Dictionary, list]] = {}  # by first part: its kids
    gone: dict[tuple[int, int], tuple[pikepdf.Dictionary, set]] = {}  # by parent: the parts it loses
    for (element, parent), key, before in zip(found, keys, [None, *keys[:-1]], strict=True):
        if key != before:
            first = element
            continue
        moved = _as_list(element.get("/K", []))
        for kid in moved:
            if isinstance(kid, pikepdf.Dictionary) and "/S" in kid:
                kid.P = first
            else:  # marked content held directly: its entry in the parent tree names the first part
                owner_of[element.objgen] = first
        extra.setdefault(first.objgen, (first, _as_list(first.get("/K", []))))[1].extend(moved)
        gone.setdefault(parent.objgen, (parent, set()))[1].add(element.objgen)
        joined += 1
    for first, kids in extra.values():
        first.K = pikepdf.Array(kids)
    for parent, parts in gone.values():
        parent.K = pikepdf.Array([kid for kid in _as_list(parent.K)
                                  if not (isinstance(kid, pikepdf.Dictionary) and kid.objgen in parts)])
    if owner_of:
        for _, owners in pikepdf.NumberTree(tree_root.ParentTree).items():
            if isinstance(owners, pikepdf.Array):
                for index, owner in enumerate(owners):
                    if isinstance(owner, pikepdf.Dictionary) and owner.objgen in owner_of:
                        owners[index] = owner_of[owner.objgen]
    return joined


def _reachable(tree_root: pikepdf.Dictionary) -> set[tuple[int, int]]:
    """The structure elements reachable from the structure tree's root."""
    seen: set[tuple[int, int]] = set()
    pending = [tree_root.get("/K")]
    while pending:
        node = pending.pop()
        if isinstance(node, pikepdf.Array):
            pending.extend(node)
        elif isinstance(node, pikepdf.Dictionary) and "/S" in node:
            if node.objgen in seen:
                continue
            seen.add(node.objgen)
            pending.append(node.get("/K"))
    return seen


def _tagged_pages(pdf: pikepdf.Pdf):
    """Each page with the owners of its marked content (the parent tree's array, or None) and the
    structure elements the tree reaches; nothing for an untagged file."""
    tree_root = pdf.Root.get("/StructTreeRoot")
    if tree_root is None:
        return
    reachable = _reachable(tree_root)
    parents = pikepdf.NumberTree(tree_root.ParentTree)
    for page in pdf.pages:
        key = page.obj.get("/StructParents")
        yield page, (parents.get(int(key)) if key is not None else None), reachable


def _mcid(operands, operator) -> int | None:
    """The MCID of a `BDC` that carries one."""
    if str(operator) == "BDC" and len(operands) == 2 and isinstance(operands[1], pikepdf.Dictionary):
        return int(operands[1].get("/MCID", -1))
    return None


def _mcids(page) -> list[int]:
    """The MCIDs the page's marked content carries, in order (read in the bytes: marked.py)."""
    content = content_of(page.obj)
    if plain(content):
        return list(Marked.of(content).mcids)
    return [mcid for operands, operator in pikepdf.parse_content_stream(page)
            if (mcid := _mcid(operands, operator)) is not None and mcid >= 0]


def footers_as_artifacts(pdf: pikepdf.Pdf) -> int:
    """Mark the running footers (text of page margin boxes) as artifacts; the count marked.

    WeasyPrint 70 tags margin-box text as structure elements it never links into the structure
    tree; PDF/UA wants page furniture as artifacts, so a screen reader skips it. Each such marked
    content sequence becomes `/Artifact BMC` and leaves the parent tree.
    """
    marked = 0
    for page, owners, reachable in _tagged_pages(pdf):
        if owners is None:
            continue
        unreached = {mcid for mcid, owner in enumerate(owners)
                     if isinstance(owner, pikepdf.Dictionary) and owner.objgen not in reachable}
        if not unreached:
            continue
        content = content_of(page.obj)
        if plain(content):
            sequences = Marked.of(content)
            marked += sum(mcid in unreached for mcid in sequences.mcids)
            page.obj.Contents = pdf.make_stream(
                sequences.joined({mcid: mcid for mcid in sequences.mcids if mcid not in unreached}))
        else:
            instructions = []
            for operands, operator in pikepdf.parse_content_stream(page):
                if _mcid(operands, operator) in unreached:
                    instructions.append(([Name.Artifact], pikepdf.Operator("BMC")))
                    marked += 1
                else:
                    instructions.append((operands, operator))
            page.obj.Contents = pdf.make_stream(pikepdf.unparse_content_stream(instructions))
        for mcid in unreached:
            owners[mcid] = None
    return marked


def flatten_list_rows(pdf: pikepdf.Pdf) -> int:
    """Lift list items out of the row blocks that hold them; the count of blocks removed.

    The endorsements are laid out three to a row, each row a block of its own (one long line of
    thousands of inline blocks lays out in time that grows faster than the list); WeasyPrint tags
    the row as a `Div` inside the list, which PDF/UA forbids (a list holds list items). The rows
    hold no content of their own, so their items take their place in the list, in order.
    """
    tree_root = pdf.Root.get("/StructTreeRoot")
    if tree_root is None:
        return 0
    removed = 0
    pending = [tree_root.get("/K")]
    while pending:
        node = pending.pop()
        if isinstance(node, pikepdf.Array):
            pending.extend(node)
            continue
        if not isinstance(node, pikepdf.Dictionary) or "/S" not in node:
            continue
        kids = node.get("/K")
        if node.S == Name.L and isinstance(kids, pikepdf.Array):
            flat = []
            for kid in kids:
                if isinstance(kid, pikepdf.Dictionary) and kid.get("/S") == Name.Div and _only_items(kid):
                    for item in _as_list(kid.K):
                        item.P = node
                        flat.append(item)
                    removed += 1
                else:
                    flat.append(kid)
            node.K = pikepdf.Array(flat)
        pending.append(node.get("/K"))
    return removed


def _as_list(kids) -> list:
    return list(kids) if isinstance(kids, pikepdf.Array) else [kids]


def _only_items(element: pikepdf.Dictionary) -> bool:
    return all(isinstance(kid, pikepdf.Dictionary) and kid.get("/S") == Name.LI
               for kid in _as_list(element.get("/K", [])))


def orphans(pdf: pikepdf.Pdf) -> int:
    """Marked content with an MCID that no element of the structure tree reaches: text a screen
    reader never reads and that is no artifact either (page-validation's `ua1` does not see it;
    WeasyPrint's footers were such text)."""
    found = 0
    for page, owners, reachable in _tagged_pages(pdf):
        for mcid in _mcids(page):
            owner = owners[mcid] if owners is not None and mcid < len(owners) else None
            found += not isinstance(owner, pikepdf.Dictionary) or owner.objgen not in reachable
    return found


def column_headers(pdf: pikepdf.Pdf) -> int:
    """Give every table header cell (TH) its /Scope: /Column for a cell of a <thead> (the sign-on
    sheet's, repeated on each page), /Row for one in a body row. WeasyPrint writes none, and a
    screen reader then cannot tell which cells a heading names. The count of cells given one."""
    tree_root = pdf.Root.get("/StructTreeRoot")
    if tree_root is None:
        return 0
    given = 0
    for element, row in _elements(tree_root):
        if element.S != Name.TH:
            continue
        group = row.get("/P") if isinstance(row, pikepdf.Dictionary) else None
        scope = Name.Column if isinstance(group, pikepdf.Dictionary) and group.get("/S") == Name.THead \
            else Name.Row
        attributes = element.get("/A")
        if attributes is None:
            element.A = pikepdf.Dictionary(O=Name.Table, Scope=scope)
        elif isinstance(attributes, pikepdf.Dictionary) and attributes.get("/O") == Name.Table:
            if "/Scope" in attributes:
                continue
            attributes.Scope = scope
        else:
            continue
        given += 1
    return given


def signature_field(pdf: pikepdf.Pdf, description: str, page_number: int = -1) -> None:
    """An empty, invisible signature field on page `page_number` (the last by default), tagged and
    described by `description` (its /TU), for a signature to fill later.

    PDF/UA-1 and PDF/A-2/3 want every widget annotation in the structure tree, even an invisible
    one, and a form field described by /TU; pyHanko fills an existing field without touching its
    tags, but tags none it makes itself. So the field is made here: a widget with a zero-size
    rectangle, an empty appearance and the Print and Locked flags, a `Form` structure element
    holding it by an object reference, and its entry in the parent tree.
    """
    page = pdf.pages[page_number]
    tree_root = pdf.Root.StructTreeRoot
    parents = pikepdf.NumberTree(tree_root.ParentTree)
    key = max(parents.keys(), default=-1) + 1
    # An empty appearance: Ghostscript (many print shops' RIPs) warns of a field without one.
    appearance = pdf.make_stream(b"q Q", Type=Name.XObject, Subtype=Name.Form, BBox=[0, 0, 0, 0])
    widget = pdf.make_indirect(pikepdf.Dictionary(
        Type=Name.Annot, Subtype=Name.Widget, FT=Name.Sig, T=pikepdf.String(SIGNATURE_FIELD),
        TU=pikepdf.String(description),
        F=132, Rect=[0, 0, 0, 0], P=page.obj, StructParent=key, AP=pikepdf.Dictionary(N=appearance)))
    document = tree_root.K[0] if isinstance(tree_root.K, pikepdf.Array) else tree_root.K
    form = pdf.make_indirect(pikepdf.Dictionary(
        Type=Name.StructElem, S=Name.Form, P=document,
        K=pikepdf.Dictionary(Type=Name.OBJR, Obj=widget, Pg=page.obj)))
    if not isinstance(document.K, pikepdf.Array):
        document.K = pikepdf.Array([document.K])
    document.K.append(form)
    parents[key] = form
    tree_root.ParentTreeNextKey = key + 1
    page.obj.Annots = pdf.make_indirect(pikepdf.Array([*page.obj.get("/Annots", []), widget]))
    page.obj.Tabs = Name.S  # PDF/UA: annotations in the order of the structure
    pdf.Root.AcroForm = pdf.make_indirect(pikepdf.Dictionary(Fields=[widget]))


