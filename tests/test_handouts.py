"""The A4 and Letter handouts: text, signature page, pages, fonts, metadata and outline."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from pypdf import PdfReader

from appeal import versions
from appeal.cli import main
from appeal.layout.fonts import font_files
from helpers import assert_in_order, page_texts, squash, without_footer, write_data

PAPERS = {"appeal-a4.pdf": (595.28, 841.89), "appeal-letter.pdf": (612.0, 792.0)}


@pytest.fixture(params=sorted(PAPERS))
def handout(request, built):
    return request.param, PdfReader(built / request.param)


def test_every_page_has_the_paper_size(handout):
    name, reader = handout
    width, height = PAPERS[name]
    for page in reader.pages:
        assert float(page.mediabox.width) == pytest.approx(width, abs=0.01)
        assert float(page.mediabox.height) == pytest.approx(height, abs=0.01)


def _parts(texts: list[str]) -> tuple[str, str]:
    """The text before the signatures' heading and from it on: the signatures follow the body
    on its last page (one text block, no forced break)."""
    whole = "\n".join(without_footer(text) for text in texts)
    heading = whole.index("\nSignatories\n")
    return whole[:heading], whole[heading + 1:]


def test_title_publication_and_every_paragraph_in_order(handout, appeal_data):
    _, reader = handout
    texts = page_texts(reader)
    body = _parts(texts)[0]
    assert_in_order(body, [appeal_data["title"], appeal_data["publication"], *appeal_data["body"]])
    # The exact characters survive copy and paste: curly quotes, dashes, ø.
    for fragment in ("Convention’s", "“war without rules”", "changed—but", "— ranging from 10% to 40% —"):
        assert fragment in body.replace("\n", " ")


def test_signature_page_lists_every_signatory_name_then_role(handout, appeal_data):
    _, reader = handout
    texts = page_texts(reader)
    body, signatures = _parts(texts)
    expected = []
    for number, signatory in enumerate(appeal_data["signatories"], 1):
        expected += [f"{number}. {signatory['name']}", signatory["role"]]
    assert_in_order(signatures, expected)
    # The body ends before the heading, and nothing of it comes after; the heading comes once, on
    # the page where the body ends (which its first row shares), "(continued)" after it.
    assert squash(appeal_data["body"][-1]) in squash(body)
    assert squash(appeal_data["body"][-1]) not in squash(signatures)
    first = next(n for n, text in enumerate(texts) if "\nSignatories\n" in f"\n{text}\n")
    assert squash(appeal_data["body"][-1][-40:]) in squash(texts[first])
    assert "1. Lloyd Axworthy" in texts[first]
    assert all("Signatories (continued)" in text for text in texts[first + 1:])


def test_body_measure_is_60_to_75_characters(handout):
    _, reader = handout
    lines = page_texts(reader)[1].splitlines()
    # Full lines of running text on a body page (the last line of a paragraph may be short).
    lengths = sorted(len(line) for line in lines if len(line) > 40)
    median = lengths[len(lengths) // 2]
    assert 60 <= median <= 75, lengths


def test_running_footer_on_every_page(handout, appeal_data):
    _, reader = handout
    texts = page_texts(reader)
    for number, text in enumerate(texts, 1):
        assert f"Page {number} of {len(texts)}" in text
        assert appeal_data["short_title"] in text


def test_fonts_are_the_bundled_ones_embedded_subset_with_tounicode(handout):
    _, reader = handout
    seen = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            name = str(font["/BaseFont"])
            assert re.fullmatch(r"/[A-Z]{6}\+Appeal-Serif(-Bold|-Italic|-BoldItalic)?", name), name
            assert "/ToUnicode" in font
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            assert "/FontFile2" in descriptor, f"{name} is not embedded"
            seen.add(name.split("+")[1])
    assert {"Appeal-Serif", "Appeal-Serif-Bold"} <= seen
    # The bundle: Charis SIL's four styles, Noto Serif's Greek in four, Noto Naskh Arabic and Noto
    # Serif Hebrew in two, Noto Serif CJK SC in two; the English handout uses only Charis (above).
    assert sorted(path.name for path in font_files()) == sorted(
        [f"{family}-{style}.ttf" for family in ("CharisSIL", "NotoSerifGreek")
         for style in ("Regular", "Italic", "Bold", "BoldItalic")]
        + [f"{family}-{style}.ttf" for family in ("NotoNaskhArabic", "NotoSerifHebrew")
           for style in ("Regular", "Bold")] + ["NotoSerifSC-Regular.otf", "NotoSerifSC-Bold.otf"])


def test_metadata_comes_from_the_data(handout, appeal_data):
    _, reader = handout
    info = reader.metadata
    assert info["/Title"] == appeal_data["title"]
    assert info["/Author"] == ", ".join(s["name"] for s in appeal_data["signatories"])
    assert info["/Subject"] == appeal_data["subject"]
    assert info["/Keywords"] == ", ".join(appeal_data["keywords"])
    assert info["/CreationDate"] == "D:20250616000000Z"
    assert reader.trailer["/Root"]["/Lang"] == "en"


def test_outline_has_the_title_and_the_signature_page(handout, appeal_data):
    _, reader = handout
    top = reader.outline
    assert top[0]["/Title"] == appeal_data["title"]
    assert reader.get_destination_page_number(top[0]) == 0
    assert top[1][0]["/Title"] == "Signatories"
    # The page where the signatures' heading stands: the body's last page, which they share.
    heading = next(n for n, text in enumerate(page_texts(reader)) if "\nSignatories\n" in f"\n{text}\n")
    assert reader.get_destination_page_number(top[1][0]) == heading


def test_build_prints_one_line_per_file_and_the_time(built, tmp_path, capsys):
    assert main(["--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = ["appeal-a4.pdf", "appeal-letter.pdf", "appeal-archive.pdf", "appeal-deposit.pdf",
             "press/appeal-a4.pdf", "press/appeal-a5.pdf", "appeal-booklet.pdf", "appeal-booklet-letter.pdf",
             "sign-on-a4.pdf", "sign-on-letter.pdf"]
    for name, line in zip(names, lines[:len(names)], strict=True):  # one line each, in the table's order
        assert re.fullmatch(rf"{re.escape(str(tmp_path / name))}  \d+ pages  [\d.]+ kB", line), line
    packs = sum(p.stat().st_size for p in (tmp_path / "letters").glob("*.pdf"))
    assert lines[len(names)] == f"{tmp_path / 'letters'}/  5 packs  25 pages  {packs / 1e6:.1f} MB"
    assert lines[len(names) + 1] == \
        f"{tmp_path / 'letters.pdf'}  30 pages  {(tmp_path / 'letters.pdf').stat().st_size / 1e6:.1f} MB"
    assert lines[-2] == str(tmp_path / "SHA256SUMS")
    subsetter = re.escape(versions.subsetter())
    assert re.fullmatch(rf"built in [\d.]+ s \(fonts subset by {subsetter}\)", lines[-1])
    assert re.search(r"by (HarfBuzz-Subset|fontTools) \d", lines[-1])


def _signatories(count: int) -> list[dict]:
    roles = ["Former Minister of Foreign Affairs and Minister of Defence, with a role long enough to "
             "wrap onto a second and a third line in its column", "Founder"]
    return [{"name": f"Signatory Number {i:03d}", "role": roles[i % 2]} for i in range(1, count + 1)]


def test_a_longer_list_continues_under_a_repeated_heading(tmp_path, appeal_data):
    data = dict(appeal_data, signatories=_signatories(70))
    out = tmp_path / "out"
    assert main(["--data", str(write_data(tmp_path, data)), "--out", str(out)]) == 0
    for name in PAPERS:
        texts = page_texts(out / name)
        first = next(i for i, t in enumerate(texts) if "\nSignatories\n" in f"\n{t}\n")
        continuation = texts[first + 1:]
        assert continuation, "70 signatories should not fit on one page"
        for text in continuation:
            assert "Signatories (continued)" in text
        # Every entry whole: its name and its role on the same page, in published order.
        signature_text = "\n".join(without_footer(text) for text in texts[first:])
        assert_in_order(signature_text, [f"{i}. Signatory Number {i:03d}" for i in range(1, 71)])
        for page in texts[first:]:
            for match in re.finditer(r"Signatory Number (\d{3})", page):
                role = data["signatories"][int(match[1]) - 1]["role"]
                assert squash(role) in squash(page[match.end():])


def test_markup_and_template_syntax_in_the_data_print_literally(tmp_path, appeal_data):
    tricky = [{"name": "<b>Bold</b> & <img src=x>", "role": "{{ 7 * 7 }} {% if true %}x{% endif %}"}]
    data = dict(appeal_data, signatories=tricky + appeal_data["signatories"][1:])
    out = tmp_path / "out"
    assert main(["--data", str(write_data(tmp_path, data)), "--out", str(out)]) == 0
    # The signatures, from their heading on, lines joined (a name may wrap in its column).
    text = " ".join(_parts(page_texts(out / "appeal-a4.pdf"))[1].split())
    assert "<b>Bold</b> & <img src=x>" in text
    assert "{{ 7 * 7 }} {% if true %}x{% endif %}" in text
    assert "49" not in text


@pytest.mark.weasyprint_warns
def test_no_system_font_can_stand_in_for_a_missing_glyph():
    # Past the coverage check (which stops the build first), WeasyPrint itself finds no other font:
    # a snowman, which the system's fonts draw, comes out as the bundled font's .notdef glyph, not
    # in DejaVu; a Chinese character in English text is drawn from the bundled Chinese face (which
    # Fontconfig knows by its own name), never a system font.
    from appeal.layout.render import Renderer

    rendered = Renderer().pdf('<html lang="en"><body><p>Snow ☃ 王</p></body></html>', "a4")
    reader = PdfReader(BytesIO(rendered.data))
    fonts = {str(font.get_object()["/BaseFont"]).split("+")[-1]
             for page in reader.pages for font in page["/Resources"]["/Font"].values()}
    assert fonts <= {"Appeal-Serif", "Appeal-Serif-Bold", "Appeal-Serif-Italic", "Appeal-Serif-BoldItalic",
                     "Noto-Serif-CJK-SC"}, fonts
