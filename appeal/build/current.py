"""Whether the output folder already holds what a build would write: a rebuild that changes nothing.

A build records, with the files it puts in place, what it was made from (`RECORD` in the output
folder): the request; the SHA-256 of every data file the plan reads (and which optional ones
were absent), of this tool's code, templates, styles, fonts and images, and of SHA256SUMS; the
versions of every installed package and of the libraries that lay out and shape the text; the
environment variables that change the bytes. When all of these are again what the record says,
and every file still has the SHA-256 that SHA256SUMS lists, the same build would write the same
bytes: `build.py` says so and writes nothing (`--force` builds all the same). Computing this
imports no layout engine (a fresh process pays about 0.2 s in all, measured in the speed
section of docs/maintainers.md). A signed build is never skipped: a signature's timestamp is
the authority's clock, and its key is not an input recorded here.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import functools
import hashlib
import json
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

from appeal.build.plan import Plan
from appeal.paths import DATA_DIR, ROOT
from appeal.products.table import CHECKSUMS

RECORD = ".appeal-build.json"  # in the output folder: hidden, not a PDF, listed in no SHA256SUMS
# What changes the bytes (the time zone and the locale do not: test_archive builds under others).
_ENVIRONMENT = ("SOURCE_DATE_EPOCH", "APPEAL_SUBSETTER")
_FORMAT = 1


# The largest file hashed: an input larger is left to the build's loader to refuse.
_HASH_LIMIT = 256 * 2**20


class _Unhashable(Exception):
    """An input that is no regular file of a sane size (a FIFO, a device, /dev/zero): never
    taken as unchanged; the build's own reading of it says what is wrong."""


