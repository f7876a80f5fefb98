"""`build.py verify`: is this PDF an unchanged archival edition of the appeal? One line per check.

Reading a file's text can never prove what its reader sees: a white box over a paragraph, a
sentence drawn as an artifact, a note in the margin leave the text of the source in place. So
verify rebuilds the edition from the source embedded in the file and compares:

- With the same stack and the same fingerprint (this tool's code, templates, styles, fonts and
  words), the build is reproducible: the file must be the rebuild, byte for byte.
- Otherwise (another version of WeasyPrint's font subsetter, of pikepdf, of this tool), every page
  must render pixel for pixel as the rebuild's does, with the same text, page boxes, annotations,
  attachments, tags, outline and metadata. The line says which proof was given.

Either way a difference is named with its page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import pikepdf
from pypdf import PdfReader

from .archive import ENDORSEMENTS_MIME, SOURCE_MIME, SOURCE_NAME, TOOL
from .endorsements import EMBEDDED_NAME, Endorsements, load_endorsements
from .endorsements import LIMIT as ENDORSEMENTS_LIMIT
from .errors import UserError, printable
from .model import APPEAL_LIMIT, Appeal, load_appeal
from .output import write_atomically
from .source import read_limited

# What line breaking and hyphenation may change: white space and hyphens (-, U+2010, soft hyphen).
_BREAKS = re.compile(r"[\s\-\u2010\u00ad]+")
# The resolution pages are compared at: a letter of 8 pt body text is about 17 pixels high.
COMPARE_DPI = 150
# The largest file verify reads: the archive of 5,000 signatories has 5 MB.
PDF_LIMIT = 256 * 2**20
# The creator mark the archive carries (archive.ArchiveFacts.creator_tool).
_CREATOR = re.compile(rf"{TOOL} (?P<version>\S+) \((?P<edition>[^;()]+); "
                      r"fingerprint (?P<fingerprint>[0-9a-f]+)\); (?P<stack>.+)")


def squash(text: str) -> str:
    return _BREAKS.sub("", text)


@dataclass
class Check:
    ok: bool
    what: str
    note: bool = False  # neither proven nor failed: said, and left to the reader

    def line(self) -> str:
        return f"{'note' if self.note else 'ok  ' if self.ok else 'FAIL'}  {self.what}"


def missing_in_order(page_text: str, expected: list[str]) -> list[str]:
    """The expected texts that do not occur in the page text in order (compared ignoring breaks)."""
    text, position, missing = squash(page_text), 0, []
    for item in expected:
        found = text.find(squash(item), position)
        if found < 0:
            missing.append(item)
        else:
            position = found + len(squash(item))
    return missing


def expected_texts(appeal: Appeal, endorsements: Endorsements | None = None) -> list[str]:
    texts = [appeal.title, appeal.publication, *appeal.body]
    for number, signatory in enumerate(appeal.signatories, 1):
        texts += [f"{number}. {signatory.name}", signatory.role]
    if endorsements is not None:
        for group in endorsements.groups("", len(appeal.signatories) + 1):
            for number, entry in group.numbered():
                texts += [f"{number}. {entry.name}", entry.detail]
    return [text for text in texts if text]


def reading_text(pdf_data: bytes) -> str:
    """The text a reader reads: every page's text less its artifacts (running footers, page numbers)."""
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
    copy.seek(0)
    return "\n".join(page.extract_text() or "" for page in PdfReader(copy).pages)


@dataclass(frozen=True)
class Mark:
    """What the file says made it: xmp:CreatorTool, read apart."""

    creator: str
    version: str = ""
    edition: str = ""
    fingerprint: str = ""
    stack: str = ""

    @property
    def ours(self) -> bool:
        return bool(self.stack)


def _mark(pdf: pikepdf.Pdf) -> Mark:
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        creator = str(meta.get("xmp:CreatorTool", ""))
    match = _CREATOR.fullmatch(creator)
    return Mark(creator, **match.groupdict()) if match else Mark(creator)


def _modified(pdf: pikepdf.Pdf) -> dt.datetime | None:
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        text = str(meta.get("xmp:ModifyDate", ""))
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def embedded_source(pdf: pikepdf.Pdf) -> tuple[bytes | None, Check]:
    """The appeal's source data embedded in the file, and the check line about it."""
    source, check = embedded_file(pdf, SOURCE_NAME, SOURCE_MIME, APPEAL_LIMIT, "the appeal data")
    return source, check or Check(False, f"embedded source data: no attachment named {SOURCE_NAME}")


