"""One build, in stages: settle what the request names, plan the products, load, make, check, commit."""

from __future__ import annotations

import argparse
import functools
import sys
import time

from appeal.build.signals import raise_if_stopped
from appeal.errors import UserError, printable
from appeal.paths import DATA_DIR


def settle_letter_paths(args: argparse.Namespace) -> None:
    """Settle which letter files a build reads: a path the user names must exist; with none named,
    the letters are built when data/recipients.yaml exists. `args.letters` says whether they are."""
    named = [option for option, value in (("--recipients", args.recipients), ("--letter", args.letter))
             if value is not None]
    args.recipients = args.recipients or DATA_DIR / "recipients.yaml"
    args.letter = args.letter or DATA_DIR / "letter.yaml"
    if args.command == "letters":
        args.edition = ["letters"]
    if args.command != "check" and args.edition:
        args.letters = "letters" in args.edition
    else:
        args.letters = bool(named) or args.recipients.is_file()
    if not args.letters:
        given = named + (["--shard"] if args.shard else [])
        if given:
            them = "them" if len(given) > 1 else "it"
            raise UserError(f"{' and '.join(given)}: only the letters use {them}, and this build writes "
                            "none; add --edition letters")
    for option, path in (("--recipients", args.recipients), ("--letter", args.letter)):
        if args.letters and not path.is_file():
            what = "no such file" if not path.exists() else "not a file"
            raise UserError(f"{path}: {what} ({option[2:]} of the letters)")


def settle_optional_paths(args: argparse.Namespace) -> None:
    """A file named with --endorsements or --sign-on must exist; without one, data/endorsements.csv
    and data/sign-on.yaml are read when they exist."""
    for option, default in (("endorsements", "endorsements.csv"), ("sign_on", "sign-on.yaml")):
        named = getattr(args, option)
        if named is None:
            setattr(args, option, DATA_DIR / default if (DATA_DIR / default).is_file() else None)
        elif not named.is_file():
            what = "no such file" if not named.exists() else "not a file"
            raise UserError(f"{named}: {what} (--{option.replace('_', '-')})")


def build(args: argparse.Namespace) -> int:
    from appeal.build.commit import Staging
    from appeal.build.workers import run_all
    from appeal.layout.render import Renderer, source_date_epoch, stop_on_warnings
    from appeal.products import editions

    started = time.perf_counter()
    names = planned(args)
    chosen = [editions.EDITIONS[name] for name in names if name != "letters"]
    data, mailing = load(args, letters="letters" in names, sign_on=any(e.kind == "sign-on" for e in chosen))
    press = None
    if any(e.kind == "press" for e in chosen):
        from appeal.pdf.pdfx import output_intent

        press = editions.PressSettings(output_intent(args.output_profile), args.marks)
    elif getattr(args, "marks", False) or getattr(args, "output_profile", None):
        raise UserError("--marks and --output-profile: only the press editions use them, and this build "
                        "writes none; add --edition press-a4 or press-a5")
    signing = None
    if args.sign_key:
        from appeal.pdf.sign import signing_from

        signing = signing_from(args)
    renderer = Renderer()
    lines = []
    digests: dict = {}  # the packs' SHA-256, taken as they were written: SHA256SUMS reads none again
    with Staging(args.out) as staging, source_date_epoch(data.appeal.date), stop_on_warnings() as warned:
        # The first edition renders here and warms this process (fonts, hyphenation patterns, cffi:
        # 0.4 s); the others render in forked workers that start warm, on every core. The archive
        # is checked here once every worker has been forked (the letters' too): page-validation
        # leaves threads behind, a fork copies their locks but not the threads (Python 3.12 and
        # later warn of it), and a forked worker that validated in a process that had validated
        # before waited forever.
        chosen.sort(key=lambda edition: not edition.archival)
        jobs = [functools.partial(make_edition, edition, renderer, data, signing, press, check=False)
                for edition in chosen]
        made = dict(zip((e.name for e in chosen), run_all(jobs), strict=True))
        for edition in editions.EDITIONS.values():  # reported in the table's order
            if edition.name in made:
                path = staging.add(edition.filename, made[edition.name].data)
                lines.append(f"{path}  {made[edition.name].pages} pages  "
                             f"{len(made[edition.name].data) / 1000:.1f} kB")
        warned.check("the editions")
        if mailing is not None:
            from appeal.products.letters import write_letters

            lines += write_letters(renderer, mailing, staging, args.shard, signing, memo=digests)
            warned.check("the letters")
        for edition in chosen:
            if edition.archival:
                check_archive(made[edition.name], edition)
        raise_if_stopped()
        staging.commit(lambda staging: lines.append(str(staging.add(editions.CHECKSUMS,
                                                                        checksums(staging, digests)))))
    notes = [*(data.endorsements.notes if data.endorsements else ()), *(mailing.fallbacks if mailing else ())]
    for note in staging.recovered + notes:
        print(printable(f"note: {note}"), file=sys.stderr)
    print(printable("\n".join(lines)))
    from appeal.versions import subsetter

    print(f"built in {time.perf_counter() - started:.2f} s (fonts subset by {subsetter()})")
    return 0


