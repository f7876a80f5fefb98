"""Bad input: one clear message naming file, line and key; exit status 2; an earlier build untouched."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from appeal.cli import main
from appeal.errors import UserError
from appeal.layout.fetcher import AssetFetcher, RefusedURL
from appeal.layout.render import Renderer
from appeal.paths import DATA_DIR, ROOT, STYLE_DIR
from appeal.products import editions
from helpers import snapshot, write_data

APPEAL_TEXT = (DATA_DIR / "appeal.yaml").read_text(encoding="utf-8")


def edited(old: str, new: str) -> str:
    assert old in APPEAL_TEXT
    return APPEAL_TEXT.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def fails(tmp_path, earlier_build, data, capsys) -> str:
    """Build `data` over an earlier build; assert exit 2, no traceback, nothing touched; the message."""
    before = snapshot(earlier_build)
    path = write_data(tmp_path, data)
    status = main(["--data", str(path), "--out", str(earlier_build)])
    err = capsys.readouterr().err
    assert status == 2
    assert "Traceback" not in err
    assert snapshot(earlier_build) == before
    assert err.startswith(f"error: {path}")
    return err


# One case per kind of bad input: the data, then what the message must say.
CASES = {
    "unknown key (a typo)": (edited("\ntitle:", "\ntitel:"),
                             ["titel: is not a known key", "title: is required"]),
    "missing field": (edited("publication:", "# publication:"), ["publication: is required"]),
    "empty field": (edited('"Helen Clark"', '"  "'), ["signatories[2].name: must not be empty"]),
    "empty body": ({**yaml.safe_load(APPEAL_TEXT), "body": []}, ["body: must not be empty"]),
    "date not ISO 8601": (edited("date: 2025-06-16", "date: 16 June 2025"),
                          ["date: must be an ISO 8601 date", "'16 June 2025'"]),
    "date with a time": (edited("date: 2025-06-16", "date: 2025-06-16 10:00:00"), ["date: must be a date"]),
    "signatory without a name": (edited('  - name: "Helen Clark"\n', "  -\n"),
                                 ["signatories[2].name: is required"]),
    "signatory listed twice": (edited('"Jody Williams"', '"Lloyd  Axworthy"'),
                               ["signatories[20].name: signatory 'Lloyd  Axworthy' is listed twice",
                                "first at signatories[0]"]),
    "number where text belongs": (edited('"Helen Clark"', "1984"), ["signatories[2].name: must be text"]),
    "key given twice": (edited("language: en", "language: en\nlanguage: fr"), ["language: is given twice"]),
    "bad language tag": (edited("language: en", "language: English!"), ["must be a BCP 47 language tag"]),
    "language without words": (edited("language: en", "language: fr"), ["no words for the language 'fr'"]),
    "malformed YAML": (edited("body:\n", "body: [unclosed\n"), ["not valid YAML"]),
    "empty file": ("", ["the file is empty"]),
    "a list, not a mapping": ("- just\n- a list\n", ["must be a mapping of keys, not a list"]),
    "binary file": ((STYLE_DIR / "fonts" / "CharisSIL-Regular.ttf").read_bytes()[:4096], ["not UTF-8 text"]),
    "NUL byte": ("title: a\x00b\n", ["NUL byte"]),
    "Python object tag": ('title: !!python/object/apply:os.system ["touch /tmp/appeal-pwned"]\n',
                          ["the YAML tag", "python/object/apply:os.system", "is not allowed"]),
    "character the fonts lack": (edited('"Knut Vollebæk"', '"Knut क"'),
                                 ["signatories[19].name", "U+0915", "Charis SIL", "styles/fonts"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_gets_one_clear_message(case, tmp_path, earlier_build, capsys):
    data, expected = CASES[case]
    err = fails(tmp_path, earlier_build, data, capsys)
    for words in expected:
        assert words in err


def test_message_names_the_line(tmp_path, earlier_build, capsys):
    data = edited('"Helen Clark"', '""')
    err = fails(tmp_path, earlier_build, data, capsys)
    line = line_of(data, 'name: ""')
    assert f"appeal.yaml:{line}: signatories[2].name" in err


def test_python_tag_constructs_nothing(tmp_path, earlier_build, capsys):
    marker = tmp_path / "constructed"
    data = f'title: !!python/object/apply:os.system ["touch {marker}"]\n'
    fails(tmp_path, earlier_build, data, capsys)
    assert not marker.exists()


def test_missing_data_file(tmp_path, earlier_build, capsys):
    assert main(["--data", str(tmp_path / "nowhere.yaml"), "--out", str(earlier_build)]) == 2
    assert "nowhere.yaml: no such file" in capsys.readouterr().err


def test_a_failed_edition_leaves_the_earlier_build_and_no_partial_file(earlier_build, monkeypatch):
    before = snapshot(earlier_build)
    real = editions.handout

    def letter_fails(renderer, data, paper):
        if paper == "letter":
            raise RuntimeError("render failed")
        return real(renderer, data, paper)

    monkeypatch.setattr(editions, "handout", letter_fails)
    with pytest.raises(RuntimeError):
        main(["--out", str(earlier_build), "--force"])  # the earlier build's own inputs: forced
    assert snapshot(earlier_build) == before  # also: no .part file left behind


def test_fetcher_allows_only_project_assets():
    fetcher = AssetFetcher()
    response = fetcher.fetch((STYLE_DIR / "base.css").as_uri())  # the fonts are declared there
    assert b"@font-face" in response.read()
    assert fetcher.fetch("data:text/plain,hello").read() == b"hello"
    for url in ("file:///etc/passwd", (STYLE_DIR / ".." / "data" / "appeal.yaml").as_uri(),
                "http://127.0.0.1/x.css", "https://example.org/font.ttf", "ftp://example.org/x"):
        with pytest.raises(RefusedURL, match="refused to fetch"):
            fetcher.fetch(url)


@pytest.mark.parametrize("markup", [
    '<link rel="attachment" href="file:///etc/passwd">',
    '<img src="file:///etc/hostname">',
    '<link rel="stylesheet" href="http://127.0.0.1:9/evil.css">',
])
def test_a_render_that_reaches_outside_the_project_stops(markup):
    with pytest.raises(RefusedURL):
        Renderer().pdf(f"<html><head>{markup}</head><body><p>x</p></body></html>", "a4")


def test_cli_in_a_fresh_process_exits_2_without_traceback(tmp_path):
    bad = write_data(tmp_path, edited("date: 2025-06-16", "date: tomorrow"))
    result = subprocess.run(
        [sys.executable, "build.py", "--data", str(bad), "--out", str(tmp_path / "o")],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "date: must be an ISO 8601 date" in result.stderr
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_debug_shows_the_traceback(tmp_path):
    bad = write_data(tmp_path, "")
    with pytest.raises(Exception, match="the file is empty"):
        main(["--data", str(bad), "--debug"])


def test_help_explains_the_commands(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "verify" in out and "build" in out
    with pytest.raises(SystemExit):
        main(["build", "--help"])
    assert "--data" in capsys.readouterr().out


def test_check_validates_without_writing(tmp_path, capsys):
    assert main(["check", "--out", str(tmp_path / "never")]) == 0
    out = capsys.readouterr().out
    assert "21 signatories" in out and "5 recipients" in out
    assert "sign-on.yaml: the sign-on sheet, 2 page(s) of rows from No. 22" in out
    bad = write_data(tmp_path, edited('"Helen Clark"', '""'))
    assert main(["check", "--data", str(bad), "--out", str(tmp_path / "never")]) == 2
    assert "signatories[2].name: must not be empty" in capsys.readouterr().err
    assert not (tmp_path / "never").exists()


def test_each_problem_is_its_own_error_line(tmp_path, earlier_build, capsys):
    # Every message starts with "error: " and names its file and line, as editors and CI logs
    # expect; all are reported at once, in the order of the file.
    data = edited("date: 2025-06-16", "date: 2025-06-31").replace("\ntitle: ", "\ntitel: ")
    err = fails(tmp_path, earlier_build, data, capsys).strip().splitlines()
    mapping = next(n for n, text in enumerate(data.splitlines(), 1) if text and not text.startswith("#"))
    assert [int(line.split(": ", 2)[1].rsplit(":", 1)[1]) for line in err] == \
        [mapping, line_of(data, "date:"), line_of(data, "titel:")]  # a missing key: where its mapping starts
    assert all(line.startswith(f"error: {tmp_path}") for line in err), err
    assert [line.split(": ", 3)[2] for line in err] == ["title", "date", "titel"]


@pytest.mark.parametrize(("files", "expected"), [
    ({"page.html": "<p>\n{% if %}\n</p>\n"},
     "templates/page.html:2: Expected an expression, got 'end of statement block'"),
    ({"base.html": "<p>\n{{ missing.title }}\n</p>\n", "page.html": '{% extends "base.html" %}\n'},
     "templates/base.html:2: 'missing' is undefined"),
    ({"page.html": '{% extends "gone.html" %}\n'}, "templates/page.html:1: no such template: gone.html"),
])
def test_a_template_mistake_names_the_template_and_line(files, expected, tmp_path, monkeypatch):
    # Someone editing a template (under build.py watch) gets its file and line, as for the data.
    from appeal.layout import render

    folder = tmp_path / "templates"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    monkeypatch.setattr(render, "TEMPLATE_DIR", folder)
    render.environment.cache_clear()
    try:
        with pytest.raises(UserError) as caught:
            render.render_html("page.html")
    finally:
        render.environment.cache_clear()
    assert str(caught.value) == expected


def test_one_run_reports_the_problems_of_every_file_at_once(tmp_path, earlier_build, capsys):
    """The loader reads every input before it stops: a problem in each of six files gives six
    messages in one run, each naming its file (and line), not one message per attempt."""
    appeal = write_data(tmp_path, edited("\ntitle:", "\ntitel:"))
    endorsements = write_data(tmp_path, "name,role\nSomeone,Someone\n", "endorsements.csv")
    sign_on = (DATA_DIR / "sign-on.yaml").read_text(encoding="utf-8")
    sign_on = write_data(tmp_path, sign_on.replace("pages:", "pages: 0\nold_pages:", 1), "sign-on.yaml")
    letter = write_data(tmp_path, (DATA_DIR / "letter.yaml").read_text(encoding="utf-8")
                        + "\nunknown_key: 1\n", "letter.yaml")
    recipients = (DATA_DIR / "recipients.yaml").read_text(encoding="utf-8")
    recipients = write_data(tmp_path, recipients + recipients[recipients.index("\n  - id:"):],
                            "recipients.yaml")  # every recipient twice: their ids repeat
    profile = write_data(tmp_path, b"not a profile", "shop.icc")
    before = snapshot(earlier_build)
    assert main(["--data", str(appeal), "--endorsements", str(endorsements), "--sign-on", str(sign_on),
                 "--letter", str(letter), "--recipients", str(recipients), "--output-profile", str(profile),
                 "--out", str(earlier_build)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for path in (appeal, endorsements, sign_on, letter, recipients, profile):
        assert f"error: {path}" in err, (path, err)
    assert "titel" in err and "unknown_key" in err and "the id" in err and "not an ICC profile" in err
    assert snapshot(earlier_build) == before
