"""Long-term signatures (PAdES B-LT, B-LTA) and their renewal, entirely offline: a throwaway CA,
time-stamping authority and OCSP responder served on 127.0.0.1 (tests/pki.py), stopped before
anything is validated, so that every validation below runs on what the files carry alone."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from io import BytesIO
from pathlib import Path

import page
import pikepdf
import pypdfium2
import pytest
from pki import PKI

from appeal.cli import main
from appeal.pdf import sign as signing
from appeal.pdf.revisions import revisions
from appeal.verify.checks import file_checks
from appeal.verify.conformance import validation

LATER = dt.datetime.now(dt.UTC) + dt.timedelta(days=400)  # after the signer's certificate expired


@pytest.fixture(autouse=True)
def no_password(monkeypatch):
    monkeypatch.setenv(signing.PASSWORD_VARIABLE, "")


@pytest.fixture(scope="module")
def signed(built, tmp_path_factory):
    """The default build's archive signed at B-B and at B-LTA, the latter extended twice, made
    while the authorities answer; then they stop, and every test validates offline."""
    folder = tmp_path_factory.mktemp("ltv")
    pki = PKI()
    try:
        key = pki.signer(folder, days=(-30, 60))  # expires in two months
        archive = built / "appeal-archive.pdf"
        made = {"folder": folder, "root": pki.root.pem(folder / "root.pem"), "unsigned": archive}
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(signing.PASSWORD_VARIABLE, "")
            for name, extra in (("b-b", []), ("lta", ["--timestamp-url", pki.tsa_url, "--ltv"])):
                assert main(["sign", str(archive), "--key", str(key), *extra,
                             "--out", str(folder / f"{name}.pdf")]) == 0
            for before, after in (("lta", "extended"), ("extended", "extended-twice")):
                assert main(["sign", str(folder / f"{before}.pdf"), "--extend", "--timestamp-url",
                             pki.tsa_url, "--out", str(folder / f"{after}.pdf")]) == 0
        made["requests"] = dict(pki.requests)
    finally:
        pki.stop()
    return made


def revision_files(data: bytes) -> list[bytes]:
    return [data[:revision.end] for revision in revisions(data)]


def test_the_signing_fetched_the_status_of_every_certificate_from_the_responder(signed):
    # B-T + B-LT + B-LTA, then two extensions: a timestamp each time, the status fetched each time
    assert signed["requests"]["tsa"] >= 2 + 2 and signed["requests"]["ocsp"] >= 3


def test_b_lta_is_the_signed_file_plus_validation_data_and_a_document_timestamp(signed):
    unsigned = signed["unsigned"].read_bytes()
    lta, once, twice = (signed["folder"] / f"{n}.pdf" for n in ("lta", "extended", "extended-twice"))
    steps = revision_files(twice.read_bytes())
    assert len(steps) == 6  # built, signed, validation data, timestamp, two extensions
    assert steps[0] == unsigned and steps[3] == lta.read_bytes() and steps[4] == once.read_bytes()
    with pikepdf.open(BytesIO(steps[2])) as pdf:  # B-LT: the store, with the status of the certificates
        store = pdf.Root.DSS
        assert len(store.Certs) >= 3 and len(store.OCSPs) >= 3


def test_pyhankos_own_validator_says_b_lta_intact_the_whole_file_covered(signed):
    from asn1crypto import x509 as asn1
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import validation as pyhanko_validation
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko_certvalidator import ValidationContext

    root = asn1.Certificate.load(_der(signed["root"]))
    for name in ("lta", "extended-twice"):
        reader = PdfFileReader(BytesIO((signed["folder"] / f"{name}.pdf").read_bytes()))
        context = ValidationContext(trust_roots=[root], allow_fetching=False)
        signature, = reader.embedded_regular_signatures
        status = pyhanko_validation.validate_pdf_signature(
            signature, context, key_usage_settings=KeyUsageConstraints(key_usage={"digital_signature"}))
        assert status.intact and status.valid and status.trusted and status.docmdp_ok
        assert status.coverage == pyhanko_validation.SignatureCoverageLevel.ENTIRE_REVISION
        newest = reader.embedded_timestamp_signatures[-1]
        stamp = pyhanko_validation.validate_pdf_timestamp(newest, context)
        assert stamp.intact and stamp.valid and stamp.trusted
        assert stamp.coverage == pyhanko_validation.SignatureCoverageLevel.ENTIRE_FILE


def _der(path: Path) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    return x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(Encoding.DER)


def _ades(path: Path, root: Path, at: dt.datetime):
    """pyHanko's ETSI EN 319 102-1 long-term validation as of `at`, with nothing fetched."""
    from asn1crypto import x509 as asn1
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import ades
    from pyhanko.sign.validation.policy_decl import (
        PdfSignatureValidationSpec,
        RevinfoOnlineFetchingRule,
        RevocationInfoGatheringSpec,
        SignatureValidationSpec,
    )
    from pyhanko_certvalidator import policy_decl
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
    from pyhanko_certvalidator.registry import SimpleTrustManager

    reader = PdfFileReader(BytesIO(path.read_bytes()))
    spec = PdfSignatureValidationSpec(SignatureValidationSpec(
        cert_validation_policy=CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build([asn1.Certificate.load(_der(root))]),
            revinfo_policy=policy_decl.CertRevTrustPolicy(revocation_checking_policy=policy_decl.REQUIRE_REVINFO)),
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY)))
    timing = ValidationTimingInfo(validation_time=at, best_signature_time=at, point_in_time_validation=True)
    signature = reader.embedded_regular_signatures[0]
    return asyncio.run(ades.ades_lta_validation(signature, spec, timing_info=timing))


