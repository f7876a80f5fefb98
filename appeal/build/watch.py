"""`build.py watch`: build, then rebuild what each saved change touches, in one warm process.

The process keeps what a fresh build pays for again and again: WeasyPrint imported, fonts and
hyphenation patterns loaded, stylesheets compiled, the letters' chunks laid out. It watches the
folders of the files the build reads (the data, templates/, styles/ and its subfolders), never
the output folder, with watchfiles (the Rust notify library: inotify on Linux), so that an editor
that saves by writing a new file and renaming it over the old one is seen like any other.

A change is mapped to the products that read the file (build/watched.py): a data file to those
whose row in the table of products reads it (a recipient to the letters, the sign-on settings to
the sign-on sheets), a template, stylesheet, font or image to those whose last making read it, as
the pipeline recorded (the Jinja loader, the URL fetcher and the stylesheets see every file).
Each edition is put in place as soon as it is made, by the output folder's all-or-nothing commit
(a rename: a PDF viewer that reloads on change never reads half a file), the A4 handout first.
A rebuild that fails prints the build's messages and leaves the earlier files in place; what it
did not rebuild is rebuilt with the next change.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import signal
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from appeal.build.request import Request
from appeal.build.watched import TRANSLATIONS, Inputs, digest
from appeal.errors import UserError, error_lines, printable
from appeal.layout.fetcher import RefusedURL
from appeal.paths import STYLE_DIR, TEMPLATE_DIR
from appeal.products.table import CHECKSUMS, EDITIONS

# watchfiles yields once no change has come for STEP ms (an editor's "save all" writes several
# files within a few); DEBOUNCE ms at most are grouped into one rebuild.
STEP = 50
DEBOUNCE = 1_600
LETTERS = "letters"


def _now() -> str:
    return time.strftime("%H:%M:%S")


def _shown(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


class Watcher:
    """One warm process: the renderer, the letters' cache, what each product read, and what is
    left to rebuild."""

    def __init__(self, request: Request) -> None:
        from appeal.layout.render import Renderer
        from appeal.products.letters import LetterCache

        self.request = request
        self.inputs = Inputs(request)
        self.renderer = Renderer()
        self.letters = LetterCache()
        self.digests: dict[Path, str | None] = {}
        self.checksum_memo: dict = {}
        self.reads: dict[str, frozenset[Path]] = {}  # by product: the templates and assets it read
        # Not rebuilt since their inputs changed: the editions by name, the letters, and the
        # translations' editions (TRANSLATIONS), which every input of an edition touches too.
        self.stale: set[str] = {*EDITIONS, LETTERS, TRANSLATIONS}
        for folder in self.inputs.folders():
            for path in folder.iterdir():
                path = Path(os.path.abspath(path))
                if self.inputs.relevant(path):
                    self.digests[path] = digest(path)
        for path in self.inputs.by_path:
            self.digests.setdefault(path, digest(path))

    def touched(self, path: Path) -> set[str]:
        return self.inputs.touched(path, self.reads)

    def changed(self, paths: Iterable[Path]) -> list[Path]:
        """Those of `paths` whose content differs from the last time it was seen (an editor that
        saves without a change, or touches a file, gives no rebuild)."""
        found = []
        for path in sorted(paths):
            held = digest(path)
            if self.digests.get(path, "unseen") != held:
                self.digests[path] = held
                found.append(path)
        return found

    def note(self, paths: list[Path]) -> None:
        """Mark what `paths` touch as stale, and forget what was made from them."""
        from appeal.layout.render import environment

        for path in paths:
            touched = self.touched(path)
            if touched & set(EDITIONS):
                touched.add(TRANSLATIONS)
            self.stale |= touched
            if path.parent == TEMPLATE_DIR:
                environment.cache_clear()
            elif STYLE_DIR in path.parents:
                from appeal.layout.render import Renderer

                self.renderer = Renderer()  # stylesheets and fonts are compiled once per renderer
            if LETTERS in touched and self.inputs.by_path.get(path) not in ("letter", "recipients"):
                self.letters.clear()

    def rebuild(self, reason: str) -> bool:
        """Rebuild what is stale; one status line (and the build's messages when it fails)."""
        from appeal.build.pipeline import check_product, load, make_edition, translated_editions
        from appeal.build.plan import settle
        from appeal.build.workers import run_all
        from appeal.dates import source_date_epoch
        from appeal.layout.render import stop_on_warnings

        report = _Report(time.perf_counter())
        try:
            plan = settle(self.request)  # as the files are now: a default may have appeared or gone
            self.stale -= {*EDITIONS} - {p.name for p in plan.editions}  # editions not built are not stale
            chosen = tuple(p for p in plan.editions if p.name in self.stale and plan.original)
            letters = plan.letters and LETTERS in self.stale
            translated = plan.translated_editions if TRANSLATIONS in self.stale and plan.translations else ()
            if not chosen and not letters and not translated:
                self.stale.discard(TRANSLATIONS)
                return True
            plan = dataclasses.replace(plan, editions=chosen, letters=letters)
            loaded = load(plan)
            data, mailing, settings = loaded.data, loaded.mailing, loaded.settings
            with source_date_epoch(data.appeal.date), stop_on_warnings() as warned:
                def put(made) -> None:  # here, in the watcher's process, which validates
                    product, rendered = made
                    warned.check(product.filename)
                    check_product(rendered, product)
                    report.made(product.filename, self.commit({product.filename: rendered.data}))
                    self.reads[product.name] = rendered.reads
                    self.stale.discard(product.name)

                # The A4 handout (or the first edition chosen) first, then the archive, both here
                # (the archive's checks must run in this process: page-validation's threads do not
                # survive a fork); the others in forked workers, each put in place as it comes.
                here = chosen[:1] + tuple(p for p in chosen[1:] if p.archival)
                job = functools.partial(_job, renderer=self.renderer, data=data, settings=settings,
                                        make=make_edition)
                for product in here:
                    put(job(product))
                run_all([functools.partial(job, product) for product in chosen if product not in here],
                        done=put, warm_first=False)
                # Each translation's editions, here: few, and the archive's checks must run here.
                for product, made_of in translated_editions(translated, loaded.translated):
                    rendered = make_edition(product, self.renderer, made_of, settings)
                    warned.check(product.filename)
                    check_product(rendered, product)
                    report.made(product.filename, self.commit({product.filename: rendered.data}))
                self.stale.discard(TRANSLATIONS)
                if mailing is not None:
                    self.write_letters(data, mailing, warned, loaded.translated)
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
            if self.request.debug:
                raise
            return report.failed(reason, (
                f"unexpected {type(exc).__name__}: {printable(str(exc))} (watch with --debug shows the "
                "traceback)"))
        print(f"{_now()}  {reason}: {report.done()}", flush=True)
        return True

    def saving(self) -> bool:
        """Whether a data file holds other bytes than when its change was seen: an editor is
        writing it still (the change that ends the save comes as the next batch, and rebuilds)."""
        return any(path in self.digests and digest(path) != self.digests[path]
                   for path in self.inputs.by_path)

    def commit(self, files: dict[str, bytes]) -> bool:
        """Put `files` in place (and SHA256SUMS), unless each came out as it is already: whether
        anything was replaced (a viewer reloads a replaced file)."""
        from appeal.build.commit import Staging
        from appeal.build.pipeline import checksums

        out = Path(self.request.out)
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

    def write_letters(self, data, mailing, warned, translations=()) -> None:
        from appeal.build.commit import Staging
        from appeal.build.pipeline import checksums
        from appeal.products.letters import write_letters

        reads: set[Path] = set()
        with Staging(self.request.out) as staging:
            write_letters(self.renderer, data, mailing, staging, None, cache=self.letters,
                          memo=self.checksum_memo, reads=reads, translations=translations)
            warned.check("the letters")
            staging.commit(lambda staging: staging.add(CHECKSUMS, checksums(staging, self.checksum_memo)))
        self.reads[LETTERS] = frozenset(reads)


def _job(product, renderer, data, settings, make):
    return product, make(product, renderer, data, settings)


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


def run(request: Request) -> int:
    """Build, then rebuild on every change until Ctrl-C (exit 0) or SIGTERM (exit 143)."""
    import watchfiles

    from appeal.build.plan import settle
    from appeal.build.signals import Terminated, raise_if_stopped, received

    watcher = Watcher(request)
    # A data file that is not a regular file (`/dev/zero`, a FIFO) is an error before anything is
    # watched; so is a named file that does not exist.
    for name, path in watcher.inputs.data.items():
        if path.exists() and not path.is_file():
            flag = "data" if name == "appeal" else name
            raise UserError(f"{_shown(path)}: not a regular file (--{flag}); watch reads and follows files")
    plan = settle(request)
    names = {product.name for product in plan.products}
    folders = watcher.inputs.folders()
    data = ", ".join(_shown(path) for path in watcher.inputs.data.values()  # the rest: in templates/, styles/
                     if path.is_file() and watcher.touched(path) & names
                     and not {TEMPLATE_DIR, STYLE_DIR} & set(path.parents))
    if watcher.inputs.translations.is_dir() and plan.translations:
        data += f", {_shown(watcher.inputs.translations)}/"
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
                            watcher.digests.setdefault(path, digest(path))
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
