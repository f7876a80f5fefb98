"""Print-ready for a print shop (PDF/X-4 on A4 and A5) and for the office printer (a booklet)."""

from __future__ import annotations

import re
import struct
from decimal import Decimal
from pathlib import Path

import pikepdf
import pytest
from pikepdf import Name
from pypdf import PdfReader

from appeal.cli import main
from appeal.paths import STYLE_DIR
from appeal.pdf.impose import sheet_order
from appeal.pdf.pdfx import BLEED, MARKS_MARGIN, problems
from helpers import assert_in_order, page_texts, squash

MM = 72 / 25.4
TRIMS = {"press/appeal-a4.pdf": (210 * MM, 297 * MM), "press/appeal-a5.pdf": (148 * MM, 210 * MM)}


def without_footers(pages: list[str], short_title: str) -> str:
    """The pages' text squashed, less their running footers (on A5 the title takes two lines)."""
    return "".join(re.sub(r"Page\d+of\d+$", "", squash(page)).replace(squash(short_title), "")
                   for page in pages)


def boxes(page) -> dict[str, list[float]]:
    return {key: [float(v) for v in page.obj[key]] for key in ("/MediaBox", "/BleedBox", "/TrimBox")}


@pytest.mark.parametrize("name", sorted(TRIMS))
def test_every_page_has_the_trim_and_a_3_mm_bleed(built, name):
    width, height = TRIMS[name]
    with pikepdf.open(built / name) as pdf:
        for page in pdf.pages:
            found = boxes(page)
            assert found["/TrimBox"] == pytest.approx([0, 0, width, height], abs=0.01)
            bleed = [-3 * MM, -3 * MM, width + 3 * MM, height + 3 * MM]
            assert found["/BleedBox"] == pytest.approx(bleed, abs=0.01)
            assert found["/MediaBox"] == pytest.approx(bleed, abs=0.01)
            assert "/Annots" not in page.obj and "/CropBox" not in page.obj


@pytest.mark.parametrize("name", sorted(TRIMS))
def test_pdf_x_4_is_claimed_with_its_output_intent_and_profile(built, name):
    with pikepdf.open(built / name) as pdf:
        assert not pdf.is_encrypted
        [intent] = pdf.Root.OutputIntents
        assert intent.S == Name.GTS_PDFX and intent.OutputConditionIdentifier == "FOGRA39"
        assert intent.RegistryName == "http://www.color.org"
        profile = intent.DestOutputProfile
        assert int(profile.N) == 4
        data = profile.read_bytes()
        assert data == (STYLE_DIR / "icc" / "FOGRA39L-coated.icc").read_bytes()
        assert struct.unpack(">I", data[:4])[0] == len(data) and data[36:40] == b"acsp"
        assert data[12:16] == b"prtr" and data[16:20] == b"CMYK"
        assert b"FOGRA39" in data[:600]  # its description names the condition the intent identifies
        meta = pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False)
        assert meta["pdfxid:GTS_PDFXVersion"] == "PDF/X-4"
        assert meta["pdf:Trapped"] == "False"
        assert meta["xmpMM:DocumentID"].startswith("uuid:") and meta["xmpMM:VersionID"] == "1"
        assert meta["xmpMM:RenditionClass"] == "default"
        assert pdf.docinfo.GTS_PDFXVersion == "PDF/X-4" and pdf.docinfo.Trapped == Name("/False")
        assert str(pdf.docinfo.Title) == meta["dc:title"]
        assert "/Filter" not in pdf.Root.Metadata


def _colours(pdf_path: Path):
    """What each colour paints: (operator, fill colour, font size) for every text shown
    (Tj, TJ) and every path filled or stroked, and (operator, operands) for colour operators."""
    with pikepdf.open(pdf_path) as pdf:
        for page in pdf.pages:
            fill = stroke = None
            size = 0.0
            for operands, operator in pikepdf.parse_content_stream(page):
                name = str(operator)
                values = [float(o) if isinstance(o, int | float | Decimal) else str(o) for o in operands]
                yield "set", name, values
                if name in ("scn", "sc", "k", "g", "rg"):
                    fill = tuple(values)
                elif name in ("SCN", "SC", "K", "G", "RG"):
                    stroke = tuple(values)
                elif name == "Tf":
                    size = values[1]
                elif name in ("Tj", "TJ"):
                    yield "text", fill, size
                elif name in ("f", "f*", "F", "B", "B*", "b", "b*"):
                    yield "path", fill, None
                elif name in ("S", "s"):
                    yield "path", stroke, None


@pytest.mark.parametrize("name", sorted(TRIMS))
def test_no_rgb_anywhere_text_and_rules_in_black_alone(built, name):
    assert problems((built / name).read_bytes(), TRIMS[name]) == []  # what the build checks, too
    black = (0.0, 0.0, 0.0, 1.0)
    texts, paths = set(), set()
    for kind, first, second in _colours(built / name):
        if kind == "set":
            assert first not in ("rg", "RG", "g", "G"), first  # no RGB, no grey: CMYK alone
            if first in ("cs", "CS"):
                assert second == ["/DeviceCMYK"], second
            if first in ("scn", "SCN", "k", "K"):
                assert sum(second) <= 3.0  # total ink under 300 %
        elif kind == "text":
            texts.add((first, second))
        else:
            paths.add(first)
    body = {fill for fill, size in texts if size <= 11.5}
    assert body == {black}, body  # body text, roles and footers: 100 % K, never four-colour black
    assert paths == {black}, paths  # rules


