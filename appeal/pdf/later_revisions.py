"""What a revision after the signature may change: long-term validation data and document timestamps.

PAdES B-LT and B-LTA (pdf/ltv.py, ETSI EN 319 142-1) append revisions to a signed edition: the
document security store with the certificates, OCSP responses and CRLs it lists, and document
timestamps, each in a signature field of its own outside the page. `validation_revision_problems`
names whatever else such a revision changes, as pdf/revisions.py does for the signature's.
"""

from __future__ import annotations

from typing import Any

import pikepdf

from appeal.pdf.revisions import appended, bookkeeping, changes, describe, roles, shallow

# What a revision of long-term validation may hold (pdf/ltv.py, ETSI EN 319 142-1): the document
# security store, the certificates, OCSP responses and CRLs it lists, and document timestamps.
_DSS_KEYS = {"/Type", "/Certs", "/OCSPs", "/CRLs", "/VRI"}
_DSS_LISTS = {"/Certs": "certificate", "/OCSPs": "OCSP response", "/CRLs": "CRL"}
_TIMESTAMP_WIDGET_KEYS = {"/Type", "/Subtype", "/FT", "/T", "/TU", "/F", "/P", "/Rect", "/V", "/AP"}
_TIMESTAMP_KEYS = {"/Type", "/Filter", "/SubFilter", "/ByteRange", "/Contents"}


def validation_revision_problems(before: pikepdf.Pdf, after: pikepdf.Pdf) -> list[str]:
    """What a revision after the signature's changes beyond long-term validation: nothing, or each
    change named. Allowed: the catalogue's /DSS, made or replaced; the store's lists, each item a
    certificate, an OCSP response or a CRL (read as such); a document timestamp: a new invisible
    signature field outside the crop box of a page, holding a /DocTimeStamp, appended to the form's
    /Fields and to that page's /Annots."""
    found = changes(before, after)
    names = roles(before)
    added = {obj.objgen: obj for obj in found.added}
    expected: dict[tuple[int, int], str] = {}
    problems: list[str] = []
    pages = {page.objgen: page for page in after.pages}

    def refer(value: Any, kind: str, where: str, *, old_ok: bool = False) -> None:
        if not (isinstance(value, pikepdf.Object) and value.is_indirect):
            if kind not in ("store", "list"):
                problems.append(f"{where} holds a {kind} that is not an object of its own")
            return
        if value.objgen not in added:
            if not old_ok:
                problems.append(f"{where} refers to something other than a new {kind}")
            return
        if expected.setdefault(value.objgen, kind) != kind:
            problems.append(f"{where} refers to object {value.objgen[0]} as a {kind}, elsewhere as a "
                            f"{expected[value.objgen]}")

    root = before.Root.objgen
    store = after.Root.get("/DSS")
    for objgen, old, new in found.changed:
        role = names.get(objgen, f"object {objgen[0]}")
        if _listed_in_store(new, after):  # the store or one of its lists, grown
            _store(store, refer, problems)
            continue
        if isinstance(old, pikepdf.Array) and isinstance(new, pikepdf.Array) and \
                role.endswith("'s annotations"):
            appended(old, new, "timestamp field", role, refer, problems)
            continue
        if not (isinstance(old, pikepdf.Dictionary) and isinstance(new, pikepdf.Dictionary)):
            problems.append(f"it changes {role}")
            continue
        for key in sorted(key for key in set(old.keys()) | set(new.keys())
                          if key not in old or key not in new
                          or shallow(old[key], False) != shallow(new[key], False)):
            if objgen == root and key == "/DSS" and key in new:
                refer(new[key], "store", "the catalogue's /DSS", old_ok=True)
                _store(new[key], refer, problems)
            elif names.get(objgen) == "the form" and key == "/Fields" and key in old:
                appended(old[key], new[key], "timestamp field", "the form's /Fields", refer, problems)
            elif objgen in pages and key == "/Annots" and key not in old:
                appended(pikepdf.Array(), new[key], "timestamp field", f"{role} /Annots", refer, problems)
            elif objgen in pages and key == "/Annots":
                refer(new[key], "list", f"{role} /Annots", old_ok=True)
            else:
                problems.append(f"it changes {role} at {key}")
    for objgen, kind in list(expected.items()):
        obj = added[objgen]
        where = f"its new {kind} (object {objgen[0]})"
        if kind == "timestamp field":
            entries = set(obj.keys()) if isinstance(obj, pikepdf.Dictionary) and \
                not isinstance(obj, pikepdf.Stream) else None
            page = obj.get("/P") if entries is not None else None
            if entries is None or not entries <= _TIMESTAMP_WIDGET_KEYS \
                    or obj.get("/FT") != pikepdf.Name.Sig or not isinstance(page, pikepdf.Dictionary) \
                    or page.objgen not in pages \
                    or not _outside(obj.get("/Rect"), pages[page.objgen]):
                problems.append(f"{where} is not an empty signature field outside the page")
                continue
            stamp = obj.get("/V")
            refer(stamp, "document timestamp", where)
            appearance = obj.get("/AP", {}).get("/N") if "/AP" in obj else None
            if appearance is not None:
                refer(appearance, "empty appearance", where)
        elif kind == "document timestamp":
            if not isinstance(obj, pikepdf.Dictionary) or isinstance(obj, pikepdf.Stream) or \
                    not set(obj.keys()) <= _TIMESTAMP_KEYS or obj.get("/Type") != pikepdf.Name.DocTimeStamp:
                problems.append(f"{where} is not a document timestamp")
        elif kind == "empty appearance" and (
                not isinstance(obj, pikepdf.Stream) or obj.read_bytes().strip() not in (b"", b"q Q")):
            problems.append(f"{where} draws something")
    for objgen, obj in added.items():
        if objgen in expected or bookkeeping(obj):
            continue
        if not _listed_in_store(obj, after):
            problems.append(f"it adds an object that is not part of long-term validation ({describe(obj)})")
    stamps = [objgen for objgen, kind in expected.items() if kind == "document timestamp"]
    if len(stamps) > 1:
        problems.append(f"it adds {len(stamps)} document timestamps; each has a revision of its own")
    if found.freed:
        problems.append(f"it deletes {len(found.freed)} objects "
                        f"({', '.join(names.get(o, f'object {o[0]}') for o in found.freed[:3])})")
    return problems


