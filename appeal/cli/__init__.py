"""The command line: build the editions, verify an archived copy, write letters."""

from __future__ import annotations

import argparse
import errno
import gc
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from appeal.build.plan import Plan, settle
from appeal.build.request import Request, Signer, parse_shard
from appeal.build.signals import Terminated, terminate_as_exception
from appeal.errors import UserError, error_lines, printable
from appeal.paths import DATA_DIR, OUTPUT_DIR

COMMANDS = ("build", "verify", "letters", "check", "sign", "watch", "schema")

DESCRIPTION = """\
Build the print-ready editions of the Joint Appeal to Uphold the Convention on the Prohibition
of Anti-personnel Landmines and the Convention on Cluster Munitions from its YAML data.

commands:
  build (the default)  write the handouts (A4, US Letter), the archival edition (PDF/A-3a and
                       PDF/UA-1, its source data inside), the press editions (PDF/X-4, A4 and
                       A5), the booklets (A5 on A4, half Letter on Letter), the sign-on sheets
                       when data/sign-on.yaml exists, the letters when data/recipients.yaml
                       exists, and SHA256SUMS, into the output folder
  letters              a cover letter with the appeal for every recipient (data/recipients.yaml)
  check                validate the data without building anything
  verify FILE.pdf      check that a PDF is an unchanged archival edition of the appeal, and
                       its signature if it has one
  sign FILE.pdf        sign an archival edition or a letter pack (PAdES, invisible)
  watch                build, then rebuild what a saved change touches, until Ctrl-C
  schema               write the JSON Schemas of the data files into schemas/, for editors

Run `python build.py COMMAND --help` for a command's options. Exit status: 0 done,
2 a problem with the input (the message names file, line and key), 1 anything else."""


