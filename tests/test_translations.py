"""Translations of the appeal: data files held to the original, editions per language in DIR/<tag>/,
each saying what it is, in its own language, with its own hyphenation and only the bundled fonts.

The translations are the test fixtures' (tests/fixtures/translations/), made to test the layout."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

import pikepdf
import pytest
import yaml

from appeal.cli import main
from appeal.paths import DATA_DIR
from helpers import snapshot, squash, write_data

FIXTURES = Path(__file__).parent / "fixtures"
TRANSLATIONS = FIXTURES / "translations"
LANGUAGES = ("ar", "fi", "fr", "pl", "ru", "zh-Hans")
# The bundled faces an edition may use beside Charis SIL ("Appeal Serif"), by language.
SCRIPT_FACES = {"ar": {"Appeal-Arabic", "Appeal-Arabic-Bold"},
                "zh-Hans": {"Appeal-Chinese", "Appeal-Chinese-Bold"}}
APPEAL = yaml.safe_load((DATA_DIR / "appeal.yaml").read_text(encoding="utf-8"))
# The editions built for each language here (US Letter's handout is A4's on other paper: left out
# to keep the suite quick).
EDITIONS = ("appeal-a4.pdf", "appeal-archive.pdf", "appeal-booklet.pdf", "press/appeal-a4.pdf")


def fixture(language: str) -> dict:
    return yaml.safe_load((TRANSLATIONS / f"{language}.yaml").read_text(encoding="utf-8"))


def words_file(folder: Path) -> Path:
    """data/words.yaml with the test languages' sections added."""
    words = yaml.safe_load((DATA_DIR / "words.yaml").read_text(encoding="utf-8"))
    words |= yaml.safe_load((FIXTURES / "translation-words.yaml").read_text(encoding="utf-8"))
    return write_data(folder, words, "words.yaml")


@pytest.fixture(scope="module")
def translated(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("translated")
    editions = [option for name in ("a4", "archive", "booklet", "press-a4")
                for option in ("--edition", name)]
    assert main([*editions, "--translations", str(TRANSLATIONS), "--words", str(words_file(folder)),
                 "--out", str(folder / "out")]) == 0
    return folder / "out"


def reading_pages(path: Path, language: str) -> list[str]:
    """Each page's text in reading order, NFC: PDFium's; from right to left, verify's reader
    (pypdf's chunks put in logical order by the Unicode bidi rules), as PDFium and Poppler read the
    Arabic vowel marks (drawn raised, with a text rise) as a line of their own and put the words
    after them out of order (measured: 19 of 33 texts missing in order with Poppler, 31 of 56 with
    PDFium, marks left out)."""
    from appeal.layout.writing import writing
    from appeal.pdf.text import reading_pages as verify_reading

    if not writing(language).rtl:
        return pdfium_pages(path)
    return [unicodedata.normalize("NFC", text) for text in verify_reading(path.read_bytes(), True)]


def pdfium_pages(path: Path) -> list[str]:
    import pypdfium2

    document = pypdfium2.PdfDocument(path)
    return [unicodedata.normalize("NFC", document[n].get_textpage().get_text_range().replace("\ufffe", ""))
            for n in range(len(document))]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_translated_handout_prints_every_paragraph_and_role_in_order_and_says_what_it_is(
        translated, language, tmp_path):
    import page

    source = fixture(language)
    path = translated / language / "appeal-a4.pdf"
    pages = reading_pages(path, language)
    notice = yaml.safe_load((FIXTURES / "translation-words.yaml").read_text(encoding="utf-8"))[language]
    # The running footer (the short title, the page number) stands between a page's text and the next.
    page_of = re.escape(squash(notice["page_of"])).replace(r"\{page\}", r"\d+").replace(r"\{pages\}", r"\d+")
    footer = re.compile(f"{re.escape(squash(source['short_title']))}|{page_of}")
    text = footer.sub("", squash("".join(pages)))
    wanted = [source["title"], *source["body"],
              *(part for signatory, role in zip(APPEAL["signatories"], source["roles"], strict=True)
                for part in (signatory["name"], role))]
    at = 0
    for part in wanted:
        found = text.find(squash(unicodedata.normalize("NFC", part)), at)
        assert found >= 0, (language, part[:60])
        at = found
    # The first page says, in the language, that it is a translation, by whom, and that the
    # English original is authoritative.
    assert "{translator}" in notice["translation_notice"]
    assert squash(source["translator"]) in squash(pages[0])
    before = notice["translation_notice"].split("{translator}")[0]
    assert squash(before) in squash(pages[0])
    with pikepdf.open(path) as pdf:
        assert str(pdf.Root.Lang) == language
        meta = pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False)
        assert meta["dc:language"] == {language} and meta["dc:title"] == source["title"]
        fonts = {str(font.BaseFont).split("+")[-1] for p in pdf.pages
                 for font in p.Resources.get("/Font", {}).values()}
    assert fonts <= {"Appeal-Serif", "Appeal-Serif-Italic", "Appeal-Serif-Bold",
                     *SCRIPT_FACES.get(language, ())}, fonts
    assert SCRIPT_FACES.get(language, set()) <= fonts, fonts
    report = page.validate_pdf(str(path), profile="ua1")
    assert report.is_compliant and not report.failures, [f.rule_id for f in report.failures]


