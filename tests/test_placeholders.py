"""The shipped examples' placeholders: named on every check and build, refused by --final."""

from __future__ import annotations

import re

from appeal.cli import main
from appeal.inputs.placeholders import PLACEHOLDER
from appeal.paths import DATA_DIR
from helpers import snapshot

LETTER = (DATA_DIR / "letter.yaml").read_text(encoding="utf-8")
SIGN_ON = (DATA_DIR / "sign-on.yaml").read_text(encoding="utf-8")


def _line(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def filled(text: str) -> str:
    """The shipped file with every placeholder filled in as a campaign would."""
    return PLACEHOLDER.sub(lambda match: match[0][1:-1].split(",")[0].title(), text)


def test_check_names_every_value_still_holding_a_placeholder(capsys):
    assert main(["check"]) == 0
    notes = [line for line in capsys.readouterr().out.splitlines() if line.startswith("note:")]
    letter, sign_on = DATA_DIR / "letter.yaml", DATA_DIR / "sign-on.yaml"
    assert (f'note: {letter}:{_line(LETTER, "[Name of the signer]")}: signer.name: still the placeholder '
            '"[Name of the signer]"') in notes
    assert (f'note: {letter}:{_line(LETTER, "return_address")}: sender.return_address: still the '
            'placeholders "[Street and number]", "[Postcode and city]"') in notes
    assert any(line.startswith(f"note: {sign_on}:") and "privacy: still the placeholders" in line
               and '"[contact address]"' in line for line in notes)
    # One line per value, and every value of the shipped files that holds one.
    held = sum(1 for text in (LETTER, SIGN_ON) for line in text.splitlines()
               if PLACEHOLDER.search(line) and not line.lstrip().startswith("#"))
    assert len(notes) == held - 2, notes  # the privacy notice's three lines are one value


def test_a_build_names_them_on_stderr_and_final_refuses_them_writing_nothing(earlier_build, capsys):
    before = snapshot(earlier_build)
    assert main(["--final", "--out", str(earlier_build)]) == 2
    err = capsys.readouterr().err
    assert "--final: the data still holds the examples' placeholders" in err
    assert 'signer.name: still the placeholder "[Name of the signer]"' in err and "Traceback" not in err
    assert snapshot(earlier_build) == before
    assert main(["letters", "--final", "--out", str(earlier_build)]) == 2
    assert snapshot(earlier_build) == before
    capsys.readouterr()
    # Without --final the same build goes ahead and says what it printed.
    assert main(["--edition", "sign-on-a4", "--out", str(earlier_build)]) == 0
    assert '"[web address of the appeal]"' in capsys.readouterr().err


def test_final_builds_data_whose_placeholders_are_filled_in(tmp_path, capsys):
    letter, sign_on = tmp_path / "letter.yaml", tmp_path / "sign-on.yaml"
    letter.write_text(filled(LETTER), encoding="utf-8")
    sign_on.write_text(filled(SIGN_ON), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["--final", "--edition", "sign-on-a4", "--edition", "letters", "--letter", str(letter),
                 "--sign-on", str(sign_on), "--out", str(out)]) == 0
    assert "placeholder" not in capsys.readouterr().err
    assert (out / "sign-on-a4.pdf").is_file() and len(list((out / "letters").glob("*.pdf"))) == 5


def test_what_is_a_placeholder():
    assert PLACEHOLDER.findall("at [web address of the appeal].") == ["[web address of the appeal]"]
    assert PLACEHOLDER.findall("as he said [sic], in [...] and [3]") == []
    assert not re.search(PLACEHOLDER, "Convention on Cluster Munitions (2008)")



def test_a_placeholder_among_the_recipients_is_named_with_its_line(tmp_path, capsys):
    # The recipients' lines are let go once every record is checked (Source.compact): the note
    # still names the line, found again in the file.
    recipients = (DATA_DIR / "recipients.yaml").read_text(encoding="utf-8")
    held = recipients.replace('      - "Tallinn"', '      - "[Postcode] Tallinn"', 1)
    path = tmp_path / "recipients.yaml"
    path.write_text(held, encoding="utf-8")
    assert main(["letters", "--recipients", str(path), "--out", str(tmp_path / "out")]) == 0
    assert (f'note: {path}:{_line(held, "[Postcode]")}: recipients[0].address[2]: still the placeholder '
            '"[Postcode]"') in capsys.readouterr().err
