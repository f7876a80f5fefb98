"""Letter packs read on a screen: each pack one PDF/UA-1 document, its cover letter read in the
order of the data (the letterhead and marks as page furniture), the appeal's structure behind it."""

from __future__ import annotations

import re
from pathlib import Path

import pikepdf
import pytest
import yaml

from appeal.cli import main
from appeal.paths import DATA_DIR, ROOT, STYLE_DIR
from appeal.pdf.pdfua import orphans
from helpers import snapshot, squash, structure, write_data

RECIPIENTS = yaml.safe_load((DATA_DIR / "recipients.yaml").read_text(encoding="utf-8"))["recipients"]
LETTER = yaml.safe_load((DATA_DIR / "letter.yaml").read_text(encoding="utf-8"))
APPEAL = yaml.safe_load((DATA_DIR / "appeal.yaml").read_text(encoding="utf-8"))
LONG_SALUTATION = "Dear Minister, with our respectful greetings and our thanks for your attention " * 2
FRENCH = {"subject": "Appel conjoint pour le maintien des deux conventions",  # made for the test
          "closing": "Veuillez agréer", "body": "{{ recipient.salutation }},\n\nLe texte de la lettre.",
          "enclosure": "Pièce jointe : l’appel"}


def ua1_failures(path: Path) -> list[str]:
    import page

    report = page.validate_pdf(str(path), profile="ua1")
    return sorted({failure.rule_id for failure in report.failures}) + ([] if report.is_compliant else ["!"])


def expected_letter(recipient: dict, letter: dict, signature: bool = False) -> list[tuple[str, str]]:
    """What the cover letter reads as, (role, text), from the data."""
    text = letter.get("translations", {}).get(recipient.get("language", ""), letter)
    body = [part.strip() for part in text["body"].split("\n\n")]
    body[0] = body[0].replace("{{ recipient.salutation }}", recipient["salutation"])
    address = [recipient["name"], *([recipient["position"]] if "position" in recipient else []),
               *recipient["address"]]
    return [("P", " ".join(address)), ("P", None), ("H1", text["subject"]), *(("P", part) for part in body),
            ("P", text["closing"]), *([("Figure", "")] if signature else []),
            ("P", letter["signer"]["name"]), ("P", letter["signer"]["title"]), ("P", text["enclosure"])]


def read_as(path: Path) -> tuple[list, dict]:
    """The structure as helpers.structure reads it (the Document node), and what it says beyond
    the text: the letter article's /Lang, its figures' /Alt, the Document's /Lang."""
    with pikepdf.open(path) as pdf:
        [document] = structure(pdf)
        [element] = pdf.Root.StructTreeRoot.K
        art = element.K[0]
        figures = [kid for kid in art.K if str(kid.S) == "/Figure"]
        return document, {"art": str(art.get("/Lang")), "alt": [str(kid.get("/Alt")) for kid in figures],
                          "document": str(element.get("/Lang", ""))}


def _find(nodes: list, kind: str) -> list:
    return [found for node in nodes for found in ([node] if node[0] == kind else []) + _find(node[2], kind)]


def check_pack(path: Path, recipient: dict, letter: dict, signature: bool = False) -> None:
    assert ua1_failures(path) == [], path.name
    with pikepdf.open(path) as pdf:
        assert orphans(pdf) == 0
        meta = pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False)
        language = recipient.get("language", letter["language"])
        assert meta["pdfuaid:part"] == "1"
        assert str(pdf.Root.Lang) == language and meta["dc:language"] == {language}
        assert meta["dc:title"] == str(pdf.docinfo.Title) == expected_letter(recipient, letter)[2][1]
        assert pdf.Root.ViewerPreferences.DisplayDocTitle is True
    document, said = read_as(path)
    assert document[0] == "Document"
    letter_node, *appeal = document[2]
    assert letter_node[0] == "Art"
    expected = expected_letter(recipient, letter, signature)
    read = [(kid[0], kid[1]) for kid in letter_node[2]]
    assert [role for role, _ in read] == [role for role, _ in expected]
    for (_, text), (_, wanted) in zip(read, expected, strict=True):
        if wanted is not None:
            assert squash(text) == squash(wanted)
    assert re.search(r"\d", read[1][1])  # the date
    # The letterhead is drawn but not read: it would say the sender twice.
    organisation = letter["sender"]["organisation"]
    assert organisation not in letter_node[1]
    assert said["art"] == language
    # The appeal's own structure follows, in its own language.
    assert [squash(node[1]) for node in _find(appeal, "H1")] == [squash(APPEAL["title"])]
    assert len(_find(appeal, "LI")) == len(APPEAL["signatories"])
    assert said["document"] == ("" if language == APPEAL["language"] else APPEAL["language"])
    assert said["alt"] == ([letter["signer"]["name"]] if signature else [])


