"""Signed editions: PAdES on the archive and the letters, conformance kept, verify reports and
catches, keys refused with a message. Keys and certificates are made here, for the session."""

from __future__ import annotations

import datetime as dt
import re
from io import BytesIO
from pathlib import Path

import page
import pikepdf
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from appeal.cli import main
from appeal.paths import DATA_DIR
from appeal.pdf import sign as signing
from appeal.pdf import signatures as signature_reports
from appeal.pdf.text import reading_text
from helpers import snapshot

PASSWORD = "correct horse battery staple"
LETTER_SENDER = "Joint Appeal to Uphold the Mine Ban and Cluster Munitions Conventions"  # data/letter.yaml
NOW = dt.datetime.now(dt.UTC)


def _name(common: str, organisation: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, common)]
    if organisation:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    return x509.Name(parts)


def _certificate(subject, issuer, public_key, issuer_key, start, end, *, ca=False, usage=None):
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
               .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(
                   digital_signature=not ca, content_commitment=not ca, key_encipherment=False,
                   data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                   encipher_only=False, decipher_only=False), critical=True))
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=True)
    algorithm = None if isinstance(issuer_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(issuer_key, algorithm)


class Authority:
    """A throwaway certificate authority; no private key of it is ever written to the project."""

    def __init__(self, name: str) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.name = _name(name)
        self.certificate = _certificate(self.name, self.name, self.key.public_key(), self.key,
                                        NOW - dt.timedelta(days=400), NOW + dt.timedelta(days=3650), ca=True)

    def pem(self, folder: Path) -> Path:
        path = folder / "ca.pem"
        path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        return path

    def issue(self, folder: Path, name: str, key=None, start=None, end=None, password=PASSWORD) -> Path:
        key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        start, end = start or NOW - dt.timedelta(days=30), end or NOW + dt.timedelta(days=365)
        certificate = _certificate(_name("Campaign Signer", "Joint Appeal Campaign"), self.name,
                                   key.public_key(), self.key, start, end)
        encryption = serialization.BestAvailableEncryption(password.encode()) if password else \
            serialization.NoEncryption()
        path = folder / f"{name}.p12"
        path.write_bytes(pkcs12.serialize_key_and_certificates(
            b"signer", key, certificate, [self.certificate], encryption))
        path.chmod(0o600)  # as the README makes them: signing warns of a key others can read
        return path


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    authority = Authority("Throwaway Test CA")
    return {
        "folder": folder,
        "ca": authority.pem(folder),
        "other_ca": Authority("Another CA").pem(tmp_path_factory.mktemp("other")),
        "signer": authority.issue(folder, "signer"),
        "no_password": authority.issue(folder, "no-password", password=None),
        "ecdsa": authority.issue(folder, "ecdsa", key=ec.generate_private_key(ec.SECP256R1())),
        "p384": authority.issue(folder, "p384", key=ec.generate_private_key(ec.SECP384R1())),
        "rsa1024": authority.issue(folder, "rsa1024", key=rsa.generate_private_key(65537, 1024)),
        "expired": authority.issue(folder, "expired", start=NOW - dt.timedelta(days=400),
                                   end=NOW - dt.timedelta(days=1)),
        "authority": authority,
    }


@pytest.fixture(autouse=True)
def password(monkeypatch):
    monkeypatch.setenv(signing.PASSWORD_VARIABLE, PASSWORD)


@pytest.fixture(scope="module")
def signed_build(keys, tmp_path_factory):
    """A default build signed with the throwaway key: the archive and every letter."""
    out = tmp_path_factory.mktemp("signed")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(signing.PASSWORD_VARIABLE, PASSWORD)
        assert main(["--sign-key", str(keys["signer"]), "--reason", "Published by the campaign",
                     "--out", str(out)]) == 0
    return out


def test_the_signed_archive_is_the_unsigned_one_plus_a_revision(signed_build, built):
    unsigned = (built / "appeal-archive.pdf").read_bytes()
    signed = (signed_build / "appeal-archive.pdf").read_bytes()
    assert signed[:len(unsigned)] == unsigned and len(signed) > len(unsigned)
    assert signing.unsigned_revision(signed) == unsigned
    assert reading_text(signed) == reading_text(unsigned)  # nothing changes on the page


@pytest.mark.parametrize("profile", ["3a", "ua1"])
def test_the_signed_archive_keeps_pdfa_3a_and_pdfua_1(signed_build, profile):
    report = page.validate_pdf(str(signed_build / "appeal-archive.pdf"), profile=profile)
    assert [f.rule_id for f in report.failures] == []


def test_pyhankos_validation_says_intact_and_covering_the_whole_file(signed_build, keys):
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import validation
    from pyhanko_certvalidator import ValidationContext

    for name in ("appeal-archive.pdf", "letters.pdf", "letters/estonia-foreign-minister.pdf"):
        reader = PdfFileReader(BytesIO((signed_build / name).read_bytes()))
        [signature] = reader.embedded_signatures
        status = validation.validate_pdf_signature(
            signature, ValidationContext(trust_roots=[load_cert_from_pemder(str(keys["ca"]))]))
        assert status.intact and status.valid and status.trusted, name
        assert status.coverage == validation.SignatureCoverageLevel.ENTIRE_FILE
        assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
        assert status.md_algorithm == "sha256"
        assert reader.input_version < (2, 0)


def test_signature_metadata_agrees_and_keeps_the_claims(signed_build):
    with pikepdf.open(signed_build / "appeal-archive.pdf") as pdf:
        meta = pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False)
        assert meta["pdfaid:part"] == "3" and meta["pdfuaid:part"] == "1"
        assert str(pdf.docinfo.Producer) == meta["pdf:Producer"]
        assert "pyHanko" not in str(pdf.docinfo.Producer)