@pytest.mark.parametrize("name", sorted(TRIMS))
def test_the_whole_text_and_every_signatory_in_order(built, name, appeal_data):
    text = without_footers(page_texts(built / name), appeal_data["short_title"])
    expected = [appeal_data["title"], *appeal_data["body"]]
    for number, signatory in enumerate(appeal_data["signatories"], 1):
        expected += [f"{number}. {signatory['name']}", signatory["role"]]
    assert_in_order(text, expected)


def test_fonts_are_embedded(built):
    for name in TRIMS:
        for page in PdfReader(built / name).pages:
            for font in page["/Resources"]["/Font"].values():
                descriptor = font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
                assert "/FontFile2" in descriptor


def test_the_a5_edition_has_its_own_measure(built):
    # 55 to 65 characters a line on A5, not the A4 page scaled down.
    lines = [line for line in page_texts(built / "press/appeal-a5.pdf")[1].splitlines() if len(line) > 35]
    median = sorted(map(len, lines))[len(lines) // 2]
    assert 55 <= median <= 65, median


def test_crop_marks_lie_outside_the_bleed_in_black(tmp_path):
    out = tmp_path / "out"
    assert main(["--edition", "press-a4", "--marks", "--out", str(out)]) == 0
    pdf_path = out / "press" / "appeal-a4.pdf"
    width, height = TRIMS["press/appeal-a4.pdf"]
    assert problems(pdf_path.read_bytes(), (width, height), marks=True) == []
    with pikepdf.open(pdf_path) as pdf:
        page = pdf.pages[0]
        found = boxes(page)
        bleed = found["/BleedBox"]
        assert found["/MediaBox"] == pytest.approx([b + d for b, d in zip(
            bleed, (-MARKS_MARGIN, -MARKS_MARGIN, MARKS_MARGIN, MARKS_MARGIN), strict=True)], abs=0.01)
        strokes, colour, start = [], None, None
        for operands, operator in pikepdf.parse_content_stream(page):
            name = str(operator)
            if name == "K":
                colour = [float(o) for o in operands]
            elif name == "m":
                start = [float(o) for o in operands]
            elif name == "l" and colour is not None:
                strokes.append((start, [float(o) for o in operands], colour))
        assert len(strokes) == 8
        for (x1, y1), (x2, y2), colour in strokes:
            assert colour == [0, 0, 0, 1]
            for x, y in ((x1, y1), (x2, y2)):  # every point of every mark outside the BleedBox
                assert not (bleed[0] < x < bleed[2] and bleed[1] < y < bleed[3]), (x, y)
    assert pytest.approx(3 * MM) == BLEED


def test_a_shops_own_profile(tmp_path, capsys):
    out = tmp_path / "out"
    profile = tmp_path / "shop.icc"
    data = bytearray((STYLE_DIR / "icc" / "FOGRA39L-coated.icc").read_bytes())
    profile.write_bytes(bytes(data))
    assert main(["--edition", "press-a5", "--output-profile", str(profile), "--out", str(out)]) == 0
    with pikepdf.open(out / "press" / "appeal-a5.pdf") as pdf:
        [intent] = pdf.Root.OutputIntents
        assert intent.OutputConditionIdentifier == "Custom" and "FOGRA39" in str(intent.Info)
    rgb = bytearray(data)
    rgb[16:20] = b"RGB "
    profile.write_bytes(bytes(rgb))
    assert main(["--edition", "press-a5", "--output-profile", str(profile), "--out", str(out)]) == 2
    assert "a profile of RGB colour, not CMYK" in capsys.readouterr().err
    profile.write_bytes(b"not a profile")
    assert main(["--edition", "press-a5", "--output-profile", str(profile), "--out", str(out)]) == 2
    assert "not an ICC profile" in capsys.readouterr().err
    assert main(["--edition", "a4", "--marks", "--out", str(out)]) == 2
    assert "only the press editions use them" in capsys.readouterr().err


def test_the_preflight_check_finds_rgb_and_wrong_boxes(built):
    with pikepdf.open(built / "press/appeal-a4.pdf") as pdf:
        pdf.pages[0].contents_add(pdf.make_stream(b"q 1 0 0 rg 0 0 10 10 re f Q"))
        pdf.pages[1].obj.TrimBox = [0, 0, 100, 100]
        from io import BytesIO

        out = BytesIO()
        pdf.save(out)
    found = problems(out.getvalue(), TRIMS["press/appeal-a4.pdf"])
    assert "page 1: an RGB colour (rg)" in found
    assert any(problem.startswith("page 2: TrimBox") for problem in found)


# The booklet.

def test_saddle_stitch_order():
    assert sheet_order(8) == [(8, 1), (2, 7), (6, 3), (4, 5)]
    assert sheet_order(4) == [(4, 1), (2, 3)]
    with pytest.raises(ValueError):
        sheet_order(6)


@pytest.mark.parametrize(("name", "sheet"), [("appeal-booklet.pdf", (297 * MM, 210 * MM)),
                                             ("appeal-booklet-letter.pdf", (11 * 72, 8.5 * 72))])
def test_the_booklet_reads_in_order_when_folded(built, name, sheet, appeal_data):
    reader = PdfReader(built / name)
    sides = len(reader.pages)
    pages = 2 * sides
    assert pages % 4 == 0
    for page in reader.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(sheet, abs=0.01)
    # Each half of each side shows the page that saddle-stitch order puts there: its footer's number.
    reading: dict[int, str] = {}
    for index, (left, right) in enumerate(sheet_order(pages)):
        for slot, number in enumerate((left, right)):
            reading[number] = _placed_text(built / name, index, slot)
    for number, text in reading.items():
        if text.strip():
            assert f"Page {number} of {pages}" in text, (number, text[-60:])
    # The blanks (none, or up to three) are the last pages, the inside back cover: never between the
    # text and the signatories, which follow the body.
    blank = sorted(n for n, text in reading.items() if not text.strip())
    assert blank == list(range(pages - len(blank) + 1, pages + 1)) and len(blank) <= 3, blank
    assert "Signatories (continued)" in reading[pages - len(blank)]
    whole = without_footers([reading[n] for n in range(1, pages + 1)], appeal_data["short_title"])
    assert_in_order(whole, [appeal_data["title"], *appeal_data["body"],
                            *(f"{n}. {s['name']}" for n, s in enumerate(appeal_data["signatories"], 1))])


def _placed_text(path: Path, side: int, slot: int) -> str:
    """The text of the page placed in `slot` (0 left, 1 right) of a booklet's `side`: the side
    drawn with that placement alone, read by pypdf."""
    from io import BytesIO

    with pikepdf.open(path) as pdf:
        page = pdf.pages[side]
        kept = []
        for operands, operator in pikepdf.parse_content_stream(page):
            if str(operator) == "Do" and str(operands[0]) != f"/P{slot}":
                continue
            kept.append((operands, operator))
        page.obj.Contents = pdf.make_stream(pikepdf.unparse_content_stream(kept))
        out = BytesIO()
        pdf.save(out)
    return PdfReader(out).pages[side].extract_text() or ""


def _header_only(data: bytes) -> bytes:
    header = bytearray(data[:132])
    header[:4] = struct.pack(">I", 132)
    header[128:132] = struct.pack(">I", 0)
    return bytes(header)


def _claims_tags_it_lacks(data: bytes) -> bytes:
    out = bytearray(data[:132 + 12 * 3])
    out[:4] = struct.pack(">I", len(out))
    out[128:132] = struct.pack(">I", 40)  # forty tags claimed, three listed
    return bytes(out)


def _truncated_description(data: bytes) -> bytes:
    out = bytearray(data)
    count = struct.unpack(">I", data[128:132])[0]
    for index in range(count):
        signature, offset, _ = struct.unpack(">4sII", data[132 + 12 * index: 144 + 12 * index])
        if signature == b"desc":
            kind = data[offset: offset + 4]
            at = offset + (8 if kind == b"desc" else 20)  # the text's length (desc) or the first record's
            out[at: at + 4] = struct.pack(">I", 2**20)
    return bytes(out)


BAD_PROFILES = {
    "only a header": (_header_only, "without the desc, A2B0, B2A0, gamt tags"),
    "tags claimed it lacks": (_claims_tags_it_lacks, "tag table (40 tags) runs past its end"),
    "a truncated description": (_truncated_description, "whose description cannot be read"),
}


@pytest.mark.parametrize("case", sorted(BAD_PROFILES))
def test_a_profile_a_rip_could_not_use_is_refused(case, tmp_path):
    from appeal.errors import UserError
    from appeal.pdf.pdfx import DEFAULT_PROFILE, output_intent

    change, expected = BAD_PROFILES[case]
    assert output_intent(None).condition.startswith("Offset printing")  # the bundled one passes
    profile = tmp_path / "shop.icc"
    profile.write_bytes(change(DEFAULT_PROFILE.read_bytes()))
    with pytest.raises(UserError, match="takes an ICC output profile in CMYK") as refused:
        output_intent(profile)
    assert expected in str(refused.value)


def test_an_endless_or_waiting_profile_is_refused_without_reading_it(tmp_path):
    import os

    from appeal.errors import UserError
    from appeal.pdf.pdfx import output_intent

    with pytest.raises(UserError, match="/dev/zero: larger than 16 MB, the limit for the output profile"):
        output_intent(Path("/dev/zero"))
    fifo = tmp_path / "shop.icc"
    os.mkfifo(fifo)  # nobody writes to it: reading it would wait for ever
    with pytest.raises(UserError, match="not a regular file but a FIFO"):
        output_intent(fifo)
