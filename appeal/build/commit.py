"""Putting a build's files in place all or nothing, even when the build is killed halfway.

A build writes every file into its own hidden staging folder inside the output folder
(`.build-XXXX/new/`), then commits it:

1. Under the output folder's lock (`.appeal-build.lock`), the last files that depend on the
   folder's contents (SHA256SUMS) are computed and staged, and every target is checked writable.
2. The staged files are flushed to disk, then a journal listing every file to put in place and
   every file to remove is written and renamed to `journal`: the commit point.
3. Each earlier file is kept aside as a hard link in `.build-XXXX/old/`, and the new file renamed
   over it (SHA256SUMS last, so `sha256sum -c` never passes a half-committed folder). Removed files
   are moved aside the same way.
4. The journal is deleted, then the staging folder.

An error before the commit point removes the staging folder: the folder is as it was. An error
during step 3 (a folder made read-only, a file in the way) moves the kept files back: the
folder is as it was. A build killed during step 3 (SIGKILL, a power cut after the journal reached
the disk) leaves its journal; the next build, under the lock, finds the staging folder, sees that
no live process owns it, and completes the commit from the journal before doing anything else
(`recover`). A staging folder without a journal whose owner is gone is simply removed: each
build holds an exclusive lock (flock) on `.build-XXXX/owner.lock` while it lives, and the kernel
releases it however the process ends, so two builds at once never remove each other's work.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from appeal.build.recover import JOURNAL, OWNER_LOCK, STAGING_PREFIX, _fsync_dir, _sync, recover
from appeal.build.signals import swapped
from appeal.errors import UserError

FOLDER_LOCK = ".appeal-build.lock"

# Lock files a forked worker must not keep open: a worker outliving a killed build would
# otherwise keep the build's staging folder looking alive.
inherited_fds: set[int] = set()


class Staging:
    """Collects the files of one build in a hidden folder inside the output folder; `commit()`
    puts them all in place, leaving the `with` block without committing removes them."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.folder: Path | None = None
        self.staged: list[str] = []
        self.removed: list[str] = []
        self._owner: int | None = None
        self.recovered: list[str] = []

    def __enter__(self) -> Staging:
        return self

    def _open(self) -> Path:
        """The staging folder, made on first use (a build that fails validation makes none)."""
        if self.folder is None:
            try:
                self.out_dir.mkdir(parents=True, exist_ok=True)
                with folder_lock(self.out_dir):
                    self.recovered += recover(self.out_dir)
                    folder = Path(tempfile.mkdtemp(dir=self.out_dir, prefix=STAGING_PREFIX))
                    self._owner = _lock_owner(folder)
                    self.folder = folder
            except OSError as exc:
                raise UserError(f"{self.out_dir}: cannot be written: {exc.strerror or exc}") from None
        return self.folder

    def new(self, relative: str) -> Path:
        return self._open() / "new" / relative

    def path(self, relative: str) -> Path:
        """Where to write the file that will become `out_dir/relative` (its folder exists)."""
        temp = self.new(relative)
        temp.parent.mkdir(parents=True, exist_ok=True)
        if relative not in self.staged:
            self.staged.append(relative)
        return temp

    def scratch(self, name: str) -> Path:
        """A path in the staging folder for a file that is never committed (removed with the folder)."""
        path = self._open() / "scratch" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def add(self, relative: str, data: bytes) -> Path:
        """Stage `data` as `out_dir/relative`; the final path."""
        write_file(self.path(relative), data)
        return self.out_dir / relative

    def unstage(self, relative: str) -> None:
        """Leave `out_dir/relative` as it is after all (a file staged that came out the same)."""
        if relative in self.staged:
            self.staged.remove(relative)
            self.new(relative).unlink(missing_ok=True)

    def remove(self, relative: str) -> None:
        """Remove `out_dir/relative` when the build commits."""
        if relative not in self.removed:
            self.removed.append(relative)

    def commit(self, finish: Callable[[Staging], None] | None = None) -> None:
        """Put every staged file in place, all or nothing (the module's docstring says how).

        `finish` runs under the output folder's lock just before, to stage what depends on the
        folder's contents as this commit leaves them (SHA256SUMS). A stop signal that came while
        the files went in is acted on after: its exception then has `after_commit` set.
        """
        folder = self._open()
        committed = False
        try:
            with folder_lock(self.out_dir):
                self.recovered += recover(self.out_dir, keep=folder)
                if finish is not None:
                    finish(self)
                # What `finish` staged goes in last: a reader checking the folder against
                # SHA256SUMS sees a half-committed folder fail the check.
                replace = list(self.staged)
                mode = 0o666 & ~_umask()
                self._check_targets(replace)
                _sync(folder)
                with _signals_held():
                    self._put_all_in_place(folder, replace, mode)
                    committed = True
            self.staged.clear()
            self.removed.clear()
            self._clean()
        except BaseException as exc:
            if committed and not isinstance(exc, Exception):  # KeyboardInterrupt, SIGTERM's
                exc.after_commit = True
            raise

    def _put_all_in_place(self, folder: Path, replace: list[str], mode: int) -> None:
        _write_journal(folder, replace, self.removed)
        done: list[tuple[str, str]] = []
        relative = ""
        try:
            for relative in replace:
                _put_in_place(folder, self.out_dir, relative, mode)
                done.append(("replace", relative))
            for relative in self.removed:
                if _set_aside(folder, self.out_dir, relative):
                    done.append(("remove", relative))
            _sync(self.out_dir)
            (folder / JOURNAL).unlink()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            try:
                _roll_back(folder, self.out_dir, done)
                (folder / JOURNAL).unlink()
            except OSError:
                raise UserError(f"{self.out_dir / relative}: cannot be put in place: {reason}; "
                                "the earlier files could not all be put back either: the next "
                                "build completes this one") from None
            raise UserError(f"{self.out_dir / relative}: cannot be put in place: {reason}; "
                            f"nothing in {self.out_dir} changed") from None

    def _check_targets(self, replace: list[str]) -> None:
        """Fail before the commit point, not halfway, when a target cannot be written."""
        device = os.stat(self.folder).st_dev
        for relative in [*replace, *self.removed]:
            target = self.out_dir / relative
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.is_dir() and not target.is_symlink():
                    raise UserError(f"{target}: is a folder; the build would put a file there")
                if not os.access(target.parent, os.W_OK | os.X_OK):
                    raise OSError(errno.EACCES, os.strerror(errno.EACCES), str(target.parent))
                if os.stat(target.parent).st_dev != device:
                    raise OSError(errno.EXDEV, "on another file system than the output folder",
                                  str(target.parent))
            except OSError as exc:
                raise UserError(f"{exc.filename or target}: cannot be written: {exc.strerror or exc}; "
                                f"nothing in {self.out_dir} changed") from None

    def __exit__(self, *exc_info) -> None:
        self.staged.clear()
        self.removed.clear()
        self._clean()

    def _clean(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
        if self._owner is not None:
            inherited_fds.discard(self._owner)
            os.close(self._owner)
            self._owner = None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_file(path: Path, data: bytes) -> None:
    """Write `data`; a full disk or a refused write is a message, not a traceback."""
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise UserError(f"{path}: cannot be written: {exc.strerror or exc}") from None


def write_atomically(target: Path, data: bytes) -> None:
    """Write `data` to `target` through a temporary file renamed over it: never half a file."""
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        temp.write_bytes(data)
        os.replace(temp, target)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise UserError(f"{target}: cannot be written: {exc.strerror or exc}") from None


@contextlib.contextmanager
def folder_lock(out_dir: Path) -> Iterator[None]:
    """The output folder's lock, held while staging folders are made, recovered and committed."""
    fd = os.open(out_dir / FOLDER_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    try:
        with contextlib.suppress(OSError):  # a file system without locks: no concurrent builds there
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _lock_owner(folder: Path) -> int:
    """Hold `folder/owner.lock` for as long as this build lives; the descriptor."""
    fd = os.open(folder / OWNER_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.write(fd, f"{os.getpid()}\n".encode())
    inherited_fds.add(fd)
    return fd


def _write_journal(folder: Path, replace: list[str], remove: list[str]) -> None:
    temp = folder / (JOURNAL + ".tmp")
    with temp.open("w", encoding="utf-8") as file:
        json.dump({"replace": replace, "remove": remove}, file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temp, folder / JOURNAL)
    _fsync_dir(folder)


def _put_in_place(folder: Path, out_dir: Path, relative: str, mode: int) -> None:
    """Keep the earlier file aside (a hard link, so the target never goes missing), then rename the
    new one over it."""
    target, staged = out_dir / relative, folder / "new" / relative
    if target.exists():
        kept = folder / "old" / relative
        kept.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(target, kept)
        except OSError:
            shutil.copy2(target, kept)  # a file system without hard links
    os.chmod(staged, mode)
    os.replace(staged, target)


def _set_aside(folder: Path, out_dir: Path, relative: str) -> bool:
    target = out_dir / relative
    if not target.exists():
        return False
    kept = folder / "old" / relative
    kept.parent.mkdir(parents=True, exist_ok=True)
    os.replace(target, kept)
    return True


def _roll_back(folder: Path, out_dir: Path, done: list[tuple[str, str]]) -> None:
    """Undo the steps done so far, newest first: the earlier files back in place."""
    for action, relative in reversed(done):
        target, kept = out_dir / relative, folder / "old" / relative
        if kept.exists():
            os.replace(kept, target)
        elif action == "replace":
            target.unlink(missing_ok=True)


def file_sha256(path: Path, memo: dict | None = None) -> str:
    """The SHA-256 of the file at `path`, in hex. With `memo` (build.py watch keeps one), digests are
    remembered by path, inode, size and modification time, so that a rebuild of one file does not
    read a thousand letter packs again."""
    if memo is None:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    key = _memo_key(path)
    if key not in memo:
        memo[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return memo[key]


def _memo_key(path: Path) -> tuple:
    status = path.stat()
    return (str(path), status.st_ino, status.st_size, status.st_mtime_ns)


def remember_sha256(memo: dict, path: Path, digest: str) -> None:
    """Record in `memo` the SHA-256 of the file just written at `path`, taken from its bytes in memory."""
    memo[_memo_key(path)] = digest


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM while files are put in place: the commit is short, and finishing it
    beats undoing it; the signal is acted on right after, by the handler the caller had.

    The Python handlers are swapped for ones that only note the signal. (Blocking the signals
    with pthread_sigmask would not do: it blocks them in this thread only, the kernel then hands
    them to another thread, and Python runs the handler in the main thread all the same.)
    """
    pending: list[int] = []
    try:
        with swapped(lambda number, frame: pending.append(number), set_from_python_only=True):
            yield
    finally:
        for number in dict.fromkeys(pending):
            signal.raise_signal(number)


