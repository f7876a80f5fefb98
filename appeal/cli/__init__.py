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
from appeal.cli.parser import COMMANDS, _parser
from appeal.errors import UserError, error_lines, printable


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


def _signer(args: argparse.Namespace, key: Path | None) -> Signer | None:
    if key is None:
        if getattr(args, "ltv", False):
            raise UserError("--ltv signs: give the key with --sign-key")
        return None
    return Signer(key, args.reason, args.location, args.timestamp_url, args.ltv, tuple(args.trust))


def request_from(args: argparse.Namespace) -> Request:
    """The build (letters, check, watch) that `args` ask for, typed and frozen."""
    signer = _signer(args, getattr(args, "sign_key", None))
    shard = getattr(args, "shard", None)
    return Request(
        command=args.command, data=args.data, words=args.words, endorsements=args.endorsements,
        sign_on=args.sign_on, out=args.out, products=tuple(getattr(args, "edition", None) or ()),
        recipients=args.recipients, letter=args.letter, shard=parse_shard(shard) if shard else None,
        marks=getattr(args, "marks", False), output_profile=getattr(args, "output_profile", None),
        signer=signer, final=getattr(args, "final", False), debug=args.debug,
        force=getattr(args, "force", False), languages=tuple(args.language or ()),
        translations=args.translations)


def _run(args: argparse.Namespace) -> int:
    if args.command in ("build", "letters", "check", "watch"):
        request = request_from(args)
        if args.command == "watch":
            from appeal.build.watch import run as watch

            return watch(request)
        plan = settle(request)
        if args.command == "check":
            return check(plan)
        if not request.force:
            from appeal.build.current import up_to_date

            if (line := up_to_date(plan)) is not None:
                print(printable(line))
                return 0
        from appeal.build.pipeline import build

        return build(plan)
    if args.command == "verify":
        from appeal.verify.report import run

        return run(args.pdf, args.extract, args.words, args.trust, args.at, args.source)
    if args.command == "schema":
        from appeal.inputs.schema import SCHEMA_DIR, write

        for path in write(args.out or SCHEMA_DIR):
            print(path)
        return 0
    if args.command == "sign":
        from appeal.verify.report import extend_edition, sign_edition

        if args.extend:
            if args.key or args.ltv or args.reason or args.location:
                raise UserError("--extend renews the timestamps of a signed file: it takes no key, "
                                "--ltv, --reason or --location")
            if not args.timestamp_url:
                raise UserError("--extend needs --timestamp-url: the authority of the new document timestamp")
            return extend_edition(args.pdf, args.out, args.timestamp_url, args.trust)
        if args.key is None:
            raise UserError("sign needs --key KEY.p12 (or --extend, to renew a long-term signature)")
        from appeal.pdf.sign import load_signing

        return sign_edition(args.pdf, args.out, load_signing(_signer(args, args.key)), args.source)
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
