"""Benchmark: what a fresh process pays, command by command, against WeasyPrint alone.

    python bench/bench_startup.py [--runs 7]

Times, in fresh processes taking turns run by run: `build.py --help`; `build.py check`;
`build.py --edition a4` into a folder that already holds it (nothing changed: it says so);
`build.py --edition a4 --force`; and the floor, WeasyPrint alone in a process of its own laying
out the project's own HTML of the A4 handout with the same stylesheets and fonts and writing a
tagged PDF (no checks, no finishing); and that floor again with WeasyPrint imported as the build
imports it (layout/libraries.py: its libraries loaded by soname, without ctypes' search).
Prints medians, spreads and the ratio of the A4 build to each floor. The machine may be shared:
compare within a run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_build import machine, summary  # noqa: E402

# The floor: the handout's HTML, laid out and written by WeasyPrint with the same stylesheets and
# fonts (the Fontconfig file the project makes, which knows only styles/fonts/).
RAW = """
import sys
{load}
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
html, styles, base, out = sys.argv[1], sys.argv[2].split(","), sys.argv[3], sys.argv[4]
fonts = FontConfiguration()
sheets = [CSS(filename=path, font_config=fonts) for path in styles]
document = HTML(filename=html, base_url=base).render(font_config=fonts, stylesheets=sheets, pdf_tags=True)
document.write_pdf(out, pdf_tags=True)
"""


ALONE = "WeasyPrint alone, the A4 handout's HTML"
FAST = "the same, its libraries found fast"


def timed(command: list[str], env: dict | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True, env=env)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="runs of each (default 7)")
    args = parser.parse_args()

    import os

    from appeal.inputs.load import load_data
    from appeal.layout.render import render_html
    from appeal.paths import DATA_DIR, STYLE_DIR, TEMPLATE_DIR
    from appeal.products import editions
    from appeal.versions import stack

    print(f"machine: {machine()}")
    print(f"stack:   {stack()}")
    python = sys.executable
    environment = dict(os.environ)  # the Fontconfig file this process made (appeal/__init__.py)
    with tempfile.TemporaryDirectory() as folder:
        html = Path(folder) / "handout.html"
        data = load_data(DATA_DIR / "appeal.yaml", DATA_DIR / "words.yaml")
        html.write_text(render_html("handout.html", **editions.context(data)), encoding="utf-8")
        styles = ",".join(str(STYLE_DIR / f"{name}.css") for name in ("base", "appeal", "a4"))
        out = Path(folder) / "out"
        subprocess.run([python, "build.py", "--edition", "a4", "--out", str(out)], cwd=ROOT, check=True,
                       capture_output=True)
        a4 = [python, "build.py", "--edition", "a4", "--out", str(out)]
        commands = {
            ALONE: [python, "-c", RAW.format(load=""), str(html), styles, TEMPLATE_DIR.as_uri() + "/",
                    f"{folder}/raw.pdf"],
            FAST: [python, "-c", RAW.format(load="import appeal.layout.libraries"), str(html), styles,
                   TEMPLATE_DIR.as_uri() + "/", f"{folder}/fast.pdf"],
            "build.py --edition a4 --force": [*a4, "--force"],
            "build.py --edition a4 (up to date)": a4,
            "build.py check": [python, "build.py", "check"],
            "build.py --help": [python, "build.py", "--help"],
        }
        times: dict[str, list[float]] = {label: [] for label in commands}
        for _ in range(args.runs):
            for label, command in commands.items():
                times[label].append(timed(command, environment))
    for label, seconds in times.items():
        print(summary(label, seconds))
    built = statistics.median(times["build.py --edition a4 --force"])
    print(f"--edition a4 / WeasyPrint alone = {built / statistics.median(times[ALONE]):.2f}")
    print(f"--edition a4 / WeasyPrint alone, imported as the build does = "
          f"{built / statistics.median(times[FAST]):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
