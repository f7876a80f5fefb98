"""The JSON Schemas for editors: generated from the models, committed, naming every data file, and
saying what the build says about the data's shape (check-jsonschema is the editor's stand-in)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from check_jsonschema import main as check_jsonschema
from click.testing import CliRunner

from appeal.cli import main
from appeal.inputs import schema
from appeal.paths import DATA_DIR, ROOT

# The shipped data files; a translation is one the campaign adds (the tests' are fixtures).
FILES = {name: DATA_DIR / f"{name}.yaml" for name in schema.MODELS if name != "translation"}
FIXTURES = Path(__file__).parent / "fixtures" / "translations"


def validate(name: str, path: Path) -> tuple[int, str]:
    """check-jsonschema's verdict on `path` against the committed schema for data/NAME.yaml."""
    result = CliRunner().invoke(check_jsonschema, [
        "--schemafile", str(schema.SCHEMA_DIR / f"{name}.schema.json"), str(path)])
    return result.exit_code, result.output


def build_check(name: str, path: Path, capsys) -> tuple[int, str]:
    """`build.py check` with data/NAME.yaml replaced by `path`: the build's verdict."""
    option = {"appeal": "--data", "words": "--words", "letter": "--letter", "recipients": "--recipients",
              "sign-on": "--sign-on"}[name]
    status = main(["check", option, str(path)])
    return status, capsys.readouterr().err


