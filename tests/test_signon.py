"""The sign-on sheet: the appeal's call to action, rows to sign in by hand, the privacy notice on
every page, numbered on from the endorsements."""

from __future__ import annotations

import itertools
import re

import pytest
import yaml
from pypdf import PdfReader

from appeal.cli import main
from appeal.inputs.endorsements import COLUMNS
from appeal.inputs.signon import Columns
from appeal.paths import DATA_DIR, ROOT
from helpers import assert_in_order, page_texts, squash, text_lines, write_data

SETTINGS = yaml.safe_load((DATA_DIR / "sign-on.yaml").read_text(encoding="utf-8"))
APPEAL = yaml.safe_load((DATA_DIR / "appeal.yaml").read_text(encoding="utf-8"))
MM = 72 / 25.4
SIZES = {"sign-on-a4.pdf": (841.89, 595.28), "sign-on-letter.pdf": (792.0, 612.0)}  # landscape


@pytest.mark.parametrize("name", sorted(SIZES))
def test_every_page_has_the_call_to_action_rows_and_privacy_notice(built, name):
    reader = PdfReader(built / name)
    assert len(reader.pages) == SETTINGS["pages"]
    for page in reader.pages:
        size = (float(page.mediabox.width), float(page.mediabox.height))
        assert size == pytest.approx(SIZES[name], abs=0.01)
    texts = page_texts(reader)
    assert_in_order(texts[0], [SETTINGS["heading"].upper(), APPEAL["title"],
                               APPEAL["body"][SETTINGS["call_paragraph"]], SETTINGS["full_text"]])
    headings = [SETTINGS["columns"][key] for key in ("number", "name", "role", "country", "email",
                                                     "signature", "publish")]
    numbers = []
    for text in texts:
        assert_in_order(text, [*headings, SETTINGS["privacy"]])  # header and notice on every page
        numbers += [int(n) for n in re.findall(r"^(\d+)\.$", text, re.M)]
    assert numbers == list(range(22, 22 + len(numbers)))  # on from the 21 signatories, across pages
    assert len(numbers) >= 20


def test_rows_are_tall_enough_to_write_in(built):
    rows = [line for line in text_lines(built / "sign-on-a4.pdf", 1) if re.fullmatch(r"\d+\.", line.text)]
    steps = [b.top - a.top for a, b in itertools.pairwise(rows)]
    assert steps and min(steps) >= 9 * MM


def test_rows_are_numbered_on_from_the_published_endorsements(tmp_path):
    out = tmp_path / "out"
    assert main(["--edition", "sign-on-a4", "--endorsements", str(ROOT / "examples" / "endorsements.csv"),
                 "--out", str(out)]) == 0
    first = page_texts(out / "sign-on-a4.pdf")[0]
    assert re.findall(r"^(\d+)\.$", first, re.M)[0] == "26"  # 21 signatories and 4 published endorsements


def test_the_columns_are_those_of_the_endorsements_file():
    # What is written on paper is typed into data/endorsements.csv: the same columns, and two for paper.
    assert set(Columns.model_fields) == {*COLUMNS, "number", "email", "signature"} - {"group"}


@pytest.mark.parametrize(("change", "expected"), [
    ({"call_paragraph": 99}, "call_paragraph: is 99, but the appeal has 12 paragraphs"),
    ({"pages": 0}, "pages: Input should be greater than or equal to 1"),
    ({"privacy": ""}, "privacy: must not be empty"),
    ({"columns": {**SETTINGS["columns"], "signature": None}}, "columns.signature: must be text"),
])
def test_bad_settings_are_refused(change, expected, tmp_path, earlier_build, capsys):
    settings = write_data(tmp_path, {**SETTINGS, **change}, "sign-on.yaml")
    assert main(["--sign-on", str(settings), "--out", str(earlier_build)]) == 2
    err = capsys.readouterr().err
    assert "sign-on.yaml" in err and expected in err and "Traceback" not in err


def test_sign_on_editions_need_their_settings(tmp_path, capsys):
    assert main(["--edition", "sign-on-a4", "--sign-on", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml: no such file (--sign-on)" in capsys.readouterr().err


def test_the_sheet_prints_the_call_to_action_verbatim(built):
    text = page_texts(built / "sign-on-letter.pdf")[0]
    assert squash(APPEAL["body"][2]) in squash(text)
