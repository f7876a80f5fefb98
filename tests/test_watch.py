"""build.py watch, end to end in a subprocess on a copy of the data: a change rebuilds what reads
it, a mistake keeps the last good files, a fix rebuilds, Ctrl-C ends it cleanly; and which
editions each input touches."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from appeal import cli
from appeal.build import commit as output
from appeal.build import pipeline, signals
from appeal.build import watch as watch_module
from appeal.build.watch import LETTERS
from appeal.cli import main
from appeal.paths import DATA_DIR, ROOT, STYLE_DIR, TEMPLATE_DIR
from appeal.products import table as editions
from helpers import squash

TIMEOUT = 90
DATA_FILES = ("appeal", "words", "letter", "recipients", "sign-on")


class Watch:
    """`build.py watch` on the data in `folder`, its output in `folder/out`, its lines collected."""

    def __init__(self, folder: Path, *extra: str) -> None:
        self.folder, self.out = folder, folder / "out"
        self.lines: queue.Queue[tuple[str, str]] = queue.Queue()
        self.seen: list[tuple[str, str]] = []
        self.cursor: dict[str, int] = {}
        arguments = ["--data", "appeal.yaml", "--words", "words.yaml", "--sign-on", "sign-on.yaml",
                     "--out", "out", *extra]
        if "--edition" not in extra or "letters" in extra:  # as for the build, only letters take these
            arguments += ["--letter", "letter.yaml", "--recipients", "recipients.yaml"]
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "build.py"), "watch", *arguments], cwd=folder,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "APPEAL_JOBS": "2"})
        self.readers = [threading.Thread(target=self._read, args=(name, stream), daemon=True)
                        for name, stream in (("out", self.process.stdout), ("err", self.process.stderr))]
        for reader in self.readers:
            reader.start()

    def _read(self, name: str, stream) -> None:
        for line in stream:
            self.lines.put((name, line.rstrip("\n")))

    def wait_for(self, pattern: str, stream: str = "out") -> str:
        """The next line of `stream` (after the last one returned) matching `pattern`."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            lines = [line for name, line in self.seen if name == stream]
            for number in range(self.cursor.get(stream, 0), len(lines)):
                if re.search(pattern, lines[number]):
                    self.cursor[stream] = number + 1
                    return lines[number]
            if time.monotonic() > deadline:
                raise AssertionError(f"no line matching {pattern!r} within {TIMEOUT} s: {self.seen}")
            try:
                self.seen.append(self.lines.get(timeout=0.2))
            except queue.Empty:
                assert self.process.poll() is None, f"watch ended early: {self.seen}"

    def stop(self, sent: int = signal.SIGINT) -> tuple[int, str]:
        """Ctrl-C (or `sent`), as a terminal sends it; the exit status and everything it printed to
        stderr."""
        self.process.send_signal(sent)
        status = self.process.wait(timeout=TIMEOUT)
        for reader in self.readers:  # each ends at the end of its pipe
            reader.join(timeout=TIMEOUT)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return status, "\n".join(line for name, line in self.seen if name == "err")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def watching(tmp_path):
    for name in DATA_FILES:
        shutil.copy(DATA_DIR / f"{name}.yaml", tmp_path / f"{name}.yaml")
    started: list[Watch] = []

    def start(*extra: str) -> Watch:
        started.append(Watch(tmp_path, *extra))
        return started[-1]

    yield start
    for watch in started:
        watch.kill()


