"""verify proves what a reader sees: every alteration a reader could see fails, named with its page,
with the same stack (byte for byte) and with another (page by page rendering); and the build
never writes an archive that fails verify."""

from __future__ import annotations

import zlib
from io import BytesIO
from pathlib import Path

import page
import pikepdf
import pytest
from pikepdf import Name

from appeal import versions
from appeal.cli import main
from appeal.pdf.pdfa import no_stream_ends_in_cr
from appeal.pdf.untrusted import preflight
from helpers import verify_fails


@pytest.fixture(scope="module")
def archive(built) -> Path:
    return built / "appeal-archive.pdf"


def altered(archive: Path, target: Path, change) -> Path:
    with pikepdf.open(archive) as pdf:
        change(pdf)
        pdf.save(target)
    return target


def _draw(pdf: pikepdf.Pdf, number: int, content: bytes) -> None:
    page_ = pdf.pages[number]
    page_.contents_add(pdf.make_stream(content))


def cover_paragraph_with_artifact_text(pdf):
    # The reported attack: a white box over paragraph 3, a new sentence on top, both artifacts.
    font = next(iter(pdf.pages[0].Resources.Font.keys()))
    _draw(pdf, 0, b"/Artifact BMC q 1 1 1 rg 120 330 360 120 re f Q BT " + font.encode()
          + b" 11 Tf 125 420 Td <00370048005100570048005100460048> Tj ET EMC")


def white_box_only(pdf):
    _draw(pdf, 0, b"q 1 1 1 rg 120 330 360 120 re f Q")


def add_image(pdf):
    image = pikepdf.Stream(pdf, bytes([128]) * 64 * 64, Type=Name.XObject, Subtype=Name.Image, Width=64,
                           Height=64, ColorSpace=Name.DeviceGray, BitsPerComponent=8)
    pdf.pages[1].add_resource(image, Name.XObject, Name("/Im9"))
    _draw(pdf, 1, b"q 100 0 0 100 200 300 cm /Im9 Do Q")


def add_note(pdf):
    appearance = pikepdf.Stream(pdf, b"0 0 1 rg 0 0 150 40 re f", Type=Name.XObject, Subtype=Name.Form,
                                BBox=[0, 0, 150, 40])
    note = pdf.make_indirect(pikepdf.Dictionary(
        Type=Name.Annot, Subtype=Name.FreeText, Rect=[300, 600, 450, 640],
        Contents="Withdrawn by the signatories", DA="/Helv 12 Tf 0 g",
        AP=pikepdf.Dictionary(N=appearance), F=4))
    pdf.pages[2].obj.Annots = pdf.make_indirect(pikepdf.Array([note]))


def change_footer(pdf):
    # The running footer is an artifact: its text is no part of the source, yet a reader sees it.
    instructions = pikepdf.parse_content_stream(pdf.pages[0])
    in_artifact = False
    for operands, operator in instructions:
        if str(operator) in ("BMC", "BDC") and str(operands[0]) == "/Artifact":
            in_artifact = True
        elif str(operator) == "TJ" and in_artifact:
            glyphs = next(part for part in operands[0] if isinstance(part, pikepdf.String))
            operands[0][list(operands[0]).index(glyphs)] = pikepdf.String(bytes(glyphs)[::-1])
            break
    pdf.pages[0].obj.Contents = pdf.make_stream(pikepdf.unparse_content_stream(instructions))


def add_page(pdf):
    pdf.pages.append(pdf.pages[1])


def remove_page(pdf):
    del pdf.pages[2]


def add_javascript(pdf):
    pdf.Root.OpenAction = pikepdf.Dictionary(S=Name.JavaScript, JS="app.alert('x')")


def retitle(pdf):
    pdf.docinfo.Title = "Joint Appeal to Withdraw from the Conventions"


ALTERATIONS = {
    "artifact text over a white box": (cover_paragraph_with_artifact_text, "page 1: looks different"),
    "a white box over a paragraph": (white_box_only, "page 1: looks different"),
    "an image": (add_image, "page 2: looks different"),
    "an annotation that shows text": (add_note, "page 3: its entry /Annots"),
    "a changed footer": (change_footer, "page 1: its text differs"),
    "a page added": (add_page, "it has 5 pages, the rebuild 4"),
    "a page removed": (remove_page, "it has 3 pages, the rebuild 4"),
    "JavaScript run on opening": (add_javascript, "the document catalogue differs at /OpenAction"),
    "a changed title in the metadata": (retitle, "the document information differs at /Title"),
}


@pytest.mark.parametrize("case", sorted(ALTERATIONS))
def test_verify_fails_every_alteration_a_reader_could_see(case, archive, tmp_path, capsys):
    change, expected = ALTERATIONS[case]
    copy = altered(archive, tmp_path / "copy.pdf", change)
    verify_fails(copy, capsys, expected)


