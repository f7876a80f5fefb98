"""JSON Schemas (draft 2020-12) of the data files, from the models the build validates with.

For editors: the YAML language server completes keys, shows each key's description and
underlines mistakes as the data is typed. `build.py schema` writes them into schemas/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from appeal.inputs.letter_models import Letter, Recipients
from appeal.inputs.models import LANGUAGE_PATTERN, Appeal, Words
from appeal.inputs.signon import SignOn
from appeal.inputs.translation import Translation
from appeal.paths import ROOT

SCHEMA_DIR = ROOT / "schemas"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

# The data file each schema is for, by the schema's name: NAME.schema.json serves data/NAME.yaml
# (translation.schema.json every data/translations/<tag>.yaml).
MODELS: dict[str, type[BaseModel]] = {
    "appeal": Appeal, "words": Words, "letter": Letter, "recipients": Recipients, "sign-on": SignOn,
    "translation": Translation}


def schema(name: str) -> dict[str, Any]:
    """The JSON Schema of data/NAME.yaml."""
    model = MODELS[name]
    body = _unwrapped(model.model_json_schema(mode="validation"))
    if name == "words":
        # The words file holds one section of Words per language: en:, fr:, ...
        words = {key: value for key, value in body.items() if key != "$defs"}
        body = {
            "title": "Words", "type": "object", "minProperties": 1,
            "description": "The words every edition prints around the appeal's data, one section per "
                           "language by its BCP 47 tag (en:, fr:, ...): a translated edition adds a "
                           "section with the same keys, and needs no template change; a region's "
                           "section (en-US:) only the keys it changes.",
            "propertyNames": LANGUAGE_PATTERN,
            # A regional section (en-US:) holds only what differs from its language's (en:).
            "patternProperties": {"^[A-Za-z]{2,3}-": {"$ref": "#/$defs/RegionalWords"}},
            "additionalProperties": {"$ref": "#/$defs/Words"},
            "$defs": {**body.get("$defs", {}), "Words": words, "RegionalWords": {
                **{key: value for key, value in words.items() if key != "required"},
                "title": "RegionalWords",
                "description": "The words of a region's usage (en-US), where they differ from its "
                               "language's section (en), which gives the rest."}}}
    return {"$schema": DRAFT, "$id": f"{name}.schema.json", **body}


def text(name: str) -> str:
    """The schema as the file in schemas/ holds it: sorted keys, two spaces, a final newline."""
    return json.dumps(schema(name), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write(folder: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema into `folder`; the paths written."""
    from appeal.build.commit import write_atomically

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in MODELS:
        path = folder / f"{name}.schema.json"
        write_atomically(path, text(name).encode())
        paths.append(path)
    return paths


def _unwrapped(value: Any) -> Any:
    """Descriptions on one line: the models' docstrings are wrapped for the source, and an editor
    wraps a description to its own window."""
    if isinstance(value, dict):
        return {key: (" ".join(item.split()) if key == "description" and isinstance(item, str)
                      else _unwrapped(item)) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrapped(item) for item in value]
    return value
