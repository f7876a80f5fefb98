"""The command line's parser: the commands, their options and what each says in --help."""

from __future__ import annotations

import argparse
from pathlib import Path

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


def _force_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true",
                        help="build even when the output folder already holds what this build would write "
                             "(by default such a build says so and writes nothing)")


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
    _force_option(build)
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
            _force_option(command)
            _signing_options(command, "--sign-key",
                             "sign every pack and the print file with this PKCS#12 key")
    verify = commands.add_parser(
        "verify", help="check that a PDF is an unchanged archival edition",
        description="Check an archived copy: its signature, if it has one (signer, fingerprint, time, "
                    "intact, covering the whole file, the chain if --trust is given); that this tool "
                    "made it; that its embedded source data is intact and matches the text on its pages "
                    "and the SHA-256 in its colophon; that it is the edition rebuilt from that source "
                    "(byte for byte with the same stack, else page by page as rendered); and that it "
                    "passes PDF/A-3a and PDF/UA-1 validation. A signed file: its PAdES level, every "
                    "timestamp, and whether the data it carries validate it offline, now or --at a date "
                    "(never with the network). A deposit edition is proven against the data given with "
                    "--source; a signed letter pack gets the signature's checks. One line per check; exit "
                    "status 0 only when every check holds, 1 when one fails, 2 when the file cannot be "
                    "read.")
    verify.add_argument("pdf", type=Path, metavar="FILE.pdf")
    verify.add_argument("--extract", type=Path, metavar="PATH",
                        help="also write the embedded source data (appeal.yaml) to PATH, and a translated "
                             "archive's translation to translations/<tag>.yaml beside it")
    verify.add_argument("--words", type=Path, default=DATA_DIR / "words.yaml", metavar="PATH",
                        help="the words the edition was built with (default: data/words.yaml)")
    verify.add_argument("--trust", type=Path, action="append", default=[], metavar="CERT.pem",
                        help="a certificate (PEM or DER) to trust as the root of the signer's chain "
                             "(repeatable); without one the chain is reported as not checked")
    _source_option(verify, "the edition is rebuilt from them and compared")
    verify.add_argument("--at", type=_moment, metavar="DATE",
                        help="validate the signature as of this date (YYYY-MM-DD, or an ISO 8601 time) "
                             "instead of now, with only what the file carries: a long-term signature "
                             "(B-LTA) stays valid after its certificate expires, a B-B one does not")
    verify.add_argument("--debug", action="store_true", help="show a traceback on errors")
    sign = commands.add_parser(
        "sign", help="sign an archival edition or a letter pack (PAdES, invisible)",
        description="Sign an archival edition, a letter pack or the print file with a PAdES signature "
                    "(SHA-256, invisible, appended as an incremental update: the signed file is the "
                    "unsigned one plus a revision). The key's password comes from APPEAL_SIGN_PASSWORD "
                    "or is asked on the terminal, never from the command line. The signing time is "
                    "SOURCE_DATE_EPOCH or the date the file records (not earlier than the "
                    "certificate), so signing again gives the same bytes. The archive stays PDF/A-3a "
                    "and PDF/UA-1, and is checked before it is written. --ltv signs for the long term "
                    "(PAdES B-LTA); --extend renews such a signature's timestamps.")
    sign.add_argument("pdf", type=Path, metavar="FILE.pdf")
    sign.add_argument("--out", type=Path, metavar="SIGNED.pdf",
                      help="write the signed file here (default: replace FILE.pdf, atomically)")
    _source_option(sign, "it is proven against them before it is signed")
    sign.add_argument("--extend", action="store_true",
                      help="renew the long-term validation of a file signed with --ltv: fresh validation "
                           "data for its newest timestamp and a new document timestamp over everything, "
                           "appended (no key needed; needs --timestamp-url). Do it every few years, "
                           "before the date verify gives")
    _signing_options(sign, "--key", "the signer's key and certificate, a PKCS#12 file (.p12, .pfx)")
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


def _source_option(parser: argparse.ArgumentParser, then: str) -> None:
    parser.add_argument("--source", type=Path, action="append", default=[], metavar="PATH",
                        help="for a deposit edition, which carries no source: the appeal's data it was "
                             "built from (and the published endorsements, a .csv file, if its colophon "
                             f"lists them); {then}")


def _signing_options(parser: argparse.ArgumentParser, key_option: str, key_help: str,
                     required: bool = False) -> None:
    parser.add_argument(key_option, type=Path, metavar="KEY.p12", required=required,
                        help=f"{key_help}; its password from APPEAL_SIGN_PASSWORD or the terminal")
    parser.add_argument("--reason", metavar="TEXT", help="the reason the signature states")
    parser.add_argument("--location", metavar="TEXT", help="the place the signature states")
    parser.add_argument("--timestamp-url", metavar="URL",
                        help="add an RFC 3161 timestamp from this authority (PAdES B-T)")
    parser.add_argument("--ltv", action="store_true",
                        help="long-term validation (PAdES B-LTA): after signing, embed the certificates "
                             "of the signer and of the timestamp authority with their status fetched from "
                             "their authorities, then add a document timestamp; needs --timestamp-url")
    parser.add_argument("--trust", type=Path, action="append", default=[], metavar="CERT.pem",
                        help="with --ltv: a root certificate (PEM or DER) to validate the certificates "
                             "against, besides the system's and the one the key file carries (repeatable)")


def _moment(text: str):
    """`2031-06-16` (midday UTC) or an ISO 8601 time (UTC if it names no zone)."""
    import datetime as dt

    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (write 2031-06-16)") from None
    if len(text) == 10:
        moment = moment.replace(hour=12)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


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