def test_verify_reports_the_signature(signed_build, keys, capsys):
    assert main(["verify", str(signed_build / "appeal-archive.pdf")]) == 0
    out = capsys.readouterr().out
    assert "ok    signed by Campaign Signer (Joint Appeal Campaign), certificate SHA-256 " in out
    assert "the signature is intact" in out
    assert "ok    the signature covers the whole file: nothing was appended after it" in out
    assert "note  the signer's certificate chain is not checked" in out
    assert "ok    identical, byte for byte, to the edition rebuilt from its embedded source" in out
    assert "ok    two revisions, the one written before signing and the signature's, which adds the " \
        "signature and changes nothing else" in out
    assert "verified: its pages are the ones its embedded source gives" in out.splitlines()[-1]
    assert main(["verify", str(signed_build / "appeal-archive.pdf"), "--trust", str(keys["ca"])]) == 0
    out = capsys.readouterr().out
    assert "ok    the signer's certificate chains to a certificate given with --trust" in out
    assert main(["verify", str(signed_build / "appeal-archive.pdf"), "--trust", str(keys["other_ca"])]) == 1
    assert "FAIL  the signer's certificate does not chain" in capsys.readouterr().out


def test_verify_a_signed_letter_pack(signed_build, built, capsys):
    assert main(["verify", str(signed_build / "letters" / "estonia-foreign-minister.pdf")]) == 0
    out = capsys.readouterr().out
    assert "verified: a letter pack of this tool, unchanged since it was signed" in out.splitlines()[-1]
    assert main(["verify", str(built / "letters" / "estonia-foreign-minister.pdf")]) == 1
    assert "not signed: nothing in it proves who made it" in capsys.readouterr().out


def test_a_signed_letter_pack_stays_pdf_ua_1_its_tagged_field_filled(signed_build):
    """A pack carries an empty signature field, described and held by a Form element of its
    structure, that signing fills: the signed pack is PDF/UA-1 still, with one field."""
    path = signed_build / "letters" / "estonia-foreign-minister.pdf"
    report = page.validate_pdf(str(path), profile="ua1")
    assert report.is_compliant and not report.failures
    with pikepdf.open(path) as pdf:
        [field] = pdf.Root.AcroForm.Fields
        assert str(field.T) == "Signature" and "/V" in field
        assert str(field.TU) == f"Digital signature of {LETTER_SENDER}"
        assert field.P.objgen == pdf.pages[0].obj.objgen
        [document] = pdf.Root.StructTreeRoot.K
        [form] = [kid for kid in document.K if str(kid.S) == "/Form"]
        assert form.K.Type == pikepdf.Name.OBJR and form.K.Obj.objgen == field.objgen
        parents = pikepdf.NumberTree(pdf.Root.StructTreeRoot.ParentTree)
        assert parents[int(field.StructParent)].objgen == form.objgen