def save(path: Path, text: str) -> None:
    """Save as many editors do: a new file renamed over the old one."""
    temp = path.with_name(f".{path.name}.swp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def edit(path: Path, old: str, new: str, in_place: bool = False) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    if in_place:
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    else:
        save(path, text.replace(old, new, 1))


def text_of(pdf: Path) -> str:
    return squash("".join(page.extract_text() or "" for page in PdfReader(pdf).pages))


def state(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file a reader of the output folder sees, with its inode (a replaced file gets another)."""
    return {str(p.relative_to(folder)): (p.stat().st_ino, p.read_bytes()) for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != output.FOLDER_LOCK}


def test_watch_rebuilds_on_change_keeps_the_last_good_files_on_a_mistake_and_stops_cleanly(watching):
    watch = watching()
    watch.wait_for(r"first build: 10 editions, 5 of 5 letter packs and letters\.pdf replaced in")
    appeal = watch.folder / "appeal.yaml"
    a4 = watch.out / "appeal-a4.pdf"
    assert "havesavedtensofthousandsoflives" in text_of(a4)

    # A paragraph changed: the editions and the letters (which enclose the appeal) are rebuilt.
    edit(appeal, "have saved tens of thousands of lives", "have saved many tens of thousands of lives")
    line = watch.wait_for(r"appeal\.yaml changed: ")
    assert re.search(r"\d+ editions, 5 of 5 letter packs and letters\.pdf replaced in [\d.]+ s "
                     r"\(appeal-a4\.pdf after [\d.]+ s\)", line), line
    assert "havesavedmanytensofthousandsoflives" in text_of(a4)
    assert "havesavedmanytensofthousandsoflives" in text_of(watch.out / "letters/poland-foreign-minister.pdf")
    good = state(watch.out)

    # A mistake: the build's message, and every file as it was.
    edit(appeal, "date: 2025-06-16", "date: 2025-06-31", in_place=True)
    watch.wait_for(r"appeal\.yaml changed: not rebuilt: the output folder keeps the last good files")
    message = watch.wait_for(r"^error: ", "err")
    line = next(n for n, text in enumerate(appeal.read_text().splitlines(), 1) if text.startswith("date:"))
    assert message == f"error: appeal.yaml:{line}: date: 2025-06-31 is not a day of the calendar " \
                      "(check the month and the day)"
    assert state(watch.out) == good

    # Fixed, and changed again: rebuilt.
    save(appeal, appeal.read_text(encoding="utf-8").replace("date: 2025-06-31", "date: 2025-06-16")
         .replace("have saved many tens", "have saved several tens"))
    watch.wait_for(r"appeal\.yaml changed: \d+ editions, 5 of 5 letter packs and letters\.pdf replaced")
    assert "havesavedseveraltensofthousandsoflives" in text_of(a4)

    status, err = watch.stop()
    assert status == 0, err
    assert "stopped; out holds the last good files" in err
    assert "Traceback" not in err
    assert not list(watch.out.glob(output.STAGING_PREFIX + "*"))


def test_a_recipient_change_rebuilds_the_letters_only_and_leaves_what_a_build_writes(watching, tmp_path):
    watch = watching()
    watch.wait_for(r"first build: ")
    before = state(watch.out)
    recipients = watch.folder / "recipients.yaml"
    edit(recipients, '      - "Tallinn"', '      - "Tallinn 15049"')
    line = watch.wait_for(r"recipients\.yaml changed: ")
    assert re.search(r": \d of 5 letter packs and letters\.pdf replaced in", line), line
    after = state(watch.out)
    assert "Tallinn15049" in text_of(watch.out / "letters/estonia-foreign-minister.pdf")
    replaced = {name for name in after if after[name][0] != before[name][0]}
    assert "letters/estonia-foreign-minister.pdf" in replaced and "letters.pdf" in replaced
    assert not {name for name in replaced if not name.startswith("letters")} - {"SHA256SUMS"}

    # A save that changes nothing, and a touch, rebuild nothing.
    save(recipients, recipients.read_text(encoding="utf-8"))
    (watch.folder / "words.yaml").touch()
    # The sign-on settings: the sign-on sheets only.
    edit(watch.folder / "sign-on.yaml", 'heading: "Sign the appeal"', 'heading: "Sign the joint appeal"')
    line = watch.wait_for(r"changed: ")
    assert re.match(r"[\d:]+  sign-on\.yaml changed: sign-on-a4\.pdf, sign-on-letter\.pdf replaced in",
                    line), line
    # The cover letter: every pack (the layer they share is laid out again), nothing else.
    edit(watch.folder / "letter.yaml", 'closing: "Yours sincerely,"', 'closing: "Yours faithfully,"')
    line = watch.wait_for(r"letter\.yaml changed: ")
    assert re.search(r": 5 of 5 letter packs and letters\.pdf replaced in", line), line
    assert "Yoursfaithfully" in text_of(watch.out / "letters/latvia-foreign-minister.pdf")
    status, err = watch.stop()
    assert status == 0 and "Traceback" not in err

    # What watch left is byte for byte what a build of the same data writes (but the build's record
    # of what it was made from, build/current.py: watch writes none, a build made from it would).
    fresh = tmp_path / "fresh"
    assert main(["--data", str(watch.folder / "appeal.yaml"), "--words", str(watch.folder / "words.yaml"),
                 "--letter", str(watch.folder / "letter.yaml"), "--recipients", str(recipients),
                 "--sign-on", str(watch.folder / "sign-on.yaml"), "--out", str(fresh)]) == 0
    from appeal.build.current import RECORD

    assert {name: data for name, (_, data) in state(watch.out).items()} == \
        {name: data for name, (_, data) in state(fresh).items() if name != RECORD}


def test_several_saves_in_quick_succession_give_one_rebuild(watching):
    watch = watching("--edition", "a4")
    watch.wait_for(r"first build: appeal-a4\.pdf replaced")
    appeal = watch.folder / "appeal.yaml"
    for word in ("one", "two", "three"):
        edit(appeal, "(Published on ReliefWeb on 16 June 2025)",
             f"(Published on ReliefWeb on 16 June 2025, {word})", in_place=True)
        appeal.write_text(appeal.read_text(encoding="utf-8").replace(f", {word})", ")"), encoding="utf-8")
    edit(appeal, "(Published on ReliefWeb on 16 June 2025)", "(Published on ReliefWeb, 16 June 2025)")
    watch.wait_for(r"appeal\.yaml changed: appeal-a4\.pdf replaced")
    assert "PublishedonReliefWeb,16June2025" in text_of(watch.out / "appeal-a4.pdf")
    time.sleep(1.0)
    status, _ = watch.stop()
    rebuilds = [line for name, line in watch.seen if name == "out" and "changed:" in line]
    assert len(rebuilds) == 1, rebuilds
    assert status == 0


def test_a_save_right_after_the_first_build_is_not_missed(watching):
    # The files are watched before the first build starts, so nothing saved from then on is lost.
    watch = watching("--edition", "a4")
    line = watch.wait_for(r"  watching ")  # what the A4 handout reads, not the letters' data
    assert re.fullmatch(r"[\d:]+  watching appeal\.yaml, words\.yaml, templates/ and styles/; "
                        r"writing to out; Ctrl-C to stop", line), line
    watch.wait_for(r"first build: ")
    edit(watch.folder / "appeal.yaml", "have saved tens", "have saved scores")
    watch.wait_for(r"appeal\.yaml changed: appeal-a4\.pdf replaced")
    assert "havesavedscoresofthousands" in text_of(watch.out / "appeal-a4.pdf")
    status, _ = watch.stop()
    assert status == 0


def test_ctrl_c_in_the_middle_of_a_rebuild_leaves_whole_files_and_no_staging_folder(watching):
    watch = watching()
    watch.wait_for(r"first build: ")
    edit(watch.folder / "appeal.yaml", "have saved tens", "have saved many tens")
    deadline = time.monotonic() + TIMEOUT
    a4 = watch.out / "appeal-a4.pdf"
    first = a4.stat().st_ino
    while a4.stat().st_ino == first and time.monotonic() < deadline:
        time.sleep(0.01)
    status, err = watch.stop()  # the other editions are being made
    assert status == 0, err
    assert "Traceback" not in err
    assert not list(watch.out.glob(output.STAGING_PREFIX + "*"))
    sums = subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=watch.out, capture_output=True,
                          text=True, timeout=60)
    assert sums.returncode == 0, sums.stdout + sums.stderr
    for pdf in watch.out.rglob("*.pdf"):
        assert len(PdfReader(pdf).pages) > 0


def test_output_written_beside_the_data_is_not_an_input_and_the_data_still_is(watching):
    # `--out .`: the PDFs land in the folder the data is watched in.
    watch = watching("--edition", "a4", "--edition", "letter", "--out", ".")
    watch.wait_for(r"first build: ")
    edit(watch.folder / "appeal.yaml", "have saved tens", "have saved scores")
    watch.wait_for(r"appeal\.yaml changed: appeal-a4\.pdf, appeal-letter\.pdf replaced in")
    assert "havesavedscoresofthousands" in text_of(watch.folder / "appeal-a4.pdf")
    time.sleep(2 * watch_module.DEBOUNCE / 1000)  # its own PDFs and SHA256SUMS start no rebuild
    status, _ = watch.stop()
    assert status == 0
    assert [line for name, line in watch.seen if name == "out" and "changed:" in line] == \
        [line for name, line in watch.seen if name == "out" and "appeal.yaml changed:" in line]
    assert len([line for name, line in watch.seen if "changed:" in line]) == 1


def test_a_data_file_that_is_a_link_is_followed_to_where_it_is_edited(watching, tmp_path):
    shared = tmp_path.parent / f"{tmp_path.name}-shared-drive"  # another folder than the link's
    shared.mkdir()
    target = shared / "appeal.yaml"
    shutil.copy(DATA_DIR / "appeal.yaml", target)
    (tmp_path / "linked.yaml").symlink_to(target)
    watch = watching("--edition", "a4", "--data", "linked.yaml")
    watch.wait_for(r"first build: ")
    edit(target, "have saved tens", "have saved scores", in_place=True)
    watch.wait_for(r"appeal\.yaml changed: appeal-a4\.pdf replaced in")
    assert "havesavedscoresofthousands" in text_of(watch.out / "appeal-a4.pdf")
    # The link re-pointed to a copy in a third folder: that copy is the data from then on.
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    elsewhere.mkdir()
    moved = elsewhere / "appeal.yaml"
    moved.write_text(target.read_text(encoding="utf-8").replace("have saved scores", "have saved dozens"),
                     encoding="utf-8")
    (tmp_path / "next.yaml").symlink_to(moved)
    os.replace(tmp_path / "next.yaml", tmp_path / "linked.yaml")
    watch.wait_for(r"linked\.yaml changed: appeal-a4\.pdf replaced in")
    assert "havesaveddozensofthousands" in text_of(watch.out / "appeal-a4.pdf")
    edit(moved, "have saved dozens", "have saved hundreds", in_place=True)
    watch.wait_for(r"elsewhere/appeal\.yaml changed: appeal-a4\.pdf replaced in")
    assert "havesavedhundredsofthousands" in text_of(watch.out / "appeal-a4.pdf")
    assert watch.stop()[0] == 0


def test_sigterm_stops_watch_with_its_own_exit_status(watching):
    watch = watching("--edition", "a4")
    watch.wait_for(r"first build: ")
    status, err = watch.stop(signal.SIGTERM)
    assert status == 128 + signal.SIGTERM, err
    assert "stopped (signal 15); out holds the last good files" in err
    assert "Traceback" not in err


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the point of the test
def test_a_stop_signal_swallowed_by_a_finalizer_is_still_noted(monkeypatch):
    # A signal whose handler runs inside a finalizer raises there, and Python drops that exception
    # ("Exception ignored in ..."): watch's loop, which wakes every 50 ms, acts on the note instead,
    # and the dropped exception prints no traceback (it is ours, and acted on).
    class Finalized:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # the handler runs here, in the finalizer

    class Broken:
        def __del__(self):
            raise ValueError("a finalizer's own bug")

    reported = []  # what reaches the hook that prints "Exception ignored in ..."
    monkeypatch.setattr(sys, "unraisablehook", lambda report: reported.append(report.exc_value))
    with signals.terminate_as_exception():
        Finalized()  # dropped at once
        time.sleep(0.05)
        assert signals.received == [signal.SIGTERM]
        assert reported == []
        Broken()  # any other exception a finalizer drops is still reported
        assert [type(exc) for exc in reported] == [ValueError]
        with pytest.raises(signals.Terminated):
            signals.raise_if_stopped()


def test_a_data_file_that_does_not_exist_stops_watch_at_once(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "watch", "--recipients", "missing.yaml",
                             "--out", str(tmp_path / "out")], cwd=tmp_path, capture_output=True, text=True,
                            timeout=TIMEOUT)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: missing.yaml: no such file (recipients of the letters)"
    assert not (tmp_path / "out").exists()


# Which products each input touches (in-process): the data by the table of products, the
# templates and assets by what the first build recorded that each product read.

@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    from appeal.build.request import Request
    from appeal.build.watch import Watcher

    folder = tmp_path_factory.mktemp("inputs")
    watcher = Watcher(Request(command="watch", out=folder / "out"))
    assert watcher.rebuild("first build")
    assert set(watcher.reads) == EVERYTHING  # every product made, and what it read recorded
    return watcher, folder


def kinds(*wanted: str) -> set[str]:
    return {e.name for e in editions.EDITIONS.values() if e.kind in wanted}


EVERYTHING = {*editions.EDITIONS, LETTERS}


@pytest.mark.parametrize(("path", "touched"), [
    ("DATA/appeal.yaml", EVERYTHING),
    ("DATA/words.yaml", EVERYTHING),
    ("DATA/recipients.yaml", {LETTERS}),
    ("DATA/letter.yaml", {LETTERS}),
    ("DATA/sign-on.yaml", kinds("sign-on")),
    ("templates/letters.html", {LETTERS}),
    ("templates/signon.html", kinds("sign-on")),
    ("templates/archive.html", {"archive", "deposit"}),
    ("templates/handout.html", {*kinds("handout", "press", "booklet"), LETTERS}),
    ("templates/macros.html", EVERYTHING - kinds("sign-on")),  # the sign-on sheet has its own markup
    ("templates/base.html", EVERYTHING),
    ("styles/base.css", EVERYTHING),
    ("styles/appeal.css", EVERYTHING - kinds("sign-on")),  # the letters enclose the appeal
    ("styles/cover-letter.css", {LETTERS}),
    ("styles/sign-on.css", kinds("sign-on")),
    ("templates/letter-macros.html", {LETTERS}),
    ("styles/a5.css", {"booklet", "press-a5"}),
    ("styles/half-letter.css", {"booklet-letter"}),
    ("styles/small-page.css", {"booklet", "booklet-letter", "press-a5"}),
    ("styles/press.css", kinds("press")),
    # The default recipients all take A4: the letters read no letter.css (a recipient who
    # asks for Letter is a change to the recipients, which rebuilds the letters anyway).
    ("styles/letter.css", {"letter", "sign-on-letter"}),
    ("styles/a4.css", {"a4", "archive", "deposit", "sign-on-a4", "press-a4", LETTERS}),
    ("styles/fonts/CharisSIL-Regular.ttf", EVERYTHING),
    ("styles/icc/FOGRA39L-coated.icc", kinds("press")),
    # The default letter names no signature image: one in styles/signatures/ touches nothing.
    ("styles/signatures/signer.png", set()),
])
def test_each_input_touches_the_editions_that_read_it(inputs, path, touched):
    watcher, _ = inputs
    full = DATA_DIR / path[5:] if path.startswith("DATA/") else ROOT / path
    assert watcher.inputs.relevant(full)
    assert watcher.touched(full) == touched


def test_a_file_no_product_read_touches_none(inputs):
    """A template or image no layout opened (a new one, one no product uses) rebuilds nothing:
    what is touched is what was read, not what a folder holds."""
    watcher, _ = inputs
    for path in (TEMPLATE_DIR / "pack.html", TEMPLATE_DIR / "new.html", STYLE_DIR / "new.css"):
        assert watcher.touched(path) == set(), path


def test_the_output_folder_and_editor_files_are_not_inputs(inputs):
    watcher, folder = inputs
    watched = watcher.inputs
    for path in (folder / "out/appeal-a4.pdf", folder / "out/SHA256SUMS", DATA_DIR / "notes.txt",
                 TEMPLATE_DIR / ".handout.html.swp", TEMPLATE_DIR / "handout.html~",
                 STYLE_DIR / "fonts/OFL.txt", STYLE_DIR / ".#appeal.css", ROOT / "README.md"):
        assert not watched.relevant(path), path
    assert DATA_DIR in watched.folders() and TEMPLATE_DIR in watched.folders()
    assert not any(folder / "out" == f or folder / "out" in f.parents for f in watched.folders())


def test_a_data_file_that_is_no_regular_file_stops_watch_at_once(tmp_path):
    """`/dev/zero` as the data: refused before anything is read or watched, not read for ever."""
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "watch", "--data", "/dev/zero",
                             "--out", str(tmp_path / "out")], cwd=tmp_path, capture_output=True, text=True,
                            timeout=TIMEOUT)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == \
        "error: /dev/zero: not a regular file (--data); watch reads and follows files"
    assert not (tmp_path / "out").exists()


def test_a_data_file_read_halfway_through_a_save_is_no_mistake(tmp_path, monkeypatch, capsys):
    """An editor that truncates, then writes: a rebuild that reads the empty file in between
    says the file changed while read, not "the file is empty", and the save's end rebuilds."""
    from appeal.build.watch import Watcher

    data = tmp_path / "appeal.yaml"
    whole = (DATA_DIR / "appeal.yaml").read_bytes()
    data.write_bytes(b"")
    args = cli._parser().parse_args(["watch", "--edition", "a4", "--data", str(data),
                                     "--out", str(tmp_path / "out")])
    watcher = Watcher(cli.request_from(args))
    assert watcher.changed([data]) == [] and watcher.digests[data] is not None  # the empty file, seen
    real = pipeline.load

    def load_then_save(*given, **kw):
        try:
            return real(*given, **kw)
        finally:
            data.write_bytes(whole)  # the save ends while the half-written file is being read

    monkeypatch.setattr(pipeline, "load", load_then_save)
    assert watcher.rebuild("appeal.yaml changed") is False
    out, err = capsys.readouterr()
    assert "a data file changed while it was read; rebuilt when the save ends" in out, (out, err)
    assert "empty" not in err and "not rebuilt" not in out
    monkeypatch.setattr(pipeline, "load", real)
    assert watcher.changed([data]) == [data]
    assert watcher.rebuild("appeal.yaml changed") is True
    assert (tmp_path / "out" / "appeal-a4.pdf").is_file()