def embedded_file(pdf: pikepdf.Pdf, name: str, mime_type: str, limit: int,
                  what: str) -> tuple[bytes | None, Check | None]:
    """An associated file of the archive, read no further than `limit` (a small compressed stream
    can inflate to gigabytes), and the check line about it; (None, None) when there is none."""
    spec = pdf.attachments.get(name)
    if spec is None:
        return None, None
    stream = spec.get_file()
    raw = stream.obj.read_raw_bytes()
    filters = stream.obj.get("/Filter")
    filters = list(filters) if isinstance(filters, pikepdf.Array) else [] if filters is None else [filters]
    if filters == [pikepdf.Name.FlateDecode]:
        inflate = zlib.decompressobj()
        try:
            content = inflate.decompress(raw, limit + 1)
        except zlib.error as exc:
            return None, Check(False, f"embedded source data {name}: cannot be decompressed ({exc})")
    elif not filters:
        content = raw
    else:
        return None, Check(False, f"embedded source data {name}: encoded with "
                                  f"{' '.join(map(str, filters))}, which this tool never writes")
    if len(content) > limit:
        return None, Check(False, f"embedded source data {name}: larger than {limit // 2**20} MB, the "
                                  f"limit for {what}")
    mime = str(stream.mime_type)
    relationship = str(spec.obj.get("/AFRelationship", ""))
    in_af = any(item.objgen == spec.obj.objgen for item in pdf.Root.get("/AF", []))
    return content, Check(mime == mime_type and relationship == "/Source" and in_af,
                          f"embedded source data {name}: {len(content)} bytes, MIME {mime or 'none'}, "
                          f"relationship {relationship.lstrip('/') or 'none'}"
                          f"{'' if in_af else ', not an associated file (/AF)'}")


def open_pdf(data: bytes, name: str) -> pikepdf.Pdf:
    try:
        return pikepdf.open(BytesIO(data))
    except pikepdf.PasswordError:
        raise UserError(f"{name}: is encrypted with a password; an archival edition never is") from None
    except pikepdf.PdfError as exc:
        raise UserError(f"{name}: not a readable PDF ({exc})") from None


def checks(data: bytes, name: str, words_path: Path, trust: Sequence[Path] = (),
           rebuild: bool = True) -> Iterator[Check]:
    """Each check in turn; stops early only where the next checks need what failed.

    A signed file's signature is checked first; the edition's own checks then read the file as it
    was before it was signed (its first revision), and the signed file must look the same. The
    build runs them all but the rebuild on every archive it writes (it is the rebuild).
    """
    with open_pdf(data, name) as pdf:
        signed = has_signature(pdf)
        mark = _mark(pdf)
        letters = is_letters(pdf)
    edition = data
    if signed:
        from .signing import signatures, unsigned_revision

        yield from signature_checks(signatures(data, list(trust)))
        edition = unsigned_revision(data)
    if letters and not mark.ours:
        yield (Check(True, "a letter pack or print file of this tool: the recipients' data is not inside "
                           "it, so its pages are not rebuilt; the signature vouches for them") if signed else
               Check(False, "a letter pack or print file of this tool, not signed: nothing in it proves "
                            "who made it or that it is unchanged (sign it with build.py sign)"))
        return
    with open_pdf(edition, name) as pdf:
        yield Check(mark.ours, f"made by {mark.creator}" if mark.ours else
                    f"not made by {TOOL}: xmp:CreatorTool is {mark.creator or 'missing'}")
        source, check = embedded_source(pdf)
        yield check
        if source is None:
            return
        endorsements_raw, check = embedded_file(pdf, EMBEDDED_NAME, ENDORSEMENTS_MIME, ENDORSEMENTS_LIMIT,
                                                "the endorsements")
        if check is not None:
            yield check
            if endorsements_raw is None:
                return
        modified = _modified(pdf)
    sha256 = hashlib.sha256(source).hexdigest()
    page_text = reading_text(edition)
    for label, content in (("source", source), ("endorsements", endorsements_raw)):
        if content is not None:
            digest = hashlib.sha256(content).hexdigest()
            printed = digest in page_text
            yield Check(printed, f"{label} SHA-256 {digest} {'is' if printed else 'is not'} the one printed "
                                 "in the colophon")
    try:
        appeal, _ = load_appeal(Path(f"{name}:{SOURCE_NAME}"), source)
        endorsements = load_endorsements(Path(f"{name}:{EMBEDDED_NAME}"), endorsements_raw) \
            if endorsements_raw is not None else None
    except UserError as exc:
        yield Check(False, f"embedded source is not valid data: {exc}")
        return
    missing = missing_in_order(page_text, expected_texts(appeal, endorsements))
    endorsed = f", {len(endorsements.published)} endorsements" if endorsements else ""
    yield Check(not missing, (
        f"page text matches the source: title, {len(appeal.body)} paragraphs, "
        f"{len(appeal.signatories)} signatories{endorsed}, in order") if not missing else
        f"page text differs from the source at: {missing[0][:70]!r} ({len(missing)} passages)")
    if rebuild and mark.ours:
        yield from compare_with_rebuild(edition, name, source, endorsements_raw, words_path, mark, modified)
    if signed:
        changes = list(_looks_different(data, edition))
        yield Check(not changes, "signing changed nothing on the pages: each renders and reads as before"
                    if not changes else f"signing changed what a reader sees: {changes[0]}")
    yield from validation(data)
    if mark.ours:
        yield Check(True, f"edition: {mark.edition}; source SHA-256: {sha256}")


