"""Properties of the pieces that stand between hostile text and the pages or the terminal."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appeal.errors import UserError, printable
from appeal.inputs.models import fill, lookup
from appeal.inputs.source import key_path, parse_key_path, parse_yaml
from appeal.inputs.text import normalise, refusal

names = st.from_regex(r"[a-z_][a-z_0-9]{0,11}", fullmatch=True)
locations = st.lists(st.one_of(st.integers(min_value=0, max_value=10**6), names), min_size=1, max_size=6)


@given(locations.filter(lambda loc: isinstance(loc[0], str)))
def test_a_key_path_reads_back_as_its_location(loc):
    assert parse_key_path(key_path(loc)) == tuple(loc)


@given(st.text())
def test_printable_text_holds_no_character_that_controls_or_hides(text):
    shown = printable(text)
    assert all(char == "\n" or unicodedata.category(char) not in {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}
               for char in shown)


@given(st.text())
def test_accepted_text_is_nfc_and_shows_what_it_holds(text):
    text = normalise(text)
    if refusal(text) is None:
        assert unicodedata.is_normalized("NFC", text)
        assert printable(text.replace("\t", " ")) == text.replace("\t", " ")


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",))))
def test_yaml_text_comes_back_normalised_or_refused_never_raw(text):
    raw = f"title: {json.dumps(text, ensure_ascii=False)}\n".encode()
    try:
        source = parse_yaml(raw, Path("x.yaml"), "test data")
    except UserError as exc:
        assert "x.yaml" in str(exc)
        return
    value = source.data["title"]
    assert value == normalise(value) and refusal(value) is None


# Text with the fields' own names in braces mixed in: random text alone never hits "{year}".
_FIELD_NAMES = st.sampled_from(["{day}", "{month}", "{year}", "{", "}"])
_FIELD_TEXT = st.lists(st.one_of(st.text(max_size=5), _FIELD_NAMES), max_size=6).map("".join)


@given(_FIELD_TEXT, _FIELD_TEXT, _FIELD_TEXT)
def test_fill_never_evaluates_what_it_inserts(day, month, year):
    assert fill("{day} {month} {year}", day=day, month=month, year=year) == f"{day} {month} {year}"


def test_a_month_named_like_a_field_prints_as_it_is():
    assert fill("{day} {month} {year}", day=16, month="{year}", year=2025) == "16 {year} 2025"
    assert fill("{month} {day}, {year}", day="{month}", month="June", year=2025) == "June {month}, 2025"


@pytest.mark.parametrize(("tag", "available", "expected"), [
    ("en-GB", ["en", "fr"], "en"),
    ("EN-gb", ["en-GB", "en"], "en-GB"),
    ("zh-Hant-TW", ["zh", "zh-Hant"], "zh-Hant"),
    ("de-CH-x-phonebk", ["de-CH"], "de-CH"),
    ("fr", ["en"], None),
    ("en", ["en-GB"], None),  # lookup never goes from a wider tag to a narrower one
])
def test_bcp47_lookup(tag, available, expected):
    assert lookup(tag, available) == expected
