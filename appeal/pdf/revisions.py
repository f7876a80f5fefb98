"""The revisions of a PDF, and what each one changes.

A PDF can be changed by appending an incremental update: new versions of some objects, a new
cross-reference section and `%%EOF`. Every reader opens the latest revision, so an edition is
proven only when every revision is: an unsigned edition has exactly the revision the build
wrote; a signed one that and one more, which adds the signature and changes nothing else
(`signature_revision_problems`); a signature kept for the long term (PAdES B-LT, B-LTA), after
those, revisions that add validation data and document timestamps and change nothing else
(pdf/later_revisions.py). Each change is named by the role of the object it touches:
the document catalogue, page 2's content, the embedded file appeal.yaml, the XMP metadata.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import pikepdf

from appeal.pdf.untrusted import Unreadable


@dataclass(frozen=True)
class Revision:
    """One revision as a reader meets it: the bytes up to its end, and its cross-reference sections
    (two for a linearised file, whose first-page section comes first in the file)."""

    end: int
    sections: tuple[int, ...]


def revisions(data: bytes) -> list[Revision]:
    """The file's revisions, oldest first, read by pyHanko's strict reader; Unreadable when the
    cross-reference sections do not describe the file as written (readers would then differ)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(BytesIO(data), strict=True)
        xrefs = reader.xrefs
        if xrefs.hybrid_xrefs_present:
            raise Unreadable("it has hybrid cross-references (a table and a stream for one revision), which "
                             "older and newer readers read differently; no edition has them")
        found: list[Revision] = []
        listed: list[set] = []
        for section in range(xrefs.total_revisions):
            info = xrefs.get_xref_container_info(section)
            table = data.startswith(b"xref", info.declared_startxref)  # a table; else a stream
            if not (table or info.start_location == info.declared_startxref):
                raise Unreadable(f"its cross-reference section {section + 1} is not where the file "
                                 "says it is")
            eof = data.find(b"%%EOF", info.end_location)
            if eof < 0:
                raise Unreadable(f"its cross-reference section {section + 1} is not followed by %%EOF")
            end = eof + len(b"%%EOF")
            while end < len(data) and data[end:end + 1] in b"\r\n":
                end += 1
            refs = {(ref.idnum, ref.generation) for ref in xrefs.explicit_refs_in_revision(section)}
            if found and end <= found[-1].end:
                # A section before the end of the last revision: linearisation's first-page section,
                # part of the same revision; its objects must not also be listed by the other.
                twice = refs & listed[-1]
                if twice:
                    raise Unreadable(f"two cross-reference sections of one revision both list object "
                                     f"{min(twice)[0]}; readers would take different ones")
                found[-1] = Revision(found[-1].end, (*found[-1].sections, section))
                listed[-1] |= refs
            else:
                found.append(Revision(end, (section,)))
                listed.append(refs)
    except Unreadable:
        raise
    except Exception as exc:  # pyHanko's PdfReadError and what a damaged file makes it raise
        raise Unreadable(f"its revisions cannot be read ({str(exc)[:160]})") from None
    if not found:
        raise Unreadable("it has no cross-reference section")
    if data[found[-1].end:].strip(b"\0\t\n\f\r "):
        raise Unreadable(f"{len(data) - found[-1].end:,} bytes follow the end of its last revision (a reader "
                         "that repairs files may read them)")
    return found


