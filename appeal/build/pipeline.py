"""One build, in stages: request, plan, load, make, check, commit; build, letters and watch all use it."""

from __future__ import annotations

import functools
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from appeal.build.plan import Plan
from appeal.build.signals import raise_if_stopped
from appeal.errors import Collected, UserError, printable
from appeal.products.table import CHECKSUMS, PACKS, PRODUCTS, Product


def build(plan: Plan) -> int:
    """Make every product of `plan` into a staging folder, check them, and put them all in place."""
    from appeal.build.commit import Staging
    from appeal.build.workers import run_all
    from appeal.dates import source_date_epoch
    from appeal.layout.render import Renderer, stop_on_warnings

    started = time.perf_counter()
    request = plan.request
    from appeal.build.current import RECORD, made_record, recorded

    # What the build is made from, read before anything is (a file saved meanwhile differs next time).
    made_from = made_record(plan)
    loaded = load(plan)
    data, mailing, settings = loaded.data, loaded.mailing, loaded.settings
    renderer = Renderer()
    lines = []
    digests: dict = {}  # the packs' SHA-256, taken as they were written: SHA256SUMS reads none again
    with Staging(request.out) as staging, source_date_epoch(data.appeal.date), stop_on_warnings() as warned:
        # The first edition renders here and warms this process (fonts, hyphenation patterns, cffi:
        # 0.4 s); the others render in forked workers that start warm, on every core. The archive
        # is checked here once every worker has been forked (the letters' too): page-validation
        # leaves threads behind, a fork copies their locks but not the threads (Python 3.12 and
        # later warn of it), and a forked worker that validated in a process that had validated
        # before waited forever.
        editions = [*((product, data) for product in plan.editions if plan.original),
                    *translated_editions(plan.translated_editions, loaded.translated)]
        chosen = sorted(editions, key=lambda edition: not edition[0].archival)
        jobs = [functools.partial(make_edition, product, renderer, of, settings) for product, of in chosen]
        made = dict(zip((p.filename for p, _ in chosen), run_all(jobs), strict=True))
        for product, _ in editions:  # reported in the table's order, the original's first
            rendered = made[product.filename]
            path = staging.add(product.filename, rendered.data)
            lines.append(f"{path}  {rendered.pages} pages  {len(rendered.data) / 1000:.1f} kB")
        warned.check("the editions")
        if mailing is not None:
            from appeal.products.letters import write_letters

            lines += write_letters(renderer, data, mailing, staging, request.shard, settings.signing,
                                   memo=digests, translations=loaded.translated)
            warned.check("the letters")
        for product, _ in chosen:
            check_product(made[product.filename], product)
        raise_if_stopped()
        def finish(staging) -> None:
            sums = checksums(staging, digests)
            if made_from is not None:
                staging.add(RECORD, recorded(made_from, sums))
            elif (request.out / RECORD).exists():
                staging.remove(RECORD)  # a signed build: never taken as unchanged
            lines.append(str(staging.add(CHECKSUMS, sums)))  # put in place last

        staging.commit(finish)
    notes = [*(data.endorsements.notes if data.endorsements else ()), *(mailing.fallbacks if mailing else ()),
             *loaded.placeholders]
    for note in staging.recovered + notes:
        print(printable(f"note: {note}"), file=sys.stderr)
    print(printable("\n".join(lines)))
    from appeal.versions import subsetter

    print(f"built in {time.perf_counter() - started:.2f} s (fonts subset by {subsetter()})")
    return 0


def translated_editions(products, translated) -> list[tuple[Product, object]]:
    """Each of `products` in each translation's language (`translated`: their inputs.load.Data),
    made into the output folder's <language>/, with the data it is made from."""
    import dataclasses

    made = []
    for of in translated:
        language = of.appeal.language
        made += [(dataclasses.replace(product, filename=f"{language}/{product.filename}",
                                      language=language), of) for product in products]
    return made


def settings_for(plan: Plan):
    """What the recipes are given besides the data (products.settings.Settings): the press editions' output
    intent and crop marks, the signing key loaded and checked, before anything is laid out."""
    from appeal.products.settings import PressSettings, Settings

    press = None
    if plan.press:
        from appeal.pdf.pdfx import output_intent

        press = PressSettings(output_intent(plan.request.output_profile), plan.request.marks)
    signing = None
    if plan.request.signer is not None:
        from appeal.pdf.sign import load_signing

        signing = load_signing(plan.request.signer)
    return Settings(signing, press)


def make_edition(product: Product, renderer, data, settings):
    """One edition made, with what it read recorded (checked by check_product, in the process
    that forks no validating worker after it: build() checks last, watch in its own process)."""
    import dataclasses

    from appeal.layout.reads import recording

    with recording() as reads:
        rendered = product.make(renderer, data, settings)
    return dataclasses.replace(rendered, reads=frozenset(reads))