def test_each_language_is_hyphenated_by_its_own_patterns_and_finnish_by_none(translated):
    """Pyphen has French, Polish and Russian patterns, none for Finnish, Arabic or Chinese: those
    are set without breaking words (never with another language's patterns; Chinese breaks
    between characters, with no hyphen); the others break words of their own."""
    for language in LANGUAGES:
        text = "\n".join(pdfium_pages_raw(translated / language / "appeal-a4.pdf"))
        source = yaml.safe_dump(fixture(language), allow_unicode=True, width=10**6)
        broken = [before + after for before, after in re.findall(r"(\w+)\ufffe(\w+)", text)
                  if f"{before}-{after}" not in source]  # a hard hyphen at a line end is the text's
        if language in ("ar", "fi", "zh-Hans"):
            assert broken == [], broken
        else:
            assert len(broken) >= 3, (language, broken)
            words = set(re.findall(r"\w+", source))
            assert all(word in words for word in broken), (language, broken)


def pdfium_pages_raw(path: Path) -> list[str]:
    import pypdfium2

    document = pypdfium2.PdfDocument(path)
    return [document[n].get_textpage().get_text_range() for n in range(len(document))]


def test_every_language_gets_every_edition_listed_in_the_checksums(translated):
    sums = dict(reversed(line.split("  ")) for line in (translated / "SHA256SUMS").read_text().splitlines())
    expected = {*EDITIONS, *(f"{language}/{name}" for language in LANGUAGES for name in EDITIONS)}
    assert set(sums) == expected
    for name, digest in sums.items():
        assert hashlib.sha256((translated / name).read_bytes()).hexdigest() == digest, name


def test_a_heading_carried_over_keeps_its_spaces_in_any_script(translated):
    """The carried-over heading and the footer go through CSS strings, where a non-ASCII letter is
    escaped: the space after it must survive ("Подписавшие (продолжение)")."""
    pages = pdfium_pages(translated / "ru" / "appeal-a4.pdf")
    assert len(pages) > 4 and "Подписавшие (продолжение)" in pages[-1]
    assert fixture("ru")["short_title"] in " ".join(pages[-1].split())


def test_only_the_languages_named_are_built(tmp_path):
    out = tmp_path / "out"
    assert main(["--edition", "a4", "--language", "fr", "--translations", str(TRANSLATIONS),
                 "--words", str(words_file(tmp_path)), "--out", str(out)]) == 0
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.pdf")) == ["fr/appeal-a4.pdf"]
    out = tmp_path / "both"
    assert main(["--edition", "a4", "--language", "en-GB", "--language", "pl", "--translations",
                 str(TRANSLATIONS), "--words", str(words_file(tmp_path)), "--out", str(out)]) == 0
    built = sorted(str(p.relative_to(out)) for p in out.rglob("*.pdf"))
    assert built == ["appeal-a4.pdf", "pl/appeal-a4.pdf"]


def _refused(args: list[str], earlier_build: Path, capsys) -> str:
    before = snapshot(earlier_build)
    assert main([*args, "--out", str(earlier_build)]) == 2
    assert snapshot(earlier_build) == before
    return capsys.readouterr().err


