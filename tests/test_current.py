"""A rebuild that changes nothing: said, and nothing written; anything that would change a byte builds."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from appeal.build.current import RECORD
from appeal.cli import main
from appeal.paths import DATA_DIR, ROOT
from helpers import snapshot, write_data

SMALL = ["--edition", "a4"]  # what each test builds: the record is a build's, whatever it makes


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("small")
    assert main([*SMALL, "--out", str(out)]) == 0
    return out


@pytest.fixture
def folder(small, tmp_path):
    """A copy of a build of the A4 handout, with its record."""
    out = tmp_path / "output"
    shutil.copytree(small, out)
    return out


def test_a_build_records_what_it_was_made_from(built):
    made = json.loads((built / RECORD).read_text(encoding="utf-8"))
    assert f"data: {DATA_DIR / 'appeal.yaml'}" in made["inputs"]
    assert made["inputs"][f"endorsements: {DATA_DIR / 'endorsements.csv'}"] is None  # absent, and recorded so
    assert set(made) == {"format", "request", "inputs", "tool", "stack", "environment", "checksums"}


def test_the_same_build_again_says_so_and_writes_nothing(folder, built, capsys):
    before = snapshot(folder)
    assert main([*SMALL, "--out", str(folder)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{folder}: up to date: ") and "its file is as it wrote it" in out
    assert snapshot(folder) == before
    assert main(["--out", str(built)]) == 0  # the default build: every file it lists checked
    assert "its 16 files are as it wrote them" in capsys.readouterr().out


def test_it_loads_no_layout_engine(folder):
    """In a process of its own: an unchanged folder is recognised without importing WeasyPrint,
    pikepdf or pydantic (what a fresh process would spend most of its time loading)."""
    heavy = "('weasyprint', 'pydantic', 'pikepdf')"
    code = ("import sys\nfrom appeal.cli import main\nmain(['--edition', 'a4', '--out', sys.argv[1]])\n"
            f"print(sorted(n for n in sys.modules if n.split('.')[0] in {heavy}))")
    result = subprocess.run([sys.executable, "-c", code, str(folder)], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert "up to date" in result.stdout and result.stdout.rstrip().endswith("[]"), result.stdout


@pytest.mark.parametrize("change", ["output changed", "output removed", "record edited", "force",
                                    "other editions", "epoch", "data"])
def test_anything_that_would_change_a_byte_builds(folder, tmp_path, change, capsys, monkeypatch):
    args = [*SMALL, "--out", str(folder)]
    if change == "output changed":
        with (folder / "appeal-a4.pdf").open("ab") as file:
            file.write(b"%")
    elif change == "output removed":
        (folder / "appeal-a4.pdf").unlink()
    elif change == "record edited":
        made = json.loads((folder / RECORD).read_text(encoding="utf-8"))
        made["tool"] = "0" * 64
        (folder / RECORD).write_text(json.dumps(made), encoding="utf-8")
    elif change == "force":
        args.append("--force")  # builds, and its record serves the next build without --force
    elif change == "other editions":
        args += ["--edition", "letter"]
    elif change == "epoch":
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1750032000")
    elif change == "data":
        source = (DATA_DIR / "appeal.yaml").read_text(encoding="utf-8")
        args += ["--data", str(write_data(tmp_path, source.replace("landmines", "land mines", 1)))]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "up to date" not in out and "built in " in out, out


def test_a_signed_build_is_never_taken_as_unchanged(folder, tmp_path, monkeypatch, capsys):
    from pki import PKI

    from appeal.pdf import sign as signing

    monkeypatch.setenv(signing.PASSWORD_VARIABLE, "")
    pki = PKI()
    try:
        key = pki.signer(tmp_path)
    finally:
        pki.stop()
    for _ in range(2):
        assert main(["--edition", "archive", "--sign-key", str(key), "--out", str(folder)]) == 0
        assert "built in " in capsys.readouterr().out
        assert not (folder / RECORD).exists()


def test_a_planted_checksums_file_reaches_nothing_outside_the_folder(folder, capsys):
    """SHA256SUMS naming a file outside the folder (absolute, or up through ..) is no match: the
    check reads nothing there, and builds."""
    import hashlib

    outside = hashlib.sha256((DATA_DIR / "appeal.yaml").read_bytes()).hexdigest()
    sums = folder / "SHA256SUMS"
    made = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    for name in (str(DATA_DIR / "appeal.yaml"), "../../../../../../../../" + str(DATA_DIR / "appeal.yaml")):
        sums.write_text(f"{outside}  {name}\n", encoding="utf-8")
        made["checksums"] = hashlib.sha256(sums.read_bytes()).hexdigest()
        (folder / RECORD).write_text(json.dumps(made), encoding="utf-8")
        from appeal.build.current import up_to_date
        from appeal.build.plan import settle
        from appeal.cli import request_from
        from appeal.cli.parser import _parser

        plan = settle(request_from(_parser().parse_args(["build", *SMALL, "--out", str(folder)])))
        assert up_to_date(plan) is None, name


def test_a_forced_build_leaves_a_record_the_next_build_takes(folder, capsys):
    assert main([*SMALL, "--force", "--out", str(folder)]) == 0
    assert "built in " in capsys.readouterr().out
    assert main([*SMALL, "--out", str(folder)]) == 0
    assert "up to date" in capsys.readouterr().out
