"""What a build is asked to do, typed and frozen: the CLI makes one, nothing below it sees argparse."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from appeal.errors import UserError
from appeal.paths import DATA_DIR, OUTPUT_DIR


@dataclass(frozen=True)
class Signer:
    """The key to sign with and what the signature states (pdf.sign.load_signing loads it)."""

    key: Path
    reason: str | None = None
    location: str | None = None
    timestamp_url: str | None = None
    ltv: bool = False  # PAdES B-LTA: validation data and a document timestamp after the signature
    trust: tuple[Path, ...] = ()  # roots to validate the certificates against, besides the system's


@dataclass(frozen=True)
class Request:
    """A build, a letters run, a check or a watch, as the user asked for it: the paths named
    (None where a default applies: plan.settle decides, as the files are when it runs), the
    products named with --edition, and the options."""

    command: str = "build"
    data: Path = DATA_DIR / "appeal.yaml"
    words: Path = DATA_DIR / "words.yaml"
    endorsements: Path | None = None
    sign_on: Path | None = None
    out: Path = OUTPUT_DIR
    products: tuple[str, ...] = ()  # named with --edition; none: what a build writes
    recipients: Path | None = None
    letter: Path | None = None
    shard: tuple[int, int] | None = None
    marks: bool = False
    output_profile: Path | None = None
    signer: Signer | None = None
    final: bool = False  # refuse the examples' placeholders (inputs/placeholders.py)
    languages: tuple[str, ...] = ()  # named with --language; none: the original and every translation
    translations: Path | None = None  # the folder of translations (None: data/translations/)
    force: bool = False  # build even when the output folder holds what this build would write
    debug: bool = False

    @property
    def translation_folder(self) -> Path:
        return self.translations or DATA_DIR / "translations"

    @property
    def shard_text(self) -> str | None:
        """The shard as the user wrote it: `2/8`."""
        return f"{self.shard[0]}/{self.shard[1]}" if self.shard else None


def parse_shard(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise UserError(f"--shard: expected I/N with 1 <= I <= N, such as 2/8, not {text!r}")
    return int(match[1]), int(match[2])