def test_after_the_certificate_expired_b_lta_still_validates_and_b_b_does_not(signed):
    from pyhanko.sign.ades.report import AdESPassed

    folder = signed["folder"]
    # pyHanko's long-term validation, as of now and as of a date after the signer's certificate ended
    assert _ades(folder / "extended-twice.pdf", signed["root"], dt.datetime.now(dt.UTC)).ades_subindic == \
        AdESPassed.OK
    assert _ades(folder / "b-b.pdf", signed["root"], LATER).ades_subindic != AdESPassed.OK


def test_verify_reports_the_level_the_timestamps_and_validates_offline(signed, capsys, monkeypatch):
    """With every socket refused: verify never reaches the network, and needs not."""
    def refused(*args, **kwargs):
        raise AssertionError("verify opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refused)
    path = signed["folder"] / "extended-twice.pdf"
    assert main(["verify", str(path), "--trust", str(signed["root"]), "--at", LATER.date().isoformat()]) == 0
    out = capsys.readouterr().out
    assert "note  PAdES baseline B-LTA" in out
    assert out.count("ok    document timestamp (RFC 3161): ") == 3
    assert "by Throwaway Time-Stamping Authority" in out
    assert f"ok    valid as of {LATER.date()}T12:00:00+00:00 with only what the file carries" in out
    assert "without the network, chained to the certificates given with --trust" in out
    assert "note  re-timestamp before " in out
    assert "ok    6 revisions: the one written before signing, the signature's" in out
    assert "ok    PDF/A-3a: no failed rules" in out and "ok    PDF/UA-1: no failed rules" in out
    assert "ok    identical, byte for byte, to the edition rebuilt" in out or "ok    the same objects" in out
    assert out.splitlines()[-1].endswith(
        "verified: the archival edition of the appeal, signed by a certificate you trust, unchanged since it "
        "was signed; its pages are the ones its embedded source gives")


def test_a_b_b_signature_fails_as_of_a_date_after_its_certificate_expired(signed, capsys):
    assert main(["verify", str(signed["folder"] / "b-b.pdf"), "--at", LATER.date().isoformat()]) == 1
    out = capsys.readouterr().out
    assert "note  PAdES baseline B-B: a signature alone" in out
    assert f"FAIL  not valid as of {LATER.date()}T12:00:00+00:00 with only what the file carries" in out


@pytest.mark.parametrize("step", [2, 3, 4, 5], ids=["B-LT", "B-LTA", "extended", "extended twice"])
def test_every_step_keeps_pdfa_3a_pdfua_1_and_the_pages(signed, step):
    data = revision_files((signed["folder"] / "extended-twice.pdf").read_bytes())[step]
    lines = list(validation(data))
    assert all(line.ok for line in lines), [line.line() for line in lines]
    # page-validation's own verdict: PDF/UA-1 untouched; PDF/A-3a but its ByteRange rule, which
    # reads every signature against the end of the file (conformance.py says why)
    with_widgets = _page_validation(data)
    assert with_widgets["ua1"] == [] and set(with_widgets["3a"]) <= {"PDFA3A-SIGNATURE-BYTERANGE-001"}
    assert _pixels(data) == _pixels(signed["unsigned"].read_bytes())


def _page_validation(data: bytes) -> dict[str, list[str]]:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(data)
        file.flush()
        return {profile: sorted({f.rule_id for f in page.validate_pdf(file.name, profile=profile).failures})
                for profile in ("3a", "ua1")}


def _pixels(data: bytes) -> list[bytes]:
    document = pypdfium2.PdfDocument(data)
    try:
        return [document[number].render(scale=40 / 72, may_draw_forms=True).to_pil().tobytes()
                for number in range(len(document))]
    finally:
        document.close()


def test_the_timestamps_field_lies_outside_the_page_which_is_what_exempts_it_from_tags(signed, tmp_path):
    """A negative control: the same field moved onto the page fails PDF/UA-1 (an untagged widget)."""
    data = (signed["folder"] / "lta.pdf").read_bytes()
    with pikepdf.open(BytesIO(data)) as pdf:
        field = next(field for field in pdf.Root.AcroForm.Fields
                     if str(field.get("/T", "")).startswith("Document timestamp"))
        assert [float(v) for v in field.Rect] == [-1, -1, -1, -1] and int(field.F) == 4 | 128
        assert "/StructParent" not in field
        field.Rect = [0, 0, 0, 0]
        pdf.save(tmp_path / "on-page.pdf")
    assert "PDFUA1-WIDGET-FORM-TAG-001" in _page_validation((tmp_path / "on-page.pdf").read_bytes())["ua1"]


def test_a_byte_changed_in_any_revision_fails(signed):
    """In each revision, a byte of what it says: a stream it wrote (a page's content, a certificate,
    an OCSP response), or, for the signature's, a letter of its signature dictionary."""
    data = (signed["folder"] / "extended-twice.pdf").read_bytes()
    ends = [revision.end for revision in revisions(data)]
    for number, (start, end) in enumerate(zip([0, *ends[:-1]], ends, strict=True), 1):
        with pikepdf.open(BytesIO(data[:end])) as pdf:
            streams = [obj.read_raw_bytes() for obj in pdf.objects
                       if isinstance(obj, pikepdf.Stream) and len(obj.read_raw_bytes()) > 40]
        inside = [data.index(raw, start) + len(raw) // 2 for raw in streams
                  if data.find(raw, start, end) >= 0]
        at = inside[0] if inside else data.index(b"/Adobe.PPKLite", start, end) + 3
        copy = bytearray(data)
        copy[at] ^= 0x01
        failed = [check.line() for check in file_checks(bytes(copy), "copy.pdf") if not check.ok]
        assert failed, f"a byte changed in revision {number} went unnoticed"


def test_a_revision_among_the_timestamps_that_changes_a_page_fails(signed, capsys, tmp_path):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO((signed["folder"] / "extended.pdf").read_bytes()))
    cover = writer.add_object(generic.StreamObject(stream_data=b"q 1 1 1 rg 100 300 400 200 re f Q"))
    writer.add_stream_to_page(0, cover)
    out = BytesIO()
    writer.write(out)
    (tmp_path / "copy.pdf").write_bytes(out.getvalue())
    failed = [check.line() for check in file_checks(out.getvalue(), "copy.pdf") if not check.ok]
    assert any("revision 6 changes page 1" in line for line in failed), failed
    assert any("bytes were appended after the newest document timestamp" in line for line in failed), failed