def test_a_translation_that_drops_a_paragraph_or_a_role_is_refused(tmp_path, earlier_build, capsys):
    broken = fixture("fr")
    broken["body"] = broken["body"][:-1]
    broken["roles"] = [*broken["roles"], "Rôle de trop"]
    folder = tmp_path / "translations"
    folder.mkdir()
    write_data(folder, broken, "fr.yaml")
    err = _refused(["--edition", "a4", "--translations", str(folder), "--words", str(words_file(tmp_path))],
                   earlier_build, capsys)
    assert re.search(r"fr\.yaml:\d+: body: has 11 paragraphs; the original has 12", err), err
    assert re.search(r"fr\.yaml:\d+: roles: has 22 roles; the original has 21", err), err


def test_a_translation_without_words_or_with_an_unknown_language_is_refused(tmp_path, earlier_build, capsys):
    words = yaml.safe_load((DATA_DIR / "words.yaml").read_text(encoding="utf-8"))
    words["fr"] = dict(words["en"])  # words for French, but no translation notice
    err = _refused(["--edition", "a4", "--translations", str(TRANSLATIONS), "--language", "fr", "--words",
                    str(write_data(tmp_path, words, "words.yaml"))], earlier_build, capsys)
    assert re.search(r"words\.yaml:\d+: fr\.translation_notice: missing: a translated edition \(fr\.yaml\)",
                     err), err
    err = _refused(["--edition", "a4", "--translations", str(TRANSLATIONS), "--language", "de"],
                   earlier_build, capsys)
    assert "--language de: neither the original (en) nor a translation in" in err
    assert "ar, fi, fr, pl, ru, zh-Hans" in err
    err = _refused(["--edition", "a4", "--translations", str(TRANSLATIONS), "--language", "pl"],
                   earlier_build, capsys)
    assert re.search(r"pl\.yaml:\d+: language: no words for the language 'pl'", err), err


def test_the_bundled_fonts_cover_the_withdrawing_states_languages_cyrillic_greek_arabic_and_hebrew():
    from appeal.layout.fonts import missing_glyph

    letters = {
        "Estonian": "ÄäÖöÕõÜüŠšŽž", "Finnish": "ÄäÖöÅåŠšŽž", "Latvian": "ĀāČčĒēĢģĪīĶķĻļŅņŠšŪūŽž",
        "Lithuanian": "ĄąČčĘęĖėĮįŠšŲųŪūŽž", "Polish": "ĄąĆćĘęŁłŃńÓóŚśŹźŻż",
        "Cyrillic": "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдеёжзийклмнопрстуфхцчшщъыьэюяІіЇїЄєҐґЎўЈјЉљЊњЋћЏџ",
    }
    for script, text in letters.items():
        assert missing_glyph(text) is None, (script, missing_glyph(text))
    # Greek: Charis SIL has only the 20 Greek letters phonetics uses; Noto Serif's Greek faces
    # bring the rest, polytonic letters included. Noto Naskh Arabic and Noto Serif Hebrew bring
    # theirs: the Arabic letters with their vowel marks and Arabic-Indic digits, the Hebrew letters
    # with their final forms and points; Noto Serif CJK SC every Chinese character of GB 2312. A
    # character beyond GB 2312 (a traditional form) is refused.
    greek = "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩαβγδεζηθικλμνξοπρστυφχψωςάέήίόύώΆΈΉΊΌΎΏϊϋΐΰἀἁὴὰῆῶᾳ"
    assert missing_glyph(greek) is None, missing_glyph(greek)
    arabic = ("ءآأؤإئابةتثجحخدذرزسشصضطظعغفقكلمنهوىي" "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652"
              "،؛؟٠١٢٣٤٥٦٧٨٩")
    assert missing_glyph(arabic) is None, missing_glyph(arabic)
    hebrew = "אבגדהוזחטיךכלםמןנסעףפץצקרשת" + "\u05b0\u05b4\u05b7\u05b8\u05bc\u05c1" + "־"
    assert missing_glyph(hebrew) is None, missing_glyph(hebrew)
    # GB 2312's Chinese characters: rows 0xB0-0xF7, less the five empty codes at the end of 0xD7.
    gb2312 = "".join(bytes((high, low)).decode("gb2312") for high in range(0xB0, 0xF8)
                     for low in range(0xA1, 0xFF) if not (high == 0xD7 and low > 0xF9))
    assert len(gb2312) == 6763 and missing_glyph(gb2312) is None, missing_glyph(gb2312)
    assert missing_glyph("，。、；：？！（）《》“”——……") is None  # noqa: RUF001
    assert missing_glyph("國") is not None