def planned(args: argparse.Namespace) -> list[str]:
    """The editions (and "letters") a build with `args` writes: those named with --edition, else
    the handouts, the archive, the press editions and the booklets, the sign-on sheets when their
    settings exist, the letters when the recipients do."""
    from appeal.products import editions

    names = args.edition or [*(e.name for e in editions.ALWAYS),
                             *(e.name for e in editions.SIGN_ON if args.sign_on),
                             *(["letters"] if args.letters else [])]
    if any(editions.EDITIONS[name].kind == "sign-on" for name in names if name != "letters") \
            and args.sign_on is None:
        raise UserError(f"--edition sign-on-*: no sign-on sheet settings ({DATA_DIR / 'sign-on.yaml'} or "
                        "--sign-on PATH)")
    return names


def make_edition(edition, renderer, data, signing, press, check: bool = True):
    """One edition made, and with `check` the archive checked as verify would check it (in the
    process that forks no more workers after it: build() checks it last, watch in its own)."""
    from appeal.products import editions

    rendered = editions.make(edition, renderer, data, signing, press)
    if check:
        check_archive(rendered, edition)
    return rendered


def check_archive(rendered, edition) -> None:
    if edition.archival:
        from appeal.verify.checks import self_check

        self_check(rendered.data, edition.filename)


def load(args: argparse.Namespace, letters: bool, sign_on: bool = True):
    """The validated data a build reads (data.Data), and the mailing (or None)."""
    from appeal.inputs.load import load_data

    data = load_data(args.data, args.words, args.endorsements,
                     sign_on_path=args.sign_on if sign_on else None)
    if not letters:
        return data, None
    from appeal.inputs.mailing import load_mailing, parse_shard

    shard = parse_shard(args.shard) if args.shard else None
    return data, load_mailing(data, args.words, args.letter, args.recipients, shard)


def checksums(staging, memo: dict | None = None) -> bytes:
    """SHA256SUMS for every PDF the output folder will hold: this build's and earlier ones'
    (`memo`: output.file_sha256's)."""
    from appeal.build.commit import file_sha256
    from appeal.products import editions

    found = {str(p.relative_to(staging.out_dir)): p for pattern in ("*.pdf", "press/*.pdf", "letters/*.pdf")
             for p in staging.out_dir.glob(pattern)}
    for name in staging.removed:
        found.pop(name, None)
    found |= {name: staging.new(name) for name in staging.staged if name.endswith(".pdf")}
    first = [e.filename for e in editions.EDITIONS.values()]
    order = sorted(found, key=lambda name: (name not in first, first.index(name) if name in first else 0,
                                            "/" in name, name))
    return "".join(f"{file_sha256(found[name], memo)}  {name}\n" for name in order).encode()
