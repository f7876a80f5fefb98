"""Writing outputs so that a failed build never touches what an earlier build wrote."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .errors import UserError


class Staging:
    """Collects the files of one build in a hidden folder inside the output folder.

    `commit()` renames them all into place (a rename within one file system: no file is ever seen
    half-written); leaving the `with` block without committing (an error, an interrupt) removes
    the hidden folder, so the output folder never holds a half-written or mixed build.
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.folder: Path | None = None
        self.staged: list[str] = []

    def __enter__(self) -> Staging:
        return self

    def path(self, relative: str) -> Path:
        """Where to write the file that will become `out_dir/relative` (its folder exists)."""
        if self.folder is None:
            try:
                self.out_dir.mkdir(parents=True, exist_ok=True)
                self.folder = Path(tempfile.mkdtemp(dir=self.out_dir, prefix=".build-"))
            except OSError as exc:
                raise UserError(f"{self.out_dir}: cannot be written: {exc.strerror or exc}") from None
        temp = self.folder / relative
        temp.parent.mkdir(parents=True, exist_ok=True)
        self.staged.append(relative)
        return temp

    def scratch(self, name: str) -> Path:
        """A path in the hidden folder for a file that is never committed (removed with the folder)."""
        path = self.path(name)
        self.staged.remove(name)
        return path

    def add(self, relative: str, data: bytes) -> Path:
        """Stage `data` as `out_dir/relative`; the final path."""
        temp = self.path(relative)
        try:
            temp.write_bytes(data)
        except OSError as exc:
            raise UserError(f"{self.out_dir / relative}: cannot be written: {exc.strerror or exc}") from None
        return self.out_dir / relative

    def commit(self) -> None:
        mode = 0o666 & ~_umask()
        for relative in self.staged:
            target = self.out_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = self.folder / relative
            os.chmod(temp, mode)
            os.replace(temp, target)
        self.staged.clear()
        self._clean()

    def __exit__(self, *exc_info) -> None:
        self.staged.clear()
        self._clean()

    def _clean(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
