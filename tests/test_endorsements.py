"""Endorsements from a form export: only what may be published is printed, numbered on from the
signatories, three to a row under their group headings, in every edition; thousands of them."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader

from appeal.cli import main
from appeal.inputs.endorsements import published_csv
from appeal.paths import ROOT
from helpers import assert_in_order, page_texts, snapshot, squash

EXAMPLE = ROOT / "examples" / "endorsements.csv"
HEADER = ["Timestamp", "Email address", "name", "role", "country", "group", "publish"]


def export(tmp_path: Path, rows: list[list[str]], header=HEADER, name="export.csv", bom=True) -> Path:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    path = tmp_path / name
    path.write_bytes(("\ufeff" if bom else "").encode() + out.getvalue().encode("utf-8"))
    return path


def row(name, role="", country="", group="", publish="yes", email="someone@example.org"):
    return ["2025-07-01 10:00:00", email, name, role, country, group, publish]


@pytest.fixture(scope="module")
def example_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("endorsed")
    editions = [option for name in ("a4", "letter", "archive", "letters") for option in ("--edition", name)]
    assert main(["--endorsements", str(EXAMPLE), *editions, "--out", str(out)]) == 0
    return out


def test_published_endorsements_follow_the_signatories_numbered_on(example_build):
    for name in ("appeal-a4.pdf", "appeal-letter.pdf", "appeal-archive.pdf"):
        text = "\n".join(page_texts(example_build / name))
        assert_in_order(text, ["21. Jody Williams", "Organisations",
                               "22. Example Landmine Survivors Network",
                               "Non-governmental organisation, Examplestan",
                               "23. Example Coalition for Clearance", "Individuals",
                               "24. Alex Example", "Former deminer, Example Demining Programme, Examplestan",
                               "25. Chris Placeholder", "Student, Sampleland"])


def test_nothing_that_may_not_be_published_reaches_any_output(example_build):
    rows = list(csv.DictReader(EXAMPLE.open(encoding="utf-8")))
    secrets = [r["Email address"] for r in rows] + [r["Timestamp"] for r in rows] + \
        [r["name"] for r in rows if r["publish"] == "no"]
    assert "Bea Sample" in secrets
    for path in example_build.rglob("*"):
        assert not any(secret in path.name for secret in secrets)
        if path.suffix != ".pdf":
            continue
        with pikepdf.open(path) as pdf:
            blobs = [bytes(o.read_bytes()) for o in pdf.objects if isinstance(o, pikepdf.Stream)]
            blobs += [repr(dict(pdf.docinfo)).encode()]
            blobs += [spec.get_file().read_bytes() for spec in pdf.attachments.values()]
        text = "\n".join(page_texts(path))
        for secret in secrets:
            assert secret not in text, (path, secret)
            assert not any(secret.encode() in blob or secret.encode("utf-16-be") in blob for blob in blobs), \
                (path, secret)


def test_the_archive_embeds_only_the_published_rows_and_verifies(example_build, capsys):
    from appeal.inputs.endorsements import load_endorsements

    archive = example_build / "appeal-archive.pdf"
    with pikepdf.open(archive) as pdf:
        assert sorted(pdf.attachments) == ["appeal.yaml", "endorsements.csv"]
        spec = pdf.attachments["endorsements.csv"]
        embedded = spec.get_file().read_bytes()
        assert spec.get_file().mime_type == "text/csv" and spec.obj.AFRelationship == "/Source"
        assert len(pdf.Root.AF) == 2
    assert embedded == published_csv(load_endorsements(EXAMPLE))
    assert embedded.decode().splitlines()[0] == "name,role,country,group,publish"
    assert main(["verify", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "ok    endorsements SHA-256 " in out and "4 endorsements, in order" in out


def test_a_changed_endorsement_fails_verify(example_build, tmp_path, capsys):
    with pikepdf.open(example_build / "appeal-archive.pdf") as pdf:
        stream = pdf.attachments["endorsements.csv"].get_file().obj
        stream.write(stream.read_bytes().replace(b"Alex Example", b"Alex Exemple"))
        pdf.save(tmp_path / "copy.pdf")
    assert main(["verify", str(tmp_path / "copy.pdf")]) == 1
    out = capsys.readouterr().out
    assert "FAIL  endorsements SHA-256 " in out and "is not the one printed in the colophon" in out
    assert "FAIL  page text differs from the source at: '24. Alex Exemple'" in out


def test_each_group_has_an_outline_entry(example_build):
    reader = PdfReader(example_build / "appeal-a4.pdf")
    signatories = reader.outline[1]
    titles = [item["/Title"] for item in signatories[1] if not isinstance(item, list)]
    assert signatories[0]["/Title"] == "Signatories" and titles == ["Organisations", "Individuals"]


def test_the_letters_enclose_the_endorsements(example_build):
    text = "\n".join(page_texts(example_build / "letters" / "estonia-foreign-minister.pdf"))
    assert_in_order(text, ["Dear Minister", "22. Example Landmine Survivors Network",
                           "25. Chris Placeholder"])


def test_without_publishable_endorsements_the_editions_are_unchanged(built, tmp_path):
    none = export(tmp_path, [row("Someone Private", publish="no")])
    out = tmp_path / "out"
    assert main(["--endorsements", str(none), "--edition", "a4", "--edition", "archive",
                 "--out", str(out)]) == 0
    for name in ("appeal-a4.pdf", "appeal-archive.pdf"):
        assert (out / name).read_bytes() == (built / name).read_bytes()


# Bad exports: one message each, naming file, line and column; exit 2; nothing written.

@pytest.mark.parametrize(("rows", "expected"), [
    ([row("Ana Example", publish="maybe")], "export.csv:2: publish: must be yes or no, not 'maybe'"),
    ([row("")], "export.csv:2: name: must not be empty"),
    ([row("Ana Example", role="Nurse"), row("Bo Example"), row("ANA  EXAMPLE", role="nurse")],
     "export.csv:4: name: 'ANA EXAMPLE' endorses twice (first on line 2)"),
    ([row("Ana\u200bExample")], "export.csv:2: name: contains U+200B ZERO WIDTH SPACE"),
    ([row("Ana क")], "export.csv:2: name: the character 'क' (U+0915"),
    ([row("Ana Example", role="Nurse\u202e")], "export.csv:2: role: contains U+202E"),
])
def test_bad_rows_are_named_by_line_and_column(rows, expected, tmp_path, earlier_build, capsys):
    before = snapshot(earlier_build)
    path = export(tmp_path, rows)
    assert main(["--endorsements", str(path), "--out", str(earlier_build)]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert snapshot(earlier_build) == before
    assert main(["check", "--endorsements", str(path)]) == 2
    assert expected in capsys.readouterr().err


def test_the_same_name_in_nfd_is_a_duplicate(tmp_path, capsys):
    name = "José Example"
    path = export(tmp_path, [row(name), row(unicodedata.normalize("NFD", name))])
    assert main(["check", "--endorsements", str(path)]) == 2
    assert "export.csv:3: name: 'José Example' endorses twice (first on line 2)" in capsys.readouterr().err


@pytest.mark.parametrize(("content", "expected"), [
    (b"", "the file is empty; it should start with a header row"),
    (b"name,role\nAna,Nurse\n", "export.csv:1: the header has no column publish"),
    (b"name,publish,name\nAna,yes,Ana\n", "the column name is given twice"),
    (b"name,publish\n\xff\xfeAna,yes\n", "export.csv:2: not UTF-8 text"),
    (b'name,publish\n"Ana,yes\n', "not valid CSV"),
])
def test_bad_files_get_a_message(content, expected, tmp_path, capsys):
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    assert main(["check", "--endorsements", str(path)]) == 2
    assert expected in capsys.readouterr().err


def test_a_named_endorsements_file_must_exist(tmp_path, capsys):
    assert main(["check", "--endorsements", str(tmp_path / "missing.csv")]) == 2
    assert "missing.csv: no such file (--endorsements)" in capsys.readouterr().err


def test_check_counts_and_names_the_unused_columns(capsys):
    assert main(["check", "--endorsements", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "4 endorsements to publish of 5 rows, in 2 group(s)" in out
    assert "the columns 'Timestamp', 'Email address' are not used" in out


# Thousands of names.

def test_five_thousand_endorsements_all_present_in_order_none_split(tmp_path):
    groups = ["Organisations", "Individuals"]
    rows = [row(f"Endorser {n:04d} of the Appeal", role=f"Organisation number {n}",
                country="Examplestan", group=groups[n // 2500], publish="no" if n % 50 == 7 else "yes",
                email=f"p{n}@example.org") for n in range(5000)]
    rows += [row(f"Endorser {n:04d} of the Appeal", publish="yes") for n in range(5000, 5040)]
    path = export(tmp_path, rows)
    out = tmp_path / "out"
    assert main(["--endorsements", str(path), "--edition", "a4", "--out", str(out)]) == 0
    published = [r for r in rows if r[6] == "yes"]
    document = pdfium.PdfDocument(out / "appeal-a4.pdf")
    mm = 72 / 25.4
    seen: list[int] = []
    text_by_page = []
    for index in range(len(document)):
        page = document[index]
        textpage = page.get_textpage()
        text = textpage.get_text_range()
        text_by_page.append(text)
        matches = list(re.finditer(r"(\d+)\.\s+Endorser\s+(\d{4})\s+of\s+the\s+Appeal", text))
        for match, following in zip(matches, [*matches[1:], None], strict=False):
            number, endorser = int(match[1]), int(match[2])
            seen.append(number)
            entry = published[number - 22]
            assert entry[2] == f"Endorser {endorser:04d} of the Appeal", number
            # Its role and country on the same page, starting in the same column as its name.
            detail = ", ".join(part for part in entry[3:5] if part)
            if not detail:
                continue
            found = re.compile(r"\s+".join(map(re.escape, detail.split()))).search(
                text, match.end(), following.start() if following else len(text))
            assert found, (number, "its role and country are not beside its name on its page")
            at = found.start()
            name_left = textpage.get_charbox(match.start(0))[0]
            detail_left = textpage.get_charbox(at)[0]
            column = 56.5 * mm  # a4.css: 6 + 45 + 5.5 mm, from the 20 mm margin; the number hangs left
            assert (name_left - 20 * mm + 6 * mm) // column == (detail_left - 20 * mm) // column, number
    document.close()
    assert seen == list(range(22, 22 + len(published)))  # every published name once, in order
    everything = "\n".join(text_by_page)
    for unpublished in (r for r in rows if r[6] == "no"):
        assert unpublished[2] not in everything
    assert "Organisations (continued)" in everything and "Individuals (continued)" in everything
    assert squash(everything).count(squash("Endorser 0007 of the Appeal")) == 0


def test_the_embedded_copy_keeps_formulas_as_text_and_reads_back_the_same(tmp_path):
    """A cell a spreadsheet would run (=, +, - or @ first) gets an apostrophe in the embedded
    copy; read again, the copy gives the same endorsements, so the rebuild gives the same pages."""
    from appeal.inputs.endorsements import load_endorsements

    source = tmp_path / "endorsements.csv"
    rows = [["name", "role", "country", "group", "publish"],
            ['=HYPERLINK("http://example.invalid","Click")', "+1 555", "-Norway", "@campaign", "yes"],
            ["'=already text", "Role", "Chile", "", "yes"],
            ["Plain Name", "Surgeon", "Peru", "", "yes"]]
    with source.open("w", newline="", encoding="utf-8") as file:
        csv.writer(file).writerows(rows)
    loaded = load_endorsements(source)
    first = loaded.published[0]
    assert (first.name, first.role, first.country, first.group) == (
        '=HYPERLINK("http://example.invalid","Click")', "+1 555", "-Norway", "@campaign")
    assert loaded.published[1].name == "=already text"  # the spreadsheet's own text convention
    embedded = published_csv(loaded)
    cells = [cell for row in csv.reader(io.StringIO(embedded.decode())) for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@")], cells
    copy = tmp_path / "copy.csv"
    copy.write_bytes(embedded)
    again = load_endorsements(copy)
    assert [(e.name, e.role, e.country, e.group) for e in again.published] == \
        [(e.name, e.role, e.country, e.group) for e in loaded.published]


def test_a_csv_error_after_a_field_that_spans_lines_names_the_physical_line(tmp_path):
    from appeal.errors import UserError
    from appeal.inputs.endorsements import load_endorsements

    path = tmp_path / "endorsements.csv"
    path.write_bytes(b'name,role,country,group,publish\n"Ana\nMaria",Role,Chile,,yes\nBo,R,Peru,,yes\n'
                     b'Cy,"bad"x,Peru,,yes\n')  # line 5 of the file, the fourth record
    with pytest.raises(UserError, match=r"endorsements\.csv:5: not valid CSV"):
        load_endorsements(path)


def test_thousands_of_bad_rows_give_the_first_forty_messages_and_a_count(tmp_path, capsys):
    """A spreadsheet exported twice over makes a message for every row: the first 40 are printed,
    each naming its line, then how many more there are; exit 2."""
    rows = [row(f"Endorser {n % 50}") for n in range(150)]  # every row after the 50th a duplicate
    path = export(tmp_path, rows)
    assert main(["check", "--endorsements", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 41 and all(line.startswith(f"error: {path}:") for line in err[:40]), err[:3]
    assert err[-1] == "error: … and 60 more problems like these (fix the ones above and run again)"
