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
LANGUAGES = ("fi", "fr", "pl", "ru")
APPEAL = yaml.safe_load((DATA_DIR / "appeal.yaml").read_text(encoding="utf-8"))
EDITIONS = ("appeal-a4.pdf", "appeal-letter.pdf", "appeal-archive.pdf", "appeal-booklet.pdf",
            "press/appeal-a4.pdf")


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
    editions = [option for name in ("a4", "letter", "archive", "booklet", "press-a4")
                for option in ("--edition", name)]
    assert main([*editions, "--translations", str(TRANSLATIONS), "--words", str(words_file(folder)),
                 "--out", str(folder / "out")]) == 0
    return folder / "out"


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
    pages = pdfium_pages(path)
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
    assert fonts <= {"Appeal-Serif", "Appeal-Serif-Italic", "Appeal-Serif-Bold"}, fonts
    report = page.validate_pdf(str(path), profile="ua1")
    assert report.is_compliant and not report.failures, [f.rule_id for f in report.failures]


def test_each_language_is_hyphenated_by_its_own_patterns_and_finnish_by_none(translated):
    """Pyphen has French, Polish and Russian patterns, none for Finnish: Finnish is set without
    breaking words (never with another language's patterns); the others break words of their own."""
    for language in LANGUAGES:
        text = "\n".join(pdfium_pages_raw(translated / language / "appeal-a4.pdf"))
        source = yaml.safe_dump(fixture(language), allow_unicode=True, width=10**6)
        broken = [before + after for before, after in re.findall(r"(\w+)\ufffe(\w+)", text)
                  if f"{before}-{after}" not in source]  # a hard hyphen at a line end is the text's
        if language == "fi":
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
    assert "--language de: neither the original (en) nor a translation in" in err and "fi, fr, pl, ru" in err
    err = _refused(["--edition", "a4", "--translations", str(TRANSLATIONS), "--language", "pl"],
                   earlier_build, capsys)
    assert re.search(r"pl\.yaml:\d+: language: no words for the language 'pl'", err), err


def test_the_bundled_font_covers_the_withdrawing_states_languages_and_cyrillic():
    from appeal.layout.fonts import missing_glyph

    letters = {
        "Estonian": "ÄäÖöÕõÜüŠšŽž", "Finnish": "ÄäÖöÅåŠšŽž", "Latvian": "ĀāČčĒēĢģĪīĶķĻļŅņŠšŪūŽž",
        "Lithuanian": "ĄąČčĘęĖėĮįŠšŲųŪūŽž", "Polish": "ĄąĆćĘęŁłŃńÓóŚśŹźŻż",
        "Cyrillic": "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдеёжзийклмнопрстуфхцчшщъыьэюяІіЇїЄєҐґЎўЈјЉљЊњЋћЏџ",
    }
    for script, text in letters.items():
        assert missing_glyph(text) is None, (script, missing_glyph(text))
    # Not yet bundled: Arabic, and Greek, of which Charis SIL has only the letters phonetics uses
    # (measured: 20 of the 49 below); a translation in either is refused, naming the character.
    assert missing_glyph("العربية") is not None
    greek = "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩαβγδεζηθικλμνξοπρστυφχψωςάέήίόύώ"
    assert sum(missing_glyph(char) is None for char in greek) == 20


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


@pytest.mark.parametrize("language", ["fr", "ru"])
def test_a_translations_archive_embeds_both_texts_and_verify_proves_it(translated, language, tmp_path,
                                                                       capsys):
    """The archive of a translation embeds the original and the translation byte for byte, prints
    both SHA-256, and verify rebuilds it from them: identical, PDF/A-3a and PDF/UA-1."""
    path = translated / language / "appeal-archive.pdf"
    with pikepdf.open(path) as pdf:
        attached = {name: spec.get_file().read_bytes() for name, spec in pdf.attachments.items()}
        assert str(pdf.Root.Lang) == language
    assert attached == {"appeal.yaml": (DATA_DIR / "appeal.yaml").read_bytes(),
                        "translation.yaml": (TRANSLATIONS / f"{language}.yaml").read_bytes()}
    words = str(words_file(tmp_path))
    assert main(["verify", str(path), "--words", words]) == 0
    out = capsys.readouterr().out
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