def test_a_byte_changed_after_signing_fails_verify(signed_build, tmp_path, capsys):
    """A letter of the title changed (the XMP packet is stored uncompressed), and a byte flipped
    inside page 1's compressed content: each fails, with what it found."""
    original = (signed_build / "appeal-archive.pdf").read_bytes()
    with pikepdf.open(signed_build / "appeal-archive.pdf") as pdf:
        content = pdf.pages[0].Contents.read_raw_bytes()
    title = re.search(rb"<dc:title>.*?Joint (A)ppeal", original, re.S)
    for at, expected in ((title.start(1), "the signature is NOT intact: the signed bytes were changed"),
                         (original.index(content) + len(content) // 2, "cannot be decompressed")):
        data = bytearray(original)
        data[at] ^= 0x01
        (tmp_path / "copy.pdf").write_bytes(bytes(data))
        assert main(["verify", str(tmp_path / "copy.pdf")]) == 1
        out = capsys.readouterr().out
        assert "FAIL  " in out and expected in out and "NOT verified" in out.splitlines()[-1], out


def test_an_appended_revision_that_changes_a_page_fails_verify(signed_build, tmp_path, capsys):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO((signed_build / "appeal-archive.pdf").read_bytes()))
    cover = writer.add_object(generic.StreamObject(stream_data=b"q 1 1 1 rg 100 300 400 200 re f Q"))
    writer.add_stream_to_page(0, cover)
    out = BytesIO()
    writer.write(out)
    (tmp_path / "copy.pdf").write_bytes(out.getvalue())
    assert main(["verify", str(tmp_path / "copy.pdf")]) == 1
    out = capsys.readouterr().out
    assert "FAIL  bytes were appended after signing" in out
    assert "FAIL  the file has 3 revisions; revision 2 changes" in out and "revision 3 changes page 1" in out


def test_signing_is_reproducible_and_never_takes_the_clock(keys, built, tmp_path, monkeypatch, capsys):
    for attempt in ("one", "two"):
        assert main(["sign", str(built / "appeal-archive.pdf"), "--key", str(keys["signer"]),
                     "--out", str(tmp_path / f"{attempt}.pdf")]) == 0
    assert (tmp_path / "one.pdf").read_bytes() == (tmp_path / "two.pdf").read_bytes()
    [report] = signature_reports.signatures((tmp_path / "one.pdf").read_bytes(), [])
    # The appeal is dated 16 June 2025, before the certificate: the signing time is its start.
    certificate = pkcs12.load_key_and_certificates(keys["signer"].read_bytes(), PASSWORD.encode())[1]
    assert report.signed_at == certificate.not_valid_before_utc.isoformat()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(NOW.timestamp())))
    assert main(["sign", str(built / "appeal-archive.pdf"), "--key", str(keys["signer"]),
                 "--out", str(tmp_path / "three.pdf")]) == 0
    [report] = signature_reports.signatures((tmp_path / "three.pdf").read_bytes(), [])
    assert report.signed_at == NOW.replace(microsecond=0).isoformat()


def test_the_signed_build_is_reproducible(keys, signed_build, tmp_path):
    out = tmp_path / "again"
    assert main(["--sign-key", str(keys["signer"]), "--reason", "Published by the campaign",
                 "--out", str(out)]) == 0
    for path in signed_build.rglob("*.pdf"):
        assert (out / path.relative_to(signed_build)).read_bytes() == path.read_bytes(), path


def test_sign_replaces_the_file_in_place_and_an_ecdsa_key_works(keys, built, tmp_path, capsys):
    target = tmp_path / "archive.pdf"
    target.write_bytes((built / "appeal-archive.pdf").read_bytes())
    assert main(["sign", str(target), "--key", str(keys["ecdsa"]), "--location", "Geneva"]) == 0
    assert main(["verify", str(target)]) == 0
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_key_without_a_password_needs_none(keys, built, tmp_path, monkeypatch):
    monkeypatch.delenv(signing.PASSWORD_VARIABLE)
    assert main(["sign", str(built / "appeal-archive.pdf"), "--key", str(keys["no_password"]),
                 "--out", str(tmp_path / "signed.pdf")]) == 0