def test_the_reported_attack_passed_the_text_checks(archive, tmp_path, capsys):
    # Its text checks alone would have passed this copy: only the comparison with the rebuild fails.
    copy = altered(archive, tmp_path / "copy.pdf", cover_paragraph_with_artifact_text)
    out = verify_fails(copy, capsys, "page 1: looks different from the rebuild in the area")
    assert "ok    page text matches the source" in out


def test_an_appended_revision_fails(archive, tmp_path, capsys):
    copy = tmp_path / "copy.pdf"
    copy.write_bytes(archive.read_bytes())
    with pikepdf.open(copy, allow_overwriting_input=True) as pdf:
        white_box_only(pdf)
        pdf.save(copy, qdf=False)
    verify_fails(copy, capsys, "page 1: looks different")


def test_a_genuine_archive_says_it_is_identical_byte_for_byte(archive, capsys):
    assert main(["verify", str(archive)]) == 0
    assert "ok    identical, byte for byte, to the edition rebuilt from its embedded source" in \
        capsys.readouterr().out


# Another stack: WeasyPrint's other font subsetter writes other font programs, so the bytes differ;
# the pages must still render pixel for pixel as the rebuild's.

@pytest.fixture
def other_stack(monkeypatch):
    """The stack the archive was not made with, and whether its subsetter is another one too."""
    import weasyprint.pdf.fonts
    import weasyprint.text.ffi

    other_subsetter = True
    if versions.subsetter().startswith("HarfBuzz"):
        library = None
    elif versions.set_aside is not None:  # APPEAL_SUBSETTER=fonttools: HarfBuzz-Subset is the other
        library = versions.set_aside
        monkeypatch.delenv("APPEAL_SUBSETTER")
    else:  # no HarfBuzz-Subset here: a stack that names another HarfBuzz stands in
        other_subsetter = False
        monkeypatch.setattr(versions, "_harfbuzz_version", lambda: "0.0.0-other")
    if other_subsetter:
        monkeypatch.setattr(weasyprint.pdf.fonts, "harfbuzz_subset", library)
        monkeypatch.setattr(weasyprint.text.ffi, "harfbuzz_subset", library)
    versions.subsetter.cache_clear()
    versions.stack.cache_clear()
    yield versions.stack(), other_subsetter
    versions.subsetter.cache_clear()
    versions.stack.cache_clear()


@pytest.mark.weasyprint_warns  # the fontTools notice
def test_with_another_stack_a_genuine_archive_verifies_by_rendering(archive, other_stack, capsys):
    stack, other_subsetter = other_stack
    assert main(["verify", str(archive)]) == 0
    out = capsys.readouterr().out
    if not other_subsetter:  # the same font programs: the rebuild with the stack it names is the file
        assert "ok    identical, byte for byte, to the edition rebuilt from its embedded source with the " \
            "stack it names" in out
        return
    assert "ok    the same objects as the rebuild but for the font programs, which draw every glyph" in out
    assert "every page renders pixel for pixel (at 150 dpi) as the rebuild's" in out
    assert "not compared byte for byte" in out and stack in out


@pytest.mark.weasyprint_warns
@pytest.mark.parametrize("case", ["artifact text over a white box", "a changed footer", "an image",
                                  "an annotation that shows text", "a page removed"])
def test_with_another_stack_every_alteration_still_fails(case, archive, other_stack, tmp_path, capsys):
    change, expected = ALTERATIONS[case]
    copy = altered(archive, tmp_path / "copy.pdf", change)
    out = verify_fails(copy, capsys, expected)
    assert "a difference may come from that" in out


# What verify refuses to read.