def has_signature(pdf: pikepdf.Pdf) -> bool:
    """Whether a signature field of the file holds a signature."""
    pending = list(pdf.Root.get("/AcroForm", {}).get("/Fields", []))
    while pending:
        field = pending.pop()
        if field.get("/FT") == pikepdf.Name.Sig and "/V" in field:
            return True
        pending.extend(field.get("/Kids", []))
    return False


def is_letters(pdf: pikepdf.Pdf) -> bool:
    """A letter pack or a print file: the tool names itself their producer (letters.py)."""
    return str(pdf.docinfo.get("/Producer", "")) == TOOL


def signature_checks(reports) -> Iterator[Check]:
    """The lines verify prints for each signature (signing.signatures validates them)."""
    for report in reports:
        who = (f"signed by {report.signer}, certificate SHA-256 {report.fingerprint}, "
               f"signing time {report.signed_at}")
        if report.problem:
            yield Check(False, f"{who}: the signature cannot be validated: {report.problem}")
            continue
        yield Check(report.intact, f"{who}: the signature is intact" if report.intact else
                    f"{who}: the signature is NOT intact: the signed bytes were changed")
        yield Check(report.whole_file, "the signature covers the whole file: nothing was appended after it"
                    if report.whole_file else "bytes were appended after signing (an incremental update): "
                    "what they change is not covered by the signature")
        if report.trusted is None:
            yield Check(True, "the signer's certificate chain is not checked (give the certificate you "
                              "trust with --trust CA.pem)", note=True)
        else:
            yield Check(report.trusted, "the signer's certificate chains to a certificate given with --trust"
                        if report.trusted else "the signer's certificate does not chain to any certificate "
                        "given with --trust")
        if report.timestamp:
            yield Check("NOT" not in report.timestamp, f"timestamp (RFC 3161): {report.timestamp}")


def _looks_different(data: bytes, before: bytes) -> Iterator[str]:
    """What signing changed that a reader could see: the pages' rendering and text."""
    import pypdfium2 as pdfium

    documents = pdfium.PdfDocument(data), pdfium.PdfDocument(before)
    try:
        if len(documents[0]) != len(documents[1]):
            yield f"it has {len(documents[0])} pages, {len(documents[1])} before signing"
        for index in range(min(len(documents[0]), len(documents[1]))):
            yield from _page_differences(index, documents[0][index], documents[1][index])
    finally:
        for document in documents:
            document.close()