def roles(pdf: pikepdf.Pdf) -> dict[tuple[int, int], str]:
    """What each object a reader reaches is for, in words, by its object and generation number."""
    names: dict[tuple[int, int], str] = {}

    def name(obj: Any, role: str) -> None:
        if isinstance(obj, pikepdf.Object) and obj.is_indirect and obj.objgen not in names:
            names[obj.objgen] = role

    root = pdf.Root
    name(root, "the document catalogue")
    name(pdf.trailer.get("/Info"), "the document information")
    name(root.get("/Metadata"), "the XMP metadata")
    name(root.get("/AcroForm"), "the form")
    name(root.get("/StructTreeRoot"), "the tag tree")
    name(root.get("/Outlines"), "the outline")
    name(root.get("/Pages"), "the page tree")
    for number, page in enumerate(pdf.pages, 1):
        name(page.obj, f"page {number}")
        contents = page.obj.get("/Contents")
        for stream in contents if isinstance(contents, pikepdf.Array) else [contents]:
            name(stream, f"page {number}'s content")
        resources = page.obj.get("/Resources")
        if isinstance(resources, pikepdf.Dictionary):
            name(resources, f"page {number}'s resources")
            for key, what in (("/XObject", "a form or image"), ("/Font", "a font")):
                table = resources.get(key)
                if isinstance(table, pikepdf.Dictionary):
                    for item in table.values():
                        label = str(item.get("/BaseFont", "")) if isinstance(item, pikepdf.Dictionary) else ""
                        name(item, f"{what} {label.lstrip('/')} on page {number}".replace("  ", " "))
        name(page.obj.get("/Annots"), f"page {number}'s annotations")
        for annotation in page.obj.get("/Annots", []):
            name(annotation, f"an annotation on page {number}")
    try:
        attachments = dict(pdf.attachments.items())
    except (pikepdf.PdfError, RuntimeError, TypeError, ValueError):
        attachments = {}
    for filename, spec in attachments.items():
        name(spec.obj, f"the file specification of {filename}")
        embedded = spec.obj.get("/EF")
        if isinstance(embedded, pikepdf.Dictionary):
            for stream in embedded.values():
                name(stream, f"the embedded file {filename}")
    return names


def shallow(obj: Any, top: bool = True) -> Any:
    """An object as comparable Python values, other indirect objects as their numbers; a stream's
    data as the SHA-256 of its bytes as stored (any change of them is a change)."""
    if isinstance(obj, pikepdf.Object) and obj.is_indirect and not top:
        return ("ref", obj.objgen)
    if isinstance(obj, pikepdf.Stream):
        return ("stream", shallow(obj.stream_dict, False),
                hashlib.sha256(obj.read_raw_bytes()).hexdigest())
    if isinstance(obj, pikepdf.Dictionary):
        return {key: shallow(value, False) for key, value in obj.items()}
    if isinstance(obj, pikepdf.Array):
        return [shallow(item, False) for item in obj]
    if isinstance(obj, pikepdf.Name):
        return ("name", str(obj))
    if isinstance(obj, pikepdf.String):
        return ("string", bytes(obj))
    return obj


@dataclass
class Changes:
    """What a later revision changes in an earlier one."""

    changed: list[tuple[tuple[int, int], pikepdf.Object, pikepdf.Object]]
    added: list[pikepdf.Object]
    freed: list[tuple[int, int]]


def changes(before: pikepdf.Pdf, after: pikepdf.Pdf) -> Changes:
    old = {obj.objgen: obj for obj in before.objects if not _is_null(obj)}
    result = Changes([], [], [])
    for obj in after.objects:
        if _is_null(obj):
            continue
        if obj.objgen not in old:
            result.added.append(obj)
        elif shallow(obj) != shallow(old[obj.objgen]):
            result.changed.append((obj.objgen, old[obj.objgen], obj))
    new = {obj.objgen for obj in after.objects if not _is_null(obj)}
    result.freed = sorted(set(old) - new)
    return result


def _is_null(obj: pikepdf.Object) -> bool:
    return obj is None or (isinstance(obj, pikepdf.Object) and obj._type_code == pikepdf.ObjectType.null)


def bookkeeping(obj: pikepdf.Object) -> bool:
    """A cross-reference or object stream: how a revision is stored, not what it says."""
    return isinstance(obj, pikepdf.Stream) and obj.stream_dict.get("/Type") in (pikepdf.Name.XRef,
                                                                                pikepdf.Name.ObjStm)


