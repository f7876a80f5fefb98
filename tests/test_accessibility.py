"""Accessible and searchable: the editions read on a screen are PDF/UA-1, words broken at a line end
are found whole, and every file is one that every reader (and a print shop's RIP) takes."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
from io import BytesIO
from pathlib import Path

import pikepdf
import pytest
import yaml

from appeal.cli import main
from appeal.paths import DATA_DIR
from appeal.pdf.pdfua import orphans
from appeal.products.table import EDITIONS
from helpers import snapshot

SCREEN = [product.filename for product in EDITIONS.values() if product.accessible]
APPEAL = yaml.safe_load((DATA_DIR / "appeal.yaml").read_text(encoding="utf-8"))


def ua1_failures(data: bytes, tmp_path: Path) -> list[str]:
    import page

    path = tmp_path / "checked.pdf"
    path.write_bytes(data)
    report = page.validate_pdf(str(path), profile="ua1")
    return sorted({failure.rule_id for failure in report.failures}) + ([] if report.is_compliant else ["!"])


def every_pdf(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.pdf"))


@pytest.mark.parametrize("name", SCREEN)
def test_every_edition_read_on_a_screen_is_pdf_ua_1(built, name, tmp_path):
    data = (built / name).read_bytes()
    assert ua1_failures(data, tmp_path) == []
    with pikepdf.open(BytesIO(data)) as pdf:
        meta = pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False)
        assert meta["pdfuaid:part"] == "1"
        assert meta["dc:title"] == APPEAL["title"] == str(pdf.docinfo.Title)
        assert str(pdf.Root.Lang) == APPEAL["language"]
        assert re.fullmatch(r"appeal-edition \S+ \(.+\)(; .+)?", meta["xmp:CreatorTool"])
        assert str(pdf.docinfo.Creator) == meta["xmp:CreatorTool"]


@pytest.mark.parametrize("name", SCREEN)
def test_footers_are_artifacts_and_every_tagged_text_is_in_the_tree(built, name):
    with pikepdf.open(built / name) as pdf:
        assert orphans(pdf) == 0
        artifacts = sum(1 for page in pdf.pages for operands, operator in pikepdf.parse_content_stream(page)
                        if str(operator) == "BMC" and operands and operands[0] == pikepdf.Name.Artifact)
        assert artifacts >= 2 * len(pdf.pages)  # the running title and the page number of each page


def test_a_footer_out_of_its_artifact_or_no_language_fails_the_validator(built, tmp_path):
    """The negative controls: the validator sees what these tests rely on it to see."""
    with pikepdf.open(built / "appeal-a4.pdf") as pdf:
        del pdf.Root["/Lang"]
        out = BytesIO()
        pdf.save(out)
    assert ua1_failures(out.getvalue(), tmp_path)
    with pikepdf.open(built / "appeal-a4.pdf") as pdf:
        page = pdf.pages[0]
        instructions = [([pikepdf.Name.Span], operator)  # the footer marked as neither artifact nor tag
                        if str(operator) == "BMC" and operands and operands[0] == pikepdf.Name.Artifact
                        else (operands, operator)
                        for operands, operator in pikepdf.parse_content_stream(page)]
        page.obj.Contents = pdf.make_stream(pikepdf.unparse_content_stream(instructions))
        out = BytesIO()
        pdf.save(out)
    assert "PDFUA1-CONTENT-TAGGING-001" in ua1_failures(out.getvalue(), tmp_path)


def test_the_build_writes_no_screen_edition_that_fails_pdf_ua_1(earlier_build, monkeypatch, capsys):
    from appeal.pdf import pdfua

    monkeypatch.setattr(pdfua, "footers_as_artifacts", lambda pdf: 0)  # footers left untagged
    before = snapshot(earlier_build)
    assert main(["--edition", "a4", "--out", str(earlier_build)]) == 2
    err = capsys.readouterr().err
    assert "appeal-a4.pdf: the edition just built is not PDF/UA-1" in err
    assert "marked-content sequences that no structure element reaches" in err
    assert snapshot(earlier_build) == before


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text))


def test_a_word_broken_at_a_line_end_is_found_whole(built):
    """The break hyphen is U+002D: Poppler (pdftotext, Evince) and PDFium (Chrome; it marks the
    hyphen it joins as U+FFFE) give the word whole; with WeasyPrint's U+2010 neither did."""
    import pypdfium2

    body = _words(" ".join(APPEAL["body"]))
    for name in ("appeal-a4.pdf", "appeal-letter.pdf", "appeal-archive.pdf",
                 "letters/estonia-foreign-minister.pdf"):
        document = pypdfium2.PdfDocument(built / name)
        pdfium = " ".join(document[n].get_textpage().get_text_range().replace("\ufffe", "")
                          for n in range(len(document)))
        assert body <= _words(pdfium), (name, sorted(body - _words(pdfium))[:10])
        if shutil.which("pdftotext"):
            poppler = subprocess.run(["pdftotext", str(built / name), "-"], capture_output=True, text=True,
                                     check=True).stdout
            assert body <= _words(poppler), (name, sorted(body - _words(poppler))[:10])
        assert "\u2010" not in pdfium
    a4 = pypdfium2.PdfDocument(built / "appeal-a4.pdf")
    joined = [word for word in re.findall(r"\w+\ufffe\w+", " ".join(
        a4[n].get_textpage().get_text_range() for n in range(len(a4))))]
    assert {word.replace("\ufffe", "") for word in joined} >= {"themselves", "unacceptability"}, joined