def _sha256(path: Path) -> str | None:
    """The SHA-256 of a regular file, None when there is none; read without blocking on a FIFO
    and never past _HASH_LIMIT (a hostile input must not hang the check)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise _Unhashable(str(path)) from exc
    with os.fdopen(descriptor, "rb") as file:
        status = os.fstat(file.fileno())
        if not stat.S_ISREG(status.st_mode) or status.st_size > _HASH_LIMIT:
            raise _Unhashable(str(path))
        digest = hashlib.sha256()
        while chunk := file.read(1 << 20):
            digest.update(chunk)
            if file.tell() > _HASH_LIMIT:
                raise _Unhashable(str(path))
        return digest.hexdigest()


def _tool() -> str:
    """The code, templates, styles, fonts, colour profiles and images: everything of this tool's
    a build may read besides the data. Read again only when a file's size or time changed since
    this process last read it (the fonts are 11 MB; a test session builds a hundred times)."""
    folders = ("appeal", "templates", "styles")
    files = [path for folder in folders for path in sorted((ROOT / folder).rglob("*"))
             if path.is_file() and "__pycache__" not in path.parts]
    seen = tuple((path, path.stat().st_mtime_ns, path.stat().st_size) for path in files)
    if _TOOL_DIGEST.get("seen") != seen:
        digest = hashlib.sha256()
        for path in files:
            digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
        _TOOL_DIGEST.update(seen=seen, digest=digest.hexdigest())
    return _TOOL_DIGEST["digest"]


_TOOL_DIGEST: dict = {}


def _library(name: str, function: str) -> str:
    """A shared library's version string, read with ctypes (WeasyPrint's own loading is slower)."""
    found = ctypes.util.find_library(name)
    if found is None:
        return "absent"
    try:
        library = ctypes.CDLL(found)
        call = getattr(library, function)
    except (OSError, AttributeError):
        return f"{found}, version unknown"
    call.restype = ctypes.c_char_p if function.endswith("string") else ctypes.c_int
    value = call()
    return f"{found} {value.decode() if isinstance(value, bytes) else value}"


@functools.cache  # what is installed does not change under a running process
def _stack() -> dict[str, str]:
    """Every installed package with its version, and the libraries that lay out, shape and subset.

    The packages are read from the names of their metadata folders (`pikepdf-10.18.0.dist-info`),
    which hold both: parsing every package's METADATA took 0.2 s of a fresh build."""
    packages = set()  # a package found on two entries of sys.path (a checkout's egg-info) is one
    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as found:
                packages.update(item.name for item in found
                                if item.name.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
    packages = sorted(packages)
    return {"packages": hashlib.sha256("\n".join(packages).encode()).hexdigest(),
            "pango": _library("pango-1.0", "pango_version_string"),
            "harfbuzz": _library("harfbuzz", "hb_version_string"),
            "harfbuzz-subset": _library("harfbuzz-subset", "hb_version_string"),
            "fontconfig": _library("fontconfig", "FcGetVersion")}


def _inputs(plan: Plan) -> Iterator[tuple[str, Path]]:
    """The files the plan reads, by their role (an optional one absent is recorded as absent)."""
    request = plan.request
    yield "data", request.data
    yield "words", request.words
    yield "endorsements", plan.endorsements or DATA_DIR / "endorsements.csv"
    yield "sign-on", plan.sign_on or DATA_DIR / "sign-on.yaml"
    if plan.letters:
        yield "letter", plan.letter
        yield "recipients", plan.recipients
    for path in plan.translations:
        yield f"translation {path.name}", path
    if request.output_profile is not None:
        yield "output profile", request.output_profile


def record(plan: Plan) -> dict:
    """What a build of `plan` is made from, as it is now (without SHA256SUMS: `checksums` adds it)."""
    request = dataclasses.asdict(plan.request)
    for name in ("out", "debug", "force"):  # where it goes and how it is run: not what it makes
        request.pop(name)
    return {
        "format": _FORMAT,
        "request": json.loads(json.dumps(request, default=str)),
        "inputs": {f"{role}: {path}": _sha256(path) for role, path in _inputs(plan)},
        "tool": _tool(),
        "stack": _stack(),
        "environment": {name: os.environ.get(name) for name in _ENVIRONMENT},
    }


def made_record(plan: Plan) -> dict | None:
    """The record a build of `plan` writes, or None: a signed build, or an input that is no
    regular file (the build's loader then says what is wrong with it)."""
    if plan.request.signer is not None:
        return None
    try:
        return record(plan)
    except _Unhashable:
        return None


def recorded(made: dict, checksums: bytes) -> bytes:
    """The record a build writes beside its files, once SHA256SUMS is known."""
    return json.dumps({**made, "checksums": hashlib.sha256(checksums).hexdigest()}, indent=1,
                      sort_keys=True).encode() + b"\n"


def up_to_date(plan: Plan) -> str | None:
    """Why the output folder already holds what this build would write (a line to print), or None
    when it must be built: anything differs, a file is missing or changed, or the build signs."""
    if plan.request.signer is not None:
        return None
    out = plan.request.out
    from appeal.build.commit import STAGING_PREFIX

    if any(out.glob(STAGING_PREFIX + "*")):
        return None  # a build's staging folder: the build recovers or removes it first
    try:
        stored = json.loads((out / RECORD).read_text(encoding="utf-8"))
        sums = (out / CHECKSUMS).read_bytes()
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.pop("checksums", None) != hashlib.sha256(sums).hexdigest():
        return None
    try:
        if stored != record(plan):
            return None
        files = 0
        for line in sums.decode("utf-8", "replace").splitlines():
            digest, _, name = line.partition("  ")
            listed = Path(name)
            if not name or listed.is_absolute() or ".." in listed.parts or _sha256(out / listed) != digest:
                return None  # a name outside the folder is read nowhere
            files += 1
    except _Unhashable:
        return None
    files = "its file is as it wrote it" if files == 1 else f"its {files} files are as it wrote them"
    return (f"{out}: up to date: the data, this tool and its stack are what the last build used, and "
            f"{files} (SHA256SUMS); nothing written (--force builds anyway)")
