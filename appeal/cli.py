"""The command line: build the editions, verify an archived copy, write letters."""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from .errors import UserError
from .fetcher import RefusedURL
from .paths import DATA_DIR, OUTPUT_DIR

COMMANDS = ("build", "verify")

DESCRIPTION = """\
Build the print-ready editions of the Joint Appeal to Uphold the Convention on the Prohibition
of Anti-personnel Landmines and the Convention on Cluster Munitions from its YAML data.

commands:
  build (the default)  write the handouts (A4, US Letter) into the output folder
  verify FILE.pdf      check that a PDF is an unchanged edition of the appeal

Run `python build.py COMMAND --help` for a command's options. Exit status: 0 done,
2 a problem with the input (the message names file, line and key), 1 anything else."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build.py", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    build = commands.add_parser(
        "build", help="write the editions (the default command)",
        description="Write output/appeal-a4.pdf and output/appeal-letter.pdf from the appeal's data. "
                    "Nothing in the output folder changes unless every file is built.")
    _common(build)
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=DATA_DIR / "appeal.yaml", metavar="PATH",
                        help="the appeal's data (default: data/appeal.yaml)")
    parser.add_argument("--words", type=Path, default=DATA_DIR / "words.yaml", metavar="PATH",
                        help="the words printed around the data, by language (default: data/words.yaml)")
    parser.add_argument("--out", type=Path, default=OUTPUT_DIR, metavar="DIR",
                        help="the output folder (default: output/)")
    parser.add_argument("--debug", action="store_true", help="show a traceback on errors")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv.insert(0, "build")
    args = _parser().parse_args(argv)
    _log_weasyprint()
    try:
        if args.command == "build":
            return build(args)
        raise AssertionError(args.command)
    except UserError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_status
    except RefusedURL as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2


def build(args: argparse.Namespace) -> int:
    from . import editions
    from .fonts import check_coverage
    from .model import load_appeal, load_words
    from .output import Staging
    from .parallel import run_all
    from .render import Renderer

    started = time.perf_counter()
    appeal, source = load_appeal(args.data)
    words = load_words(args.words, appeal.language, source)
    check_coverage(appeal.texts(), source)
    renderer = Renderer()
    written = []
    with Staging(args.out) as staging, source_date_epoch(appeal.date):
        jobs = [functools.partial(editions.handout, renderer, appeal, words, edition.paper)
                for edition in editions.HANDOUTS]
        for edition, rendered in zip(editions.HANDOUTS, run_all(jobs), strict=True):
            written.append((staging.add(edition.filename, rendered.data), rendered))
        staging.commit()
    for path, rendered in written:
        print(f"{path}  {rendered.pages} pages  {len(rendered.data) / 1000:.1f} kB")
    print(f"built {len(written)} files in {time.perf_counter() - started:.2f} s")
    return 0


@contextlib.contextmanager
def source_date_epoch(day) -> Iterator[None]:
    """Give fontTools' subsetter the appeal's date for the fonts' `head` times, unless the caller set one.

    fontTools otherwise stamps the build time into every subset font, and the bytes change.
    """
    import calendar

    if os.environ.get("SOURCE_DATE_EPOCH"):
        yield
        return
    os.environ["SOURCE_DATE_EPOCH"] = str(calendar.timegm(day.timetuple()))
    try:
        yield
    finally:
        del os.environ["SOURCE_DATE_EPOCH"]


class _SubsetterNotice(logging.Filter):
    """WeasyPrint repeats the fontTools fallback notice for every font; say it once, as a note."""

    said = False

    def filter(self, record: logging.LogRecord) -> bool:
        if "Using fontTools instead of HarfBuzz-Subset" in record.getMessage():
            if _SubsetterNotice.said:
                return False
            _SubsetterNotice.said = True
            record.msg, record.args = ("note: fonts are subset with fontTools; install Debian's "
                                       "libharfbuzz-subset0 for faster builds"), ()
        return True


def _log_weasyprint() -> None:
    logger = logging.getLogger("weasyprint")
    if not any(isinstance(f, _SubsetterNotice) for f in logger.filters):
        logger.addFilter(_SubsetterNotice())
    if not any(isinstance(h, logging.StreamHandler) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