def faces_of(document) -> dict[str, set[str]]:
    """The characters each face draws on the first page, as PDFium names the faces."""
    import ctypes

    import pypdfium2 as pdfium

    text = document[0].get_textpage()
    faces: dict[str, set[str]] = {}
    for index in range(text.count_chars()):
        char = text.get_text_range(index, 1)
        name = ctypes.create_string_buffer(256)
        pdfium.raw.FPDFText_GetFontInfo(text.raw, index, name, 256, ctypes.byref(ctypes.c_int()))
        if char.strip():
            faces.setdefault(name.value.decode().split("+")[-1], set()).add(char)
    return faces


def test_greek_text_is_set_in_one_typeface_and_latin_beside_it_in_charis():
    """Every Greek letter of a Greek text, in each style, is drawn from the Greek faces (none from
    Charis SIL's few Greek letters, which would mix two typefaces in a word), read by PDFium."""
    import pypdfium2 as pdfium

    from appeal.layout.render import Renderer

    greek = "Κοινή έκκληση για τη Σύμβαση: ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ αβγδεζηθικλμνξοπρστυφχψως ἀρχὴ"  # noqa: RUF001
    html = (f'<html lang="el"><body><p>{greek}</p><p><b>{greek}</b></p><p><i>{greek}</i></p>'
            '<p lang="en">Lloyd Axworthy</p></body></html>')
    document = pdfium.PdfDocument(Renderer().pdf(html, "a4").data)
    faces = faces_of(document)
    greek_letters = {char for char in greek if char.isalpha()}
    assert faces.keys() == {"Appeal-Greek", "Appeal-Greek-Bold", "Appeal-Greek-Italic", "Appeal-Serif"}, faces
    for face in ("Appeal-Greek", "Appeal-Greek-Bold", "Appeal-Greek-Italic"):
        assert {char for char in faces[face] if char.isalpha()} == greek_letters, face
    assert set("LloydAxworthy") <= faces["Appeal-Serif"] and not faces["Appeal-Serif"] & greek_letters


def test_a_recipient_in_a_translated_language_gets_the_appeal_in_it(tmp_path, capsys):
    """The pack encloses the appeal in the recipient's language when a translation serves it
    (pl-PL by the pl translation), the original otherwise; the pack stays PDF/UA-1."""
    import page

    recipients = yaml.safe_load((DATA_DIR / "recipients.yaml").read_text(encoding="utf-8"))["recipients"]
    chosen = {"recipients": [dict(recipients[4], language="pl-PL"), recipients[0]]}
    letter = yaml.safe_load((DATA_DIR / "letter.yaml").read_text(encoding="utf-8"))
    letter["translations"] = {"pl": {  # made for the test
        "subject": "Wspólny apel", "closing": "Z poważaniem", "enclosure": "Załącznik: wspólny apel",
        "body": "{{ recipient.salutation }},\n\nPrzesyłamy w załączeniu wspólny apel."}}
    out = tmp_path / "out"
    assert main(["letters", "--recipients", str(write_data(tmp_path, chosen, "recipients.yaml")),
                 "--letter", str(write_data(tmp_path, letter, "letter.yaml")),
                 "--translations", str(TRANSLATIONS), "--words", str(words_file(tmp_path)),
                 "--out", str(out)]) == 0
    assert "letters: the packs enclose the appeal 1 in en (the original), 1 in pl" in capsys.readouterr().out
    polish, english = (out / "letters" / f"{recipient['id']}.pdf" for recipient in chosen["recipients"])
    assert squash(fixture("pl")["title"]) in squash(pdfium_pages(polish)[1])
    assert squash(APPEAL["title"]) in squash(pdfium_pages(english)[1])
    report = page.validate_pdf(str(polish), profile="ua1")
    assert report.is_compliant and not report.failures, [f.rule_id for f in report.failures]
    with pikepdf.open(polish) as pdf:
        [document] = pdf.Root.StructTreeRoot.K
        # The letter is in Polish, the appeal too: the Document names no other language.
        assert str(document.K[0].Lang) == str(pdf.Root.Lang) == "pl" and "/Lang" not in document
    with pikepdf.open(english) as pdf:
        assert str(pdf.Root.Lang) == "en"


