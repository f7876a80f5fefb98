"""Data a hostile or careless user feeds the build: every case gets one clear message (file, line,
key path), exit status 2, no traceback, bounded time and memory, and an earlier build untouched."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import unicodedata

import pytest
import yaml

from appeal.cli import main
from appeal.inputs.models import APPEAL_LIMIT
from appeal.inputs.source import MAX_TEXT
from appeal.paths import DATA_DIR, ROOT
from helpers import page_texts, project_copy, run_copy, snapshot, squash, text_lines, write_data

APPEAL = yaml.safe_load((DATA_DIR / "appeal.yaml").read_text(encoding="utf-8"))
LETTER = yaml.safe_load((DATA_DIR / "letter.yaml").read_text(encoding="utf-8"))
RECIPIENTS = yaml.safe_load((DATA_DIR / "recipients.yaml").read_text(encoding="utf-8"))["recipients"]


def with_name(name: str, index: int = 0) -> dict:
    signatories = [dict(s) for s in APPEAL["signatories"]]
    signatories[index]["name"] = name
    return dict(APPEAL, signatories=signatories)


def refused(tmp_path, earlier_build, capsys, args) -> str:
    """Run the build with `args` over an earlier build: exit 2, no traceback, nothing touched."""
    before = snapshot(earlier_build)
    assert main([*args, "--out", str(earlier_build)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("error: ")
    assert snapshot(earlier_build) == before
    return err


def refused_data(tmp_path, earlier_build, capsys, data) -> str:
    return refused(tmp_path, earlier_build, capsys, ["--data", str(write_data(tmp_path, data))])


# Characters the data may not hold (README: "What the data may hold").

@pytest.mark.parametrize(("name", "shown"), [
    ("Lloyd\u200bAxworthy", "U+200B ZERO WIDTH SPACE"),
    ("\ufeffLloyd Axworthy", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
    ("Lloyd \u202eyhtrowxA", "U+202E RIGHT-TO-LEFT OVERRIDE, a bidirectional control character"),
    ("\u2066Lloyd Axworthy\u2069", "U+2066 LEFT-TO-RIGHT ISOLATE"),
    ("Lloyd\u00adAxworthy", "U+00AD SOFT HYPHEN"),
    ("\u200b\u2060\u00ad", "U+200B ZERO WIDTH SPACE"),  # a name made only of invisible characters
    ("Lloyd\x1b[31mAxworthy", "U+001B"),
    ("Lloyd\u2028Axworthy", "U+2028 LINE SEPARATOR"),
    ("Lloyd\ue000", "U+E000"),
])
def test_invisible_and_control_characters_are_refused_by_name(tmp_path, earlier_build, capsys, name, shown):
    err = refused_data(tmp_path, earlier_build, capsys, with_name(name))
    assert "signatories[0].name: contains " + shown in err
    assert "\x1b" not in err and "\u202e" not in err  # the message shows them escaped


def test_the_same_name_in_nfc_and_nfd_is_one_name(tmp_path, earlier_build, capsys):
    data = with_name(unicodedata.normalize("NFD", APPEAL["signatories"][19]["name"]))  # Knut Vollebæk
    data["signatories"][0]["name"] = unicodedata.normalize("NFD", "Bernard Kouchner")
    data["signatories"][1]["name"] = "Bernard Kouchner"
    err = refused_data(tmp_path, earlier_build, capsys, data)
    assert "signatories[1].name: signatory 'Bernard Kouchner' is listed twice (first at signatories[0])" \
        in err


def test_stacked_combining_accents_are_normalised_and_the_archive_verifies(tmp_path, capsys):
    # Dot above before dot below is not canonical order: HarfBuzz reorders the marks, merges their
    # clusters, and WeasyPrint then maps one glyph to no text (PDF/A Unicode mapping fails). NFC
    # puts them in canonical order first.
    name = "Ze\u0301\u0302\u0303\u0304\u0323\u0324lko q\u0307\u0323"
    out = tmp_path / "out"
    assert main(["--data", str(write_data(tmp_path, with_name(name))), "--edition", "archive",
                 "--out", str(out)]) == 0
    assert main(["verify", str(out / "appeal-archive.pdf")]) == 0
    printed = squash("".join(page_texts(out / "appeal-archive.pdf")))
    assert squash(unicodedata.normalize("NFC", name)) in printed


# Dates and the words' templates: data, never code.

def test_an_impossible_date_names_its_key(tmp_path, earlier_build, capsys):
    text = (DATA_DIR / "appeal.yaml").read_text(encoding="utf-8")
    text = text.replace("date: 2025-06-16", "date: 2025-02-30")
    line = text[: text.index("date: 2025-02-30")].count("\n") + 1
    err = refused(tmp_path, earlier_build, capsys, ["--data", str(write_data(tmp_path, text))])
    assert f"appeal.yaml:{line}: date: 2025-02-30 is not a day of the calendar" in err


def _words(tmp_path, **changes) -> str:
    words = yaml.safe_load((DATA_DIR / "words.yaml").read_text(encoding="utf-8"))
    words["en"].update(changes)
    return str(write_data(tmp_path, words, "words.yaml"))


@pytest.mark.parametrize("date_format", ["{month[99]} {day} {year}", "{month.__class__.__mro__} {day} {year}",
                                         "{day:>20000000} {month} {year}", "{day} {month} {year} {0}"])
def test_date_format_is_filled_in_never_run(tmp_path, earlier_build, capsys, date_format):
    started = time.perf_counter()
    words = _words(tmp_path, date_format=date_format)
    err = refused(tmp_path, earlier_build, capsys, ["letters", "--words", words])
    assert "en.date_format: must contain {day}, {month}, {year} and nothing else in braces" in err
    assert time.perf_counter() - started < 10


def test_page_of_allows_only_its_two_fields(tmp_path, earlier_build, capsys):
    words = _words(tmp_path, page_of="Page {page.__doc__}")
    err = refused(tmp_path, earlier_build, capsys, ["--words", words])
    assert "en.page_of: must contain {page} (and may contain {pages}) and nothing else in braces" in err


@pytest.mark.parametrize(("body", "expected"), [
    ("{% include 'base.html' %}", "{% include %} or the like is not allowed"),
    ("{% extends 'base.html' %}", "{% extends %} or the like is not allowed"),
    ("{% import 'macros.html' as m %}", "{% import %} or the like is not allowed"),
    ("{% for i in range(100000000) %}x{% endfor %}", "{% for %} or the like is not allowed"),
    ("{{ recipient.name * 100000000 }}", "{% mul %} or the like is not allowed"),
    ("{{ lipsum(100000) }}", "{% call %} or the like is not allowed"),
    ("{{ recipient.__class__ }}", "cannot be filled in"),
    ("{{ cycler }}", "'cycler' is unknown"),
])
def test_the_letter_body_may_only_print_the_recipients_fields(tmp_path, earlier_build, capsys, body,
                                                              expected):
    started = time.perf_counter()
    letter = write_data(tmp_path, dict(LETTER, body=body), "letter.yaml")
    err = refused(tmp_path, earlier_build, capsys, ["letters", "--letter", str(letter)])
    assert "letter.yaml" in err and "body: " in err and expected in err
    assert time.perf_counter() - started < 10


def test_the_letter_body_may_test_and_filter_fields(tmp_path):
    body = ("{% if recipient.title %}{{ recipient.title | upper }}{% else %}{{ recipient.salutation }}"
            "{% endif %},\n\nText.")
    letter = write_data(tmp_path, dict(LETTER, body=body), "letter.yaml")
    recipients = write_data(tmp_path, {"recipients": RECIPIENTS[:1]}, "recipients.yaml")
    assert main(["letters", "--letter", str(letter), "--recipients", str(recipients),
                 "--out", str(tmp_path / "out")]) == 0
    assert "Dear Minister," in page_texts(tmp_path / "out" / "letters" / f"{RECIPIENTS[0]['id']}.pdf")[0]


# Resource exhaustion: bounded work, messages that name the limit.

BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{x}: &{x} [{', '.join(['*' + p] * 9)}]\n" for p, x in zip("abcdefgh", "bcdefghi", strict=True))


@pytest.mark.parametrize(("text", "expected"), [
    (BILLION_LAUGHS, "aliases (*name) expand the data more than 10 times over"),
    ("a: &a [*a]\n", "nested more than 32 levels deep"),
    ("x: " + "[" * 5000 + "]" * 5000 + "\n", "not valid YAML"),
])
def test_alias_bombs_and_deep_nesting_are_refused_at_once(tmp_path, text, expected):
    # In a fresh process, so that a regression shows as a timeout, not as a hung test session.
    path = write_data(tmp_path, text)
    result = subprocess.run([sys.executable, "build.py", "check", "--data", str(path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_aliases_within_reason_are_data(tmp_path, capsys):
    shared = "shared: &address [Ministry, City, COUNTRY]\n"
    text = shared + "recipients:\n" + "".join(
        f"  - {{id: r{n}, name: Minister, address: *address}}\n" for n in range(3))
    recipients = write_data(tmp_path, text, "recipients.yaml")
    err = refused(tmp_path, tmp_path / "o", capsys, ["check", "--recipients", str(recipients)])
    assert "shared: is not a known key" in err  # parsed past the aliases: only the model objects


def test_an_endless_file_is_refused_at_the_limit(tmp_path, earlier_build, capsys):
    err = refused(tmp_path, earlier_build, capsys, ["--data", "/dev/zero"])
    assert f"/dev/zero: larger than {APPEAL_LIMIT // 2**20} MB, the limit for the appeal data" in err


def test_a_huge_paragraph_is_refused_with_the_limit(tmp_path, earlier_build, capsys):
    data = dict(APPEAL, body=["word " * (MAX_TEXT // 4)])
    err = refused_data(tmp_path, earlier_build, capsys, data)
    assert f"body[0]: is {MAX_TEXT // 4 * 5:,} characters long; the limit for one text is {MAX_TEXT:,}" in err


def test_control_characters_in_keys_are_shown_escaped(tmp_path, earlier_build, capsys):
    text = (DATA_DIR / "appeal.yaml").read_text(encoding="utf-8").replace(
        "\ntitle:", '\n"ti\\e]0;pwned\\atle\\u202e":', 1)
    err = refused(tmp_path, earlier_build, capsys, ["--data", str(write_data(tmp_path, text))])
    assert "\x1b" not in err and "\x07" not in err and "\u202e" not in err
    assert "\\x1b]0;pwned\\x07" in err


# Languages: BCP 47 lookup.

def test_a_recipient_in_en_gb_gets_the_letter_in_en_and_the_summary_says_so(tmp_path, capsys):
    recipients = write_data(tmp_path, {"recipients": [dict(RECIPIENTS[0], language="en-GB")]},
                            "recipients.yaml")
    assert main(["letters", "--recipients", str(recipients), "--out", str(tmp_path / "out")]) == 0
    assert "note: 1 recipient in en-GB gets the letter in en (it has no en-GB translation)" in \
        capsys.readouterr().err
    assert "Yours sincerely," in page_texts(tmp_path / "out" / "letters" / f"{RECIPIENTS[0]['id']}.pdf")[0]


# Text that would run off the paper.

LONG_WORD = "https://example.org/" + "a" * 380


def test_long_words_break_instead_of_running_off_the_page(tmp_path, capsys):
    data = dict(APPEAL, title="Title" + "X" * 300,
                body=[APPEAL["body"][0] + " " + LONG_WORD, *APPEAL["body"][1:]],
                signatories=[{"name": "N" * 200, "role": "R" * 300}, *APPEAL["signatories"][1:]],
                short_title="A running title long enough to need two lines in the footer of the page, "
                            "beside the page number")
    out = tmp_path / "out"
    assert main(["--data", str(write_data(tmp_path, data)), "--edition", "a4", "--edition", "archive",
                 "--out", str(out)]) == 0
    mm = 72 / 25.4
    for name in ("appeal-a4.pdf", "appeal-archive.pdf"):
        texts = page_texts(out / name)
        for number, text in enumerate(texts):
            # Every line inside the margins (a4.css): 43 mm on every page, the signatures' too.
            margin = 43 * mm
            for line in text_lines(out / name, number):
                assert line.left >= margin - 0.5 and line.right <= 595.28 - margin + 0.5, (name, number, line)
            assert f"Page {number + 1} of {len(texts)}" in text  # never wrapped or cut
        assert squash(LONG_WORD) in squash("".join(texts))
    assert main(["verify", str(out / "appeal-archive.pdf")]) == 0


def test_text_that_still_runs_over_its_box_stops_the_build_naming_the_key(tmp_path, monkeypatch):
    # Should a style ever let a word run on (here: overflow-wrap switched off), the check after
    # layout names the key and the page before anything is written.
    from appeal.errors import UserError
    from appeal.inputs.load import load_data
    from appeal.layout.render import Renderer
    from appeal.products import editions

    path = write_data(tmp_path, dict(APPEAL, body=[*APPEAL["body"][:3], "Before " + LONG_WORD]))
    data = load_data(path, DATA_DIR / "words.yaml")
    real = editions.render_html
    monkeypatch.setattr(editions, "render_html", lambda *a, **k: real(*a, **k).replace(
        "</head>", "<style>p { overflow-wrap: normal !important }</style></head>"))
    with pytest.raises(UserError, match=r"appeal.yaml:\d+: body\[3\]: runs past the edge of its box"):
        editions.handout(Renderer(), data, "a4")


def test_an_author_list_too_long_for_a_pdf_string_is_cut_short(tmp_path, capsys):
    # PDF/A allows strings of at most 32,767 bytes; 300 names of 60 characters are 36,000 in UTF-16.
    signatories = [{"name": f"Signatory {n:03d} " + "x" * 46, "role": "Founder"} for n in range(300)]
    out = tmp_path / "out"
    assert main(["--data", str(write_data(tmp_path, dict(APPEAL, signatories=signatories))),
                 "--edition", "archive", "--out", str(out)]) == 0
    from pypdf import PdfReader

    author = PdfReader(out / "appeal-archive.pdf").metadata["/Author"]
    assert author.startswith("Signatory 000 ") and author.endswith(", …") and len(author) <= 1_000


# A signature image that cannot be drawn stops the build: a letter never goes out without it.

def _png(width: int, height: int, noise: bool = False) -> bytes:
    from io import BytesIO

    from PIL import Image

    image = Image.effect_noise((width, height), 64) if noise else Image.new("1", (width, height), 1)
    out = BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


SVG_WITH_ENTITY = (b'<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                   b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>&x;</text></svg>')


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("not-an-image.png", b"This is a text file.\n", "is not a PNG, JPEG or SVG image"),
    ("truncated.png", _png(400, 100, noise=True)[:20_000], "cannot be read as an image"),
    ("entity.svg", SVG_WITH_ENTITY, "is an SVG with a document type or entities"),
    ("enormous.png", _png(8000, 8000), "is 8,000 × 8,000 pixels; a signature image may have at most "
                                       "25,000,000 pixels"),
    ("heavy.png", b"\x89PNG\r\n\x1a\n" + bytes(6 * 2**20),
     "is 6.0 MB; a signature image may have at most 5 MB"),
])
def test_a_signature_image_that_cannot_be_drawn_is_refused(name, content, expected, tmp_path, earlier_build):
    relative = signature_image(tmp_path, name, content)
    err = refused_in_copy(tmp_path, earlier_build, relative)
    assert f"signer.signature: {relative}: {expected}" in err


@pytest.mark.weasyprint_warns
def test_any_weasyprint_warning_stops_the_build(tmp_path, earlier_build):
    # Past the checks above, an image WeasyPrint cannot draw (malformed SVG) still stops the build.
    broken = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><g></svg>'
    err = refused_in_copy(tmp_path, earlier_build, signature_image(tmp_path, "broken.svg", broken))
    assert "WeasyPrint warned while laying out" in err and "broken.svg" in err


def signature_image(tmp_path, name: str, content: bytes) -> str:
    """`content` as a signature image among the styles of a copy of this tool (helpers.project_copy),
    the copy made once a test; its path as the letter names it."""
    copy = tmp_path / "project"
    if not copy.exists():
        project_copy(tmp_path)
    (copy / "styles" / "signatures").mkdir(exist_ok=True)
    path = copy / "styles" / "signatures" / name
    path.write_bytes(content)
    return str(path.relative_to(copy))


def refused_in_copy(tmp_path, earlier_build, signature: str) -> str:
    """The copy's `build.py letters` with a letter signed by `signature`, over an earlier build:
    exit 2, no traceback, nothing touched; what it printed to stderr."""
    letter = write_data(tmp_path, dict(LETTER, signer=dict(LETTER["signer"], signature=signature)),
                        "letter.yaml")
    before = snapshot(earlier_build)
    result = run_copy(tmp_path / "project", ["letters", "--letter", str(letter), "--out", str(earlier_build)])
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    # In a process of its own WeasyPrint's logger prints its warning too, before the build's error.
    assert "\nerror: " in "\n" + result.stderr, result.stderr
    assert snapshot(earlier_build) == before
    return result.stderr


def test_a_running_title_too_long_for_the_footer_is_refused(tmp_path, earlier_build, capsys):
    err = refused_data(tmp_path, earlier_build, capsys, dict(APPEAL, short_title="Joint Appeal " * 20))
    assert "short_title: is too long: at most 160 characters" in err


def test_a_fifo_as_data_is_refused_without_waiting_for_a_writer(tmp_path, earlier_build, capsys):
    fifo = tmp_path / "appeal.yaml"
    os.mkfifo(fifo)  # nobody writes to it: a plain open() would wait for ever
    err = refused(tmp_path, earlier_build, capsys, ["--data", str(fifo)])
    assert f"{fifo}: not a regular file but a FIFO (appeal data" in err
