"""The archival edition: PDF/A-3a and PDF/UA-1, its source inside, reproducible, verifiable."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import page
import pikepdf
import pytest
import yaml
from pikepdf import Name
from pypdf import PdfReader

from appeal.cli import main
from appeal.paths import DATA_DIR, ROOT
from appeal.verify.checks import reading_text as _reading_text
from helpers import assert_in_order, page_texts

SOURCE = (DATA_DIR / "appeal.yaml").read_bytes()
PDFS = ("appeal-a4.pdf", "appeal-letter.pdf", "appeal-archive.pdf")


@pytest.fixture(scope="module")
def archive(built) -> Path:
    return built / "appeal-archive.pdf"


@pytest.mark.parametrize("profile", ["3a", "ua1"])
def test_passes_pdfa_3a_and_pdfua_1_with_zero_failed_rules(archive, profile):
    report = page.validate_pdf(str(archive), profile=profile)
    assert [f.rule_id for f in report.failures] == []
    assert report.is_compliant


def test_xmp_claims_both_standards_and_records_the_stack(archive):
    with pikepdf.open(archive) as pdf:
        assert "/Filter" not in pdf.Root.Metadata  # PDF/A: the XMP stays readable as it stands
        meta = pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False)
        assert meta["pdfaid:part"] == "3"
        assert meta["pdfaid:conformance"] == "A"
        assert meta["pdfuaid:part"] == "1"
        tool = meta["xmp:CreatorTool"]
        for part in ("appeal-edition", "WeasyPrint 70", "Pango 1.", "HarfBuzz ", "subsetter "):
            assert part in tool
        assert meta["xmp:CreateDate"].startswith("2025-06-16")
        assert pdf.Root.ViewerPreferences.DisplayDocTitle is True
        assert pdf.Root.Lang == "en"


def test_source_data_is_embedded_byte_for_byte_as_the_associated_source(archive):
    with pikepdf.open(archive) as pdf:
        assert list(pdf.attachments) == ["appeal.yaml"]
        spec = pdf.attachments["appeal.yaml"]
        stream = spec.get_file()
        assert stream.read_bytes() == SOURCE
        assert stream.mime_type == "application/yaml"
        assert spec.obj.AFRelationship == Name.Source
        assert [item.objgen for item in pdf.Root.AF] == [spec.obj.objgen]  # listed once
        params = stream.obj.Params
        assert str(params.ModDate) == str(params.CreationDate) == "D:20250616000000Z"


def _structure(pdf: pikepdf.Pdf) -> list[str]:
    """Structure types in reading order (depth first)."""
    order, pending = [], [pdf.Root.StructTreeRoot.K]
    while pending:
        node = pending.pop(0)
        if isinstance(node, pikepdf.Array):
            pending[:0] = list(node)
        elif isinstance(node, pikepdf.Dictionary) and "/S" in node:
            order.append(str(node.S))
            pending.insert(0, node.get("/K"))
    return order


def test_tagged_with_its_real_structure(archive, appeal_data):
    with pikepdf.open(archive) as pdf:
        order = _structure(pdf)
    # The title block (what the document is, its date: a P before the H1), the body, the signatures.
    assert order.index("/H1") < order.index("/Part") < order.index("/H2") < order.index("/L")
    assert order.count("/LI") >= len(appeal_data["signatories"])
    assert order.count("/P") >= len(appeal_data["body"])


def test_running_footers_are_artifacts(archive, appeal_data):
    text = reading_text(archive)
    assert "Page 1 of" not in text and appeal_data["short_title"] not in text
    assert "Page 1 of" in page_texts(archive)[0]  # still printed on the page


def test_colophon_gives_edition_date_and_source_sha256(archive):
    last = page_texts(archive)[-1]
    assert_in_order(last, ["About this edition", "Archival edition", "16 June 2025",
                           hashlib.sha256(SOURCE).hexdigest()])


def test_sha256sums_lists_every_pdf(built):
    lines = (built / "SHA256SUMS").read_text().splitlines()
    listed = dict(reversed(line.split("  ")) for line in lines)
    assert sorted(listed) == sorted(str(p.relative_to(built)) for p in built.rglob("*.pdf"))
    assert set(PDFS) <= set(listed)
    for name, digest in listed.items():
        assert hashlib.sha256((built / name).read_bytes()).hexdigest() == digest


def _checkout(where: Path) -> Path:
    for part in ("appeal", "templates", "styles", "data", "build.py"):
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, where / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, where / part)
    return where


def _build_elsewhere(checkout: Path, out: Path, **env: str) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("APPEAL_")}
    environment.update(env, PYTHONWARNINGS="ignore")
    subprocess.run([sys.executable, "build.py", "--out", str(out)], cwd=checkout, env=environment,
                   check=True, capture_output=True)


def test_builds_are_byte_identical_across_time_zones_locales_and_checkouts(tmp_path):
    first = _checkout(tmp_path / "a")
    second = _checkout(tmp_path / "some other" / "checkout path")
    _build_elsewhere(first, tmp_path / "out1", TZ="UTC", LANG="C.UTF-8", LC_ALL="C.UTF-8")
    _build_elsewhere(second, tmp_path / "out2", TZ="Pacific/Kiritimati", LANG="de_DE.UTF-8",
                     LC_ALL="de_DE.UTF-8")
    first_files = snapshot_bytes(tmp_path / "out1")
    assert set(first_files) >= {*PDFS, "SHA256SUMS", "letters.pdf"}
    assert any(name.startswith("letters/") for name in first_files)
    for name, data in first_files.items():
        assert data == (tmp_path / "out2" / name).read_bytes(), name


def snapshot_bytes(folder: Path) -> dict[str, bytes]:
    """Every file the build wrote but its record of what it was made from, which names the paths
    of the data (build/current.py): the products, and SHA256SUMS."""
    from appeal.build.current import RECORD

    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()
            and p.name != RECORD}


def test_source_date_epoch_sets_the_modification_date_only(tmp_path):
    checkout = _checkout(tmp_path / "c")
    _build_elsewhere(checkout, tmp_path / "out", SOURCE_DATE_EPOCH="1767225600")  # 2026-01-01
    for name in PDFS:
        info = PdfReader(tmp_path / "out" / name).metadata
        assert info["/CreationDate"] == "D:20250616000000Z"
        assert info["/ModDate"] == "D:20260101000000Z"


# verify: a fresh build passes; each kind of tampered copy fails.

def test_verify_accepts_a_fresh_build(archive, capsys):
    assert main(["verify", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out
    assert hashlib.sha256(SOURCE).hexdigest() in out
    assert "Archival edition" in out


def test_verify_extracts_the_source(archive, tmp_path, capsys):
    assert main(["verify", str(archive), "--extract", str(tmp_path / "source.yaml")]) == 0
    assert (tmp_path / "source.yaml").read_bytes() == SOURCE


def _tampered(archive: Path, target: Path, change) -> Path:
    with pikepdf.open(archive) as pdf:
        change(pdf)
        pdf.save(target)
    return target


def _alter_page_text(pdf: pikepdf.Pdf) -> None:
    """Reverse the glyphs of the first run of the title's text (the first text of the appeal's
    data on page 1; above it the words say what the document is and when)."""
    from helpers import _to_unicode

    page = pdf.pages[0]
    fonts = {str(name): _to_unicode(font) for name, font in page.Resources.Font.items()}
    title = "".join(yaml.safe_load(SOURCE)["title"].split())
    instructions = pikepdf.parse_content_stream(page)
    font: dict = {}
    for operands, operator in instructions:
        if str(operator) == "Tf":
            font = fonts.get(str(operands[0]), {})
        if str(operator) == "TJ":
            parts = [part for part in operands[0] if isinstance(part, pikepdf.String)]
            raw = b"".join(bytes(part) for part in parts)
            text = "".join(font.get(raw[i:i + 2], "") for i in range(0, len(raw), 2))
            if len(text) > 4 and "".join(text.split()) in title:
                glyphs = max(parts, key=lambda part: len(bytes(part)))
                operands[0][list(operands[0]).index(glyphs)] = pikepdf.String(bytes(glyphs)[::-1])
                break
    pdf.pages[0].obj.Contents = pdf.make_stream(pikepdf.unparse_content_stream(instructions))


def _swap_attachment(pdf: pikepdf.Pdf) -> None:
    other = SOURCE.replace(b"Former Minister of Foreign Affairs, Canada",
                           b"Former Minister of Defence, Canada")
    spec = pikepdf.AttachedFileSpec(pdf, other, filename="appeal.yaml", mime_type="application/yaml",
                                    relationship=Name.Source)
    pdf.attachments["appeal.yaml"] = spec
    pdf.Root.AF = pikepdf.Array([spec.obj])


def _strip_output_intent(pdf: pikepdf.Pdf) -> None:
    # Not PDF/A any more: device colours without an output intent. (A compressed XMP stream would
    # do too, but qpdf, under pikepdf, always writes metadata streams uncompressed.)
    del pdf.Root.OutputIntents


@pytest.mark.parametrize(("change", "failed_check"), [
    (_alter_page_text, "page text differs from the source"),
    (_swap_attachment, "is not the one printed in the colophon"),
    (_strip_output_intent, "PDF/A-3a: failed"),
])
def test_verify_rejects_a_tampered_copy(archive, tmp_path, capsys, change, failed_check):
    copy = _tampered(archive, tmp_path / "copy.pdf", change)
    assert main(["verify", str(copy)]) == 1
    out = capsys.readouterr().out
    assert any(line.startswith("FAIL") and failed_check in line for line in out.splitlines()), out
    assert out.rstrip().endswith("NOT verified")


def test_verify_checks_the_page_text_against_a_swapped_source(archive, tmp_path, capsys):
    copy = _tampered(archive, tmp_path / "copy.pdf", _swap_attachment)
    main(["verify", str(copy)])
    assert "FAIL  page text differs from the source" in capsys.readouterr().out


def test_verify_rejects_a_handout_and_a_file_that_is_no_pdf(built, tmp_path, capsys):
    assert main(["verify", str(built / "appeal-a4.pdf")]) == 1
    assert "FAIL  a handout of this tool: it carries no source to prove its pages against; verify the " \
           "archival edition (appeal-archive.pdf), which does" in capsys.readouterr().out
    (tmp_path / "x.pdf").write_text("not a pdf")
    assert main(["verify", str(tmp_path / "x.pdf")]) == 2
    assert "not a readable PDF" in capsys.readouterr().err


def test_building_one_edition_keeps_the_others_in_sha256sums(earlier_build, capsys):
    before = (earlier_build / "SHA256SUMS").read_text()
    assert main(["--edition", "letter", "--out", str(earlier_build)]) == 0
    assert "appeal-letter.pdf" in capsys.readouterr().out
    assert (earlier_build / "SHA256SUMS").read_text() == before  # same data, same bytes


def test_rebuilding_from_the_extracted_source_gives_the_same_bytes(archive, tmp_path, capsys):
    # The README's procedure for someone who holds only the archive.
    extracted = tmp_path / "elsewhere" / "appeal.yaml"
    extracted.parent.mkdir()
    assert main(["verify", str(archive), "--extract", str(extracted)]) == 0
    assert main(["--data", str(extracted), "--edition", "archive", "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "appeal-archive.pdf").read_bytes() == archive.read_bytes()


def reading_text(path: Path) -> str:
    return _reading_text(path.read_bytes())
