"""What a PDF says of itself, read within bounds: the mark of the tool that made it, its kind, its files."""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pikepdf

from appeal.errors import UserError
from appeal.inputs.models import APPEAL_LIMIT
from appeal.pdf.metadata import TOOL
from appeal.pdf.pdfa import SOURCE_MIME, SOURCE_NAME
from appeal.pdf.untrusted import Unreadable, fields, without_text_layer

# The creator mark the archive carries (archive.ArchiveFacts.creator_tool).
_CREATOR = re.compile(rf"{TOOL} (?P<version>\S+) \((?P<edition>[^;()]+); "
                      r"fingerprint (?P<fingerprint>[0-9a-f]+)\); (?P<stack>.+)")


@dataclass
class Check:
    ok: bool
    what: str
    note: bool = False  # neither proven nor failed: said, and left to the reader

    def line(self) -> str:
        return f"{'note' if self.note else 'ok  ' if self.ok else 'FAIL'}  {self.what}"


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


def read_mark(pdf: pikepdf.Pdf) -> Mark:
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        creator = str(meta.get("xmp:CreatorTool", ""))
    match = _CREATOR.fullmatch(creator)
    return Mark(creator, **match.groupdict()) if match else Mark(creator)


def modified_at(pdf: pikepdf.Pdf) -> dt.datetime | None:
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
    filters = stream.obj.get("/Filter")
    filters = list(filters) if isinstance(filters, pikepdf.Array) else [] if filters is None else [filters]
    try:  # an ASCII85 layer: the archive's own for data that would end in a carriage return (pdfa.py)
        raw, filters = without_text_layer(stream.obj.read_raw_bytes(), filters,
                                          f"embedded source data {name}")
    except Unreadable as exc:
        return None, Check(False, str(exc))
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


def has_signature(pdf: pikepdf.Pdf) -> bool:
    """Whether a signature field of the file holds a signature (the form read within bounds)."""
    return any(field.get("/FT") == pikepdf.Name.Sig and "/V" in field for field in fields(pdf))


# The editions this tool marks in the information dictionary's Creator: `appeal-edition 1.0.0 (letter pack)`.
LETTER_KINDS = ("letter pack", "print file of letter packs")


_MARK = re.compile(rf"{TOOL} \S+ \((?P<kind>[^;()]+)\)")


def edition_kind(pdf: pikepdf.Pdf, mark: Mark) -> str | None:
    """What edition of this tool the file says it is (`Archival edition`, `letter pack`, `booklet`,
    `handout`), from its creator mark; None for a file that does not say."""
    if mark.ours:
        return mark.edition
    match = _MARK.fullmatch(str(pdf.docinfo.get("/Creator", "")))
    return match["kind"].split(",")[0] if match else None


def is_deposit(pdf: pikepdf.Pdf) -> bool:
    """A deposit edition: PDF/A-2 (pdfaid:part 2), which this tool writes for nothing else."""
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        return str(meta.get("pdfaid:part", "")) == "2"


def given_sources(pdf: pikepdf.Pdf, sources: Sequence[Path]) -> tuple[bytes | None, bytes | None, Check]:
    """What stands in for a deposit edition's source (`verify --source`): the appeal's data, and the
    published endorsements given as a .csv file; and the check line about them."""
    from appeal.inputs.endorsements import LIMIT as ENDORSEMENTS_LIMIT
    from appeal.inputs.source import read_limited

    embedded = pdf.Root.get("/Names", {}).get("/EmbeddedFiles") is not None or "/AF" in pdf.Root
    if embedded:
        return None, None, Check(False, "a deposit edition (PDF/A-2) that embeds files: this tool writes "
                                        "none that does")
    if not sources:
        return None, None, Check(False, "a deposit edition: it carries no source, by design, so nothing in "
                                        "it proves its pages; give the appeal's data with --source "
                                        "appeal.yaml (the archival edition of the same date embeds it: "
                                        "verify --extract)")
    data = [path for path in sources if path.suffix.lower() != ".csv"]
    csv = [path for path in sources if path.suffix.lower() == ".csv"]
    if len(data) != 1 or len(csv) > 1:
        raise UserError("--source: give the appeal's data once, and the published endorsements (.csv) at "
                        "most once")
    source = read_limited(data[0], "the appeal's data (--source)", APPEAL_LIMIT)
    endorsements = read_limited(csv[0], "the published endorsements (--source)", ENDORSEMENTS_LIMIT) \
        if csv else None
    given = f"{data[0]} ({len(source)} bytes)" + (f", {csv[0]} ({len(endorsements)} bytes)" if csv else "")
    return source, endorsements, Check(True, f"a deposit edition, which carries no file: its source given "
                                             f"with --source: {given}")
