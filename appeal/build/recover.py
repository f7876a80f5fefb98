"""Completing or removing what an interrupted build left in the output folder, from its journal."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import shutil
import sys
from pathlib import Path, PurePosixPath

from appeal.errors import UserError, printable

STAGING_PREFIX = ".build-"


OWNER_LOCK = "owner.lock"


JOURNAL = "journal"


def _owned(folder: Path) -> bool:
    """Whether a live build holds `folder` (its owner lock cannot be taken)."""
    try:
        fd = os.open(folder / OWNER_LOCK, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return False  # made under the folder lock with its owner lock at once: none means none
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    except OSError:
        return True  # cannot tell on this file system: leave it
    finally:
        os.close(fd)


def recover(out_dir: Path, keep: Path | None = None) -> list[str]:
    """Finish or remove the staging folders of builds that ended without cleaning up (call under
    the folder lock); one line for each commit completed."""
    try:
        return _recover(out_dir, keep)
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"{out_dir}: an interrupted build could not be completed: {exc}; remove the "
                        f"{STAGING_PREFIX}* folders there by hand once no build runs") from None


def _recover(out_dir: Path, keep: Path | None) -> list[str]:
    notes = []
    for folder in sorted(out_dir.glob(STAGING_PREFIX + "*")):
        if folder == keep or folder.is_symlink() or not folder.is_dir() or _owned(folder):
            continue
        journal = folder / JOURNAL
        if journal.is_file() and not journal.is_symlink():
            plan = _journal_plan(out_dir, folder, journal)
            for relative in plan["replace"]:
                staged = folder / "new" / relative
                if staged.exists():
                    (out_dir / relative).parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staged, out_dir / relative)
            for relative in plan["remove"]:
                (out_dir / relative).unlink(missing_ok=True)
            _sync(out_dir)
            journal.unlink()
            notes.append(f"completed a build that was interrupted while putting its files in place "
                         f"({len(plan['replace'])} files, {folder.name})")
        shutil.rmtree(folder, ignore_errors=True)
    return notes


def _journal_plan(out_dir: Path, folder: Path, journal: Path) -> dict[str, list[str]]:
    """The journal's plan, every entry checked before any is acted on: a path relative to the output
    folder, without `..`, that reaches no symbolic link on its way down, and whose staged file
    is a regular file inside the staging folder. A journal planted in a shared output folder must
    not delete or write anything outside it; a journal that fails is refused, and nothing is touched."""
    plan = json.loads(journal.read_text(encoding="utf-8"))
    if not isinstance(plan, dict) or not all(isinstance(plan.get(k), list) for k in ("replace", "remove")):
        raise ValueError(f"{journal} is not a journal this tool writes")
    if (folder / "new").is_symlink():
        raise UserError(f"{out_dir}: the interrupted build's staging folder {folder.name}/new is a symbolic "
                        "link; its journal is refused and nothing was changed (remove the folder by hand)")
    for key in ("replace", "remove"):
        for relative in plan[key]:
            problem = _unsafe(out_dir, relative)
            if problem is None and key == "replace":
                problem = _unsafe(folder / "new", relative, staged_file=True)
            if problem is not None:
                raise UserError(f"{out_dir}: the interrupted build's journal {journal} lists "
                                f"{printable(repr(relative))} to {key}, which {problem}; the journal "
                                "is refused and nothing was changed (remove the folder "
                                f"{folder.name} by hand once no build runs)")
    return plan


def _unsafe(base: Path, relative: object, staged_file: bool = False) -> str | None:
    """Why `relative` may not be acted on below `base`, or None."""
    if not isinstance(relative, str) or not relative or "\0" in relative:
        return "is not a file name"
    path = PurePosixPath(relative)
    if path.is_absolute():
        return "is an absolute path"
    if ".." in path.parts or "." in relative.split("/"):
        return "climbs out of the folder (..)"
    current = base
    for part in path.parts[:-1]:
        current = current / part
        if current.is_symlink():
            return f"passes through the symbolic link {current.name}"
        if current.exists() and not current.is_dir():
            return f"passes through {current.name}, which is not a folder"
    target = base / relative
    if target.is_symlink():
        return "is a symbolic link"
    if staged_file and target.exists() and not target.is_file():
        return "is not a regular file"
    if target.exists() and target.is_dir():
        return "is a folder"
    return None


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _sync(folder: Path) -> None:
    """Flush the file system holding `folder` (one syncfs call, not one fsync per file)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                if ctypes.CDLL(None, use_errno=True).syncfs(fd) == 0:
                    return
            finally:
                os.close(fd)
    os.sync()