def compare_with_rebuild(edition: bytes, name: str, source: bytes, endorsements: bytes | None,
                         words_path: Path, mark: Mark, modified: dt.datetime | None) -> Iterator[Check]:
    """Rebuild the archive from its embedded sources as the file says it was made, and compare."""
    from . import editions
    from .data import load_data
    from .render import Renderer, source_date_epoch
    from .versions import stack

    try:
        content = load_data(Path(f"{name}:{SOURCE_NAME}"), words_path,
                            Path(f"{name}:{EMBEDDED_NAME}") if endorsements is not None else None,
                            appeal_raw=source, endorsements_raw=endorsements)
        facts = editions.archive_facts(content)
        # The colophon prints the stack the file claims; the rebuild prints the same.
        claimed = dataclasses.replace(facts, stack=mark.stack, modified=modified or facts.modified)
        with source_date_epoch(claimed.modified):
            rebuilt = editions.archive(Renderer(), content, claimed).data
    except UserError as exc:
        yield Check(False, f"the edition cannot be rebuilt from its embedded source: {exc}")
        return
    same = facts.fingerprint == mark.fingerprint and stack() == mark.stack
    if rebuilt == edition:
        yield Check(True, "identical, byte for byte, to the edition rebuilt from its embedded source with "
                          f"{'this stack and' if same else 'the stack it names and'} fingerprint "
                          f"{facts.fingerprint}: every page is as published")
        return
    differences = list(differences_from(edition, rebuilt, fonts=same))
    if same:
        if not differences:
            at = next((i for i, (a, b) in enumerate(zip(edition, rebuilt, strict=False)) if a != b),
                      min(len(edition), len(rebuilt)))
            differences = [f"the file differs from the rebuild from byte {at:,} on (the rebuild has "
                           f"{len(rebuilt):,} bytes, the file {len(edition):,}); its pages look the same"]
        for difference in differences[:12]:
            yield Check(False, f"differs from the edition rebuilt from its embedded source: {difference}")
        return
    made_by = (f"the file was made with fingerprint {mark.fingerprint} and {mark.stack}; this is "
               f"fingerprint {facts.fingerprint} with {stack()}")
    if not differences:
        yield Check(True, f"every page renders pixel for pixel (at {COMPARE_DPI} dpi) as in the edition "
                          "rebuilt from its embedded source, with the same text, page boxes, annotations, "
                          "attachments, tags, outline and metadata; not compared byte for byte, as "
                          f"{made_by}")
        return
    for difference in differences[:12]:
        yield Check(False, f"differs from the edition rebuilt from its embedded source: {difference}")
    yield Check(False, f"note: {made_by}; a difference may come from that: for a byte-for-byte rebuild, "
                       "install the stack the file names and check out the commit with its fingerprint")


def differences_from(data: bytes, rebuilt: bytes, fonts: bool) -> Iterator[str]:
    """What a reader could see differ between two PDFs, each named with its page: page count and
    boxes, each page's rendering and text, its annotations and other entries, and the document's
    catalogue (attachments, tags, outline, actions), information and XMP metadata. With `fonts`
    False, the font programs and the stack named in the metadata may differ."""
    import pypdfium2 as pdfium

    with pikepdf.open(BytesIO(data)) as mine, pikepdf.open(BytesIO(rebuilt)) as theirs:
        if len(mine.pages) != len(theirs.pages):
            yield f"it has {len(mine.pages)} pages, the rebuild {len(theirs.pages)}"
        pages_mine = {page.objgen: index for index, page in enumerate(mine.pages)}
        pages_theirs = {page.objgen: index for index, page in enumerate(theirs.pages)}
        for number, (a, b) in enumerate(zip(mine.pages, theirs.pages, strict=False), 1):
            where = _first_difference(_page_entries(a, pages_mine), _page_entries(b, pages_theirs))
            if where is not None:
                yield f"page {number}: its entry {where or 'itself'} differs (annotations, boxes, actions)"
            if fonts:
                where = _first_difference(_canonical(a.obj.get("/Resources"), pages_mine),
                                          _canonical(b.obj.get("/Resources"), pages_theirs))
                if where is not None:
                    yield f"page {number}: its resources differ at /Resources{where} (fonts, images)"
        skip = {"/Pages", "/Metadata"}
        where = _first_difference(_canonical(mine.Root, pages_mine, skip),
                                  _canonical(theirs.Root, pages_theirs, skip))
        if where is not None:
            yield f"the document catalogue differs at {where} (attachments, tags, outline or actions)"
        info_skip = set() if fonts else {"/Creator", "/Producer"}
        where = _first_difference(_canonical(mine.trailer.get("/Info"), pages_mine, info_skip),
                                  _canonical(theirs.trailer.get("/Info"), pages_theirs, info_skip))
        if where is not None:
            yield f"the document information differs at {where or 'its whole'}"
        if _xmp(mine, fonts) != _xmp(theirs, fonts):
            yield "the XMP metadata differs"
    documents = pdfium.PdfDocument(data), pdfium.PdfDocument(rebuilt)
    try:
        for index in range(min(len(documents[0]), len(documents[1]))):
            yield from _page_differences(index, documents[0][index], documents[1][index])
    finally:
        for document in documents:
            document.close()


