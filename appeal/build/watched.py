"""The files watch follows, which products each one touches, and what each holds (a save or a touch).

The data files are known by what they are to the build (the table of products says who reads
them); templates and assets by what each product read when it was last made.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from appeal.build.request import Request
from appeal.paths import DATA_DIR, DEFAULT_PROFILE, STYLE_DIR, TEMPLATE_DIR
from appeal.products.table import PRODUCTS

TRANSLATIONS = "translations"  # what a translation file touches: every translated edition

TEMPLATE_SUFFIXES = {".html"}
STYLE_SUFFIXES = {".css", ".ttf", ".otf", ".woff", ".woff2", ".icc", ".icm", ".png", ".jpg", ".jpeg", ".svg"}


class Inputs:
    """The files a build reads, and which products each one touches."""

    def __init__(self, request: Request) -> None:
        def where(path: Path | None, default: str | None = None) -> Path | None:
            path = path or (DATA_DIR / default if default else None)
            return Path(os.path.abspath(path)) if path else None

        self.out_dir = Path(os.path.abspath(request.out))
        # The data files, by the names the table's `reads` give them; a default that does not
        # exist yet is watched too, and read when it appears (data/endorsements.csv, data/sign-on.yaml).
        self.data = {name: path for name, path in (
            ("appeal", where(request.data)), ("words", where(request.words)),
            ("endorsements", where(request.endorsements, "endorsements.csv")),
            ("sign-on", where(request.sign_on, "sign-on.yaml")),
            ("letter", where(request.letter, "letter.yaml")),
            ("recipients", where(request.recipients, "recipients.yaml")),
            ("output-profile", where(request.output_profile or DEFAULT_PROFILE))) if path is not None}
        # The translations' folder: every <tag>.yaml in it, there now or added later.
        self.translations = Path(os.path.abspath(request.translation_folder))
        self.by_path: dict[Path, str] = {}
        self.retarget()

    def retarget(self) -> bool:
        """Follow the data files' links again, since one may have been re-pointed: a data file
        that is a symbolic link changes where its target is, so that is watched too. Whether the
        files to watch changed."""
        before = self.by_path
        self.by_path = {path: name for name, path in self.data.items()}
        if self.translations.is_dir():
            self.by_path |= {Path(os.path.abspath(path)): TRANSLATIONS
                             for path in sorted(self.translations.glob("*.yaml"))}
        self.by_path |= {target: name for path, name in list(self.by_path.items())
                         if (target := _target(path)) is not None}
        return self.by_path != before

    def folders(self) -> list[Path]:
        """The folders to watch (each one level deep): those of the data (and of the files their
        links point to), the templates, the styles."""
        styles = [STYLE_DIR, *(p for p in sorted(STYLE_DIR.rglob("*")) if p.is_dir())]
        found = {path.parent for path in self.by_path} | {TEMPLATE_DIR, *styles, self.translations}
        return sorted(folder for folder in found if folder.is_dir())

    def relevant(self, path: Path) -> bool:
        """Whether a build may read `path`: a data file, a template, a style, a font, an image."""
        if path in self.by_path:
            return True  # even in the output folder (`--out data`): the data comes first
        if path == self.out_dir or self.out_dir in path.parents:
            return False
        if path.name.startswith((".", "#")) or path.name.endswith("~"):
            return False  # an editor's swap, lock or backup file
        if path.parent == TEMPLATE_DIR:
            return path.suffix in TEMPLATE_SUFFIXES
        if path.parent == self.translations:
            return path.suffix == ".yaml"
        in_styles = path.parent == STYLE_DIR or STYLE_DIR in path.parents
        return in_styles and path.suffix.lower() in STYLE_SUFFIXES

    def touched(self, path: Path, reads: dict[str, frozenset[Path]]) -> set[str]:
        """The products that read `path`: for a data file, those whose row in the table reads it;
        for a template, a stylesheet, a font or an image, those whose last making read it (`reads`,
        by product: what the pipeline recorded). A product not made yet is rebuilt anyway."""
        name = self.by_path.get(path) or (TRANSLATIONS if path.parent == self.translations else None)
        if name == TRANSLATIONS:  # a translation: its editions (the letters enclose it too)
            return {TRANSLATIONS, "letters"}
        if name is not None:
            return {product.name for product in PRODUCTS.values() if name in product.reads}
        real = Path(os.path.realpath(path))
        return {product for product, read in reads.items() if real in read}


def _target(path: Path) -> Path | None:
    """Where a symbolic link at `path` leads, when it is one and leads elsewhere."""
    try:
        return path.resolve(strict=True) if path.is_symlink() else None
    except (OSError, RuntimeError):  # a dangling link, a loop
        return None


# Past this, a file is no input the build would read (the largest limit is the profile's 16 MB):
# it is told apart by its size and time, not read whole.
DIGEST_LIMIT = 64 * 2**20


def digest(path: Path) -> str | None:
    """What a file holds, to tell a save from a touch: its SHA-256; for a file that is not a
    regular file (`/dev/zero`, a FIFO) or larger than DIGEST_LIMIT, its kind, size and time, read
    no further."""
    try:
        status = os.stat(path)
        if not stat.S_ISREG(status.st_mode) or status.st_size > DIGEST_LIMIT:
            return f"{status.st_mode:o} {status.st_size} {status.st_mtime_ns}"
        hashed = hashlib.sha256()
        with open(path, "rb") as file:
            while chunk := file.read(2**20):
                hashed.update(chunk)
                if file.tell() > DIGEST_LIMIT:  # grown while read
                    return f"{status.st_mode:o} {file.tell()} {status.st_mtime_ns}"
        return hashed.hexdigest()
    except OSError:
        return None