def test_verify_on_a_folder_an_encrypted_file_and_bad_extract_targets(archive, tmp_path, capsys):
    assert main(["verify", str(tmp_path)]) == 2
    assert "is a folder, not a file (archival edition to verify)" in capsys.readouterr().err
    with pikepdf.open(archive) as pdf:
        pdf.save(tmp_path / "locked.pdf", encryption=pikepdf.Encryption(owner="o", user="secret"))
    assert main(["verify", str(tmp_path / "locked.pdf")]) == 2
    assert "is encrypted with a password" in capsys.readouterr().err
    for target, message in ((tmp_path / "nowhere" / "appeal.yaml", "does not exist"),
                            (tmp_path, "is a folder; name the file to write")):
        assert main(["verify", str(archive), "--extract", str(target)]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err


def test_an_attachment_that_inflates_past_the_limit_is_not_read_whole(archive, tmp_path, capsys):
    # 8 MB in about 8 kB: under the bound for any one stream (64 MB), over the appeal data's.
    bomb = zlib.compress(b"a: " + b"x" * (8 * 2**20), 9)

    def swap(pdf):
        stream = pdf.attachments["appeal.yaml"].get_file().obj
        stream.write(bomb, filter=Name.FlateDecode)

    copy = altered(archive, tmp_path / "copy.pdf", swap)
    out = verify_fails(copy, capsys, "larger than 4 MB, the limit for the appeal data")
    assert "Traceback" not in out


# The build checks the archive it writes.

def test_the_build_writes_no_archive_that_fails_verify(earlier_build, monkeypatch, capsys):
    from appeal.pdf import pdfa as archive
    from helpers import snapshot

    before = snapshot(earlier_build)
    real = archive.finish

    def without_output_intent(data, facts, *more):
        with pikepdf.open(BytesIO(real(data, facts, *more))) as pdf:
            del pdf.Root.OutputIntents
            out = BytesIO()
            pdf.save(out)
            return out.getvalue()

    monkeypatch.setattr(archive, "finish", without_output_intent)
    assert main(["--out", str(earlier_build), "--force"]) == 2
    err = capsys.readouterr().err
    assert "the archive just built fails verify" in err and "FAIL  PDF/A-3a: failed" in err
    assert snapshot(earlier_build) == before


def _ends_in_cr(content: bytes) -> bytes:
    """`content` with a comment appended so that its Flate encoding ends in 0x0D (zlib data ends
    in the Adler-32 checksum of what it encodes, low byte last)."""
    for first in range(0x21, 0x100):  # a comment may hold any byte but an end of line
        for second in range(0x21, 0x100):
            data = content + b"\n%" + bytes([first, second]) + b"\n"
            if zlib.adler32(data) & 0xFF == 0x0D:
                assert zlib.compress(data)[-1] == 0x0D
                return data
    raise AssertionError("no comment found")


def test_no_stream_ends_in_a_carriage_return(archive, tmp_path):
    # qpdf writes LF before endstream; after data ending in CR, PDF/A's length rule counts one byte
    # too few (rule PDFA3A-STREAM-LENGTH-001, seen on an archive of 2,500 signatories).
    with pikepdf.open(archive) as pdf:
        content = _ends_in_cr(pdf.pages[0].Contents.read_bytes())
        pdf.pages[0].obj.Contents = pdf.make_stream(content)
        broken = BytesIO()
        pdf.save(broken, compress_streams=True)
    broken = broken.getvalue()
    assert b"\r\nendstream" in broken
    (tmp_path / "broken.pdf").write_bytes(broken)
    assert "PDFA3A-STREAM-LENGTH-001" in {f.rule_id for f in page.validate_pdf(str(tmp_path / "broken.pdf"),
                                                                                 profile="3a").failures}
    fixed = no_stream_ends_in_cr(broken)
    (tmp_path / "fixed.pdf").write_bytes(fixed)
    assert page.validate_pdf(str(tmp_path / "fixed.pdf"), profile="3a").failures == []
    with pikepdf.open(BytesIO(fixed)) as pdf:
        assert pdf.pages[0].Contents.read_bytes() == content  # the same content, another encoding
        assert pdf.pages[0].Contents.Filter == [Name.ASCII85Decode, Name.FlateDecode]
        preflight(pdf)  # and verify reads that encoding, within its limits
        assert not any(isinstance(o, pikepdf.Stream) and o.read_raw_bytes().endswith(b"\r")
                       for o in pdf.objects)
    assert no_stream_ends_in_cr(archive.read_bytes()) == archive.read_bytes()  # untouched when fine


def test_an_archive_carrying_an_alias_bomb_is_refused_at_once(archive, tmp_path, capsys):
    from test_hostile_data import BILLION_LAUGHS

    def swap(pdf):
        pdf.attachments["appeal.yaml"].get_file().obj.write(zlib.compress(BILLION_LAUGHS.encode()),
                                                            filter=Name.FlateDecode)

    copy = altered(archive, tmp_path / "copy.pdf", swap)
    verify_fails(copy, capsys, "aliases (*name) expand the data more than 10 times over")


def test_an_archive_whose_streams_have_an_ascii85_layer_builds_and_verifies(tmp_path, monkeypatch, capsys):
    # A stream of the archive whose data would end in 0x0D gets an ASCII85 layer (pdfa.py): about
    # one in 256, the embedded source among them. verify refused that layer, so such data made an
    # archive that failed its own check. Here every stream gets one, as if each ended so.
    from appeal.pdf import pdfa

    monkeypatch.setattr(pdfa, "ends_in_cr", lambda raw: True)
    out = tmp_path / "out"
    assert main(["--edition", "archive", "--out", str(out)]) == 0, capsys.readouterr().err
    archive = out / "appeal-archive.pdf"
    with pikepdf.open(archive) as pdf:
        source = pdf.attachments["appeal.yaml"].get_file()
        assert source.obj.Filter == [Name.ASCII85Decode, Name.FlateDecode]
    capsys.readouterr()
    assert main(["verify", str(archive)]) == 0, capsys.readouterr().out