def _page_differences(index: int, mine, theirs) -> Iterator[str]:
    from PIL import ImageChops

    number = index + 1
    text_mine, text_theirs = mine.get_textpage().get_text_range(), theirs.get_textpage().get_text_range()
    if text_mine != text_theirs:
        at = next((i for i, (a, b) in enumerate(zip(text_mine, text_theirs, strict=False)) if a != b),
                  min(len(text_mine), len(text_theirs)))
        yield (f"page {number}: its text differs from the rebuild's at {text_mine[at:at + 40]!r} "
               f"(the rebuild has {text_theirs[at:at + 40]!r})")
    scale = COMPARE_DPI / 72
    image_mine = mine.render(scale=scale, may_draw_forms=True).to_pil().convert("RGB")
    image_theirs = theirs.render(scale=scale, may_draw_forms=True).to_pil().convert("RGB")
    if image_mine.size != image_theirs.size:
        yield f"page {number}: its size differs from the rebuild's"
        return
    box = ImageChops.difference(image_mine, image_theirs).getbbox()
    if box:
        mm = 25.4 / COMPARE_DPI
        left, top, right, bottom = (round(v * mm) for v in box)
        yield (f"page {number}: looks different from the rebuild in the area {left} to {right} mm from "
               f"the left, {top} to {bottom} mm from the top")


def _page_entries(page: pikepdf.Page, pages: dict) -> dict:
    """A page's own entries (boxes, annotations, actions, groups), but its content and resources."""
    seen: dict = {}
    return {key: _canonical(value, pages, frozenset(), seen) for key, value in page.obj.items()
            if key not in ("/Parent", "/Contents", "/Resources")}


def _xmp(pdf: pikepdf.Pdf, fonts: bool) -> str:
    metadata = pdf.Root.get("/Metadata")
    text = metadata.read_bytes().decode("utf-8", "replace") if metadata is not None else ""
    if not fonts:
        text = re.sub(r"<(xmp:CreatorTool|pdf:Producer)>.*?</\1>", "", text, flags=re.S)
    return text


def _canonical(obj: Any, pages: dict, skip: set[str] = frozenset(), seen: dict | None = None) -> Any:
    """`obj` as plain Python values that two files can be compared by, independent of object
    numbers: a page as its number, a stream as its decoded data's SHA-256, an object met again
    as the order in which it was first met (outline and structure trees refer back)."""
    seen = {} if seen is None else seen
    if isinstance(obj, pikepdf.Object) and obj.is_indirect:
        if obj.objgen in pages:
            return ("page", pages[obj.objgen])
        if obj.objgen in seen:
            return ("again", seen[obj.objgen])
        seen[obj.objgen] = len(seen)
    if isinstance(obj, pikepdf.Stream):
        try:
            content = hashlib.sha256(obj.read_bytes()).hexdigest()
        except pikepdf.PdfError:
            content = hashlib.sha256(obj.read_raw_bytes()).hexdigest()
        entries = {k: _canonical(v, pages, frozenset(), seen) for k, v in obj.stream_dict.items()
                   if k not in ("/Length", "/Filter", "/DecodeParms")}
        return ("stream", content, entries)
    if isinstance(obj, pikepdf.Dictionary):
        return {key: _canonical(value, pages, frozenset(), seen) for key, value in obj.items()
                if key not in skip}
    if isinstance(obj, pikepdf.Array):
        return [_canonical(item, pages, frozenset(), seen) for item in obj]
    if isinstance(obj, pikepdf.Name | pikepdf.String):
        return (type(obj).__name__, bytes(obj) if isinstance(obj, pikepdf.String) else str(obj))
    return obj