def _final_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--final", action="store_true",
                        help="for what is printed or sent: refuse to build while the data still holds "
                             "the examples' bracketed placeholders, such as [Name of the signer] (exit 2)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build.py", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    build = commands.add_parser(
        "build", help="write the editions (the default command)",
        description="Write output/appeal-a4.pdf, output/appeal-letter.pdf, output/appeal-archive.pdf, "
                    "output/press/appeal-a4.pdf and appeal-a5.pdf, output/appeal-booklet.pdf and "
                    "appeal-booklet-letter.pdf, the sign-on sheets when their settings exist, the "
                    "letters (as the letters command does) when the recipients file exists, and "
                    "output/SHA256SUMS from the appeal's data. Nothing in the output folder changes "
                    "unless every file is built. Dates come from the data (SOURCE_DATE_EPOCH, if set, "
                    "gives the modification date), so the same input gives the same bytes.")
    _common(build)
    build.add_argument("--edition", action="append",
                       choices=editions_names(),
                       help="build only this edition (repeatable; default: the handouts, the archive, the "
                            "press editions and the booklets, the sign-on sheets when data/sign-on.yaml "
                            "exists, the letters when the recipients file exists)")
    build.add_argument("--marks", action="store_true",
                       help="crop marks on the press editions, outside the bleed (most print shops add "
                            "their own; none by default)")
    build.add_argument("--output-profile", type=Path, metavar="FILE.icc",
                       help="the print shop's own ICC output profile (CMYK) for the press editions "
                            "(default: the bundled FOGRA39 profile)")
    _letter_options(build)
    _final_option(build)
    _signing_options(build, "--sign-key", "sign the archival edition and the letters with this PKCS#12 key")
    # The commands that read the data: their options are the build's.
    for name, help_text, description in (
        ("letters", "write a cover letter with the appeal for every recipient",
         "Write DIR/letters/<id>.pdf for every recipient (the cover letter, then the appeal with its "
         "signature page) and DIR/letters.pdf, every pack in one file for a print run, each pack "
         "starting on an odd page. Every record is checked before anything is written."),
        ("check", "validate the data without building anything",
         "Read and validate the appeal, its words, the letter and the recipients as a build would, "
         "in a second and without writing anything: every problem with file, line and key path. What "
         "only layout can tell (a letter that runs over its page, an address line too wide for the "
         "window) is checked when the letters are built."),
    ):
        command = commands.add_parser(name, help=help_text, description=description)
        _common(command)
        _letter_options(command)
        if name == "letters":
            _final_option(command)
            _signing_options(command, "--sign-key",
                             "sign every pack and the print file with this PKCS#12 key")
    verify = commands.add_parser(
        "verify", help="check that a PDF is an unchanged archival edition",
        description="Check an archived copy: its signature, if it has one (signer, fingerprint, time, "
                    "intact, covering the whole file, the chain if --trust is given); that this tool "
                    "made it; that its embedded source data is intact and matches the text on its pages "
                    "and the SHA-256 in its colophon; that it is the edition rebuilt from that source "
                    "(byte for byte with the same stack, else page by page as rendered); and that it "
                    "passes PDF/A-3a and PDF/UA-1 validation. A signed letter pack gets the signature's "
                    "checks. One line per check; exit status 0 only when every check holds, 1 when one "
                    "fails, 2 when the file cannot be read.")
    verify.add_argument("pdf", type=Path, metavar="FILE.pdf")
    verify.add_argument("--extract", type=Path, metavar="PATH",
                        help="also write the embedded source data (appeal.yaml) to PATH, and a translated "
                             "archive's translation to translations/<tag>.yaml beside it")
    verify.add_argument("--words", type=Path, default=DATA_DIR / "words.yaml", metavar="PATH",
                        help="the words the edition was built with (default: data/words.yaml)")
    verify.add_argument("--trust", type=Path, action="append", default=[], metavar="CERT.pem",
                        help="a certificate (PEM or DER) to trust as the root of the signer's chain "
                             "(repeatable); without one the chain is reported as not checked")
    verify.add_argument("--debug", action="store_true", help="show a traceback on errors")
    sign = commands.add_parser(
        "sign", help="sign an archival edition or a letter pack (PAdES, invisible)",
        description="Sign an archival edition, a letter pack or the print file with a PAdES signature "
                    "(SHA-256, invisible, appended as an incremental update: the signed file is the "
                    "unsigned one plus a revision). The key's password comes from APPEAL_SIGN_PASSWORD "
                    "or is asked on the terminal, never from the command line. The signing time is "
                    "SOURCE_DATE_EPOCH or the date the file records (not earlier than the "
                    "certificate), so signing again gives the same bytes. The archive stays PDF/A-3a "
                    "and PDF/UA-1, and is checked before it is written.")
    sign.add_argument("pdf", type=Path, metavar="FILE.pdf")
    sign.add_argument("--out", type=Path, metavar="SIGNED.pdf",
                      help="write the signed file here (default: replace FILE.pdf, atomically)")
    _signing_options(sign, "--key", "the signer's key and certificate, a PKCS#12 file (.p12, .pfx)",
                     required=True)
    sign.add_argument("--debug", action="store_true", help="show a traceback on errors")
    watch = commands.add_parser(
        "watch", help="build, then rebuild what each saved change touches, until Ctrl-C",
        description="Build once, then stay running and rebuild whenever a file the build reads is saved "
                    "(the data files, templates, styles, fonts, the signature image): only the editions "
                    "that read it (a change to the recipients rebuilds the letters that changed and the "
                    "print file, not the archive). Each file is replaced as soon as it is made, the A4 "
                    "handout first, by an atomic rename, so a PDF viewer that reloads on change shows "
                    "the new version. A rebuild that fails prints the build's messages and leaves the "
                    "last good files in place. One time-stamped line per rebuild. Ctrl-C stops it. "
                    "For what you publish, run a build: it writes every file or none.")
    _common(watch)
    watch.add_argument("--edition", action="append", choices=editions_names(),
                       help="watch only this edition (repeatable; default: what a build writes)")
    watch.add_argument("--marks", action="store_true", help="crop marks on the press editions")
    watch.add_argument("--output-profile", type=Path, metavar="FILE.icc",
                       help="the print shop's ICC output profile for the press editions")
    watch.add_argument("--recipients", type=Path, metavar="PATH",
                       help="the recipients (default: data/recipients.yaml)")
    watch.add_argument("--letter", type=Path, metavar="PATH",
                       help="the cover letter (default: data/letter.yaml)")
    schema = commands.add_parser(
        "schema", help="write the JSON Schemas of the data files into schemas/",
        description="Write a JSON Schema (draft 2020-12) of each YAML data file (appeal, words, letter, "
                    "recipients, sign-on) into schemas/NAME.schema.json, from the models the build "
                    "validates with. Each data file names its schema on its first line, so that editors "
                    "using the YAML language server (VS Code, Neovim, JetBrains) complete keys, show "
                    "their descriptions and underline mistakes. Run it after changing a model; a test "
                    "fails until the committed schemas match.")
    schema.add_argument("--out", type=Path, metavar="DIR", help="write them here instead of schemas/")
    schema.add_argument("--debug", action="store_true", help="show a traceback on errors")
    return parser


def _signing_options(parser: argparse.ArgumentParser, key_option: str, key_help: str,
                     required: bool = False) -> None:
    parser.add_argument(key_option, type=Path, metavar="KEY.p12", required=required,
                        help=f"{key_help}; its password from APPEAL_SIGN_PASSWORD or the terminal")
    parser.add_argument("--reason", metavar="TEXT", help="the reason the signature states")
    parser.add_argument("--location", metavar="TEXT", help="the place the signature states")
    parser.add_argument("--timestamp-url", metavar="URL",
                        help="add an RFC 3161 timestamp from this authority (PAdES B-T)")