PDFJS = Path(__file__).parent.parent / "scripts" / "pdfjs"


@pytest.mark.skipif(not shutil.which("node") or not (PDFJS / "node_modules" / "pdfjs-dist").is_dir(),
                    reason="Node.js or scripts/pdfjs/node_modules is missing (scripts/setup.sh installs it)")
def test_firefoxs_viewer_finds_every_word_broken_at_a_line_end(built):
    """PDF.js's own find controller (Firefox's viewer, scripts/pdfjs/find.mjs) finds each word a
    line end broke, and a phrase across the break, in the handouts, the archive and the A5 press
    edition. With WeasyPrint's U+2010 hyphen it found none of them (measured: docs/design.md)."""
    import pypdfium2

    searches = {}
    for name in ("appeal-a4.pdf", "appeal-letter.pdf", "appeal-archive.pdf", "press/appeal-a5.pdf"):
        document = pypdfium2.PdfDocument(built / name)
        text = " ".join(document[n].get_textpage().get_text_range() for n in range(len(document)))
        source = yaml.safe_dump(APPEAL, allow_unicode=True, width=10**6)
        # PDFium joins a hard hyphen at a line end too ("Bosnia-Herzegovina"): the text's own.
        broken = {before + after for before, after in re.findall(r"([^\W\d_]+)\ufffe([^\W\d_]+)", text)
                  if f"{before}-{after}" not in source}
        assert len(broken) >= 4, (name, broken)
        queries = [*sorted(broken), "international security"]
        command = ["node", str(PDFJS / "find.mjs"), str(built / name), *queries]
        searches[name] = queries, subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                   text=True)
    for name, (queries, search) in searches.items():  # the four files searched at once
        result, _ = search.communicate(timeout=120)
        assert search.returncode == 0, name
        # PDF.js warns on stdout that it cannot render without a canvas: only the counts are read.
        counts = dict(line.split("\t") for line in result.splitlines() if "\t" in line)
        assert all(int(counts[query]) >= 1 for query in queries), (name, counts)


@pytest.mark.skipif(not shutil.which("gs"), reason="Ghostscript is not installed")
def test_ghostscript_renders_every_file_of_the_build_without_a_word(built):
    """Ghostscript, the engine of many print shops' RIPs: nothing on stderr for any page of any
    file (an empty stream marked compressed gave "Page drawing error"; the archive's empty
    signature field, a warning)."""
    for path in every_pdf(built):
        result = subprocess.run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=nullpage",
                                 str(path)], capture_output=True, text=True)
        assert result.returncode == 0 and not result.stderr.strip() and not result.stdout.strip(), \
            (path.name, result.stderr[:300], result.stdout[:300])


