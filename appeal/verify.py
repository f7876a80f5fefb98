"""`build.py verify`: is this PDF an unchanged archival edition of the appeal? One line per check."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pikepdf
from pypdf import PdfReader

from .archive import SOURCE_MIME, SOURCE_NAME, TOOL
from .errors import UserError
from .model import Appeal, load_appeal

# What line breaking and hyphenation may change: white space and hyphens (-, U+2010, soft hyphen).
_BREAKS = re.compile(r"[\s\-\u2010\u00ad]+")


def squash(text: str) -> str:
    return _BREAKS.sub("", text)


@dataclass
class Check:
    ok: bool
    what: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.what}"


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


def expected_texts(appeal: Appeal) -> list[str]:
    texts = [appeal.title, appeal.publication, *appeal.body]
    for number, signatory in enumerate(appeal.signatories, 1):
        texts += [f"{number}. {signatory.name}", signatory.role]
    return texts


def reading_text(path: Path) -> str:
    """The text a reader reads: every page's text less its artifacts (running footers, page numbers)."""
    with pikepdf.open(path) as pdf:
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


def _creator_tool(pdf: pikepdf.Pdf) -> str:
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        return str(meta.get("xmp:CreatorTool", ""))


def checks(path: Path) -> Iterator[Check]:
    """Each check in turn; stops early only where the next checks need what failed."""
    try:
        pdf = pikepdf.open(path)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except pikepdf.PdfError as exc:
        raise UserError(f"{path}: not a readable PDF ({exc})") from None
    with pdf:
        creator = _creator_tool(pdf)
        ours = creator.startswith(f"{TOOL} (")
        edition = creator[len(TOOL) + 2:].split(")", 1)[0] if ours else "unknown"
        yield Check(ours, f"made by {creator}" if ours else
                    f"not made by {TOOL}: xmp:CreatorTool is {creator or 'missing'}")

        spec = pdf.attachments.get(SOURCE_NAME)
        if spec is None:
            yield Check(False, f"embedded source data: no attachment named {SOURCE_NAME}")
            return
        source = spec.get_file().read_bytes()
        mime = str(spec.get_file().mime_type)
        relationship = str(spec.obj.get("/AFRelationship", ""))
        in_af = any(item.objgen == spec.obj.objgen for item in pdf.Root.get("/AF", []))
        sha256 = hashlib.sha256(source).hexdigest()
        yield Check(mime == SOURCE_MIME and relationship == "/Source" and in_af,
                    f"embedded source data {SOURCE_NAME}: {len(source)} bytes, MIME {mime or 'none'}, "
                    f"relationship {relationship.lstrip('/') or 'none'}"
                    f"{'' if in_af else ', not an associated file (/AF)'}")

    page_text = reading_text(path)
    yield Check(sha256 in page_text,
                f"source SHA-256 {sha256} {'is' if sha256 in page_text else 'is not'} the one printed "
                "in the colophon")
    try:
        appeal, _ = load_appeal(Path(f"{path.name}:{SOURCE_NAME}"), source)
    except UserError as exc:
        yield Check(False, f"embedded source is not valid appeal data: {exc}")
        return
    missing = missing_in_order(page_text, expected_texts(appeal))
    yield Check(not missing, (
        f"page text matches the source: title, {len(appeal.body)} paragraphs, "
        f"{len(appeal.signatories)} signatories, in order") if not missing else
        f"page text differs from the source at: {missing[0][:70]!r} ({len(missing)} passages)")
    yield from validation(path)
    if ours:
        yield Check(True, f"edition: {edition}; source SHA-256: {sha256}")


def validation(path: Path) -> Iterator[Check]:
    """PDF/A-3a and PDF/UA-1 by the page-validation rules, failed rules named."""
    import page

    for profile, label in (("3a", "PDF/A-3a"), ("ua1", "PDF/UA-1")):
        report = page.validate_pdf(str(path), profile=profile)
        failed = sorted({f.rule_id for f in report.failures})
        yield Check(report.is_compliant and not failed,
                    f"{label}: {'no failed rules' if not failed else 'failed ' + ', '.join(failed[:6])}")


def verify(path: Path) -> int:
    """Print one line per check; 0 when every check holds, 1 otherwise."""
    results = []
    for check in checks(path):
        print(check.line(), flush=True)
        results.append(check.ok)
    verdict = bool(results) and all(results)
    print(f"{path}: {'verified, an unchanged archival edition of the appeal' if verdict else 'NOT verified'}")
    return 0 if verdict else 1


def extract_source(path: Path, target: Path) -> None:
    """Write the embedded source data to `target`, byte for byte."""
    with pikepdf.open(path) as pdf:
        spec = pdf.attachments.get(SOURCE_NAME)
        if spec is None:
            raise UserError(f"{path}: holds no {SOURCE_NAME} to extract")
        target.write_bytes(spec.get_file().read_bytes())