def editions_names() -> list[str]:
    """The names --edition takes, from the table of products (products/table.py)."""
    from appeal.products.table import NAMED

    return NAMED


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=DATA_DIR / "appeal.yaml", metavar="PATH",
                        help="the appeal's data (default: data/appeal.yaml)")
    parser.add_argument("--words", type=Path, default=DATA_DIR / "words.yaml", metavar="PATH",
                        help="the words printed around the data, by language (default: data/words.yaml)")
    parser.add_argument("--endorsements", type=Path, metavar="PATH",
                        help="endorsements gathered since publication, a CSV export (default: "
                             "data/endorsements.csv when it exists; a file named here must exist)")
    parser.add_argument("--sign-on", type=Path, metavar="PATH",
                        help="the sign-on sheet's settings (default: data/sign-on.yaml when it exists; "
                             "a file named here must exist)")
    parser.add_argument("--out", type=Path, default=OUTPUT_DIR, metavar="DIR",
                        help="the output folder (default: output/)")
    parser.add_argument("--language", action="append", metavar="TAG",
                        help="build the editions in this language (repeatable): the original's (en) "
                             "or a translation's, data/translations/TAG.yaml, into DIR/TAG/; `all` for "
                             "the original and every translation (the default)")
    parser.add_argument("--translations", type=Path, metavar="DIR",
                        help="the folder of translations (default: data/translations/)")
    parser.add_argument("--debug", action="store_true", help="show a traceback on errors")


def _letter_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--recipients", type=Path, metavar="PATH",
                        help="the recipients (default: data/recipients.yaml; a file named here must exist)")
    parser.add_argument("--letter", type=Path, metavar="PATH",
                        help="the cover letter (default: data/letter.yaml; a file named here must exist)")
    parser.add_argument("--shard", metavar="I/N",
                        help="build only the I-th of N slices of the recipients (by a hash of each id, "
                             "so every machine computes the same slices); the print file is then "
                             "letters-shard-I-of-N.pdf")


def _refused_url() -> tuple[type[Exception], ...]:
    """The fetcher's refusal once it is loaded: --help and check need not import WeasyPrint."""
    return (fetcher.RefusedURL,) if (fetcher := sys.modules.get("appeal.layout.fetcher")) else ()


def main(argv: Sequence[str] | None = None) -> int:
    _fewer_collections()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv.insert(0, "build")
    args = _parser().parse_args(argv)
    _log_weasyprint()
    try:
        _check_subsetter_choice()
        with terminate_as_exception():
            return _run(args)
    except (UserError, *_refused_url()) as exc:
        if args.debug:
            raise
        print(error_lines(str(exc)), file=sys.stderr)
        return getattr(exc, "exit_status", 2)
    except BrokenPipeError:
        # The reader of our output went away (`build.py verify x.pdf | head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except OSError as exc:
        # A file system failing under the build (a full disk, a full /tmp where WeasyPrint keeps
        # its fonts): the staging folder is gone by now, the output folder as it was.
        if args.debug:
            raise
        action = "cannot be written" if exc.errno in _WRITE_ERRORS else "failed"
        where = f"; nothing in {args.out} changed" if getattr(args, "out", None) else ""
        print(f"error: {printable(str(exc.filename or 'a file'))}: {action}: {exc.strerror or exc}{where}",
              file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Terminated) as exc:
        if args.debug:
            raise
        if getattr(exc, "after_commit", False):  # the signal was held while the files went in
            print(f"\ninterrupted after the build was put in place: {args.out} holds it, whole",
                  file=sys.stderr)
        else:
            where = f": nothing in {args.out} changed" if getattr(args, "out", None) else ""
            print(f"\ninterrupted{where}", file=sys.stderr)
        return 128 + (exc.signal if isinstance(exc, Terminated) else signal.SIGINT)


_WRITE_ERRORS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS}


def request_from(args: argparse.Namespace) -> Request:
    """The build (letters, check, watch) that `args` ask for, typed and frozen."""
    key = getattr(args, "sign_key", None)
    signer = Signer(key, args.reason, args.location, args.timestamp_url) if key else None
    shard = getattr(args, "shard", None)
    return Request(
        command=args.command, data=args.data, words=args.words, endorsements=args.endorsements,
        sign_on=args.sign_on, out=args.out, products=tuple(getattr(args, "edition", None) or ()),
        recipients=args.recipients, letter=args.letter, shard=parse_shard(shard) if shard else None,
        marks=getattr(args, "marks", False), output_profile=getattr(args, "output_profile", None),
        signer=signer, final=getattr(args, "final", False), debug=args.debug,
        languages=tuple(args.language or ()), translations=args.translations)


