"""The output folder, all or nothing: a failure at any step, a kill, a signal, a full disk, two
builds at once; and what a build removes (packs of recipients no longer in the file)."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from appeal.build import commit as output
from appeal.build.current import RECORD
from appeal.cli import main
from appeal.inputs.mailing import in_shard
from appeal.paths import DATA_DIR, ROOT
from helpers import snapshot, write_data

APPEAL = yaml.safe_load((DATA_DIR / "appeal.yaml").read_text(encoding="utf-8"))
RECIPIENTS = yaml.safe_load((DATA_DIR / "recipients.yaml").read_text(encoding="utf-8"))["recipients"]


def files(folder: Path) -> dict[str, bytes]:
    """What a reader of the folder sees: every file and its bytes (the lock and staging aside)."""
    return {name: data for name, (data, _) in snapshot(folder).items()
            if name != output.FOLDER_LOCK and not name.startswith(output.STAGING_PREFIX)}


def products(folder: Path) -> dict[str, bytes]:
    """The files but the record of what the last build was made from (build/current.py), which
    names that build: two folders that hold the same products after different last builds."""
    return {name: data for name, data in files(folder).items() if name != RECORD}


@pytest.fixture(scope="module")
def changed_data(tmp_path_factory) -> Path:
    """Appeal data that gives other bytes in every file than the default build."""
    folder = tmp_path_factory.mktemp("changed")
    return write_data(folder, dict(APPEAL, title=APPEAL["title"] + " (reprinted)"))


@pytest.fixture(scope="module")
def new_build(changed_data, tmp_path_factory) -> dict[str, bytes]:
    """The files a successful build of `changed_data` writes, for comparison."""
    out = tmp_path_factory.mktemp("new")
    assert main(["--data", str(changed_data), "--out", str(out)]) == 0
    return files(out)


def test_a_successful_build_replaces_every_file(earlier_build, changed_data, new_build):
    old = files(earlier_build)
    assert main(["--data", str(changed_data), "--out", str(earlier_build)]) == 0
    assert files(earlier_build) == new_build
    assert all(new_build[name] != old[name] for name in old)
    assert not list(earlier_build.glob(output.STAGING_PREFIX + "*"))


def test_a_failure_at_any_step_of_the_commit_leaves_the_earlier_build(earlier_build, small_build, tmp_path,
                                                                     monkeypatch, capsys):
    build = [*small_build, "--out", str(earlier_build)]
    calls: list[str] = []
    real = output._put_in_place
    monkeypatch.setattr(output, "_put_in_place", lambda *a: (calls.append(a[2]), real(*a)))
    shutil.copytree(earlier_build, tmp_path / "count")
    assert main([*build[:-1], str(tmp_path / "count")]) == 0
    packs = [f"letters/{recipient['id']}.pdf" for recipient in RECIPIENTS[:2]]
    assert calls == ["appeal-a4.pdf", *packs, "letters.pdf", RECORD, "SHA256SUMS"]
    before = files(earlier_build)
    for failing in range(len(calls)):
        done = []

        def put(folder, out_dir, relative, mode, failing=failing, done=done):
            if len(done) == failing:
                raise PermissionError(errno.EACCES, "Permission denied", str(out_dir / relative))
            done.append(relative)
            real(folder, out_dir, relative, mode)

        monkeypatch.setattr(output, "_put_in_place", put)
        assert main(build) == 2
        err = capsys.readouterr().err
        assert "cannot be put in place: Permission denied; nothing in" in err and "Traceback" not in err
        assert files(earlier_build) == before, f"failing at step {failing}"
        assert not list(earlier_build.glob(output.STAGING_PREFIX + "*"))


def test_a_target_that_cannot_be_written_is_found_before_anything_moves(earlier_build, changed_data, capsys):
    before = files(earlier_build)
    (earlier_build / "letters" / f"{RECIPIENTS[2]['id']}.pdf").unlink()
    (earlier_build / "letters" / f"{RECIPIENTS[2]['id']}.pdf").mkdir()  # a folder where a pack goes
    assert main(["--data", str(changed_data), "--out", str(earlier_build)]) == 2
    assert "is a folder; the build would put a file there" in capsys.readouterr().err
    after = files(earlier_build)
    assert after == {k: v for k, v in before.items() if k != f"letters/{RECIPIENTS[2]['id']}.pdf"}


# A build killed while putting its files in place (SIGKILL: no handler runs) is completed by the next.

KILL_AT = """
import os, signal, sys
from appeal.build import commit as output
real, calls = output._put_in_place, []
def put(*args):
    if len(calls) == {step}:
        os.kill(os.getpid(), signal.SIGKILL)
    calls.append(1)
    real(*args)
