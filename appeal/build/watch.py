"""`build.py watch`: build, then rebuild what each saved change touches, in one warm process.

The process keeps what a fresh build pays for again and again: WeasyPrint imported, fonts and
hyphenation patterns loaded, stylesheets compiled, the letters' chunks laid out. It watches the
folders of the files the build reads (the data, templates/, styles/ and its subfolders), never
the output folder, with watchfiles (the Rust notify library: inotify on Linux), so that an editor
that saves by writing a new file and renaming it over the old one is seen like any other.

A change is mapped to the editions that read the file: a recipient to the letters, the sign-on
settings to the sign-on sheets, a stylesheet to the editions whose paper imports it, and so on.
Each edition is put in place as soon as it is made, by the output folder's all-or-nothing commit
(a rename: a PDF viewer that reloads on change never reads half a file), the A4 handout first.
A rebuild that fails prints the build's messages and leaves the earlier files in place; what it
did not rebuild is rebuilt with the next change.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
import functools
import os
import re
import signal
import stat
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from appeal.errors import UserError, error_lines, printable
from appeal.layout.fetcher import RefusedURL
from appeal.paths import DATA_DIR, STYLE_DIR, TEMPLATE_DIR

# watchfiles yields once no change has come for STEP ms (an editor's "save all" writes several
# files within a few); DEBOUNCE ms at most are grouped into one rebuild.
STEP = 50
DEBOUNCE = 1_600
LETTERS = "letters"
TEMPLATE_SUFFIXES = {".html"}
STYLE_SUFFIXES = {".css", ".ttf", ".otf", ".woff", ".woff2", ".icc", ".icm", ".png", ".jpg", ".jpeg", ".svg"}
# The template each kind of edition renders (the letters also enclose the handout).
ROOT_TEMPLATES = {"handout": {"handout.html"}, "press": {"handout.html"}, "booklet": {"handout.html"},
                  "archive": {"archive.html"}, "sign-on": {"signon.html"},
                  LETTERS: {"letters.html", "handout.html"}}
LETTER_PAPERS = ("a4", "letter")
TEMPLATE_REFERENCE = r"""\{%-?\s*(?:extends|include|import|from)\s+["']([^"']+)"""
STYLE_REFERENCE = r"""@import\s+(?:url\()?\s*["']([^"']+)"""


def _references(folder: Path, pattern: str) -> dict[str, set[str]]:
    """Which files of `folder` each file names (`{% extends "base.html" %}`, `@import url("a.css")`)."""
    found = {}
    for path in folder.iterdir():
        if path.is_file():
            with contextlib.suppress(OSError, UnicodeDecodeError):
                found[path.name] = set(re.findall(pattern, path.read_text(encoding="utf-8")))
    return found


def _closure(roots: Iterable[str], references: dict[str, set[str]]) -> set[str]:
    seen, pending = set(), list(roots)
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending.extend(references.get(name, ()))
    return seen


class Inputs:
    """The files a build reads, and which editions each one touches."""

    def __init__(self, args: argparse.Namespace, out_dir: Path) -> None:
        from appeal.products.editions import EDITIONS

        def where(path: Path | None, default: str | None = None) -> Path | None:
            path = path or (DATA_DIR / default if default else None)
            return Path(os.path.abspath(path)) if path else None

        self.out_dir = Path(os.path.abspath(out_dir))
        self.editions = EDITIONS
        # The data files, by what they are to the build; a default that does not exist yet is
        # watched too, and read when it appears (data/endorsements.csv, data/sign-on.yaml).
        self.data = {name: path for name, path in (
            ("appeal", where(args.data)), ("words", where(args.words)),
            ("endorsements", where(args.endorsements, "endorsements.csv")),
            ("sign-on", where(args.sign_on, "sign-on.yaml")),
            ("letter", where(args.letter, "letter.yaml")),
            ("recipients", where(args.recipients, "recipients.yaml")),
            ("output-profile", where(args.output_profile))) if path is not None}
        self.by_path: dict[Path, str] = {}
        self.retarget()

    def retarget(self) -> bool:
        """Follow the data files' links again, since one may have been re-pointed: a data file
        that is a symbolic link changes where its target is, so that is watched too. Whether the
        files to watch changed."""
        before = self.by_path
        self.by_path = {path: name for name, path in self.data.items()}
        self.by_path |= {target: name for path, name in list(self.by_path.items())
                         if (target := _target(path)) is not None}
        return self.by_path != before

    def folders(self) -> list[Path]:
        """The folders to watch (each one level deep): those of the data (and of the files their
        links point to), the templates, the styles."""
        styles = [STYLE_DIR, *(p for p in sorted(STYLE_DIR.rglob("*")) if p.is_dir())]
        found = {path.parent for path in self.by_path} | {TEMPLATE_DIR, *styles}
        return sorted(folder for folder in found if folder.is_dir())

    def relevant(self, path: Path) -> bool:
        """Whether a build reads `path`: a data file, a template, a style, a font, an image."""
        if path in self.by_path:
            return True  # even in the output folder (`--out data`): the data comes first
        if path == self.out_dir or self.out_dir in path.parents:
            return False
        if path.name.startswith((".", "#")) or path.name.endswith("~"):
            return False  # an editor's swap, lock or backup file
        if path.parent == TEMPLATE_DIR:
            return path.suffix in TEMPLATE_SUFFIXES
        in_styles = path.parent == STYLE_DIR or STYLE_DIR in path.parents
        return in_styles and path.suffix.lower() in STYLE_SUFFIXES

    def touched(self, path: Path) -> set[str]:
        """The editions (and "letters") that read `path`."""
        everything = {*self.editions, LETTERS}
        name = self.by_path.get(path)
        if name in ("appeal", "words", "endorsements"):
            return everything
        if name == "sign-on":
            return {e.name for e in self.editions.values() if e.kind == "sign-on"}
        if name in ("letter", "recipients"):
            return {LETTERS}
        if name == "output-profile":
            return {e.name for e in self.editions.values() if e.kind == "press"}
        if path.parent == TEMPLATE_DIR:
            references = _references(TEMPLATE_DIR, TEMPLATE_REFERENCE)
            return {kind_or_name for kind_or_name in everything
                    if path.name in _closure(self._templates(kind_or_name), references)}
        suffix = path.suffix.lower()
        if suffix == ".css":
            references = _references(STYLE_DIR, STYLE_REFERENCE)
            return {kind_or_name for kind_or_name in everything
                    if path.name in _closure(self._stylesheets(kind_or_name), references)}
        if suffix in (".icc", ".icm"):
            return {e.name for e in self.editions.values() if e.kind == "press"}
        if suffix in (".png", ".jpg", ".jpeg", ".svg") and (STYLE_DIR / "signatures") in path.parents:
            return {LETTERS}
        return everything  # a font, or an image a stylesheet may use

    def _templates(self, name: str) -> set[str]:
        return ROOT_TEMPLATES[LETTERS if name == LETTERS else self.editions[name].kind]

    def _stylesheets(self, name: str) -> set[str]:
        papers = LETTER_PAPERS if name == LETTERS else (self.editions[name].paper,)
        return {f"{paper}.css" for paper in papers}


def _target(path: Path) -> Path | None:
    """Where a symbolic link at `path` leads, when it is one and leads elsewhere."""
    try:
        return path.resolve(strict=True) if path.is_symlink() else None
    except (OSError, RuntimeError):  # a dangling link, a loop
        return None


# Past this, a file is no input the build would read (the largest limit is the profile's 16 MB):
# it is told apart by its size and time, not read whole.
DIGEST_LIMIT = 64 * 2**20


def _digest(path: Path) -> str | None:
    """What a file holds, to tell a save from a touch: its SHA-256; for a file that is not a
    regular file (`/dev/zero`, a FIFO) or larger than DIGEST_LIMIT, its kind, size and time, read
    no further."""
    import hashlib

    try:
        status = os.stat(path)
        if not stat.S_ISREG(status.st_mode) or status.st_size > DIGEST_LIMIT:
            return f"{status.st_mode:o} {status.st_size} {status.st_mtime_ns}"
        digest = hashlib.sha256()
        with open(path, "rb") as file:
            while chunk := file.read(2**20):
                digest.update(chunk)
                if file.tell() > DIGEST_LIMIT:  # grown while read
                    return f"{status.st_mode:o} {file.tell()} {status.st_mtime_ns}"
        return digest.hexdigest()
    except OSError:
        return None


def _now() -> str:
    return time.strftime("%H:%M:%S")


def _shown(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


class Watcher:
    """One warm process: the renderer, the letters' cache, and what is left to rebuild."""

    def __init__(self, args: argparse.Namespace) -> None:
        from appeal.layout.render import Renderer
        from appeal.products.letters import LetterCache

        self.args = args
        self.inputs = Inputs(args, args.out)
        self.renderer = Renderer()
        self.letters = LetterCache()
        self.digests: dict[Path, str | None] = {}
        self.checksum_memo: dict = {}
        self.stale: set[str] = {*self.inputs.editions, LETTERS}  # not rebuilt since their inputs changed
        for folder in self.inputs.folders():
            for path in folder.iterdir():
                path = Path(os.path.abspath(path))
                if self.inputs.relevant(path):
                    self.digests[path] = _digest(path)
        for path in self.inputs.by_path:
            self.digests.setdefault(path, _digest(path))

    def changed(self, paths: Iterable[Path]) -> list[Path]:
        """Those of `paths` whose content differs from the last time it was seen (an editor that
        saves without a change, or touches a file, gives no rebuild)."""
        found = []
        for path in sorted(paths):
            digest = _digest(path)
            if self.digests.get(path, "unseen") != digest:
                self.digests[path] = digest
                found.append(path)
        return found

    def note(self, paths: list[Path]) -> None:
        """Mark what `paths` touch as stale, and forget what was made from them."""
        from appeal.layout.render import environment

        for path in paths:
            touched = self.inputs.touched(path)
            self.stale |= touched
            if path.parent == TEMPLATE_DIR:
                environment.cache_clear()
            elif STYLE_DIR in path.parents:
                from appeal.layout.render import Renderer

                self.renderer = Renderer()  # stylesheets and fonts are compiled once per renderer
            if LETTERS in touched and self.inputs.by_path.get(path) not in ("letter", "recipients"):
                self.letters.clear()

    def settle(self, given: argparse.Namespace) -> argparse.Namespace:
        """The build's arguments as the files are now: a default file may have appeared or gone."""
        from appeal.build.pipeline import settle_letter_paths, settle_optional_paths

        args = copy.copy(given)
        settle_letter_paths(args)
        settle_optional_paths(args)
        return args

    def rebuild(self, reason: str) -> bool:
        """Rebuild what is stale; one status line (and the build's messages when it fails)."""
        from appeal.build.pipeline import load, planned
        from appeal.build.workers import run_all
        from appeal.layout.render import source_date_epoch, stop_on_warnings
        from appeal.products import editions

        report = _Report(time.perf_counter())
        try:
            args = self.settle(self.args)
            names = planned(args)
            self.stale -= {*editions.EDITIONS} - set(names)  # editions not built are not stale
            chosen = [editions.EDITIONS[name] for name in editions.EDITIONS
                      if name in names and name in self.stale]
            letters = LETTERS in names and LETTERS in self.stale
            if not chosen and not letters:
                return True
            data, mailing = load(args, letters=letters, sign_on=any(e.kind == "sign-on" for e in chosen))
            press = None
            if any(e.kind == "press" for e in chosen):
                from appeal.pdf.pdfx import output_intent

                press = editions.PressSettings(output_intent(args.output_profile), args.marks)
            with source_date_epoch(data.appeal.date), stop_on_warnings() as warned:
                def put(result) -> None:
                    edition, rendered = result
                    warned.check(edition.filename)
                    report.made(edition.filename, self.commit({edition.filename: rendered.data}))
                    self.stale.discard(edition.name)

                # The A4 handout (or the first edition chosen) first, then the archive, both here
                # (the archive's checks must run in this process: page-validation's threads do not
                # survive a fork); the others in forked workers, each put in place as it comes.
                here = chosen[:1] + [e for e in chosen[1:] if e.archival]
                for edition in here:
                    put(_job(edition, self.renderer, data, press))
                run_all([functools.partial(_job, edition, self.renderer, data, press)
                         for edition in chosen if edition not in here], done=put, warm_first=False)
                if letters and mailing is not None:
                    self.write_letters(mailing, warned)
                    report.packs = self.letters.rebuilt
                    self.stale.discard(LETTERS)
        except (UserError, RefusedURL) as exc:
            if self.saving():  # read halfway through a save ("the file is empty"): not a mistake
                print(f"{_now()}  {reason}: a data file changed while it was read; rebuilt when the "
                      "save ends", flush=True)
                return False
            return report.failed(reason, printable(str(exc)))
        except OSError as exc:  # a full disk, a folder made read-only: the next rebuild may do
            return report.failed(reason, f"{printable(str(exc.filename or 'a file'))}: {exc.strerror or exc}")
        except Exception as exc:  # a fault of the tool's, or of a stylesheet halfway through an edit
            if self.args.debug:
                raise
            return report.failed(reason, (
                f"unexpected {type(exc).__name__}: {printable(str(exc))} (watch with --debug shows the "
                "traceback)"))
        print(f"{_now()}  {reason}: {report.done()}", flush=True)
        return True

    def saving(self) -> bool:
        """Whether a data file holds other bytes than when its change was seen: an editor is
        writing it still (the change that ends the save comes as the next batch, and rebuilds)."""
        return any(path in self.digests and _digest(path) != self.digests[path]
                   for path in self.inputs.by_path)

    def commit(self, files: dict[str, bytes]) -> bool:
        """Put `files` in place (and SHA256SUMS), unless each came out as it is already: whether
        anything was replaced (a viewer reloads a replaced file)."""
        from appeal.build.commit import Staging
        from appeal.build.pipeline import checksums
        from appeal.products.editions import CHECKSUMS

        out = Path(self.args.out)
        files = {name: data for name, data in files.items() if _content(out / name) != data}
        if not files:
            return False
        with Staging(out) as staging:
            for name, data in files.items():
                staging.add(name, data)
            staging.commit(lambda staging: staging.add(CHECKSUMS, checksums(staging, self.checksum_memo)))
        for note in staging.recovered:
            print(f"note: {note}", file=sys.stderr, flush=True)
        return True

    def write_letters(self, mailing, warned) -> None:
        from appeal.build.commit import Staging
        from appeal.build.pipeline import checksums
        from appeal.products.editions import CHECKSUMS
        from appeal.products.letters import write_letters

        with Staging(self.args.out) as staging:
            write_letters(self.renderer, mailing, staging, None, cache=self.letters,
                          memo=self.checksum_memo)
            warned.check("the letters")
            staging.commit(lambda staging: staging.add(CHECKSUMS, checksums(staging, self.checksum_memo)))


def _job(edition, renderer, data, press):
    from appeal.build.pipeline import make_edition

    return edition, make_edition(edition, renderer, data, None, press)


def _content(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


@dataclasses.dataclass
class _Report:
    """What one rebuild replaced, for its status line."""

    started: float
    replaced: list[str] = dataclasses.field(default_factory=list)
    same: int = 0  # files made that came out as they were
    first: tuple[str, float] | None = None  # the first file replaced, and when
    packs: tuple[int, int, bool] | None = None  # letters.LetterCache.rebuilt

    def made(self, filename: str, replaced: bool) -> None:
        if not replaced:
            self.same += 1
            return
        self.replaced.append(filename)
        if self.first is None:
            self.first = (filename, time.perf_counter() - self.started)

    def listed(self) -> str:
        """`appeal-a4.pdf, appeal-letter.pdf`, or `9 editions`, and the letters replaced."""
        parts = []
        if self.replaced:
            count = len(self.replaced)
            parts.append(", ".join(self.replaced) if count <= 3 else f"{count} editions")
        if self.packs and self.packs[0]:
            parts.append(f"{self.packs[0]} of {self.packs[1]} letter packs")
        if self.packs and self.packs[2]:
            parts.append("letters.pdf")
        return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] if parts else ""

    def done(self) -> str:
        seconds = time.perf_counter() - self.started
        listed = self.listed()
        if not listed:
            return f"rebuilt in {seconds:.2f} s; every file came out as it was"
        line = f"{listed} replaced in {seconds:.2f} s"
        if self.first is not None and (len(self.replaced) > 1 or self.packs):
            line += f" ({self.first[0]} after {self.first[1]:.2f} s)"
        return line

    def failed(self, reason: str, message: str) -> bool:
        listed = self.listed()
        kept = f"{listed} replaced, the others keep their last good version" if listed else \
            "the output folder keeps the last good files"
        print(f"{_now()}  {reason}: not rebuilt: {kept}", flush=True)
        print(error_lines(message), file=sys.stderr, flush=True)
        return False


def run(args: argparse.Namespace) -> int:
    """Build, then rebuild on every change until Ctrl-C (exit 0) or SIGTERM (exit 143)."""
    import watchfiles

    from appeal.build.pipeline import planned
    from appeal.build.signals import Terminated, raise_if_stopped, received

    args.shard = None
    watcher = Watcher(args)
    # A data file that is not a regular file (`/dev/zero`, a FIFO) is an error before anything is
    # watched; so is a named file that does not exist.
    for name, path in watcher.inputs.data.items():
        if path.exists() and not path.is_file():
            flag = "data" if name == "appeal" else name
            raise UserError(f"{_shown(path)}: not a regular file (--{flag}); watch reads and follows files")
    names = set(planned(watcher.settle(args)))
    folders = watcher.inputs.folders()
    data = ", ".join(_shown(path) for path in watcher.inputs.data.values()
                     if path.is_file() and watcher.inputs.touched(path) & names)
    print(f"{_now()}  watching {data}, templates/ and styles/; writing to {_shown(watcher.inputs.out_dir)}; "
          "Ctrl-C to stop", flush=True)
    try:
        # The watcher yields an empty batch every STEP ms without changes: the first one says it
        # is running, so a file saved during (or just after) the first build is not missed.
        built = False
        while folders:  # watched again when a re-pointed link leads to another folder
            changes = watchfiles.watch(
                *folders, watch_filter=lambda change, path: watcher.inputs.relevant(Path(path)),
                step=STEP, debounce=DEBOUNCE, recursive=False, raise_interrupt=True,
                ignore_permission_denied=True, rust_timeout=STEP, yield_on_timeout=True)
            with contextlib.closing(changes):
                for batch in changes:
                    raise_if_stopped()  # a signal whose exception a finalizer swallowed
                    if not built:
                        watcher.rebuild("first build")
                        built = True
                    paths = watcher.changed({Path(os.path.normpath(path)) for _, path in batch})
                    if not paths:
                        continue
                    if watcher.inputs.retarget():  # a link re-pointed: its new target is the data
                        for path in watcher.inputs.by_path:
                            watcher.digests.setdefault(path, _digest(path))
                    watcher.note(paths)
                    shown = ", ".join(_shown(p) for p in paths) if len(paths) <= 3 else f"{len(paths)} files"
                    watcher.rebuild(f"{shown} changed")
                    if watcher.inputs.folders() != folders:
                        folders = watcher.inputs.folders()
                        break
                else:
                    return 0
    except (KeyboardInterrupt, Terminated):
        # watchfiles turns any signal that stops its wait into KeyboardInterrupt: which one came?
        number = received[0] if received else signal.SIGINT
        if number == signal.SIGINT:
            print(f"\n{_now()}  stopped; {_shown(watcher.inputs.out_dir)} holds the last good files",
                  file=sys.stderr, flush=True)
            return 0
        print(f"{_now()}  stopped (signal {number}); {_shown(watcher.inputs.out_dir)} holds the last "
              "good files", file=sys.stderr, flush=True)
        return 128 + number
    return 0
