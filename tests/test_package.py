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


def test_no_module_is_over_400_lines():
    long = {str(path.relative_to(ROOT)): count for path in sorted((ROOT / "appeal").rglob("*.py"))
            if (count := len(path.read_text(encoding="utf-8").splitlines())) > 400}
    assert not long, long


def test_the_guide_shows_the_table_of_products_as_it_is():
    from appeal.products.table import NAMED, ROWS, markdown

    readme = (ROOT / "docs" / "maintainers.md").read_text(encoding="utf-8")
    assert "\n".join("  " + line for line in markdown().split("\n")) in readme
    assert len(ROWS) == len(NAMED) + 1  # every row but SHA256SUMS is a name --edition takes
    assert len({row.name for row in ROWS}) == len({row.filename for row in ROWS}) == len(ROWS)


def test_every_row_names_a_recipe_template_and_stylesheet_that_exist():
    import importlib

    from appeal.paths import STYLE_DIR, TEMPLATE_DIR
    from appeal.products.table import ROWS

    for row in ROWS:
        module, function = row.recipe.split(":")
        assert callable(getattr(importlib.import_module(module), function)), row.name
        assert row.template is None or (TEMPLATE_DIR / row.template).is_file(), row.name
        assert all((STYLE_DIR / name).is_file() for name in row.stylesheets), row.name
        assert (row.size is not None) == (row.kind in ("press", "booklet")), row.name