output._put_in_place = put
from appeal.cli import main
main(sys.argv[1:])
"""


def run_killed(step: int, args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", KILL_AT.format(step=step), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def small_build(changed_data, tmp_path_factory) -> list[str]:
    """A build that moves every kind of file but few of them: a handout, two packs in letters/, the
    print file and SHA256SUMS (its arguments, without --out)."""
    recipients = write_data(tmp_path_factory.mktemp("two"), {"recipients": RECIPIENTS[:2]}, "recipients.yaml")
    return ["--data", str(changed_data), "--edition", "a4", "--edition", "letters", "--recipients",
            str(recipients)]


@pytest.fixture(scope="module")
def after_small_build(built, small_build, tmp_path_factory) -> dict[str, bytes]:
    """What the output folder holds once the small build has run over the default build."""
    out = tmp_path_factory.mktemp("after") / "output"
    shutil.copytree(built, out)
    assert main([*small_build, "--out", str(out)]) == 0
    return files(out)


@pytest.mark.parametrize("step", [0, 2, 4])
def test_a_build_killed_mid_commit_is_completed_by_the_next(step, earlier_build, small_build,
                                                          after_small_build, capsys):
    result = run_killed(step, [*small_build, "--out", str(earlier_build)])
    assert result.returncode == -signal.SIGKILL
    staging = list(earlier_build.glob(output.STAGING_PREFIX + "*"))
    assert len(staging) == 1 and (staging[0] / output.JOURNAL).is_file()
    # Halfway, SHA256SUMS is still the earlier one (it is put in place last), so `sha256sum -c`
    # fails on a half-new folder; before the first file moved, the folder is the earlier build.
    check = subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=earlier_build,
                           capture_output=True)
    assert (check.returncode != 0) == (step > 0)
    # The next command that writes to the folder completes the killed build first.
    assert main([*small_build[:4], "--out", str(earlier_build)]) == 0  # the same handout again
    err = capsys.readouterr().err
    assert "completed a build that was interrupted while putting its files in place" in err
    assert products(earlier_build) == {name: data for name, data in after_small_build.items()
                                       if name != RECORD}
    assert not list(earlier_build.glob(output.STAGING_PREFIX + "*"))


def test_a_build_killed_before_its_commit_leaves_the_earlier_build(earlier_build, small_build):
    before = files(earlier_build)
    script = KILL_AT.replace("if len(calls) == {step}:", "if True:").replace(
        "output._put_in_place = put", "output._write_journal = put")
    result = subprocess.run([sys.executable, "-c", script, *small_build, "--out", str(earlier_build)],
                            cwd=ROOT, capture_output=True, timeout=120)
    assert result.returncode == -signal.SIGKILL
    assert len(list(earlier_build.glob(output.STAGING_PREFIX + "*"))) == 1  # left behind, no journal
    assert files(earlier_build) == before
    assert main(["--edition", "a4", "--out", str(earlier_build)]) == 0  # removes the dead build's folder
    assert not list(earlier_build.glob(output.STAGING_PREFIX + "*"))
    assert products(earlier_build) == {name: data for name, data in before.items() if name != RECORD}


def test_a_live_builds_staging_folder_is_never_removed(earlier_build):
    with output.Staging(earlier_build) as other:
        other.add("appeal-a4.pdf", b"half-way")
        assert main(["--edition", "a4", "--out", str(earlier_build)]) == 0
        assert other.folder.is_dir() and (other.new("appeal-a4.pdf")).read_bytes() == b"half-way"
    assert not list(earlier_build.glob(output.STAGING_PREFIX + "*"))


# Signals: what a batch scheduler (SIGTERM) and Ctrl-C (SIGINT) send, mid-build.

@pytest.fixture(scope="module")
def many_recipients(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("many")
    everyone = [dict(RECIPIENTS[n % 5], id=f"member-{n:04d}") for n in range(600)]
    return write_data(folder, {"recipients": everyone}, "recipients.yaml")


@pytest.mark.parametrize(("sent", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_mid_build_cleans_up_and_leaves_the_earlier_build(sent, status, earlier_build,
                                                                   many_recipients):
    before = files(earlier_build)
    process = subprocess.Popen([sys.executable, "build.py", "--recipients", str(many_recipients), "--out",
                                str(earlier_build)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while not list(earlier_build.glob(output.STAGING_PREFIX + "*/new/letters/*.pdf")):
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.05)
    os.killpg(process.pid, sent)  # the whole group, as a terminal or a scheduler does
    _, err = process.communicate(timeout=60)
    assert process.returncode == status, err
    assert "Traceback" not in err and "interrupted: nothing in" in err
    assert files(earlier_build) == before
    assert not list(earlier_build.glob(output.STAGING_PREFIX + "*"))
    time.sleep(0.2)
    alive = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True, text=True).stdout
    assert alive == "", "a worker outlived the build"


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the swallowed exception
@pytest.mark.parametrize(("sent", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_whose_exception_a_finalizer_swallows_still_stops_the_build(sent, status, earlier_build,
                                                                            small_build, monkeypatch, capsys):
    # A signal's exception is raised wherever Python is; inside a finalizer, Python drops it.
    class Finalized:
        def __del__(self):
            os.kill(os.getpid(), sent)
            time.sleep(0.05)  # the handler runs here, in the finalizer

    from appeal.build import pipeline

    real = pipeline.load
    monkeypatch.setattr(pipeline, "load", lambda *a, **k: (Finalized(), real(*a, **k))[1])
    before = files(earlier_build)
    assert main([*small_build, "--out", str(earlier_build)]) == status
    assert f"interrupted: nothing in {earlier_build} changed" in capsys.readouterr().err
    assert files(earlier_build) == before
    assert not list(earlier_build.glob(output.STAGING_PREFIX + "*"))


def test_a_signal_during_the_commit_is_acted_on_after_it_and_says_so(earlier_build, small_build,
                                                                     after_small_build, monkeypatch, capsys):
    real = output._put_in_place
    sent = []

    def put(*arguments):
        if not sent:  # held while the files go in: delivered once they are all in place
            sent.append(os.kill(os.getpid(), signal.SIGTERM))
        real(*arguments)

    monkeypatch.setattr(output, "_put_in_place", put)
    assert main([*small_build, "--out", str(earlier_build)]) == 143
    err = capsys.readouterr().err
    assert f"interrupted after the build was put in place: {earlier_build} holds it, whole" in err
    assert "nothing in" not in err
    assert files(earlier_build) == after_small_build
    assert not list(earlier_build.glob(output.STAGING_PREFIX + "*"))
    sums = subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=earlier_build,
                          capture_output=True, text=True)
    assert sums.returncode == 0, sums.stdout


# A full disk: a message, exit 2, nothing half-written.

FILE_SIZE_LIMIT = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
from appeal.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("limit", [20_000, 60_000, 120_000])
def test_a_write_that_fails_stops_the_build_with_a_message(limit, earlier_build, changed_data):
    # RLIMIT_FSIZE makes every write past `limit` bytes fail, as a full disk does: the archive
    # (47 kB), then a pack, then the print file (about 100 kB) is the first file that cannot be written.
    before = files(earlier_build)
    result = subprocess.run([sys.executable, "-c", FILE_SIZE_LIMIT.format(limit=limit), "--data",
                             str(changed_data), "--out", str(earlier_build)], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "cannot be written: File too large" in result.stderr and "Traceback" not in result.stderr
    assert files(earlier_build) == before
    assert not list(earlier_build.glob(output.STAGING_PREFIX + "*"))


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount"),
                    reason="mounting a small tmpfs needs root")
def test_a_full_disk_stops_the_build_with_a_message(tmp_path, built):
    mount = tmp_path / "small"
    mount.mkdir()
    # Room for the earlier build and a third of another: the new build fills the disk halfway.
    size = sum(p.stat().st_size for p in built.rglob("*") if p.is_file())
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size * 4 // 3 // 1024 + 64}k", "tmpfs",
                       str(mount)]).returncode != 0:
        pytest.skip("this machine does not let tmpfs be mounted")
    try:
        out = mount / "output"
        shutil.copytree(built, out)
        before = files(out)
        result = subprocess.run([sys.executable, "build.py", "--out", str(out), "--data",
                                 str(write_data(tmp_path, dict(APPEAL, publication="(changed)")))],
                                cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, result.stderr
        assert "No space left on device" in result.stderr and "Traceback" not in result.stderr
        assert files(out) == before
        assert not list(out.glob(output.STAGING_PREFIX + "*"))
    finally:
        subprocess.run(["umount", str(mount)])


# What a build removes, and what it leaves.

def test_packs_of_recipients_no_longer_listed_are_removed(earlier_build, tmp_path, capsys):
    kept = RECIPIENTS[:3]
    recipients = write_data(tmp_path, {"recipients": kept}, "recipients.yaml")
    assert main(["--recipients", str(recipients), "--out", str(earlier_build)]) == 0
    assert "2 packs removed, their recipients no longer in" in capsys.readouterr().out
    assert sorted(p.stem for p in (earlier_build / "letters").glob("*.pdf")) == sorted(r["id"] for r in kept)
    sums = (earlier_build / "SHA256SUMS").read_text()
    assert RECIPIENTS[4]["id"] not in sums and RECIPIENTS[0]["id"] in sums
    assert subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=earlier_build).returncode == 0


def test_a_shard_removes_only_its_own_stale_packs(tmp_path, capsys):
    everyone = [dict(RECIPIENTS[0], id=f"member-{n:02d}") for n in range(12)]
    out = tmp_path / "out"
    path = write_data(tmp_path, {"recipients": everyone}, "recipients.yaml")
    for number in (1, 2):
        assert main(["letters", "--recipients", str(path), "--shard", f"{number}/2", "--out", str(out)]) == 0
    gone = next(r["id"] for r in everyone if in_shard(r["id"], 1, 2))
    other = next(r["id"] for r in everyone if in_shard(r["id"], 2, 2))
    remaining = [r for r in everyone if r["id"] not in (gone, other)]
    path = write_data(tmp_path, {"recipients": remaining}, "recipients.yaml")
    assert main(["letters", "--recipients", str(path), "--shard", "1/2", "--out", str(out)]) == 0
    ids = {p.stem for p in (out / "letters").glob("*.pdf")}
    assert gone not in ids and other in ids  # shard 2 removes its own when it runs
    assert main(["letters", "--recipients", str(path), "--shard", "2/2", "--out", str(out)]) == 0
    assert {p.stem for p in (out / "letters").glob("*.pdf")} == {r["id"] for r in remaining}


def test_a_file_named_on_the_command_line_must_exist(tmp_path, earlier_build, capsys):
    before = files(earlier_build)
    for command in (["build"], ["check"], ["letters"]):
        for option in ("--recipients", "--letter"):
            assert main([*command, option, str(tmp_path / "missing.yaml"), "--out", str(earlier_build)]) == 2
            assert f"missing.yaml: no such file ({option[2:]} of the letters)" in capsys.readouterr().err
    assert files(earlier_build) == before


def test_letter_options_without_letters_are_refused(earlier_build, capsys):
    for extra in (["--shard", "1/2"], ["--recipients", str(DATA_DIR / "recipients.yaml")]):
        assert main(["--edition", "a4", *extra, "--out", str(earlier_build)]) == 2
        err = capsys.readouterr().err
        assert f"{extra[0]}: only the letters use it, and this build writes none" in err


def test_interrupted_message_in_process(monkeypatch, earlier_build, capsys):
    from appeal.products import editions

    before = files(earlier_build)

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(editions, "handout", interrupted)
    assert main(["--out", str(earlier_build), "--force"]) == 130
    err = capsys.readouterr().err
    assert textwrap.dedent(err).strip() == f"interrupted: nothing in {earlier_build} changed"
    assert files(earlier_build) == before


# A journal planted in a shared output folder (issue 15): recovery acts only inside the folder.

def _plant(out: Path, name: str, replace: list[str], remove: list[str], staged: dict[str, bytes]) -> Path:
    folder = out / f"{output.STAGING_PREFIX}{name}"
    for relative, data in staged.items():
        (folder / "new" / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / "new" / relative).write_bytes(data)
    folder.mkdir(exist_ok=True)
    (folder / output.JOURNAL).write_text(__import__("json").dumps({"replace": replace, "remove": remove}))
    return folder


@pytest.mark.parametrize("plan", [
    {"remove": ["../victim.txt"]},
    {"remove": ["ABSOLUTE"]},
    {"remove": ["link/victim.txt"]},
    {"replace": ["x/../../written.txt"]},
    {"replace": ["appeal-a4.pdf"], "staged_link": True},
    {"replace": ["new-link/appeal-a4.pdf"]},
], ids=["dot-dot", "absolute", "symlinked-folder", "replace-climbs", "staged-symlink", "target-through-link"])
def test_a_planted_journal_never_reaches_outside_the_output_folder(plan, tmp_path, capsys):
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (outside / "victim.txt").write_text("keep me too")
    (out / "link").symlink_to(outside)
    (out / "new-link").symlink_to(outside)
    remove = [str(victim) if entry == "ABSOLUTE" else entry for entry in plan.get("remove", [])]
    climbs = plan.get("replace") == ["x/../../written.txt"]
    folder = _plant(out, "planted", plan.get("replace", []), remove,
                    {"x/../../written.txt": b"planted"} if climbs else {})
    if plan.get("staged_link"):
        (folder / "new").mkdir(exist_ok=True)
        (folder / "new" / "appeal-a4.pdf").symlink_to("/etc/passwd")
    before = snapshot(tmp_path)
    assert main(["--edition", "a4", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "journal" in err and "is refused and nothing was changed" in err and "Traceback" not in err
    after = {name: value for name, value in snapshot(tmp_path).items()
             if not name.endswith(output.FOLDER_LOCK)}
    assert after == before  # nothing deleted, written or built, inside or out
    assert victim.read_text() == "keep me" and (outside / "victim.txt").read_text() == "keep me too"
    assert not (tmp_path / "written.txt").exists()


def test_a_full_letters_build_removes_the_print_files_of_an_earlier_sharding(tmp_path, capsys):
    everyone = [dict(RECIPIENTS[0], id=f"member-{n:02d}") for n in range(6)]
    out = tmp_path / "out"
    path = write_data(tmp_path, {"recipients": everyone}, "recipients.yaml")
    for number in (1, 2):
        assert main(["letters", "--recipients", str(path), "--shard", f"{number}/2", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.glob("letters*.pdf")) == ["letters-shard-1-of-2.pdf",
                                                                 "letters-shard-2-of-2.pdf"]
    path = write_data(tmp_path, {"recipients": everyone[1:]}, "recipients.yaml")
    capsys.readouterr()
    assert main(["letters", "--recipients", str(path), "--out", str(out)]) == 0
    assert "2 print files of an earlier sharding removed" in capsys.readouterr().out
    assert [p.name for p in out.glob("letters*.pdf")] == ["letters.pdf"]
    sums = (out / "SHA256SUMS").read_text()
    assert "shard" not in sums and everyone[0]["id"] not in sums
    assert subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=out).returncode == 0
