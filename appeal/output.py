"""Writing outputs so that a failed build never touches what an earlier build wrote."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import UserError


class Staging:
    """Collects the files of one build as hidden temporary files beside their targets.

    `commit()` renames them all into place; leaving the `with` block without committing (an error,
    an interrupt) removes them, so a folder never holds a half-written or mixed build.
    """

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.staged: list[tuple[Path, Path]] = []

    def __enter__(self) -> Staging:
        return self

    def add(self, relative: str, data: bytes) -> Path:
        target = self.out_dir / relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.chmod(temp, 0o666 & ~_umask())
        except OSError as exc:
            raise UserError(f"{target}: cannot be written: {exc.strerror or exc}") from None
        self.staged.append((Path(temp), target))
        return target

    def commit(self) -> None:
        for temp, target in self.staged:
            os.replace(temp, target)
        self.staged.clear()

    def __exit__(self, *exc_info) -> None:
        for temp, _ in self.staged:
            temp.unlink(missing_ok=True)
        self.staged.clear()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