def test_a_store_that_holds_something_else_fails(signed):
    """A stream that is no certificate slipped into the store's certificates, by a later revision."""
    from appeal.pdf.later_revisions import validation_revision_problems

    steps = revision_files((signed["folder"] / "lta.pdf").read_bytes())
    with pikepdf.open(BytesIO(steps[2])) as before, pikepdf.open(BytesIO(steps[2])) as after:
        after.Root.DSS.Certs.append(after.make_stream(b"now support the withdrawing States"))
        assert any("holds something other than a certificate" in problem
                   for problem in validation_revision_problems(before, after))


def test_a_revoked_certificate_stops_long_term_signing_and_nothing_is_written(built, tmp_path, capsys):
    pki = PKI()
    try:
        key = pki.signer(tmp_path)
        pki.revoke(pki.last_signer)
        target = tmp_path / "signed.pdf"
        assert main(["sign", str(built / "appeal-archive.pdf"), "--key", str(key), "--timestamp-url",
                     pki.tsa_url, "--ltv", "--out", str(target)]) == 2
        assert pki.requests["tsa"] == 0  # refused before anything was signed
    finally:
        pki.stop()
    err = capsys.readouterr().err
    assert "error: the certificate of Campaign Signer (Joint Appeal Campaign)" in err and "is revoked" in err
    assert not target.exists()