# The two scripts with rules of their own (every language's archive is verified, but for the
# rebuild, as the build writes it).
@pytest.mark.parametrize("language", ["ar", "zh-Hans"])
def test_a_translations_archive_embeds_both_texts_and_verify_proves_it(translated, language, tmp_path,
                                                                       capsys):
    """The archive of a translation embeds the original and the translation byte for byte, prints
    both SHA-256, and verify rebuilds it from them: identical, PDF/A-3a and PDF/UA-1; --extract
    writes both, and a build from them gives the archive's bytes again."""
    path = translated / language / "appeal-archive.pdf"
    with pikepdf.open(path) as pdf:
        attached = {name: spec.get_file().read_bytes() for name, spec in pdf.attachments.items()}
        assert str(pdf.Root.Lang) == language
    assert attached == {"appeal.yaml": (DATA_DIR / "appeal.yaml").read_bytes(),
                        "translation.yaml": (TRANSLATIONS / f"{language}.yaml").read_bytes()}
    words = str(words_file(tmp_path))
    extracted = tmp_path / "extracted" / "appeal.yaml"
    extracted.parent.mkdir()
    # A translations folder that is a link elsewhere is refused before anything is read or written.
    (tmp_path / "elsewhere").mkdir()
    (extracted.parent / "translations").symlink_to(tmp_path / "elsewhere")
    assert main(["verify", str(path), "--words", words, "--extract", str(extracted)]) == 2
    assert "is a link or not a folder" in capsys.readouterr().err
    assert not extracted.exists() and not any((tmp_path / "elsewhere").iterdir())
    (extracted.parent / "translations").unlink()
    assert main(["verify", str(path), "--words", words, "--extract", str(extracted)]) == 0
    out = capsys.readouterr().out
    # --extract writes both proven files in the shape of data/, and they rebuild the same bytes.
    assert extracted.read_bytes() == attached["appeal.yaml"]
    folder = extracted.parent / "translations"
    assert (folder / f"{language}.yaml").read_bytes() == attached["translation.yaml"]
    assert f"the translation written to {folder / language}.yaml" in out
    assert main(["--data", str(extracted), "--translations", str(folder),
                 "--words", words, "--language", language, "--edition", "archive",
                 "--out", str(tmp_path / "rebuilt")]) == 0
    assert (tmp_path / "rebuilt" / language / "appeal-archive.pdf").read_bytes() == path.read_bytes()
    for line in ("ok    translation SHA-256", "ok    page text matches the source: title, 12 paragraphs",
                 "ok    identical, byte for byte", "ok    PDF/A-3a: no failed rules",
                 "ok    PDF/UA-1: no failed rules"):
        assert line in out, out
    # A copy whose translation was altered (a paragraph's word changed) is caught.
    with pikepdf.open(path) as pdf:
        altered = attached["translation.yaml"].replace(b"body:\n  - \"", b"body:\n  - \"X")
        assert altered != attached["translation.yaml"]
        pdf.attachments["translation.yaml"] = pikepdf.AttachedFileSpec(
            pdf, altered, filename="translation.yaml", mime_type="application/yaml")
        pdf.save(tmp_path / "altered.pdf")
    assert main(["verify", str(tmp_path / "altered.pdf"), "--words", words]) == 1
    out = capsys.readouterr().out
    assert "FAIL  translation SHA-256" in out and "is not the one printed in the colophon" in out, out


def test_watch_follows_the_translations_and_rebuilds_their_editions(tmp_path):
    """A saved translation rebuilds its language's editions (here the A4 handout) and leaves the
    original's in place; a translation added while watch runs is built at the next rebuild."""
    import shutil

    from appeal.build.request import Request
    from appeal.build.watch import Watcher

    folder = tmp_path / "translations"
    folder.mkdir()
    shutil.copy(TRANSLATIONS / "fr.yaml", folder / "fr.yaml")
    out = tmp_path / "out"
    watcher = Watcher(Request(command="watch", out=out, products=("a4",), translations=folder,
                              words=words_file(tmp_path)))
    assert watcher.rebuild("first build")
    original = (out / "appeal-a4.pdf").stat().st_mtime_ns
    assert squash(fixture("fr")["title"]) in squash(pdfium_pages(out / "fr" / "appeal-a4.pdf")[0])
    text = (folder / "fr.yaml").read_text(encoding="utf-8")
    (folder / "fr.yaml").write_text(text.replace("Appel conjoint pour", "Appel commun pour"),
                                    encoding="utf-8")
    shutil.copy(TRANSLATIONS / "pl.yaml", folder / "pl.yaml")
    changed = watcher.changed([folder / "fr.yaml", folder / "pl.yaml"])
    assert changed == [folder / "fr.yaml", folder / "pl.yaml"]
    watcher.note(changed)
    assert watcher.rebuild("saved")
    assert "Appelcommunpour" in squash(pdfium_pages(out / "fr" / "appeal-a4.pdf")[0])
    assert (out / "pl" / "appeal-a4.pdf").is_file()
    assert (out / "appeal-a4.pdf").stat().st_mtime_ns == original  # the original's left in place
    assert "pl/appeal-a4.pdf" in (out / "SHA256SUMS").read_text()


