"""Conformance as page-validation's rules read it: PDF/A and PDF/UA-1, the ByteRange rule per revision.

PDF/A-3a for the archive, PDF/A-2a for the deposit edition, PDF/UA-1 for every edition read on a
screen.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from io import BytesIO

from appeal.errors import UserError
from appeal.verify.reading import Check, open_pdf

# page-validation's ByteRange rule (ISO 19005-2 and -3, 6.4.3) reads every signature against the
# end of the file, so it fails every file with a revision after a signature: every PAdES B-LT and
# B-LTA file, whoever made it. veraPDF reads the rule per revision: the range must reach the
# %%EOF that follows the signature (GFPDSignature.getdoesByteRangeCoverEntireDocument with
# SignatureParser.getByteRangeBySignatureOffset). That reading is checked here instead.
_BYTERANGE_RULE = "-SIGNATURE-BYTERANGE-001"


ARCHIVE_PROFILES = (("3a", "PDF/A-3a"), ("ua1", "PDF/UA-1"))
DEPOSIT_PROFILES = (("2a", "PDF/A-2a"), ("ua1", "PDF/UA-1"))


def validation(data: bytes, profiles: Sequence[tuple[str, str]] = ARCHIVE_PROFILES) -> Iterator[Check]:
    """PDF/A-3a and PDF/UA-1 (or the `profiles` given) by the page-validation rules, failed rules
    named; a file with revisions after its first signature has the ByteRange rule read per
    revision (see above). Run it in a process that forks no worker afterwards that validates too:
    page-validation leaves threads behind, and a fork copies their locks but not them."""
    import tempfile

    import page

    # page-validation reads a file by its name.
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(data)
        file.flush()
        for profile, label in profiles:
            report = page.validate_pdf(file.name, profile=profile)
            failed = sorted({f.rule_id for f in report.failures})
            ranges = [rule for rule in failed if rule.endswith(_BYTERANGE_RULE)]
            per_revision = None
            if ranges:
                per_revision = byte_range_problems(data)
                # Each range covers its own revision: the rule holds, as veraPDF reads it.
                if per_revision == []:
                    failed = [rule for rule in failed if rule not in ranges]
            said = f"{label}: {'no failed rules' if not failed else 'failed ' + ', '.join(failed[:6])}"
            if per_revision == [] and not failed:
                said += (f" (its ByteRange rule, {ranges[0]}, read per revision as veraPDF reads it: each "
                         "signature and document timestamp covers the file up to the end of its revision)")
            elif per_revision:
                said += f" ({'; '.join(per_revision[:3])})"
            # With the ByteRange rule read per revision, the verdict is the other rules'.
            yield Check(not failed and (report.is_compliant or per_revision == []), said)


def byte_range_problems(data: bytes) -> list[str]:
    """Each signature's /ByteRange that does not cover its revision from the first byte to the end
    of the %%EOF line after it, all but its own /Contents string: none, or each named."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    from appeal.pdf.revisions import revisions

    try:
        ends = {revision.end for revision in revisions(data)}
        reader = PdfFileReader(BytesIO(data), strict=False)
        found = reader.embedded_signatures
    except Exception as exc:
        return [f"its signatures cannot be read ({type(exc).__name__})"]
    problems = []
    for signature in found:
        start, first, second, rest = (int(value) for value in signature.byte_range)
        contents = data[first:second]
        if start != 0 or not (contents.startswith(b"<") and contents.endswith(b">")) or \
                second + rest not in ends:
            problems.append(f"{signature.field_name}'s /ByteRange [{start} {first} {second} {rest}] does not "
                            "cover its revision but its /Contents")
    return problems


def accessible_check(data: bytes, name: str) -> None:
    """A UserError unless an edition read on a screen (a handout, a sign-on sheet) passes PDF/UA-1:
    the build writes none that does not."""
    from appeal.pdf.pdfua import orphans

    failed = [check.line() for check in validation(data, (("ua1", "PDF/UA-1"),)) if not check.ok]
    with open_pdf(data, name) as pdf:
        untagged = orphans(pdf)
    if untagged:
        failed.append(f"{untagged} marked-content sequences that no structure element reaches")
    if failed:
        raise UserError(f"{name}: the edition just built is not PDF/UA-1 ({'; '.join(failed)}), so the "
                        "build stops and writes nothing; this is a fault of the tool or of a template")