def summary(found: Changes, names: dict) -> str:
    """`changes the embedded file appeal.yaml and page 1's content, adds 2 objects`."""
    touched = sorted({names.get(objgen, f"object {objgen[0]}") for objgen, _, _ in found.changed})
    added = [obj for obj in found.added if not bookkeeping(obj)]
    parts = []
    if touched:
        more = f" and {len(touched) - 5} more" if len(touched) > 5 else ""
        parts.append("changes " + ", ".join(touched[:5]) + more)
    if added:
        parts.append(f"adds {len(added)} object{'s' if len(added) != 1 else ''} "
                     f"({', '.join(describe(obj) for obj in added[:3])}{', …' if len(added) > 3 else ''})")
    if found.freed:
        parts.append(f"deletes {len(found.freed)} objects")
    return "; ".join(parts) or "changes nothing a reader meets"


def describe(obj: pikepdf.Object) -> str:
    """An object in a few words: its /Type and /Subtype, or what it is."""
    entries = obj.stream_dict if isinstance(obj, pikepdf.Stream) else obj
    kind = ("stream" if isinstance(obj, pikepdf.Stream)
            else "dictionary" if isinstance(obj, pikepdf.Dictionary)
            else "array" if isinstance(obj, pikepdf.Array) else "value")
    if isinstance(entries, pikepdf.Dictionary):
        words = [str(entries.get(key, "")).lstrip("/") for key in ("/Type", "/Subtype", "/FT")]
        words = [w for w in words if w]
        if words:
            return f"object {obj.objgen[0]}, {' '.join(words)} {kind}"
    return f"object {obj.objgen[0]}, {'an' if kind[0] in 'aeiou' else 'a'} {kind}"


# The signature's revision: what pyHanko writes to sign, and nothing more.
_SIGNATURE_KEYS = {"/Type", "/Filter", "/SubFilter", "/ByteRange", "/Contents", "/M", "/Reason", "/Location",
                   "/Name", "/ContactInfo", "/Prop_Build"}
_WIDGET_KEYS = {"/Type", "/Subtype", "/FT", "/T", "/F", "/P", "/Rect", "/V"}
_FORM_KEYS = {"/Fields", "/SigFlags"}
_ESIC = {"/ESIC": {"/Type": ("name", "/DeveloperExtensions"), "/BaseVersion": ("name", "/1.7"),
                   "/ExtensionLevel": 1}}
# What pyHanko declares besides when it signs with ECDSA on a curve ISO/TS 32002 names (P-256,
# P-384, P-521): that extension, and /Version /2.0 (pyhanko.sign.signers.constants.ISO32002).
_ISO32002 = {"/ISO_": [{"/Type": ("name", "/DeveloperExtensions"), "/BaseVersion": ("name", "/2.0"),
                        "/ExtensionLevel": 32002, "/ExtensionRevision": ("string", b":2022"),
                        "/URL": ("string", b"https://www.iso.org/standard/45875.html")}]}
_EXTENSIONS = (_ESIC, {**_ESIC, **_ISO32002})
_VERSIONS = (pikepdf.Name("/1.7"), pikepdf.Name("/2.0"))