def test_right_to_left_lines_are_read_in_logical_order():
    """verify's reader puts a right-to-left line's chunks, as pypdf gives them from the drawing
    order, back in logical order: numbers and Latin names inside Arabic, a range of years, a list
    number and its full stop (chunks measured on the Arabic edition)."""
    from appeal.pdf.text import logical_line

    drawn = [")", "2025 ", "يونيو", "/", " حزيران", "16 ", " في", "ReliefWeb", " ", "نُشر على موقع", "("]
    assert squash(logical_line(drawn)) == squash("(نُشر على موقع ReliefWeb في 16 حزيران/يونيو 2025)")
    assert logical_line([" والمديرة السابقة لبرنامج", ")", "", "1999", "-", "2008", "("]) == \
        "(1999-2008) والمديرة السابقة لبرنامج"
    assert logical_line([".", "1"]) == logical_line([".1"]) == "1."
    assert logical_line(["Lloyd", " Axworthy"]) == "Lloyd Axworthy"
    assert logical_line(["10", "%", " ", "من"]) == "من 10%"


def _rows(page) -> list:
    """PDFium's lines of a page joined where they share a height: an Arabic vowel drawn raised
    (a text rise) is a line of its own to PDFium."""
    from pages import Line

    rows: list[Line] = []
    for line in sorted(page.lines, key=lambda line: -line.top):
        if rows and line.top > rows[-1].bottom + 2:
            last = rows[-1]
            rows[-1] = Line(last.text + line.text, False, min(last.left, line.left),
                            max(last.right, line.right), min(last.bottom, line.bottom),
                            max(last.top, line.top))
        else:
            rows.append(line)
    return rows


def test_an_arabic_page_is_set_from_the_right_with_its_footer_and_list_numbers_mirrored(translated):
    """Arabic text starts at the right margin, as French text at the left one, and its full lines
    reach the left margin (justified from the right; a paragraph's last line stops short);
    the page number stands at the left, the running title at the right; a signatory's number is to
    the right of the name; the reader is told the pages run from right to left."""
    from pages import MARGINS, body_lines, pages

    _, right_margin, bottom_margin, left_margin = MARGINS["a4"]
    for language in ("ar", "fr"):
        first = pages(translated / language / "appeal-a4.pdf")[0]
        rows = [row for row in _rows(first) if row.bottom > bottom_margin - 1
                and row.top < first.height - MARGINS["a4"][0] + 1]
        assert len(rows) > 25, len(rows)
        start, end = left_margin, first.width - right_margin
        if language == "ar":
            start, end = end, start
        # Within 2.5 pt: PDFium's boxes are the glyphs' ink, inside their side bearings.
        starts = [abs((row.right if language == "ar" else row.left) - start) < 2.5 for row in rows]
        full = [abs((row.left if language == "ar" else row.right) - end) < 2.5 for row in rows]
        assert all(starts), (language, [row.text[:30] for row, ok in zip(rows, starts, strict=True)
                                        if not ok])
        if language == "ar":  # justified (the Latin editions are set ragged right)
            assert sum(full) >= 0.6 * len(rows), (language, sum(full), len(rows))
        assert len(body_lines(first, "a4")) >= len(rows)  # every row is in the text block
    import pypdfium2

    textpage = pypdfium2.PdfDocument(translated / "ar" / "appeal-a4.pdf")[0].get_textpage()
    footer = [(textpage.get_text_range(index, 1), textpage.get_charbox(index))
              for index in range(textpage.count_chars())]
    footer = [(char, box) for char, box in footer if char.strip() and box[3] < bottom_margin]
    digits = [box for char, box in footer if char.isdigit()]
    assert digits and all(box[2] < first.width / 3 for box in digits), digits  # the page number
    assert abs(min(box[0] for _, box in footer) - left_margin) < 2.5
    assert abs(max(box[2] for _, box in footer) - (first.width - right_margin)) < 2.5  # the title
    title = squash(fixture("ar")["short_title"])
    assert squash("".join(char for char, box in footer if box[0] > first.width / 3)) in title
    from helpers import text_lines

    drawn = [line for page_number in range(3) for line in text_lines(translated / "ar" / "appeal-a4.pdf",
                                                                        page_number)]
    for name, number in (("Lloyd Axworthy", "1"), ("Helen Clark", "3"), ("Jody Williams", "21")):
        name_line = next(line for line in drawn if line.text == name)
        # The number's text object (pypdf names its first chunk: "." or the digits), beside the name.
        numbers = [line for line in drawn if line.text and set(line.text) <= set(f"{number}.")
                   and abs(line.top - name_line.top) < 2]
        right = [line for line in numbers if 0 <= line.left - name_line.right < 20]
        left = [line for line in numbers if 0 <= name_line.left - line.right < 20]
        assert right and not left, (name, numbers)
    with pikepdf.open(translated / "ar" / "appeal-a4.pdf") as pdf:
        assert pdf.Root.ViewerPreferences.Direction == "/R2L"
    with pikepdf.open(translated / "fr" / "appeal-a4.pdf") as pdf:
        assert "/Direction" not in pdf.Root.ViewerPreferences


