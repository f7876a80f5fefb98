"""The letter packs assembled: each cover letter and the appeal behind it, and the print file of them all."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pikepdf

from appeal.build.commit import write_file
from appeal.errors import UserError
from appeal.inputs.mailing import Mailing, Pack
from appeal.pdf.concat import Concatenation
from appeal.pdf.metadata import TOOL, Metadata, mark
from appeal.pdf.pdfua import SIGNATURE_FIELD, UA_NAMESPACES, signature_field, ua_claims
from appeal.products import cover_tags
from appeal.products.stationery import Covers, saved
from appeal.versions import tool_version


@dataclass(frozen=True, slots=True)  # slots: one comes back for each of a parliament's packs
class Written:
    """One pack written: for the summary and for the combined print file."""

    path: Path
    pages: int
    size: int
    sha256: str  # of the bytes written, taken from memory: the commit's SHA256SUMS reads no pack again


def assemble(mailing: Mailing, packs: Sequence[Pack], letters: Covers, appeal_pdf: bytes,
             pack_path: Callable[[str], Path], combined_path: Path, signing=None
             ) -> tuple[list[Written], bytes]:
    """Write each pack (cover letter, then the appeal) and one file of all of them for printing,
    each pack padded to an even page count so that duplex printing starts every pack on a new sheet;
    what was written, and the first pack's bytes.

    A pack is one tagged PDF/UA-1 document: the cover letter as an article in the letter's
    language (cover_tags.PackTree), the appeal's own structure behind it, and an empty signature field
    for `build.py sign` to fill. The print file is for printing only and is not tagged.
    """
    written, first = [], b""
    with pikepdf.open(BytesIO(letters.pdf)) as covers, pikepdf.open(BytesIO(appeal_pdf)) as appeal, \
            pikepdf.new() as combined:
        appeal_pages = list(appeal.pages)
        description = f"Digital signature of {mailing.letter.sender.organisation}"
        tree = cover_tags.PackTree(appeal, lambda pdf: signature_field(pdf, description, page_number=0))
        with tree.pdf:
            for number, pack in enumerate(packs):
                single = tree.letter(covers.pages[number], letters.outlines[number], pack.language)
                _describe(single, mailing, pack)
                target = pack_path(pack.recipient.id)
                data = saved(single, object_stream_mode=pikepdf.ObjectStreamMode.generate)
                if signing is not None:
                    data = signing(data, signed_at(mailing), existing_field=SIGNATURE_FIELD)
                write_file(target, data)
                first = first or data
                digest = hashlib.sha256(data).hexdigest()
                written.append(Written(target, len(single.pages), len(data), digest))
                combined.pages.append(covers.pages[number])
                combined.pages.extend(appeal_pages)
                if (1 + len(appeal_pages)) % 2:
                    box = covers.pages[number].mediabox
                    combined.add_blank_page(page_size=(float(box[2]), float(box[3])))
        _describe(combined, mailing, None)
        write_file(combined_path, saved(combined))
    return written, first


def _metadata(mailing: Mailing, pack: Pack | None) -> Metadata:
    """What a pack (or, with None, the print file of them all) says about itself; its Creator is
    the mark verify and sign tell a pack or print file by (verify/reading.edition_kind)."""
    letter = mailing.letter
    return Metadata(
        title=pack.subject if pack else letter.subject, author=letter.sender.organisation,
        subject=f"To {pack.recipient.addressee}" if pack else "Cover letters with the appeal",
        created=letter.date, modified=letter.date,
        creator=mark(tool_version(), "letter pack" if pack else "print file of letter packs"),
        producer=TOOL, language=pack.language if pack else letter.language)


def _describe(pdf: pikepdf.Pdf, mailing: Mailing, pack: Pack | None) -> None:
    """The information dictionary and the catalogue's /Lang; for a pack (PDF/UA-1) the XMP too,
    with its title, language and the PDF/UA identification."""
    metadata = _metadata(mailing, pack)
    if pack is None:
        metadata.write_info(pdf)
    else:
        metadata.write(pdf, UA_NAMESPACES, ua_claims(metadata.language))
    pdf.Root.Lang = pikepdf.String(metadata.language)


def merge(parts: Sequence[Path], target: Path, mailing: Mailing) -> int:
    """The combined print file from the chunks' combined files, in order; its page count.

    Streamed part by part (pdfcat): a parliament's 60,000 pages never sit in memory at once.
    """
    try:
        with target.open("wb") as out:
            concatenation = Concatenation(out)
            for path in parts:
                with pikepdf.open(path) as part:
                    concatenation.add(part)
            return concatenation.close(info=_metadata(mailing, None).info(),
                                       catalog={"/Lang": mailing.letter.language})
    except OSError as exc:
        raise UserError(f"{target}: cannot be written: {exc.strerror or exc}") from None


def signed_at(mailing: Mailing) -> dt.datetime:
    """The time a letter's signature states (unless SOURCE_DATE_EPOCH says otherwise): its date."""
    day = mailing.letter.date
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