@pytest.mark.parametrize(("args", "expected"), [
    (["--key", "KEY", "--ltv"], "--ltv needs --timestamp-url"),
    (["--extend"], "--extend needs --timestamp-url"),
    (["--extend", "--timestamp-url", "http://127.0.0.1:9/", "--key", "KEY"],
     "--extend renews the timestamps"),
])
def test_long_term_options_are_refused_with_a_message(args, expected, built, tmp_path, capsys, signed):
    args = [str(signed["folder"] / "signer.p12") if arg == "KEY" else arg for arg in args]
    assert main(["sign", str(built / "appeal-archive.pdf"), *args, "--out", str(tmp_path / "x.pdf")]) == 2
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "x.pdf").exists()


@pytest.mark.parametrize(("name", "expected"), [("unsigned", "is not signed"),
                                               ("b-b", "has no document timestamp to renew")])
def test_only_a_long_term_signature_is_extended(name, expected, signed, tmp_path, capsys):
    path = signed["unsigned"] if name == "unsigned" else signed["folder"] / f"{name}.pdf"
    assert main(["sign", str(path), "--extend", "--timestamp-url", "http://127.0.0.1:9/",
                 "--out", str(tmp_path / "x.pdf")]) == 2
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "x.pdf").exists()


def test_pyhankos_xmp_rewrite_keeps_rdf_valid_which_signing_here_never_needs(signed):
    """pyHanko issue 755 (fixed in 0.35.2): an incremental update re-serialised XMP holding an
    extension schema with rdf:parseType on a node element, which XMP parsers reject. Signing here
    keeps the build's XMP byte for byte; pyHanko's own rewrite is held to valid RDF in case a
    later version of this tool, or a reader's tool, lets it run."""
    from lxml import etree
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    unsigned = signed["unsigned"].read_bytes()
    writer = IncrementalPdfFileWriter(BytesIO(unsigned))
    writer.root["/Lang"] = writer.root["/Lang"]  # any change: the update rewrites the XMP
    writer.update_root()
    out = BytesIO()
    writer.write(out)
    with pikepdf.open(out) as pdf:
        rewritten = pdf.Root.Metadata.read_bytes()
    rdf = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
    tree = etree.fromstring(rewritten)
    assert tree.findall(f".//{rdf}Description[@{rdf}parseType]") == []
    assert b"pdfuaid" in rewritten
    with pikepdf.open(BytesIO(unsigned)) as before, \
            pikepdf.open(BytesIO((signed["folder"] / "extended-twice.pdf").read_bytes())) as after:
        assert after.Root.Metadata.read_bytes() == before.Root.Metadata.read_bytes()
        assert dict(after.docinfo.items()).keys() == dict(before.docinfo.items()).keys()