def test_an_arabic_booklet_is_bound_on_the_right():
    """Its sheets pair the pages mirrored ([1|8] [7|2] [3|6] [5|4]): folded, the booklet opens
    from the left edge and reads from right to left."""
    from appeal.pdf.impose import sheet_order

    assert sheet_order(8) == [(8, 1), (2, 7), (6, 3), (4, 5)]
    assert sheet_order(8, right_to_left=True) == [(1, 8), (7, 2), (3, 6), (5, 4)]
    assert sheet_order(4, right_to_left=True) == [(1, 4), (3, 2)]


def test_the_arabic_booklets_first_sheet_has_the_title_page_on_its_left(translated):
    from pages import pages

    sheet = pages(translated / "ar" / "appeal-booklet.pdf")[0]
    title = squash(fixture("ar")["title"])[:20]
    left = squash("".join(line.text for line in sheet.lines if line.right < sheet.width / 2))
    right = squash("".join(line.text for line in sheet.lines if line.left > sheet.width / 2))
    assert title in left and right == "", (left[:80], right[:80])
    french = pages(translated / "fr" / "appeal-booklet.pdf")[0]
    assert squash(fixture("fr")["title"])[:20] in squash("".join(
        line.text for line in french.lines if line.left > french.width / 2))


def test_hebrew_and_arabic_text_is_set_in_their_faces_and_latin_beside_it_in_charis():
    """No Hebrew fixture yet: a Hebrew and an Arabic paragraph, each with a Latin name, drawn with
    the bundled faces (PDFium names the face of each letter)."""
    import pypdfium2 as pdfium

    from appeal.layout.render import Renderer

    hebrew, arabic = "קריאה משותפת לשמירה על האמנה", "نداء مشترك من أجل التمسك باتفاقية"
    html = (f'<html lang="he" dir="rtl"><body><p>{hebrew} Lloyd Axworthy</p><p><b>{hebrew}</b></p>'
            f'<p lang="ar">{arabic}</p><p lang="ar"><b>{arabic}</b></p></body></html>')
    document = pdfium.PdfDocument(Renderer().pdf(html, "a4").data)
    faces = faces_of(document)
    assert faces.keys() == {"Appeal-Hebrew", "Appeal-Hebrew-Bold", "Appeal-Arabic", "Appeal-Arabic-Bold",
                            "Appeal-Serif"}, faces
    for face, letters in (("Appeal-Hebrew", hebrew), ("Appeal-Hebrew-Bold", hebrew),
                          ("Appeal-Arabic", arabic), ("Appeal-Arabic-Bold", arabic)):
        assert {char for char in letters if char.isalpha()} <= faces[face], face
    assert faces["Appeal-Serif"] == set("LloydAxworthy")


