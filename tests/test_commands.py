"""Every command the README and the guide show runs as shown: each `.venv/bin/python build.py …`
is parsed by the real parser (a renamed option fails here), and the harmless ones are run."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from appeal.cli import COMMANDS, _parser, main
from appeal.paths import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PREFIX = ".venv/bin/python build.py"


def shown(page: Path) -> list[str]:
    """The commands a page shows: code blocks' lines (continued with a backslash) and inline code
    that start with the prefix; a synopsis (with [optional] parts or …) is not a command."""
    text = page.read_text(encoding="utf-8")
    found, inside, block = [], False, []
    for line in text.splitlines():
        if line.strip().startswith("```"):
            if inside:
                for command in "\n".join(block).replace("\\\n", " ").splitlines():
                    found.append(re.split(r"\s+#", command)[0].strip())
            inside, block = not inside, []
        elif inside:
            block.append(line.strip())
    found += [" ".join(code.split()) for code in re.findall(r"`(\.venv/bin/python build\.py[^`]*)`", text)]
    commands = [line for line in found if line.startswith(PREFIX)]
    return [command for command in commands if not re.search(r"[\[…]|\.\.\.|<", command)]


def argv_of(command: str) -> list[str]:
    argv = shlex.split(command.removeprefix(PREFIX))
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv.insert(0, "build")
    return argv


def _parses(argv: list[str]) -> bool:
    try:
        _parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code == 0  # --help exits 0; an unknown option or choice exits 2
    return True


COMMANDS_SHOWN = sorted({command for page in PAGES for command in shown(page)})


def test_the_pages_show_commands_and_each_one_parses(capsys):
    assert len(COMMANDS_SHOWN) >= 15, COMMANDS_SHOWN
    bad = [command for command in COMMANDS_SHOWN if not _parses(argv_of(command))]
    capsys.readouterr()
    assert not bad, bad
    # The test can fail: an option renamed in a command is refused.
    assert not _parses(argv_of(f"{PREFIX} letters --signing-key key.p12"))
    capsys.readouterr()


@pytest.mark.parametrize("command", [c for c in COMMANDS_SHOWN
                                     if re.fullmatch(rf"{re.escape(PREFIX)}( \w+)? (--help|check)", c)
                                     or c in (f"{PREFIX} check", f"{PREFIX} --help")])
def test_the_harmless_ones_run(command, capsys):
    argv = argv_of(command)
    try:
        status = main(argv)
    except SystemExit as exc:  # --help
        status = exc.code
    assert status == 0, (command, capsys.readouterr().err)


def test_the_reproduction_shown_runs_as_written(built, tmp_path, capsys):
    """The guide's two commands that reproduce an archive from its own source (verify --extract,
    then a build of it into a folder of its own), run with FILE the built archive and /tmp/ a
    temporary folder: both succeed, and the rebuilt archive's pages are the archive's."""
    from appeal.pdf.text import reading_text

    extract = next(c for c in COMMANDS_SHOWN if "--extract" in c)
    rebuild = next(c for c in COMMANDS_SHOWN if "--edition archive --out" in c)
    for command in (extract, rebuild):
        argv = [part.replace("/tmp/", f"{tmp_path}/") for part in argv_of(command)]
        argv = [str(built / "appeal-archive.pdf") if part == "FILE" else part for part in argv]
        assert main(argv) == 0, (command, capsys.readouterr().err)
    rebuilt = (tmp_path / "check" / "appeal-archive.pdf").read_bytes()
    assert reading_text(rebuilt) == reading_text((built / "appeal-archive.pdf").read_bytes())


def _slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_every_link_of_the_readme_and_the_guide_leads_somewhere():
    """Each relative link names a file of the project and, with #anchor, one of its headings."""
    broken = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            name, _, anchor = target.partition("#")
            path = (page.parent / name).resolve() if name else page
            if not path.exists():
                broken.append((page.name, target))
            elif anchor and path.suffix == ".md":
                headings = re.findall(r"(?m)^#+ (.+)$", path.read_text(encoding="utf-8"))
                if anchor not in {_slug(h) for h in headings}:
                    broken.append((page.name, target))
    assert not broken, broken


def test_help_does_not_load_weasyprint():
    """`build.py --help` prints its usage without importing WeasyPrint (the import alone is most
    of a fresh process's time), checked in a process of its own."""
    import subprocess
    import sys

    code = ("import sys\nfrom appeal.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n"
            "    pass\nprint(sorted(name for name in sys.modules if name.split('.')[0] == 'weasyprint'))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            check=True)
    assert "usage:" in result.stdout and result.stdout.rstrip().endswith("[]"), result.stdout[-300:]