def test_a_build_signs_the_archive_and_the_letters_for_the_long_term(tmp_path, capsys):
    pki = PKI()
    try:
        key = pki.signer(tmp_path)
        out = tmp_path / "out"
        assert main(["--edition", "archive", "--edition", "letters", "--sign-key", str(key),
                     "--timestamp-url", pki.tsa_url, "--ltv", "--out", str(out)]) == 0
        asked = dict(pki.requests)
    finally:
        pki.stop()
    # The status of each certificate (signer, issuing CA, TSA) asked once for the whole build, and
    # each file's store holding its own chain's answers alone, whatever came before it.
    assert asked["ocsp"] == 3, asked
    stores = []
    for path in [out / "appeal-archive.pdf", *sorted((out / "letters").glob("*.pdf"))]:
        with pikepdf.open(path) as pdf:
            stores.append((len(pdf.Root.DSS.Certs), len(pdf.Root.DSS.OCSPs)))
    assert set(stores) == {stores[0]} and stores[0][1] == 3, stores
    capsys.readouterr()
    packs = sorted((out / "letters").glob("*.pdf"))
    for path in (out / "appeal-archive.pdf", packs[0], out / "letters.pdf"):
        lines = [check.line() for check in file_checks(path.read_bytes(), path.name)]
        assert "note  PAdES baseline B-LTA: a signature, its timestamp, the validation data of their " \
               "certificates and document timestamps over them" in lines, (path, lines)
        assert not [line for line in lines if line.startswith("FAIL")], (path, lines)
    assert _page_validation(packs[0].read_bytes())["ua1"] == []


@pytest.mark.parametrize("guarded", [True, False])
def test_a_stream_of_validation_data_ending_in_a_carriage_return_keeps_pdfa(signed, guarded):
    """About one certificate or OCSP response in 256 ends in 0x0D; written as pyHanko writes it, its
    length reads one byte short (PDF/A-3a fails); written in hexadecimal, it holds."""
    from pyhanko.pdf_utils import generic

    from appeal.pdf.ltv import kept_metadata_writer, no_stream_ends_in_cr

    out = BytesIO((signed["folder"] / "lta.pdf").read_bytes())
    writer = kept_metadata_writer(out)
    certificates = writer.root["/DSS"]["/Certs"]
    certificates.append(writer.add_object(generic.StreamObject(stream_data=_der(signed["root"]) + b"\r")))
    writer.update_container(certificates)
    if guarded:
        no_stream_ends_in_cr(writer)
    writer.write_in_place()
    failed = _page_validation(out.getvalue())["3a"]
    assert ("PDFA3A-STREAM-LENGTH-001" in failed) is not guarded, failed


def test_validation_data_written_in_hexadecimal_is_read_by_verify(tmp_path, capsys, monkeypatch):
    # About one certificate or OCSP response in 256 ends in 0x0D and is written in hexadecimal
    # (ltv.no_stream_ends_in_cr). verify refused that encoding, so a few B-LT builds in a hundred
    # failed their own check (found by CI). Here every stream of the validation data is so written.
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.generic import pdf_name

    from appeal.pdf import ltv

    def every_stream_in_hexadecimal(writer) -> None:
        for obj in writer.objects.values():
            if isinstance(obj, generic.StreamObject):
                obj.apply_filter(pdf_name("/ASCIIHexDecode"))

    monkeypatch.setattr(ltv, "no_stream_ends_in_cr", every_stream_in_hexadecimal)
    pki = PKI()
    try:
        key = pki.signer(tmp_path)
        out = tmp_path / "out"
        assert main(["--edition", "archive", "--sign-key", str(key), "--timestamp-url", pki.tsa_url,
                     "--ltv", "--out", str(out)]) == 0, capsys.readouterr().err
    finally:
        pki.stop()
    archive = (out / "appeal-archive.pdf").read_bytes()
    with pikepdf.open(BytesIO(archive)) as pdf:
        assert all(store.get("/Filter") == pikepdf.Name.ASCIIHexDecode
                   for store in [*pdf.Root.DSS.Certs, *pdf.Root.DSS.OCSPs])
    failed = [check.line() for check in file_checks(archive, "appeal-archive.pdf") if not check.ok]
    assert not failed, failed
    # page-validation reads each signature's range against the file's end (the guide's archive page)
    assert set(_page_validation(archive)["3a"]) <= {"PDFA3A-SIGNATURE-BYTERANGE-001"}