def test_a_timestamp_makes_it_pades_b_t(keys, built, tmp_path, monkeypatch, capsys):
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.timestamps import DummyTimeStamper

    authority = keys["authority"]
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa = _certificate(_name("Test Time-Stamping Authority"), authority.name, tsa_key.public_key(),
                       authority.key, NOW - dt.timedelta(days=30), NOW + dt.timedelta(days=365),
                       usage=[ExtendedKeyUsageOID.TIME_STAMPING])
    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(tsa.public_bytes(serialization.Encoding.DER)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(tsa_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
        fixed_dt=NOW)
    urls = []
    monkeypatch.setattr(signing, "timestamper", lambda url: urls.append(url) or stamper)  # never the network
    assert main(["sign", str(built / "appeal-archive.pdf"), "--key", str(keys["signer"]), "--timestamp-url",
                 "http://tsa.invalid/", "--out", str(tmp_path / "stamped.pdf")]) == 0
    assert urls == ["http://tsa.invalid/"]
    assert main(["verify", str(tmp_path / "stamped.pdf")]) == 0
    assert f"ok    timestamp (RFC 3161): {NOW.replace(microsecond=0).isoformat()}" in capsys.readouterr().out
    assert page.validate_pdf(str(tmp_path / "stamped.pdf"), profile="3a").failures == []


# Refusals: one message, exit 2, nothing written.

def _refused(args: list[str], folder: Path, capsys) -> str:
    before = snapshot(folder)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("error: ")
    assert snapshot(folder) == before
    return err


def test_a_wrong_password_is_refused(keys, earlier_build, monkeypatch, capsys):
    monkeypatch.setenv(signing.PASSWORD_VARIABLE, "wrong")
    archive = earlier_build / "appeal-archive.pdf"
    err = _refused(["sign", str(archive), "--key", str(keys["signer"])], earlier_build, capsys)
    assert "signer.p12: cannot be opened: the password is wrong, or this is not a PKCS#12 file" in err
    err = _refused(["--sign-key", str(keys["signer"]), "--out", str(earlier_build)], earlier_build, capsys)
    assert "the password is wrong" in err


@pytest.mark.parametrize(("key", "expected"), [
    ("expired", "the certificate of Campaign Signer (Joint Appeal Campaign) expired on "),
    ("p384", "an ECDSA key on secp384r1; signing with SHA-256 takes an RSA key or ECDSA on P-256"),
    ("not-a-key", "cannot be opened: the password is wrong, or this is not a PKCS#12 file"),
    ("rsa1024", "rsa1024.p12: an RSA key of 1024 bits, too weak (NIST SP 800-57: 2048 at least)"),
    ("missing", "missing.p12: no such file"),
])
def test_keys_that_cannot_sign_are_refused(key, expected, keys, earlier_build, capsys):
    path = keys.get(key) or keys["folder"] / f"{key}.p12"
    if key == "not-a-key":
        path.write_text("-----BEGIN CERTIFICATE-----\n")
    archive = str(earlier_build / "appeal-archive.pdf")
    err = _refused(["sign", archive, "--key", str(path)], earlier_build, capsys)
    assert expected in err
    err = _refused(["letters", "--sign-key", str(path), "--out", str(earlier_build)], earlier_build, capsys)
    assert expected in err


def test_an_ed25519_key_is_refused(keys, earlier_build, capsys):
    key = ed25519.Ed25519PrivateKey.generate()
    certificate = _certificate(_name("Campaign Signer"), _name("Campaign Signer"), key.public_key(), key,
                               NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=30))
    path = keys["folder"] / "ed25519.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(b"s", key, certificate, None,
                                                           serialization.BestAvailableEncryption(PASSWORD.encode())))
    archive = str(earlier_build / "appeal-archive.pdf")
    err = _refused(["sign", archive, "--key", str(path)], earlier_build, capsys)
    assert "a Ed25519 key; signing takes an RSA key or ECDSA on P-256" in err


def test_files_that_are_not_ours_or_signed_already_are_refused(keys, earlier_build, signed_build, capsys):
    handout = str(earlier_build / "appeal-a4.pdf")
    err = _refused(["sign", handout, "--key", str(keys["signer"])], earlier_build, capsys)
    assert "not an edition this tool signs" in err
    copy = earlier_build / "signed-copy.pdf"
    copy.write_bytes((signed_build / "appeal-archive.pdf").read_bytes())
    err = _refused(["sign", str(copy), "--key", str(keys["signer"])], earlier_build, capsys)
    assert "is signed already" in err


def test_the_password_never_comes_from_the_command_line(capsys):
    with pytest.raises(SystemExit):
        main(["sign", "--help"])
    out = capsys.readouterr().out
    assert "--password" not in out and "APPEAL_SIGN_PASSWORD" in out


