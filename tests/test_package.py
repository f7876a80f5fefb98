"""The package's shape: stage folders, no import cycle, every module saying what it is."""

from __future__ import annotations

import ast
import subprocess
import sys

from appeal.paths import ROOT


def test_no_import_cycle():
    result = subprocess.run([sys.executable, "scripts/import_cycles.py"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip() == "no import cycle"


def test_the_top_of_the_package_keeps_few_modules():
    top = sorted(path.name for path in (ROOT / "appeal").glob("*.py"))
    assert len(top) <= 8, top


def test_every_folder_and_module_opens_with_one_line_saying_what_it_is():
    for path in sorted((ROOT / "appeal").rglob("*.py")):
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert docstring, f"{path.relative_to(ROOT)} has no docstring"
        first = docstring.split("\n")[0]
        assert first.endswith((".", ":")) and len(first) <= 110, f"{path.relative_to(ROOT)}: {first!r}"
