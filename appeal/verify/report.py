"""`build.py verify` and `build.py sign`: the checks run on a file, their verdict, and signing."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path

import pikepdf

from appeal.build.commit import write_atomically
from appeal.errors import UserError, printable
from appeal.inputs.source import read_limited
from appeal.paths import DATA_DIR
from appeal.pdf.pdfa import SOURCE_NAME
from appeal.verify.checks import PDF_LIMIT, checks, file_checks, self_check
from appeal.verify.reading import (
    LETTER_KINDS,
    Check,
    edition_kind,
    has_signature,
    modified_at,
    open_pdf,
    read_mark,
)


def _extract_target(target: Path) -> None:
    """Fail before any work when `--extract` could not be written."""
    if target.is_symlink():
        raise UserError(f"--extract {target}: is a symbolic link; name a new file (verify never writes "
                        "through a link)")
    if target.is_dir():
        raise UserError(f"--extract {target}: is a folder; name the file to write, such as "
                        f"{target / SOURCE_NAME}")
    if target.exists() and not target.is_file():
        raise UserError(f"--extract {target}: is not a regular file (a FIFO or a device); name a file")
    if not target.parent.is_dir():
        raise UserError(f"--extract {target}: the folder {target.parent} does not exist")


def run(path: Path, extract: Path | None, words_path: Path, trust: Sequence[Path] = (),
        at: dt.datetime | None = None, sources: Sequence[Path] = ()) -> int:
    """`build.py verify`: print one line per check; 0 when every check holds, 1 otherwise. `at`: the
    date as of which a signature is validated (default now)."""
    if extract is not None:
        _extract_target(extract)
        folder = extract.parent / "translations"  # where a translated archive's translation goes
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise UserError(f"--extract {extract}: {folder} is a link or not a folder; a translation "
                            "is written there (verify never writes through a link)")
    data = read_limited(path, "archival edition to verify", PDF_LIMIT)
    results, lines, proven = [], [], {}
    try:
        for check in checks(data, str(path), trust, rebuild=words_path, proven=proven, at=at,
                            sources=sources):
            print(printable(check.line()), flush=True)
            results.append(check.ok)
            lines.append(check)
    except UserError:
        raise
    except Exception as exc:  # a reader library failing on a file made to fail it: a FAIL, not a traceback
        check = Check(False, f"not read further: reading it failed ({type(exc).__name__}: {str(exc)[:120]})")
        print(printable(check.line()), flush=True)
        results.append(False)
    verdict = bool(results) and all(results)
    print(printable(f"{path}: {_verdict(lines, trust) if verdict else 'NOT verified'}"))
    if extract is not None:
        if not verdict or "source" not in proven:
            print(printable(f"nothing written to {extract}: only the source of a verified edition "
                            "is extracted"))
        else:
            translation = proven.get("translation")
            if translation is not None:  # beside the original as in data/: --translations rebuilds it
                target = extract.parent / "translations" / f"{translation[0]}.yaml"
                target.parent.mkdir(exist_ok=True)
                _extract_target(target)
                write_atomically(target, translation[1])
            write_atomically(extract, proven["source"])
            print(printable(f"source data written to {extract}: the one proven above"))
            if translation is not None:
                print(printable(f"the translation written to {target}: the one proven above; rebuild "
                                f"with --data {extract} --translations {target.parent}"))
    return 0 if verdict else 1


def _verdict(lines: list[Check], trust: Sequence[Path]) -> str:
    """What a verified file has been proven to be, and no more."""
    signed = any(line.what.startswith("signed by ") for line in lines)
    letters = any(line.what.startswith(("a letter pack", "a print file")) for line in lines)
    if any(line.what.startswith("a deposit edition") for line in lines):
        return ("verified: the deposit edition of the appeal: its pages are the ones the source given with "
                "--source gives (rebuilt and compared above)" + (
                    ", and it is unchanged since it was signed by a certificate you trust" if signed and trust
                    else "; who published it only the campaign's signature proves (--trust)"))
    if letters:
        return ("verified: a letter pack of this tool, unchanged since it was signed" +
                ("" if trust else "; who signed it is proven only with --trust (the campaign's certificate)"))
    if signed and trust:
        return ("verified: the archival edition of the appeal, signed by a certificate you trust, unchanged "
                "since it was signed; its pages are the ones its embedded source gives")
    proof = ("verified: its pages are the ones its embedded source gives (rebuilt and compared above). "
             "That proves the pages and the source agree, not who published them: ")
    if signed:
        return proof + "give the campaign's certificate with --trust to check the signature's signer"
    return proof + "only the campaign's signature does (verify the signed edition with --trust campaign.pem)"


def sign_edition(path: Path, out: Path | None, signing, sources: Sequence[Path] = ()) -> int:
    """`build.py sign`: sign an archival edition or a letter pack (in its empty signature field)
    or the print file (in a new invisible one), once it passes verify's checks: an archive every
    one of them (the rebuild included), a letter pack those of the file (read within bounds, one
    revision, made by this tool)."""
    from appeal.pdf.pdfua import SIGNATURE_FIELD

    data = read_limited(path, "PDF to sign", PDF_LIMIT)
    gathered = list(file_checks(data, str(path)))
    failed = [check for check in gathered if not check.ok]
    if failed:
        raise UserError(f"{path}: not signed: it fails verify's checks:\n  " +
                        "\n  ".join(check.line() for check in failed[:6]))
    with open_pdf(data, str(path)) as pdf:
        if has_signature(pdf):
            raise UserError(f"{path}: is signed already; sign the unsigned edition instead")
        mark = read_mark(pdf)
        kind = edition_kind(pdf, mark)
        fields = {str(field.get("/T", "")) for field in pdf.Root.get("/AcroForm", {}).get("/Fields", [])}
        if mark.ours:
            if SIGNATURE_FIELD not in fields:
                raise UserError(f"{path}: an archival edition without an empty signature field (made "
                                "before they carried one); rebuild it, then sign")
            field, recorded = SIGNATURE_FIELD, modified_at(pdf)
        elif kind in LETTER_KINDS:  # a pack fills its tagged field; the print file gets a new one
            field, recorded = SIGNATURE_FIELD if SIGNATURE_FIELD in fields else None, _info_date(pdf)
        else:
            raise UserError(f"{path}: not an edition this tool signs (the archival edition, a letter "
                            "pack or the print file)" + (f"; it is a {kind}" if kind else ""))
    if recorded is None:
        raise UserError(f"{path}: records no modification date to sign at")
    if mark.ours:
        failed = [check for check in checks(data, str(path), DATA_DIR / "words.yaml", sources=sources)
                  if not check.ok]
        if failed:
            raise UserError(f"{path}: not signed: it fails verify's checks:\n  " +
                            "\n  ".join(check.line() for check in failed[:6]))
    signed = signing(data, recorded, existing_field=field)
    if mark.ours:
        self_check(signed, str(path))
    target = out or path
    write_atomically(target, signed)
    level = "B-LTA" if signing.ltv else "B-T" if signing.stamper else "B-B"
    print(printable(f"{target}  signed by {signing.key.subject}, PAdES {level}  {len(signed) / 1000:.1f} kB"))
    return 0


def extend_edition(path: Path, out: Path | None, timestamp_url: str, trust: Sequence[Path]) -> int:
    """`build.py sign --extend`: a file signed at PAdES B-LTA by this tool, its checks holding, gets
    fresh validation data for its newest timestamp and a new document timestamp, as one more
    revision; the revisions before it stay byte for byte."""
    from appeal.pdf import ltv
    from appeal.pdf.sign import timestamper, trusted_certificates

    data = read_limited(path, "PDF to extend", PDF_LIMIT)
    failed = [check for check in file_checks(data, str(path)) if not check.ok]
    if failed:
        raise UserError(f"{path}: not extended: it fails verify's checks:\n  " +
                        "\n  ".join(check.line() for check in failed[:6]))
    with open_pdf(data, str(path)) as pdf:
        if not has_signature(pdf):
            raise UserError(f"{path}: is not signed; sign it with --key and --ltv first")
        mark = read_mark(pdf)
    anchors = [*ltv.roots_in(data), *(root for trusted in trust for root in trusted_certificates(trusted))]
    try:
        context = ltv.validation_context(anchors, fetching=True)
        extended = ltv.extend(data, timestamper(timestamp_url), context)
    except UserError as exc:
        raise UserError(f"{path}: not extended: {exc}") from None
    if mark.ours:
        self_check(extended, str(path))
    target = out or path
    write_atomically(target, extended)
    print(printable(f"{target}  extended: a new document timestamp from {timestamp_url}  "
                    f"{len(extended) / 1000:.1f} kB"))
    return 0


def _info_date(pdf: pikepdf.Pdf) -> dt.datetime | None:
    """The information dictionary's ModDate (D:20250616000000Z), as the letters write it."""
    match = re.fullmatch(r"D:(\d{14})Z?", str(pdf.docinfo.get("/ModDate", "")))
    return dt.datetime.strptime(match[1], "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC) if match else None