def test_every_default_pack_is_pdf_ua_1_and_reads_as_its_letter(built):
    import pypdfium2

    for recipient in RECIPIENTS:
        path = built / "letters" / f"{recipient['id']}.pdf"
        check_pack(path, recipient, LETTER)
        # Every word of the letter is found on its page (PDFium, Chrome's engine), the layer's
        # too; the letterhead is on the page, just not in the tree.
        text = pypdfium2.PdfDocument(path)[0].get_textpage().get_text_range().replace("\ufffe", "")
        parts = " ".join(part for _, part in expected_letter(recipient, LETTER) if part)
        words = set(re.findall(r"\w+", parts))
        found = set(re.findall(r"\w+", text))
        assert words <= found, sorted(words - found)
        assert squash(LETTER["sender"]["organisation"]) in squash(text)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> tuple[Path, dict, list[dict]]:
    """Letters that take every way a cover letter is made: layered (two sharing a text), laid out
    whole (a salutation too long for the layer's one line), in French, on US Letter, with a
    signature image."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("mixed")
    words = yaml.safe_load((DATA_DIR / "words.yaml").read_text(encoding="utf-8"))
    words["fr"] = words["en"]
    image = STYLE_DIR / "signatures" / f"test-{folder.name}.png"
    image.parent.mkdir(exist_ok=True)
    Image.new("L", (240, 60), 255).save(image)
    letter = dict(LETTER, translations={"fr": FRENCH},
                  signer=dict(LETTER["signer"], signature=str(image.relative_to(ROOT))))
    recipients = [RECIPIENTS[0], dict(RECIPIENTS[1], salutation=LONG_SALUTATION), RECIPIENTS[2],
                  dict(RECIPIENTS[3], language="fr"), dict(RECIPIENTS[4], language="fr"),
                  dict(RECIPIENTS[1], id="us-letter", paper="letter", position="Secretary of State")]
    try:
        assert main(["letters", "--words", str(write_data(folder, words, "words.yaml")),
                     "--letter", str(write_data(folder, letter, "letter.yaml")),
                     "--recipients", str(write_data(folder, {"recipients": recipients}, "recipients.yaml")),
                     "--out", str(folder / "out")]) == 0
    finally:
        image.unlink()
        if not any(image.parent.iterdir()):
            image.parent.rmdir()
    return folder / "out", letter, recipients


def test_layered_whole_translated_and_letter_paper_packs_are_tagged_alike(mixed):
    out, letter, recipients = mixed
    layered = []
    for recipient in recipients:
        path = out / "letters" / f"{recipient['id']}.pdf"
        check_pack(path, recipient, letter, signature=True)
        with pikepdf.open(path) as pdf:
            layered.append(isinstance(pdf.pages[0].obj.Contents, pikepdf.Array))
            if recipient.get("paper") == "letter":
                assert [round(float(v)) for v in pdf.pages[0].mediabox] == [0, 0, 612, 792]
    # Both ways were taken: the long salutation's letter, and a paper of its own, were laid out whole.
    assert layered == [True, False, True, True, True, False]


def test_the_print_file_is_not_tagged(mixed):
    out, _, _ = mixed
    with pikepdf.open(out / "letters.pdf") as pdf:
        assert "/StructTreeRoot" not in pdf.Root and "/MarkInfo" not in pdf.Root


def test_the_build_writes_no_pack_that_fails_pdf_ua_1(earlier_build, monkeypatch, capsys):
    from appeal.products import assembly

    monkeypatch.setattr(assembly, "ua_claims", lambda language: "")  # no PDF/UA identification
    before = snapshot(earlier_build)
    assert main(["letters", "--out", str(earlier_build)]) == 2
    err = capsys.readouterr().err
    assert re.search(r"letters/estonia-foreign-minister\.pdf: the edition just built is not PDF/UA-1 "
                     r"\(.*failed PDFUA1-ID-", err), err
    assert snapshot(earlier_build) == before


def test_marked_content_is_renumbered_or_made_an_artifact_and_an_unknown_form_is_refused():
    from appeal.pdf.marked import Marked

    content = b"q /Span <</MCID 0>> BDC (a) Tj EMC /P <</MCID 1>>\nBDC (b) Tj EMC /Artifact BMC EMC Q"
    marked = Marked.of(content)
    assert marked.mcids == (0, 1) and marked.tags == (b"/Span", b"/P")
    assert marked.joined({0: None, 1: 7}) == (
        b"q /Artifact BMC (a) Tj EMC /P <</MCID 7>> BDC (b) Tj EMC /Artifact BMC EMC Q")
    assert marked.joined(lambda mcid: mcid) == content  # an opening whose number stays is kept as written
    with pytest.raises(ValueError, match="does not renumber"):
        Marked.of(b"/Span <</MCID 0 /ActualText (x)>> BDC EMC")