def check_product(rendered, product: Product) -> None:
    """The archive checked as verify would check it, an edition read on a screen as PDF/UA-1."""
    if product.archival:
        from appeal.verify.checks import self_check

        self_check(rendered.data, product.filename)
    elif product.kind == "deposit":
        from appeal.verify.checks import deposit_check

        deposit_check(rendered.data, product.filename)
    elif product.accessible:
        from appeal.verify.conformance import accessible_check

        accessible_check(rendered.data, product.filename)


@dataclass(frozen=True)
class Loaded:
    """Everything a plan's products are made from, read and checked: the appeal's data, the
    mailing (or None), and what the recipes are given besides (products.settings.Settings)."""

    data: object  # inputs.load.Data
    mailing: object | None  # inputs.mailing.Mailing
    settings: object  # products.settings.Settings
    translated: tuple = ()  # inputs.load.Data of each translation the plan makes editions of

    @property
    def placeholders(self) -> list[str]:
        """`file:line: key: still the placeholder "[…]"` for every value of the files the build
        prints from that still holds one of the shipped examples' placeholders."""
        from appeal.inputs.placeholders import lines

        mailing = self.mailing
        letters = [mailing.letter_source, mailing.recipients_source] if mailing else []
        return lines([self.data.source, self.data.sign_on_source, *letters,
                      *(data.source for data in self.translated)])


def load(plan: Plan) -> Loaded:
    """Every input the plan's products read, each file once and through the size-limited reader:
    the appeal, its words, the endorsements, the sign-on settings, the letter and its recipients,
    the output profile and the signing key. One UserError reports the problems of every file."""
    from appeal.inputs.load import load_data
    from appeal.inputs.models import read_words

    request = plan.request
    found = Collected()
    words = found.attempt(read_words, request.words)
    data = found.attempt(load_data, request.data, words, plan.endorsements,
                         sign_on_path=plan.sign_on if plan.reads_sign_on else None)
    mailing = None
    if plan.letters:
        from appeal.build.workers import in_child
        from appeal.inputs.mailing import load_mailing

        # Read in a child process: the recipients' parse leaves half-empty memory behind, which
        # the letters' workers would all inherit (workers.in_child).
        mailing = found.attempt(in_child, load_mailing, words, plan.letter, plan.recipients, request.shard)
    settings = found.attempt(settings_for, plan)
    translated = []
    if data is not None and words is not None:
        from appeal.inputs.load import translated_data

        _check_original(plan, data.appeal.language)
        translated = [made for path in plan.translations
                      if (made := found.attempt(translated_data, data, path, words)) is not None]
    found.raise_any()
    loaded = Loaded(data, mailing, settings, tuple(translated))
    if request.final and loaded.placeholders:
        raise UserError("--final: the data still holds the examples' placeholders, so nothing is built; "
                        "fill them in:\n" + "\n".join(loaded.placeholders))
    return loaded


def _check_original(plan: Plan, language: str) -> None:
    """A UserError for a tag named with --language that neither a translation nor the original has."""
    from appeal.inputs.models import lookup

    unknown = [tag for tag in plan.original_as if lookup(tag, [language]) is None]
    if unknown:
        folder = plan.request.translation_folder
        have = sorted(path.stem for path in folder.glob("*.yaml")) if folder.is_dir() else []
        raise UserError(f"--language {unknown[0]}: neither the original ({language}) nor a translation in "
                        f"{folder} ({', '.join(have) or 'none'}); a translation is a file "
                        f"{folder / (unknown[0] + '.yaml')}")


def checksums(staging, memo: dict | None = None) -> bytes:
    """SHA256SUMS for every PDF the output folder will hold: this build's and earlier ones'
    (`memo`: output.file_sha256's)."""
    from appeal.build.commit import file_sha256
    from appeal.inputs.models import is_language_tag

    folders = {str(Path(p.filename).parent) for p in PRODUCTS.values()} | {PACKS}
    # A translation's editions (<tag>/, <tag>/press/), this build's or an earlier one's.
    languages = [path.name for path in staging.out_dir.glob("*") if is_language_tag(path.name)]
    folders |= {f"{tag}{under}" for tag in languages for under in ("", "/press")}
    found = {str(p.relative_to(staging.out_dir)): p for folder in sorted(folders)
             for p in staging.out_dir.glob(f"{folder}/*.pdf")}
    for name in staging.removed:
        found.pop(name, None)
    found |= {name: staging.new(name) for name in staging.staged if name.endswith(".pdf")}
    first = [product.filename for product in PRODUCTS.values() if product.edition]
    order = sorted(found, key=lambda name: (name not in first, first.index(name) if name in first else 0,
                                            "/" in name, name))
    return "".join(f"{file_sha256(found[name], memo)}  {name}\n" for name in order).encode()
