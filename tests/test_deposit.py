"""The deposit edition: the archive's pages as PDF/A-2a and PDF/UA-1 with no embedded file, for
repositories that accept none; proven against its source given with verify --source."""

from __future__ import annotations

import hashlib
from io import BytesIO

import pikepdf
import pypdfium2
import pytest

from appeal.cli import main
from appeal.paths import DATA_DIR
from appeal.pdf import sign as signing
from appeal.pdf.text import reading_text
from appeal.verify.conformance import DEPOSIT_PROFILES, validation

SOURCE = DATA_DIR / "appeal.yaml"


@pytest.fixture(scope="module")
def deposit(built):
    return built / "appeal-deposit.pdf"


def test_it_is_pdfa_2a_and_pdfua_1_and_embeds_nothing(deposit):
    lines = list(validation(deposit.read_bytes(), DEPOSIT_PROFILES))
    assert [line.line() for line in lines] == ["ok    PDF/A-2a: no failed rules",
                                               "ok    PDF/UA-1: no failed rules"]
    with pikepdf.open(deposit) as pdf:
        assert "/AF" not in pdf.Root and "/EmbeddedFiles" not in pdf.Root.get("/Names", {})
        assert not pdf.attachments
        with pdf.open_metadata() as meta:
            assert (meta["pdfaid:part"], meta["pdfaid:conformance"], meta["pdfuaid:part"]) == ("2", "A", "1")
        assert str(pdf.Root.AcroForm.Fields[0].T) == "Signature"  # signable like the archive


def test_its_pages_are_the_archives_and_its_colophon_says_where_the_source_is(deposit, built):
    def pixels(path):
        document = pypdfium2.PdfDocument(path)
        try:
            return [document[n].render(scale=40 / 72).to_pil().tobytes() for n in range(len(document))]
        finally:
            document.close()

    archive = pixels(built / "appeal-archive.pdf")
    mine = pixels(deposit)
    assert len(mine) == len(archive) and mine[:-1] == archive[:-1]  # the colophon's page differs
    text = " ".join(reading_text(deposit.read_bytes()).split())
    assert hashlib.sha256(SOURCE.read_bytes()).hexdigest() in text
    assert "Deposit edition (PDF/A-2a, PDF/UA-1)" in text
    assert "This edition carries no embedded file" in text and "(appeal-archive.pdf)" in text
    assert "The source data is embedded in this file" not in text


def test_verify_says_a_deposit_carries_no_source_and_proves_it_against_one(deposit, tmp_path, capsys):
    assert main(["verify", str(deposit)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  a deposit edition: it carries no source, by design" in out
    assert out.splitlines()[-1].endswith("NOT verified")
    assert main(["verify", str(deposit), "--source", str(SOURCE)]) == 0
    out = capsys.readouterr().out
    assert "ok    identical, byte for byte, to the edition rebuilt from the source given for it" in out
    assert "ok    PDF/A-2a: no failed rules" in out
    assert "verified: the deposit edition of the appeal: its pages are the ones the source" in out
    altered = tmp_path / "appeal.yaml"
    altered.write_bytes(SOURCE.read_bytes().replace(b"landmines", b"landmine", 1))
    assert main(["verify", str(deposit), "--source", str(altered)]) == 1
    out = capsys.readouterr().out
    assert "is not the one printed in the colophon" in out and out.splitlines()[-1].endswith("NOT verified")


def test_a_deposit_is_signed_once_proven_and_verified_with_its_signature(deposit, tmp_path, capsys,
                                                                         monkeypatch):
    from pki import PKI

    monkeypatch.setenv(signing.PASSWORD_VARIABLE, "")
    pki = PKI()
    try:
        key = pki.signer(tmp_path)
        root = pki.root.pem(tmp_path / "root.pem")
    finally:
        pki.stop()
    signed = tmp_path / "signed.pdf"
    assert main(["sign", str(deposit), "--key", str(key), "--out", str(signed)]) == 2  # no source: refused
    assert "a deposit edition: it carries no source" in capsys.readouterr().err and not signed.exists()
    assert main(["sign", str(deposit), "--key", str(key), "--source", str(SOURCE), "--out", str(signed)]) == 0
    assert main(["verify", str(signed), "--source", str(SOURCE), "--trust", str(root)]) == 0
    out = capsys.readouterr().out
    assert "signed by Campaign Signer (Joint Appeal Campaign)" in out and "PDF/A-2a: no failed rules" in out
    with pikepdf.open(BytesIO(signed.read_bytes())) as pdf:
        assert not pdf.attachments


def test_source_given_twice_is_refused(deposit, capsys):
    assert main(["verify", str(deposit), "--source", str(SOURCE), "--source", str(SOURCE)]) == 2
    assert "--source: give the appeal's data once" in capsys.readouterr().err