def test_chinese_lines_break_between_characters_by_the_punctuation_rules(translated):
    """Chinese breaks between characters, no hyphen and no space added: lines of the body run to
    the measure; no line starts with closing punctuation (a full stop, a comma, a closing bracket
    or quote) and none ends with opening punctuation, read by PDFium line by line."""
    from pages import MARGINS, body_lines, pages

    closing, opening = "。，、；：？！）」』”’》〉…", "（「『“‘《〈"  # noqa: RUF001
    _, right_margin, _, left_margin = MARGINS["a4"]
    lines = [line for page in pages(translated / "zh-Hans" / "appeal-a4.pdf")[:2]
             for line in body_lines(page, "a4")]
    assert len(lines) > 40
    assert not [line.text for line in lines if line.text[0] in closing or line.text[-1] in opening]
    assert not [line.text for line in lines if line.hyphen or "\ufffe" in line.text]
    # Without spaces to stretch, lines are not justified: a line stops short of the measure by at
    # most three characters (a character kept from a line's start pulls the one before it along),
    # but for a paragraph's last line; read on the first page, below the title and the notice.
    first = pages(translated / "zh-Hans" / "appeal-a4.pdf")[0]
    measure = first.width - right_margin - left_margin
    body = body_lines(first, "a4")
    start = next(index for index, line in enumerate(body) if line.text.startswith("全球禁止"))
    size = 11  # pt, the body's (--body-size)
    short = [line.text for line in body[start:] if line.right - line.left < measure - 3 * size]
    assert short and all(text[-1] in "。？！" for text in short), short  # noqa: RUF001


def test_arabic_is_drawn_with_the_glyphs_harfbuzz_shapes():
    """The glyphs the PDF draws for an Arabic line are, outline for outline and in order, those
    HarfBuzz (uharfbuzz, on its own) shapes for the same string with the same font: joined letter
    forms, lam-alef, the vowel marks. They are not the letters' isolated forms."""
    from io import BytesIO

    import uharfbuzz
    from fontTools.pens.recordingPen import DecomposingRecordingPen
    from fontTools.ttLib import TTFont

    from appeal.layout.render import Renderer
    from appeal.paths import FONT_DIR

    def outline(font, glyph: int | str) -> tuple:
        glyphs = font.getGlyphSet()
        pen = DecomposingRecordingPen(glyphs)
        glyphs[glyph if isinstance(glyph, str) else font.getGlyphOrder()[glyph]].draw(pen)
        return tuple((op, tuple(tuple(round(c) for c in point) for point in points))
                     for op, points in pen.value)

    text = "يُعدّ الحظر العالمي للألغام المضادة للأفراد"
    data = Renderer().pdf(f'<html lang="ar" dir="rtl"><body><p>{text}</p></body></html>', "a4").data
    with pikepdf.open(BytesIO(data)) as pdf:
        page = pdf.pages[0]
        drawn, fonts, current = [], {}, None
        for operands, operator in pikepdf.parse_content_stream(page):
            if str(operator) == "Tf":
                current = str(operands[0])
                font = page.Resources.Font[current]
                assert str(font.BaseFont).endswith("+Appeal-Arabic"), font.BaseFont
                descendant = font.DescendantFonts[0]
                assert descendant.CIDToGIDMap == "/Identity"
                fonts[current] = TTFont(BytesIO(descendant.FontDescriptor.FontFile2.read_bytes()))
            elif str(operator) == "TJ":
                for part in operands[0]:
                    if isinstance(part, pikepdf.String):
                        raw = bytes(part)
                        drawn += [outline(fonts[current], int.from_bytes(raw[i:i + 2], "big"))
                                  for i in range(0, len(raw), 2)]
    path = FONT_DIR / "NotoNaskhArabic-Regular.ttf"
    buffer = uharfbuzz.Buffer()
    buffer.add_str(text)
    buffer.guess_segment_properties()
    uharfbuzz.shape(uharfbuzz.Font(uharfbuzz.Face(uharfbuzz.Blob.from_file_path(str(path)))), buffer, {})
    original = TTFont(path)
    shaped = [outline(original, info.codepoint) for info in buffer.glyph_infos]  # left to right, as drawn
    assert drawn == shaped
    isolated = [outline(original, original.getBestCmap()[ord(char)]) for char in reversed(text)]
    # Most letters take a joined form (initial, medial, final), not their isolated one.
    assert sum(joined != alone for joined, alone in zip(shaped, isolated, strict=True)) > len(text) / 2
