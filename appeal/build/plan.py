"""The plan of a build: which products it makes, from which files, settled as the files are now."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from appeal.build.request import Request
from appeal.errors import UserError
from appeal.paths import DATA_DIR
from appeal.products.table import PRODUCTS, ROWS, Product


@dataclass(frozen=True)
class Plan:
    """What one build does: the request, the editions it makes (in the table's order), whether it
    writes the letters, and the path of every data file it reads."""

    request: Request
    editions: tuple[Product, ...]
    letters: bool
    endorsements: Path | None  # None: there are none
    sign_on: Path | None  # None: no sign-on sheet settings
    letter: Path
    recipients: Path
    # The translations whose editions it makes (data/translations/<tag>.yaml), and whether it makes
    # the original's; `original_as` the tags named with --language that no translation has, which
    # the load holds to the original's language.
    translations: tuple[Path, ...] = ()
    original: bool = True
    original_as: tuple[str, ...] = ()

    @property
    def translated_editions(self) -> tuple[Product, ...]:
        """The editions made in each translation's language: the handouts, the archive, the press
        editions and the booklets (its sign-on sheets are not made yet)."""
        return tuple(product for product in self.editions if product.kind in TRANSLATED_KINDS)

    @property
    def products(self) -> tuple[Product, ...]:
        """Every row this build writes, SHA256SUMS last."""
        letters = (PRODUCTS["letters"],) if self.letters else ()
        return (*self.editions, *letters, PRODUCTS["checksums"])

    @property
    def press(self) -> bool:
        return any(product.kind == "press" for product in self.editions)

    @property
    def reads_sign_on(self) -> bool:
        """Whether the sign-on settings are loaded: for a sign-on sheet, and by `check` whenever
        they exist."""
        return self.request.command == "check" or any(p.kind == "sign-on" for p in self.editions)


def settle(request: Request) -> Plan:
    """The plan for `request`: a path the user names must exist; with none named, the letters are
    built when data/recipients.yaml exists, the sign-on sheets when data/sign-on.yaml does, and
    data/endorsements.csv is read when it exists."""
    named_letter_files = [option for option, value in (("--recipients", request.recipients),
                                                       ("--letter", request.letter)) if value is not None]
    recipients = request.recipients or DATA_DIR / "recipients.yaml"
    letter = request.letter or DATA_DIR / "letter.yaml"
    named = ("letters",) if request.command == "letters" else request.products
    if request.command != "check" and named:
        letters = "letters" in named
    else:
        letters = bool(named_letter_files) or recipients.is_file()
    if not letters:
        given = named_letter_files + (["--shard"] if request.shard else [])
        if given:
            them = "them" if len(given) > 1 else "it"
            raise UserError(f"{' and '.join(given)}: only the letters use {them}, and this build writes "
                            "none; add --edition letters")
    for option, path in (("--recipients", recipients), ("--letter", letter)):
        if letters and not path.is_file():
            raise UserError(f"{path}: {_missing(path)} ({option[2:]} of the letters)")
    endorsements = _optional(request.endorsements, "endorsements.csv", "--endorsements")
    sign_on = _optional(request.sign_on, "sign-on.yaml", "--sign-on")
    if named:
        chosen = {name for name in named if name != "letters"}
    else:
        wanted = {"always", *(["sign-on"] if sign_on else [])}
        chosen = {row.name for row in ROWS if row.edition and row.when in wanted}
    editions = tuple(row for row in ROWS if row.name in chosen)
    if any(product.kind == "sign-on" for product in editions) and sign_on is None:
        raise UserError(f"--edition sign-on-*: no sign-on sheet settings ({DATA_DIR / 'sign-on.yaml'} or "
                        "--sign-on PATH)")
    translations, original, original_as = _languages(request)
    plan = Plan(request, editions, letters, endorsements, sign_on, letter, recipients, translations,
                original, original_as)
    if request.command != "check" and not plan.press and (request.marks or request.output_profile):
        raise UserError("--marks and --output-profile: only the press editions use them, and this build "
                        "writes none; add --edition press-a4 or press-a5")
    return plan


TRANSLATED_KINDS = ("handout", "archive", "press", "booklet")


def _languages(request: Request) -> tuple[tuple[Path, ...], bool, tuple[str, ...]]:
    """The translations a build makes editions of, whether it makes the original's, and the tags
    named that no translation has (held to the original's language once it is read): with no
    --language, the original and every translation in the folder; `all` is that too."""
    from appeal.inputs.text import lookup

    folder = request.translation_folder
    if request.translations is not None and not folder.is_dir():
        raise UserError(f"{folder}: {_missing(folder)} (--translations)")
    available = {path.stem: path for path in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}
    if not request.languages or "all" in request.languages:
        return tuple(available.values()), True, ()
    chosen, original_as = [], []
    for tag in request.languages:
        found = lookup(tag, available)
        if found is None:
            original_as.append(tag)
        elif available[found] not in chosen:
            chosen.append(available[found])
    return tuple(chosen), bool(original_as), tuple(original_as)


def _optional(named: Path | None, default: str, option: str) -> Path | None:
    if named is None:
        return DATA_DIR / default if (DATA_DIR / default).is_file() else None
    if not named.is_file():
        raise UserError(f"{named}: {_missing(named)} ({option})")
    return named


def _missing(path: Path) -> str:
    return "no such file" if not path.exists() else "not a file"