def _run(args: argparse.Namespace) -> int:
    if args.command in ("build", "letters", "check", "watch"):
        request = request_from(args)
        if args.command == "watch":
            from appeal.build.watch import run as watch

            return watch(request)
        plan = settle(request)
        if args.command == "check":
            return check(plan)
        from appeal.build.pipeline import build

        return build(plan)
    if args.command == "verify":
        from appeal.verify.report import run

        return run(args.pdf, args.extract, args.words, args.trust)
    if args.command == "schema":
        from appeal.inputs.schema import SCHEMA_DIR, write

        for path in write(args.out or SCHEMA_DIR):
            print(path)
        return 0
    if args.command == "sign":
        from appeal.pdf.sign import load_signing
        from appeal.verify.report import sign_edition

        signer = Signer(args.key, args.reason, args.location, args.timestamp_url)
        return sign_edition(args.pdf, args.out, load_signing(signer))
    raise AssertionError(args.command)


def check(plan: Plan) -> int:
    """Validate every data file a build reads; one line per file, nothing written."""
    from appeal.build.pipeline import load

    request = plan.request
    loaded = load(plan)
    data, mailing = loaded.data, loaded.mailing
    appeal = data.appeal
    print(f"ok  {request.data}: {len(appeal.body)} paragraphs, {len(appeal.signatories)} signatories, "
          f"language {appeal.language}")
    print(f"ok  {request.words}: the words for {appeal.language}")
    if data.endorsements is not None:
        endorsements = data.endorsements
        print(f"ok  {plan.endorsements}: {len(endorsements.published)} endorsements to publish of "
              f"{endorsements.rows} rows, in {len(data.groups)} group(s)")
        for note in endorsements.notes:
            print(f"note: {note}")
    if data.sign_on is not None:
        print(f"ok  {plan.sign_on}: the sign-on sheet, {data.sign_on.pages} page(s) of rows from "
              f"No. {data.next_number}")
    for translated in loaded.translated:
        print(f"ok  {translated.source.path}: the translation into {translated.appeal.language}, "
              f"{len(translated.appeal.body)} paragraphs and {len(translated.appeal.signatories)} roles")
    if mailing is not None:
        print(f"ok  {plan.letter}: dated {mailing.letter.date.isoformat()}, "
              f"{1 + len(mailing.letter.translations)} language(s)")
        print(f"ok  {plan.recipients}: {len(mailing.packs)} recipients"
              + (f" in shard {request.shard_text}" if request.shard else ""))
        for note in mailing.fallbacks:
            print(f"note: {note}")
    for line in loaded.placeholders:
        print(f"note: {line}")
    return 0


def _fewer_collections() -> None:
    """Let Python's cyclic garbage collector run less often.

    Laying out a long signature list makes millions of objects that live until the page is
    written; with the default thresholds the collector walks them again and again (3.7 of 9.5 s
    of laying out 5,000 endorsements, measured). Collections every 100,000 allocations, and full
    ones rarely, took 6.3 s; memory stayed the same (a document's boxes are freed by reference
    counting when it is written).
    """
    gc.set_threshold(100_000, 50, 100)


def _check_subsetter_choice() -> None:
    from appeal.versions import SUBSETTER_CHOICES, SUBSETTER_VARIABLE, chosen_subsetter, subsetter

    choice = chosen_subsetter()
    if choice is None:
        return
    if choice not in SUBSETTER_CHOICES:
        raise UserError(f"{SUBSETTER_VARIABLE}={printable(os.environ[SUBSETTER_VARIABLE])}: must be "
                        "'fonttools' or 'harfbuzz' (or unset: HarfBuzz-Subset where it is installed)")
    if choice == "harfbuzz" and not subsetter().startswith("HarfBuzz"):
        raise UserError(f"{SUBSETTER_VARIABLE}=harfbuzz: HarfBuzz-Subset (4.1 or later) is not installed "
                        "here; install it with: sudo apt-get install libharfbuzz-subset0")


class _SubsetterNotice(logging.Filter):
    """WeasyPrint repeats the fontTools fallback notice for every font; say it once, as a note."""

    said = False

    def filter(self, record: logging.LogRecord) -> bool:
        if "Using fontTools instead of HarfBuzz-Subset" in record.getMessage():
            if _SubsetterNotice.said:
                return False
            _SubsetterNotice.said = True
            from appeal.versions import chosen_subsetter

            record.msg, record.args = (
                "note: fonts are subset with fontTools, as APPEAL_SUBSETTER=fonttools asks"
                if chosen_subsetter() == "fonttools" else
                "note: fonts are subset with fontTools, which is slower (a default build takes about "
                "1.7 times as long); install Debian's libharfbuzz-subset0"), ()
        return True


def _log_weasyprint() -> None:
    logger = logging.getLogger("weasyprint")
    if not any(isinstance(f, _SubsetterNotice) for f in logger.filters):
        logger.addFilter(_SubsetterNotice())
    if not any(isinstance(h, logging.StreamHandler) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