def test_committed_schemas_are_those_the_models_give():
    for name in schema.MODELS:
        committed = (schema.SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8")
        assert committed == schema.text(name), (
            f"schemas/{name}.schema.json is out of date: run python build.py schema and commit it")


def test_schema_command_writes_every_schema(tmp_path, capsys):
    assert main(["schema", "--out", str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(f"{name}.schema.json" for name in schema.MODELS)
    for name in schema.MODELS:
        loaded = json.loads((tmp_path / f"{name}.schema.json").read_text(encoding="utf-8"))
        assert loaded["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert loaded == json.loads(schema.text(name))


def _descriptions(node, where="") -> list[tuple[str, str | None]]:
    """Every property of a schema with its description (None when it has none)."""
    found = []
    if isinstance(node, dict):
        for key, value in node.get("properties", {}).items():
            found.append((f"{where}.{key}", value.get("description")))
        for key, value in node.items():
            found += _descriptions(value, f"{where}/{key}")
    elif isinstance(node, list):
        for item in node:
            found += _descriptions(item, where)
    return found


def test_every_key_has_a_description_for_the_people_who_edit_the_data():
    for name in schema.MODELS:
        for where, description in _descriptions(schema.schema(name)):
            assert description and len(description) > 20, f"{name}: {where} has no description"
            assert "\n" not in description


def test_each_data_file_names_its_schema_on_its_first_line():
    for name, path in FILES.items():
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == f"# yaml-language-server: $schema=../schemas/{name}.schema.json", path
        named = (path.parent / first.split("=", 1)[1]).resolve()
        assert named == (schema.SCHEMA_DIR / f"{name}.schema.json").resolve() and named.is_file()


def test_check_jsonschema_accepts_every_shipped_data_file():
    for name, path in FILES.items():
        status, output = validate(name, path)
        assert status == 0, output


def test_check_jsonschema_accepts_the_test_translations_and_refuses_a_misspelt_key(tmp_path):
    for path in sorted(FIXTURES.glob("*.yaml")):
        status, output = validate("translation", path)
        assert status == 0, output
    broken = tmp_path / "fr.yaml"
    broken.write_text((FIXTURES / "fr.yaml").read_text(encoding="utf-8").replace("\nroles:", "\nrole:"),
                      encoding="utf-8")
    status, output = validate("translation", broken)
    assert status == 1 and "'roles' is a required property" in output, output


def test_the_check_jsonschema_command_itself(tmp_path):
    """The command the README gives, in a fresh process, on a shipped file and on a broken one."""
    command = [sys.executable, "-m", "check_jsonschema",
               "--schemafile", str(ROOT / "schemas/appeal.schema.json")]
    good = subprocess.run([*command, str(FILES["appeal"])], capture_output=True, text=True, timeout=60)
    assert good.returncode == 0, good.stdout + good.stderr
    broken = tmp_path / "appeal.yaml"
    broken.write_text(FILES["appeal"].read_text(encoding="utf-8").replace("\ntitle:", "\ntitel:"),
                      encoding="utf-8")
    bad = subprocess.run([*command, str(broken)], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "'titel' was unexpected" in bad.stdout and "'title' is a required property" in bad.stdout


def _set(data, path: tuple, value) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


def _drop(data, path: tuple) -> None:
    for key in path[:-1]:
        data = data[key]
    del data[path[-1]]


# (file, what a careless edit does, the key path the build names): shape mistakes, which the
# schema and the build must both reject.
MISTAKES = [
    ("appeal", ("set", ("titel",), "A title"), "titel: is not a known key"),
    ("appeal", ("set", ("body",), "One paragraph"), "body: must be a list"),
    ("appeal", ("drop", ("signatories",)), "signatories: is required"),
    ("appeal", ("set", ("signatories", 0, "name"), 42), "signatories[0].name: must be text"),
    ("appeal", ("set", ("signatories", 1, "country"), "Norway"),
     "signatories[1].country: is not a known key"),
    ("appeal", ("set", ("language",), "English"), "language: must be a BCP 47 language tag"),
    ("appeal", ("set", ("date",), "16 June 2025"), "date: must be an ISO 8601 date"),
    ("appeal", ("set", ("date",), "2025-02-30"), "date: 2025-02-30 is not a day of the calendar"),
    ("appeal", ("set", ("body",), []), "body: must not be empty"),
    ("appeal", ("set", ("title",), "   "), "title: must not be empty"),
    ("appeal", ("set", ("short_title",), "x" * 161), "short_title: is too long"),
    ("words", ("set", ("en", "signatorys"), "Signatories"), "en.signatorys: is not a known key"),
    ("words", ("drop", ("en", "months")), "en.months: is required"),
    ("words", ("set", ("en", "months"), "January"), "en.months: must be a list"),
    ("words", ("set", ("en", "months"), ["January"]), "en.months: must name the 12 months"),
    ("letter", ("set", ("sender", "adress"), ["Street 1"]), "sender.adress: is not a known key"),
    ("letter", ("set", ("paper",), "A3"), "paper: must be 'a4' or 'letter', not 'A3'"),
    ("letter", ("drop", ("signer",)), "signer: is required"),
    ("letter", ("set", ("translations",), {"fr_FR": {"subject": "s", "body": "b", "closing": "c",
                                                      "enclosure": "e"}}),
     "translations.fr_FR: must be a BCP 47"),
    ("recipients", ("drop", ("recipients", 0, "id")), "recipients[0].id: is required"),
    ("recipients", ("set", ("recipients", 1, "address"), "Riga"), "recipients[1].address: must be a list"),
    ("recipients", ("set", ("recipients", 2, "id"), "../latvia"),
     "recipients[2].id: must be usable as a file name"),
    ("recipients", ("set", ("recipients", 0, "paper"), "legal"), "recipients[0].paper: must be 'a4' or"),
    ("sign-on", ("set", ("pages",), "two"), "pages: must be a whole number, not text"),
    ("sign-on", ("set", ("pages",), 0), "pages: Input should be greater than or equal to 1"),
    ("sign-on", ("drop", ("privacy",)), "privacy: is required"),
    ("sign-on", ("set", ("columns", "telephone"), "Telephone"), "columns.telephone: is not a known key"),
]


@pytest.mark.parametrize(("name", "edit", "message"), MISTAKES,
                         ids=[f"{name}-{message.split(':')[0]}" for name, _, message in MISTAKES])
def test_the_schema_and_the_build_reject_the_same_mistakes(name, edit, message, tmp_path, capsys):
    data = yaml.safe_load(FILES[name].read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    if edit[0] == "set":
        _set(data, edit[1], edit[2])
    else:
        _drop(data, edit[1])
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    status, output = validate(name, path)
    assert status == 1, f"the schema accepts what the build rejects:\n{output}"
    status, err = build_check(name, path, capsys)
    assert status == 2 and message in err, err


def test_a_translated_letter_passes_both(tmp_path, capsys):
    data = yaml.safe_load(FILES["letter"].read_text(encoding="utf-8"))
    data["translations"] = {"fr": {"subject": "Appel conjoint", "closing": "Veuillez agréer…",
                                   "body": "{{ recipient.salutation }},\n\nTexte.",
                                   "enclosure": "Pièce jointe : l’appel"}}
    path = tmp_path / "letter.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert validate("letter", path)[0] == 0
    assert build_check("letter", path, capsys)[0] == 0
