"""verify proves the file a reader opens, every revision of it, and sign signs only what verifies
(issue 15): updates appended to a genuine archive, content that one renderer skips and another
draws, a signature by an impostor in a second field, forgeries of the signature's shape, a
re-saved copy, and files made to exhaust the verifier. Each attack is built here."""

from __future__ import annotations

import base64
import re
import zlib
from io import BytesIO
from pathlib import Path

import pikepdf
import pytest
from attacks import append_revision, form_drawing, nested, self_signed, source_stream, stream, swap_source

from appeal.cli import main
from appeal.pdf import sign as signing
from helpers import snapshot, verify_fails

OLD, NEW = b"to reconsider and reverse their decisions", b"to persevere in their decisions"


@pytest.fixture(scope="module")
def archive(built) -> Path:
    return built / "appeal-archive.pdf"


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    return self_signed(tmp_path_factory.mktemp("campaign"), "campaign")


@pytest.fixture(scope="module")
def signed(archive, campaign, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("signed") / "appeal-archive.pdf"
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(signing.PASSWORD_VARIABLE, raising=False)
        assert main(["sign", str(archive), "--key", str(campaign[0]), "--out", str(out)]) == 0
    return out


def verify(path: Path, capsys, *extra: str) -> tuple[int, str]:
    status = main(["verify", str(path), *extra])
    out = capsys.readouterr().out
    assert "Traceback" not in out
    return status, out


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


# 1. A later revision.

def test_an_unsigned_update_that_swaps_the_source_fails_and_nothing_is_extracted(archive, tmp_path, capsys):
    copy = write(tmp_path, "copy.pdf", swap_source(archive.read_bytes(), OLD, NEW))
    target = tmp_path / "source.yaml"
    out = verify_fails(copy, capsys, "the file has 2 revisions; revision 2 changes the embedded file "
                       "appeal.yaml", "--extract", str(target))
    assert "an unsigned edition has one" in out
    assert not target.exists() and "nothing written to" in out


def test_sign_refuses_a_file_that_fails_verify(archive, campaign, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(signing.PASSWORD_VARIABLE, raising=False)
    copy = write(tmp_path, "copy.pdf", swap_source(archive.read_bytes(), OLD, NEW))
    before = snapshot(tmp_path)
    assert main(["sign", str(copy), "--key", str(campaign[0])]) == 2
    err = capsys.readouterr().err
    assert "not signed: it fails verify's checks" in err and "revision 2 changes the embedded file" in err
    assert snapshot(tmp_path) == before


def test_a_form_nested_past_what_readers_agree_on_fails_before_anything_renders(archive, tmp_path, capsys):
    """A form XObject that draws a sentence, its dictionary nested deeper than PDFium and Poppler
    read alike: refused by the bound, whichever renderer would draw it."""
    data = archive.read_bytes()
    with pikepdf.open(BytesIO(data)) as pdf:
        page = pdf.pages[0].obj
        font_name, font = next(iter(page.Resources.Font.items()))
        assert isinstance(page.Contents, pikepdf.Stream)
        content_number, content = page.Contents.objgen[0], page.Contents.read_bytes()
        form_number = pdf.make_indirect(pikepdf.Dictionary()).objgen[0]  # the next free number
        resources = pikepdf.Dictionary(dict(page.Resources.items()))
        resources["/XObject"] = pikepdf.Dictionary({"/X9": pdf.get_object((form_number, 0))})
        entries = pikepdf.Dictionary({**dict(page.items()), "/Resources": resources}).unparse()
        page_number = page.objgen[0]
    form = form_drawing(b"now support the withdrawing States", font_name.lstrip("/"), font.objgen[0], 70)
    copy = write(tmp_path, "copy.pdf", append_revision(data, {
        form_number: form, content_number: stream({}, content + b"\nq /X9 Do Q"), page_number: entries}))
    verify_fails(copy, capsys, "nests dictionaries and arrays more than 32 levels deep")


def test_an_update_signed_in_a_second_field_by_an_impostor_fails(archive, tmp_path, capsys):
    impostor, _ = self_signed(tmp_path, "impostor")
    swapped = swap_source(archive.read_bytes(), OLD, NEW)
    key = signing.load_key(impostor, password=None)
    with_field = signing.sign(swapped, key, key.not_before, existing_field=None)
    copy = write(tmp_path, "copy.pdf", with_field)
    target = tmp_path / "source.yaml"
    verify_fails(copy, capsys, "the file has 3 revisions", "--extract", str(target))
    assert not target.exists()


def test_a_signature_revision_that_changes_more_than_the_signature_fails(archive, tmp_path, capsys):
    """The source swapped in the very revision that signs, by an impostor in a second field."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    impostor, _ = self_signed(tmp_path, "impostor")
    key = signing.load_key(impostor, password=None)
    number, _, source = source_stream(archive.read_bytes())
    writer = IncrementalPdfFileWriter(BytesIO(archive.read_bytes()))
    # The writer's table of objects to write in the new revision: the swapped source goes in it.
    writer.objects[(0, number)] = generic.StreamObject(
        {"/Type": generic.NameObject("/EmbeddedFile")}, stream_data=source.replace(OLD, NEW))
    out = BytesIO()
    signers.PdfSigner(signers.PdfSignatureMetadata(field_name="Second", md_algorithm="sha256"), key.signer,
                      new_field_spec=fields.SigFieldSpec("Second")).sign_pdf(writer, output=out)
    copy = write(tmp_path, "copy.pdf", out.getvalue())
    out = verify_fails(copy, capsys, "the signature's revision changes more than the signature")
    assert "the embedded file appeal.yaml" in out


def test_the_genuine_signed_archive_verifies_and_extracts_what_was_proven(signed, campaign, archive, tmp_path,
                                                                          capsys):
    target = tmp_path / "source.yaml"
    status, out = verify(signed, capsys, "--trust", str(campaign[1]), "--extract", str(target))
    assert status == 0, out
    assert "ok    two revisions, the one written before signing and the signature's" in out
    assert target.read_bytes() == source_stream(archive.read_bytes())[2]
    assert "signed by a certificate you trust" in out


def test_an_unsigned_update_after_the_signature_fails(signed, tmp_path, capsys):
    copy = write(tmp_path, "copy.pdf", swap_source(signed.read_bytes(), OLD, NEW))
    verify_fails(copy, capsys, "revision 3 changes the embedded file appeal.yaml")


# 2. The proof is the verifier's choice, and sound against renderer differentials.

def test_an_edited_fingerprint_does_not_buy_a_weaker_proof(archive, tmp_path, capsys):
    """The claim edited and a line drawn that PDFium would skip: the structure is compared."""
    data = archive.read_bytes()
    with pikepdf.open(BytesIO(data)) as pdf:
        with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
            meta["xmp:CreatorTool"] = re.sub(r"fingerprint [0-9a-f]+", "fingerprint 0123456789abcdef",
                                             str(meta["xmp:CreatorTool"]))
        page = pdf.pages[0]
        font_name = next(iter(page.Resources.Font.keys()))
        page.contents_add(pdf.make_stream(b"BT " + font_name.encode() + b" 9 Tf 70 60 Td "
                                          b"(now support the withdrawing States) Tj ET"), prepend=False)
        pdf.save(tmp_path / "copy.pdf", deterministic_id=True)
    verify_fails(tmp_path / "copy.pdf", capsys, "page 1: its content differs from the rebuild's")


def test_a_faithful_re_serialisation_is_recognised(archive, tmp_path, capsys):
    with pikepdf.open(archive) as pdf:
        pdf.save(tmp_path / "resaved.pdf", object_stream_mode=pikepdf.ObjectStreamMode.generate,
                 linearize=True, preserve_pdfa=True)
    status, out = verify(tmp_path / "resaved.pdf", capsys)
    assert "ok    the same objects as the rebuild, re-serialised" in out, out
    assert "linearised for fast web view" in out
    assert status == 0, out


def test_an_unsigned_verdict_says_what_it_does_not_prove(archive, capsys):
    status, out = verify(archive, capsys)
    assert status == 0
    assert "not who published them: only the campaign's signature does" in out.splitlines()[-1]


# 5. Files made to exhaust or crash the verifier: a message and exit 1, within seconds.

def _bombed_content(data: bytes) -> bytes:
    with pikepdf.open(BytesIO(data)) as pdf:
        number = pdf.pages[0].obj.Contents.objgen[0]
    bomb = zlib.compressobj(9)
    raw = b"".join(bomb.compress(b"q Q\n" * 2**20) for _ in range(20)) + bomb.flush()  # 80 MB
    entries = pikepdf.Dictionary({"/Length": len(raw), "/Filter": pikepdf.Name.FlateDecode})
    return append_revision(data, {number: entries.unparse() + b"\nstream\n" + raw + b"\nendstream"})


def _kids_hold_themselves(pdf):
    field = pdf.Root.AcroForm.Fields[0]
    field.Kids = pikepdf.Array([field])


def _fields_a_dictionary(pdf):
    pdf.Root.AcroForm.Fields = pikepdf.Dictionary({"/A": 1})


def _af_a_dictionary(pdf):
    pdf.Root.AF = pikepdf.Dictionary({"/A": 1})


def _metadata_a_dictionary(pdf):
    pdf.Root.Metadata = pdf.make_indirect(pikepdf.Dictionary({"/Type": pikepdf.Name.Metadata}))


def _deep_dictionary(pdf):
    pdf.Root.Deep = pikepdf.Dictionary({"/N": 1})
    inner = pdf.Root.Deep
    for _ in range(450):
        inner.N = pikepdf.Dictionary({"/N": 1})
        inner = inner.N


MALFORMED = {
    "a field whose /Kids holds itself": (_kids_hold_themselves, "reaches object"),
    "/Fields a dictionary": (_fields_a_dictionary, "the form's /Fields is not an array"),
    "/AF a dictionary": (_af_a_dictionary, "the catalogue's /AF is not an array"),
    "/Metadata a dictionary": (_metadata_a_dictionary, "the catalogue's /Metadata is not a stream"),
    "a dictionary 450 levels deep": (_deep_dictionary, "more than 32 levels deep"),
}


@pytest.mark.filterwarnings("ignore::pikepdf.PageCopyWarning")  # the attack: widgets the form no longer lists
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_file_fails_with_a_message(case, archive, tmp_path, capsys):
    change, expected = MALFORMED[case]
    with pikepdf.open(archive) as pdf:
        change(pdf)
        pdf.save(tmp_path / "copy.pdf", fix_metadata_version=False)
    out = verify_fails(tmp_path / "copy.pdf", capsys, expected)
    assert "not read further" in out


def test_flate_bombs_in_a_revision_fail_at_the_limit(archive, tmp_path, capsys):
    content = write(tmp_path, "content.pdf", _bombed_content(archive.read_bytes()))
    verify_fails(content, capsys, "inflates to more than 64 MB, the limit for one stream")
    with pikepdf.open(archive) as pdf:
        number = pdf.Root.Metadata.objgen[0]
    raw = zlib.compress(b" " * 100 * 2**20, 9)
    xmp = pikepdf.Dictionary({"/Type": pikepdf.Name.Metadata, "/Subtype": pikepdf.Name("/XML"),
                              "/Length": len(raw), "/Filter": pikepdf.Name.FlateDecode}).unparse()
    bomb = {number: xmp + b"\nstream\n" + raw + b"\nendstream"}
    metadata = write(tmp_path, "xmp.pdf", append_revision(archive.read_bytes(), bomb))
    verify_fails(metadata, capsys, "inflates to more than 64 MB")


@pytest.mark.parametrize("case", ["contents zeroed", "byte range removed"])
def test_a_forged_signature_shape_fails_with_a_message(case, signed, tmp_path, capsys):
    data = bytearray(signed.read_bytes())
    if case == "contents zeroed":
        match = re.search(rb"/Contents <([0-9a-fA-F]+)>", data)
        data[match.start(1):match.end(1)] = b"0" * (match.end(1) - match.start(1))
    else:
        match = re.search(rb"/ByteRange \[[^\]]*\]", data)
        data[match.start():match.end()] = b" " * (match.end() - match.start())
    copy = write(tmp_path, "copy.pdf", bytes(data))
    status, out = verify(copy, capsys)
    assert status == 1 and "NOT verified" in out, out


def test_a_page_nested_past_the_bound_reaches_no_reader_library(archive, tmp_path, capsys):
    """A dictionary 450 levels deep in the page itself, appended as an update: refused by the
    bound before PDFium or Poppler is asked to draw the page."""
    data = archive.read_bytes()
    with pikepdf.open(BytesIO(data)) as pdf:
        page = pdf.pages[0].obj
        number = page.objgen[0]
        entries = pikepdf.Dictionary(dict(page.items())).unparse()
    entries = entries[:entries.rindex(b">>")] + b" /Deep " + nested(450) + b" >>"
    copy = write(tmp_path, "copy.pdf", append_revision(data, {number: entries}))
    verify_fails(copy, capsys, "more than 32 levels deep")


def test_extract_never_writes_through_a_link_or_into_a_fifo(archive, tmp_path, capsys):
    import os

    victim = tmp_path / "victim.txt"
    victim.write_text("kept")
    link = tmp_path / "source.yaml"
    link.symlink_to(victim)
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    for target, message in ((link, "is a symbolic link"), (fifo, "is not a regular file")):
        assert main(["verify", str(archive), "--extract", str(target)]) == 2
        assert message in capsys.readouterr().err
    assert victim.read_text() == "kept" and link.is_symlink()


def test_trust_takes_a_bundle_and_refuses_garbage_with_a_message(signed, campaign, tmp_path, capsys):
    _, impostor = self_signed(tmp_path, "impostor")
    bundle = write(tmp_path, "bundle.pem", impostor.read_bytes() + campaign[1].read_bytes())
    status, out = verify(signed, capsys, "--trust", str(bundle))
    assert status == 0 and "ok    the signer's certificate chains to a certificate given with --trust" in out
    status, out = verify(signed, capsys, "--trust", str(impostor))
    assert status == 1 and "FAIL  the signer's certificate does not chain" in out
    garbage = write(tmp_path, "garbage.pem", b"-----BEGIN CERTIFICATE-----\nnot base64\n")
    for path, expected in ((garbage, "not a certificate, nor a PEM bundle of certificates"),
                           (Path("/dev/zero"), "larger than 1 MB, the limit for the certificates to trust")):
        assert main(["verify", str(signed), "--trust", str(path)]) == 2
        err = capsys.readouterr().err
        assert expected in err and "Traceback" not in err


def test_a_key_without_a_password_signs_though_a_password_is_set_for_another(archive, campaign, tmp_path,
                                                                                monkeypatch):
    monkeypatch.setenv(signing.PASSWORD_VARIABLE, "the password of another key")
    key = signing.load_key(campaign[0])
    assert key.subject == "Campaign Signer (Joint Appeal)"


def test_a_signature_by_a_weak_key_fails_verify(archive, tmp_path, capsys, monkeypatch):
    weak, _ = self_signed(tmp_path, "weak", bits=1024)
    with monkeypatch.context() as patch:  # made as an attacker would, with a signer that lets it
        patch.setattr(signing, "key_weakness", lambda key: None)
        key = signing.load_key(weak, password=None)
    copy = write(tmp_path, "copy.pdf", signing.sign(archive.read_bytes(), key, key.not_before))
    verify_fails(copy, capsys, "the signer's key is an RSA key of 1024 bits, too weak")


def _metadata_encoded(archive: Path, filters: list, raw: bytes) -> bytes:
    """The archive with a revision that replaces its XMP stream by `raw`, encoded with `filters`."""
    with pikepdf.open(archive) as pdf:
        number = pdf.Root.Metadata.objgen[0]
    xmp = pikepdf.Dictionary({"/Type": pikepdf.Name.Metadata, "/Subtype": pikepdf.Name("/XML"),
                              "/Length": len(raw), "/Filter": pikepdf.Array(filters)}).unparse()
    return append_revision(archive.read_bytes(), {number: xmp + b"\nstream\n" + raw + b"\nendstream"})


_BOMB = zlib.compress(b" " * 100 * 2**20, 9)
_FLATE, _A85, _HEX = pikepdf.Name.FlateDecode, pikepdf.Name.ASCII85Decode, pikepdf.Name.ASCIIHexDecode


@pytest.mark.parametrize(("filters", "raw", "expected"), [
    ([_HEX, _FLATE], _BOMB.hex().encode() + b">", "inflates to more than 64 MB, the limit"),
    ([_A85, _FLATE], base64.a85encode(_BOMB) + b"~>", "inflates to more than 64 MB, the limit"),
    ([_HEX], b"41 42 zz>", "is not valid ASCIIHexDecode data"),
    ([_A85], b"<~ab", "is not valid ASCII85Decode data"),
    ([pikepdf.Name.LZWDecode], b"\x80\x0b\x60\x50\x22\x0c\x0c\x85\x01", "/LZWDecode, which no edition uses"),
    ([_FLATE, _HEX], zlib.compress(b"x").hex().encode() + b">", "which no edition uses"),
], ids=["hex over a Flate bomb", "ASCII85 over a Flate bomb", "bad hexadecimal", "bad ASCII85", "LZW",
        "Flate over hexadecimal"])
def test_a_text_layer_is_read_within_the_limits(archive, tmp_path, capsys, filters, raw, expected):
    # The tool writes a stream whose data would end in a carriage return in ASCII85 (the archive)
    # or hexadecimal (validation data), so verify reads those layers; under them, the same limits.
    copy = write(tmp_path, "copy.pdf", _metadata_encoded(archive, filters, raw))
    verify_fails(copy, capsys, expected)


def test_the_text_layers_this_tool_writes_are_read():
    from appeal.pdf.untrusted import preflight

    pdf = pikepdf.new()
    data = b"a stream whose data ends in a carriage return\r"
    for filters, raw in (([_A85], base64.a85encode(data) + b"~>"), ([_HEX], data.hex().encode() + b"\n>"),
                         ([_A85, _FLATE], base64.a85encode(zlib.compress(data)) + b"~>"),
                         ([_HEX, _FLATE], zlib.compress(data).hex().upper().encode() + b">")):
        stream = pikepdf.Stream(pdf, raw)
        stream.Filter = pikepdf.Array(filters)
        pdf.Root[pikepdf.Name(f"/S{len(pdf.objects)}")] = pdf.make_indirect(stream)
        assert stream.read_bytes() == data  # what every reader decodes
    preflight(pdf)