def _store(store: Any, refer, problems: list[str]) -> None:
    """The document security store: only its own keys, each list of certificates, OCSP responses
    or CRLs holding streams that read as one (new or kept from before)."""
    if not isinstance(store, pikepdf.Dictionary) or isinstance(store, pikepdf.Stream) or \
            not set(store.keys()) <= _DSS_KEYS:
        problems.append("its /DSS is not a document security store")
        return
    for key, what in _DSS_LISTS.items():
        listed = store.get(key)
        if listed is None:
            continue
        if not isinstance(listed, pikepdf.Array):
            problems.append(f"its /DSS {key} is not a list")
            continue
        for item in listed:
            if not isinstance(item, pikepdf.Stream) or not _reads_as(item.read_bytes(), what):
                problems.append(f"its /DSS {key} holds something other than a {what}")
                break


def _reads_as(der: bytes, what: str) -> bool:
    from asn1crypto import crl, ocsp, x509

    kind = {"certificate": x509.Certificate, "OCSP response": ocsp.OCSPResponse, "CRL": crl.CertificateList}
    try:
        kind[what].load(der, strict=True).native  # noqa: B018 (parses every field)
    except (ValueError, TypeError, KeyError):
        return False
    return True


def _listed_in_store(obj: pikepdf.Object, pdf: pikepdf.Pdf) -> bool:
    """A new object is the store itself, one of its lists or an item of one."""
    store = pdf.Root.get("/DSS")
    if not isinstance(store, pikepdf.Dictionary):
        return False
    if store.is_indirect and obj.objgen == store.objgen:
        return True
    for key in _DSS_LISTS:
        listed = store.get(key)
        if isinstance(listed, pikepdf.Array):
            if listed.is_indirect and obj.objgen == listed.objgen:
                return True
            if any(item.is_indirect and item.objgen == obj.objgen for item in listed):
                return True
    return False


def _outside(rect: Any, page: pikepdf.Dictionary) -> bool:
    """A zero-size rectangle outside the page's crop box (its media box when it has none)."""
    box = page.get("/CropBox", page.get("/MediaBox"))
    try:
        x1, y1, x2, y2 = (float(value) for value in rect)
        left, bottom, right, top = (float(value) for value in box)
    except (TypeError, ValueError):
        return False
    return x1 == x2 and y1 == y2 and not (left <= x1 <= right and bottom <= y1 <= top)