def _first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """The key path of the first place where two canonical values differ, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}{key}"
            found = _first_difference(a[key], b[key], f"{path}{key}")
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path} ({len(a)} items, the rebuild {len(b)})"
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _first_difference(x, y, f"{path}[{index}]")
            if found is not None:
                return found
        return None
    return None if a == b else path


def validation(data: bytes) -> Iterator[Check]:
    """PDF/A-3a and PDF/UA-1 by the page-validation rules, failed rules named."""
    import tempfile

    import page

    # page-validation reads a file by its name.
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(data)
        file.flush()
        for profile, label in (("3a", "PDF/A-3a"), ("ua1", "PDF/UA-1")):
            report = page.validate_pdf(file.name, profile=profile)
            failed = sorted({f.rule_id for f in report.failures})
            yield Check(report.is_compliant and not failed,
                        f"{label}: {'no failed rules' if not failed else 'failed ' + ', '.join(failed[:6])}")


def self_check(data: bytes, name: str) -> None:
    """The checks of verify but the rebuild, on an archive just built: a build never hands out an
    archive that fails them (a UserError lists the failures, and nothing is written)."""
    failed = [check.line() for check in checks(data, name, Path(), rebuild=False) if not check.ok]
    if failed:
        raise UserError(f"{name}: the archive just built fails verify, so the build stops and writes "
                        "nothing:\n  " + "\n  ".join(failed))


def _extract_target(target: Path) -> None:
    """Fail before any work when `--extract` could not be written."""
    if target.is_dir():
        raise UserError(f"--extract {target}: is a folder; name the file to write, such as "
                        f"{target / SOURCE_NAME}")
    if not target.parent.is_dir():
        raise UserError(f"--extract {target}: the folder {target.parent} does not exist")


def run(path: Path, extract: Path | None, words_path: Path, trust: Sequence[Path] = ()) -> int:
    """`build.py verify`: print one line per check; 0 when every check holds, 1 otherwise."""
    if extract is not None:
        _extract_target(extract)
    data = read_limited(path, "archival edition to verify", PDF_LIMIT)
    results = []
    for check in checks(data, str(path), words_path, trust):
        print(printable(check.line()), flush=True)
        results.append(check.ok)
    verdict = bool(results) and all(results)
    with open_pdf(data, str(path)) as pdf:
        kind = "a letter pack, unchanged since it was signed" if is_letters(pdf) else \
            "an unchanged archival edition of the appeal"
    print(printable(f"{path}: {f'verified, {kind}' if verdict else 'NOT verified'}"))
    if extract is not None:
        with open_pdf(data, str(path)) as pdf:
            source, _ = embedded_source(pdf)
        if source is None:
            raise UserError(f"{path}: holds no {SOURCE_NAME} to extract")
        write_atomically(extract, source)
        print(f"source data written to {extract}")
    return 0 if verdict else 1


def sign_edition(path: Path, out: Path | None, signing) -> int:
    """`build.py sign`: sign an archival edition (in its empty signature field) or a letter pack
    or print file (in a new invisible one); the archive is checked as a build checks it."""
    from .archive import SIGNATURE_FIELD

    data = read_limited(path, "PDF to sign", PDF_LIMIT)
    with open_pdf(data, str(path)) as pdf:
        if has_signature(pdf):
            raise UserError(f"{path}: is signed already; sign the unsigned edition instead")
        mark = _mark(pdf)
        if mark.ours:
            fields = {str(field.get("/T", "")) for field in pdf.Root.get("/AcroForm", {}).get("/Fields", [])}
            if SIGNATURE_FIELD not in fields:
                raise UserError(f"{path}: an archival edition without an empty signature field (made "
                                "before they carried one); rebuild it, then sign")
            field, recorded = SIGNATURE_FIELD, _modified(pdf)
        elif is_letters(pdf):
            field, recorded = None, _info_date(pdf)
        else:
            raise UserError(f"{path}: not an edition this tool signs (the archival edition, a letter "
                            "pack or the print file)")
    if recorded is None:
        raise UserError(f"{path}: records no modification date to sign at")
    signed = signing(data, recorded, existing_field=field)
    if mark.ours:
        self_check(signed, str(path))
    target = out or path
    write_atomically(target, signed)
    print(f"{target}  signed by {signing.key.subject}  {len(signed) / 1000:.1f} kB")
    return 0


def _info_date(pdf: pikepdf.Pdf) -> dt.datetime | None:
    """The information dictionary's ModDate (D:20250616000000Z), as the letters write it."""
    match = re.fullmatch(r"D:(\d{14})Z?", str(pdf.docinfo.get("/ModDate", "")))
    return dt.datetime.strptime(match[1], "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC) if match else None