def signature_revision_problems(before: pikepdf.Pdf, after: pikepdf.Pdf) -> list[str]:
    """What the revision that signed the file changes beyond the signature: nothing, or each change
    named. Allowed: one signature dictionary; the signature field that holds it (the archive's
    empty field filled, or an invisible field added to page 1 of a letter pack, with no appearance);
    the form's /SigFlags and /Fields; the catalogue's ESIC extension and /Version 1.7."""
    found = changes(before, after)
    names = roles(before)
    problems: list[str] = []
    expected: dict[tuple[int, int], str] = {}  # new objects the changes refer to, and what they must be
    pages = {page.objgen for page in before.pages}

    queue: list[tuple[int, int]] = []

    def refer(value: Any, kind: str, where: str) -> None:
        if not (isinstance(value, pikepdf.Object) and value.is_indirect) or value.objgen not in added:
            problems.append(f"{where} refers to something other than a new {kind}")
        elif expected.get(value.objgen, kind) != kind:
            problems.append(f"{where} refers to object {value.objgen[0]} as a {kind}, elsewhere as a "
                            f"{expected[value.objgen]}")
        elif value.objgen not in expected:
            expected[value.objgen] = kind
            queue.append(value.objgen)

    added = {obj.objgen: obj for obj in found.added}
    for objgen, old, new in found.changed:
        role = names.get(objgen, f"object {objgen[0]}")
        if not (isinstance(old, pikepdf.Dictionary) and isinstance(new, pikepdf.Dictionary)):
            problems.append(f"it changes {role}")
            continue
        keys = sorted(key for key in set(old.keys()) | set(new.keys())
                      if key not in old or key not in new
                      or shallow(old[key], False) != shallow(new[key], False))
        for key in keys:
            grown = key not in old  # only entries that were not there may be added
            root = objgen == before.Root.objgen
            if root and grown and key == "/Extensions" and shallow(new[key], False) in _EXTENSIONS:
                continue
            if root and grown and key == "/Version" and new[key] in _VERSIONS:
                continue
            if root and grown and key == "/AcroForm":
                refer(new[key], "form", "the catalogue's new /AcroForm")
                continue
            if new.get("/FT") == pikepdf.Name.Sig and grown and key == "/V" and "/V" not in old:
                refer(new[key], "signature", f"the value of {role}")
                continue
            if names.get(objgen) == "the form" and key == "/SigFlags" and new[key] in (1, 2, 3):
                continue
            if names.get(objgen) == "the form" and key == "/Fields" and not grown:
                appended(old[key], new[key], "widget", f"{role} /Fields", refer, problems)
                continue
            if objgen in pages and key == "/Annots":
                appended(old.get(key, pikepdf.Array()), new[key], "widget", f"{role} /Annots", refer,
                          problems)
                continue
            problems.append(f"it changes {role} at {key}")
    while queue:
        objgen = queue.pop()
        obj, kind = added[objgen], expected[objgen]
        entries = set(obj.keys()) if isinstance(obj, pikepdf.Dictionary) else None
        where = f"its new {kind} (object {objgen[0]})"
        if kind == "signature":
            if entries is None or isinstance(obj, pikepdf.Stream) or not entries <= _SIGNATURE_KEYS or \
                    obj.get("/Type") != pikepdf.Name.Sig:
                problems.append(f"{where} is not a signature dictionary")
        elif kind == "form":
            if entries is None or isinstance(obj, pikepdf.Stream) or not entries <= _FORM_KEYS:
                problems.append(f"{where} holds more than signature fields")
            else:
                for field in obj.get("/Fields", []):
                    refer(field, "widget", f"{where} /Fields")
        elif kind == "widget":
            rect = obj.get("/Rect") if entries is not None else None
            if entries is None or isinstance(obj, pikepdf.Stream) or not entries <= _WIDGET_KEYS or \
                    obj.get("/FT") != pikepdf.Name.Sig or \
                    not (isinstance(rect, pikepdf.Array) and all(value == 0 for value in rect)):
                problems.append(f"{where} is not an invisible signature field without an appearance")
            elif "/V" in obj:
                refer(obj.V, "signature", where)
    signatures = [objgen for objgen, kind in expected.items() if kind == "signature"]
    if len(signatures) != 1 and not problems:
        problems.append(f"it adds {len(signatures)} signatures; an edition is signed once")
    strays = [obj for objgen, obj in added.items() if objgen not in expected and not bookkeeping(obj)]
    if strays:
        problems.append(f"it adds {len(strays)} objects that are not part of the signature "
                        f"({', '.join(describe(obj) for obj in strays[:3])})")
    if found.freed:
        problems.append(f"it deletes {len(found.freed)} objects "
                        f"({', '.join(names.get(o, f'object {o[0]}') for o in found.freed[:3])})")
    return problems


def appended(old: Any, new: Any, kind: str, where: str, refer, problems: list[str]) -> None:
    """`new` is the array `old` with new objects of `kind` appended."""
    if not isinstance(old, pikepdf.Array) or not isinstance(new, pikepdf.Array) or len(new) <= len(old) or \
            [shallow(item, False) for item in new[:len(old)]] != [shallow(item, False) for item in old]:
        problems.append(f"it changes {where} other than by adding to it")
        return
    for item in new[len(old):]:
        refer(item, kind, where)