def test_every_file_has_an_id_a_version_that_covers_it_right_lengths_and_no_empty_compressed_stream(built):
    for path in every_pdf(built):
        with pikepdf.open(path) as pdf:
            assert "/ID" in pdf.trailer, path.name
            assert pdf.pdf_version >= "1.4" or "/Lang" not in pdf.Root, (path.name, pdf.pdf_version)
            for obj in pdf.objects:
                if isinstance(obj, pikepdf.Stream):
                    raw = obj.read_raw_bytes()  # qpdf warns of a /Length its data disagrees with
                    assert raw or "/Filter" not in obj, (path.name, obj.objgen)
            assert pdf.get_warnings() == [], path.name


def test_the_sign_on_sheet_is_a_table_whose_header_cells_name_their_columns(built):
    with pikepdf.open(built / "sign-on-a4.pdf") as pdf:
        headers = [obj for obj in pdf.objects
                   if isinstance(obj, pikepdf.Dictionary) and obj.get("/S") == pikepdf.Name.TH]
        pages = len(pdf.pages)
    assert len(headers) == 7 * pages  # the seven column headings, repeated on every page
    assert all(header.A.Scope == pikepdf.Name.Column for header in headers)


def _find(tree, kind: str) -> list:
    found = []
    for node in tree:
        if node[0] == kind:
            found.append(node)
        found.extend(_find(node[2], kind))
    return found


def _squash(text: str) -> str:
    return re.sub(r"[\s\-]+", "", text)


@pytest.mark.parametrize("name", ["appeal-archive.pdf", "appeal-a4.pdf"])
def test_the_structure_reads_in_the_order_of_the_data(built, name):
    """Title, the body as 12 paragraphs (one broken over a page is one P), the signatories as a
    list of 21 items each with its number as label, then (the archive) the colophon in a section
    of its own: the structure tree read back, with the text each element marks."""
    from helpers import structure

    with pikepdf.open(built / name) as pdf:
        [document] = structure(pdf)
    assert [_squash(node[1]) for node in _find([document], "H1")] == [_squash(APPEAL["title"])]
    [body] = _find([document], "Part")
    assert [_squash(p[1]) for p in body[2]] == [_squash(text) for text in APPEAL["body"]]
    sections = [node for node in document[2] if node[0] == "Sect"]
    signatures = sections[0]
    assert signatures[2][0][0] == "H2" and signatures[2][0][1] == "Signatories"
    [signatories] = [node for node in signatures[2] if node[0] == "L"]
    items = signatories[2]
    assert [item[0] for item in items] == ["LI"] * len(APPEAL["signatories"]) == ["LI"] * 21
    for number, (item, signatory) in enumerate(zip(items, APPEAL["signatories"], strict=True), 1):
        label, body_of_item = item[2]
        assert (label[0], label[1]) == ("Lbl", f"{number}.")
        assert body_of_item[0] == "LBody"
        assert _squash(body_of_item[1]) == _squash(signatory["name"] + signatory["role"])
    def levels(nodes) -> list[int]:
        return [level for node in nodes for level in
                ([int(node[0][1])] if re.fullmatch(r"H[1-6]", node[0]) else []) + levels(node[2])]

    headings = levels([document])
    assert headings[0] == 1 and all(b <= a + 1 for a, b in itertools.pairwise(headings))  # none skipped
    if name == "appeal-archive.pdf":
        colophon = sections[1]
        assert colophon[2][0][0] == "H2" and colophon[2][0][1] == "About this edition"
        assert not _find(signatures[2], "Sect")  # the colophon is not inside the signatures


def test_marked_content_of_any_form_is_counted_whether_read_from_the_bytes_or_parsed(built):
    """orphans() reads WeasyPrint's `/Span <</MCID n>> BDC` in the bytes and parses a stream that
    holds any other form: a sequence with more in its properties is still seen."""
    with pikepdf.open(built / "appeal-a4.pdf") as pdf:
        assert orphans(pdf) == 0
        page = pdf.pages[0]
        content = page.obj.Contents.read_bytes()
        page.obj.Contents = pdf.make_stream(content + b"\n/Span <</MCID 999 /ActualText (x)>> BDC EMC\n")
        assert orphans(pdf) == 1
        page.obj.Contents = pdf.make_stream(content + b"\n/Span <</MCID 998>> BDC EMC\n")
        assert orphans(pdf) == 1