def test_a_booklet_is_told_apart_from_a_letter_pack(keys, earlier_build, capsys):
    """A booklet is marked like the letters ("appeal-edition", the kind in the Creator): verify and
    sign call it a booklet, never a letter pack, and sign leaves it unsigned."""
    booklet = str(earlier_build / "appeal-booklet.pdf")
    assert main(["verify", booklet]) == 1
    out = capsys.readouterr().out
    assert "a booklet of this tool: it carries no source" in out and "letter pack" not in out
    err = _refused(["sign", booklet, "--key", str(keys["signer"])], earlier_build, capsys)
    assert "not an edition this tool signs" in err and "it is a booklet" in err


def test_a_signed_letter_states_the_letters_date_not_the_appeals(keys, tmp_path, monkeypatch):
    """The build sets SOURCE_DATE_EPOCH for fontTools while it lays out; a letter signed during
    the build states its own date (after the certificate's start), not that internal value (the
    appeal's date, before the certificate: it would have been moved to the certificate's start)."""
    import yaml

    from helpers import write_data

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    day = (NOW - dt.timedelta(days=2)).date()  # after the certificate's start, NOW - 30 days
    letter = yaml.safe_load((DATA_DIR / "letter.yaml").read_text(encoding="utf-8"))
    letter["date"] = day.isoformat()
    recipients = yaml.safe_load((DATA_DIR / "recipients.yaml").read_text(encoding="utf-8"))
    recipients["recipients"] = recipients["recipients"][:1]
    out = tmp_path / "out"
    assert main(["letters", "--sign-key", str(keys["signer"]), "--out", str(out),
                 "--letter", str(write_data(tmp_path, letter, "letter.yaml")),
                 "--recipients", str(write_data(tmp_path, recipients, "recipients.yaml"))]) == 0
    midnight = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).isoformat()
    for path in (next((out / "letters").glob("*.pdf")), out / "letters.pdf"):
        [report] = signature_reports.signatures(path.read_bytes(), [])
        assert report.signed_at == midnight, path


def test_signing_warns_of_a_key_inside_a_work_tree_or_readable_by_others(keys, built, tmp_path, capsys):
    """A key one `git add .` from being published, or that others can read, is named on stderr;
    signing still goes ahead (the key is the user's to move). A key kept as the README says is
    not."""
    import shutil

    checkout = tmp_path / "checkout"
    (checkout / ".git").mkdir(parents=True)
    exposed = checkout / "keys" / "signer.p12"
    exposed.parent.mkdir()
    shutil.copyfile(keys["signer"], exposed)
    exposed.chmod(0o644)
    assert main(["sign", str(built / "appeal-archive.pdf"), "--key", str(exposed),
                 "--out", str(tmp_path / "signed.pdf")]) == 0
    err = capsys.readouterr().err
    assert f"the signing key is inside the git work tree {checkout}" in err
    assert "can be read by others (mode 644); chmod 600" in err
    kept = tmp_path / "appeal-keys" / "signer.p12"
    kept.parent.mkdir(mode=0o700)
    shutil.copyfile(keys["signer"], kept)
    kept.chmod(0o600)
    assert main(["sign", str(built / "appeal-archive.pdf"), "--key", str(kept),
                 "--out", str(tmp_path / "signed-again.pdf")]) == 0
    assert "warning:" not in capsys.readouterr().err


def test_the_signing_certificate_attribute_made_once_signs_the_same_bytes(keys, built, monkeypatch):
    # The signer's signing-certificate-v2 attribute is made once a key and read back from DER
    # (sign._SigningCertificate: half of what a letter pack's signature took); a pack signed so is
    # the very file pyHanko's own attribute, built again for each signature, gives.
    key = signing.load_key(keys["signer"], PASSWORD.encode())
    pack = sorted((built / "letters").glob("*.pdf"))[0].read_bytes()
    when = dt.datetime(2025, 6, 16, tzinfo=dt.UTC)
    made = []
    build = signing._SigningCertificate.build_attr_value

    async def counted(self, dry_run=False):
        made.append(dry_run)
        return await build(self, dry_run)

    monkeypatch.setattr(signing._SigningCertificate, "build_attr_value", counted)
    ours = signing.sign(pack, key, when, existing_field=signing.SIGNATURE_FIELD)
    assert made  # the attribute made once was used
    monkeypatch.setattr(signing._Signer, "_signed_attr_providers",
                        signing.signers.SimpleSigner._signed_attr_providers)
    made.clear()
    theirs = signing.sign(pack, key, when, existing_field=signing.SIGNATURE_FIELD)
    assert not made  # pyHanko's own was
    assert ours == theirs
    [report] = signature_reports.signatures(ours, [])
    assert report.intact and report.whole_file and report.problem is None
