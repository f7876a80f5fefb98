"""What a product read: the files the Jinja loader, the URL fetcher and the stylesheets open, recorded."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

_open: list[set[Path]] = []


def record(path: Path | str) -> None:
    """Note that `path` was read, in every recording open (a stylesheet compiled while an edition
    is made is recorded for both)."""
    if _open:
        path = Path(os.path.realpath(path))
        for reads in _open:
            reads.add(path)


@contextlib.contextmanager
def recording() -> Iterator[set[Path]]:
    """The set of the files read inside the block, their real paths (links followed)."""
    reads: set[Path] = set()
    _open.append(reads)
    try:
        yield reads
    finally:
        _open.remove(reads)
