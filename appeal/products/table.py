"""The one table of products: every file a build writes, with its recipe, layout, paper and inputs.

`--edition`, the plan of a build, watch (which data file a product reads), SHA256SUMS (what it
lists, in which order) and the guide's table of outputs (docs/maintainers.md) all come from
here. A row names its recipe as `module:function`, imported when it is made, so that reading
the table (for `--help`, `check`) loads no layout engine.

A product is one row; a language is meant as one more axis of a row (the row of `a4` with
`language="fr"`), so that a translated edition is a lookup in this table, not a new branch.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

# The data a product may read, by the names watch knows each data file by (build/watched.py).
APPEAL_DATA = frozenset({"appeal", "words", "endorsements"})


@dataclass(frozen=True)
class Product:
    """One output of a build: what `--edition` calls it, its file in the output folder, how it is
    made, from which template and stylesheet, on which paper, from which data."""

    name: str
    filename: str
    kind: str  # handout, archive, press, booklet, sign-on, letters, checksums
    paper: str | None  # styles/<paper>.css is its stylesheet
    # "module:function": an edition's is called as function(renderer, data, product, settings)
    # (Product.make); the letters' and the checksums' are given the staging folder by the pipeline.
    recipe: str
    template: str | None  # templates/<template>, the root of its layout
    style: str | None = "appeal"  # styles/<style>.css, the document's own stylesheet
    reads: frozenset[str] = APPEAL_DATA  # the data files it prints (watched.Inputs.data's names)
    size: tuple[float, float] | None = None  # pt: a press edition's trim, a booklet's sheet
    when: str = "always"  # built by default: "always", "sign-on" (its settings exist), "letters"
    summary: str = ""  # what it is, for the table of outputs (docs/maintainers.md)
    language: str | None = None  # None: the appeal's own (translations are the next axis)
    accessible: bool = False  # PDF/UA-1, checked by the build before anything is written (the
    # letters: each pack, the first of each kind; the print file is not tagged)

    @property
    def archival(self) -> bool:
        return self.kind == "archive"

    @property
    def edition(self) -> bool:
        """One PDF made in memory from the appeal's data (the letters and SHA256SUMS are not)."""
        return self.kind not in ("letters", "checksums")

    @property
    def stylesheets(self) -> tuple[str, ...]:
        """Its stylesheets in the order they are compiled: base.css, the document's, the paper's
        (the letters take each recipient's paper)."""
        if self.style is None:
            return ()
        return ("base.css", f"{self.style}.css", *([f"{self.paper}.css"] if self.paper else []))

    def make(self, renderer, data, settings):
        """The edition made by its recipe: `function(renderer, data, self, settings)`."""
        module, function = self.recipe.split(":")
        return getattr(importlib.import_module(module), function)(renderer, data, self, settings)


def _row(name, filename, kind, paper, recipe, template, **more) -> Product:
    recipe = recipe if recipe.startswith("appeal.") else f"appeal.products.{recipe}"
    return Product(name, filename, kind, paper, recipe, template, **more)


PRESS_READS = APPEAL_DATA | {"output-profile"}
SIGN_ON_READS = APPEAL_DATA | {"sign-on"}

ROWS = (
    _row("a4", "appeal-a4.pdf", "handout", "a4", "editions:handout_edition", "handout.html",
         accessible=True, summary="the handout on A4, to print for meetings"),
    _row("letter", "appeal-letter.pdf", "handout", "letter", "editions:handout_edition", "handout.html",
         accessible=True, summary="the handout on US Letter"),
    _row("archive", "appeal-archive.pdf", "archive", "a4", "editions:archive_edition", "archive.html",
         accessible=True, summary="the archival edition: PDF/A-3a and PDF/UA-1, its source data embedded"),
    _row("deposit", "appeal-deposit.pdf", "deposit", "a4", "editions:deposit_edition", "archive.html",
         accessible=True, summary="the deposit edition: the archive's pages as PDF/A-2a and PDF/UA-1, with "
                                  "no embedded file, for repositories that accept none"),
    _row("press-a4", "press/appeal-a4.pdf", "press", "press-a4", "editions:press", "handout.html",
         reads=PRESS_READS, size=(595.2756, 841.8898), summary="for a print shop: PDF/X-4, A4 trim, bleed"),
    _row("press-a5", "press/appeal-a5.pdf", "press", "press-a5", "editions:press", "handout.html",
         reads=PRESS_READS, size=(419.5276, 595.2756), summary="for a print shop: PDF/X-4, A5 trim, bleed"),
    _row("booklet", "appeal-booklet.pdf", "booklet", "a5", "editions:booklet", "handout.html",
         size=(841.8898, 595.2756), summary="A5 pages imposed two to an A4 sheet, to fold"),
    _row("booklet-letter", "appeal-booklet-letter.pdf", "booklet", "half-letter", "editions:booklet",
         "handout.html", size=(792.0, 612.0), summary="half-Letter pages imposed two to a Letter sheet"),
    _row("sign-on-a4", "sign-on-a4.pdf", "sign-on", "a4", "editions:sign_on_edition", "signon.html",
         style="sign-on", accessible=True, reads=SIGN_ON_READS, when="sign-on",
         summary="the sign-on sheet on A4, rows to sign by hand"),
    _row("sign-on-letter", "sign-on-letter.pdf", "sign-on", "letter", "editions:sign_on_edition",
         "signon.html", style="sign-on", accessible=True, reads=SIGN_ON_READS, when="sign-on",
         summary="the sign-on sheet on US Letter"),
    # The letters: letters/<id>.pdf for every recipient, on the paper each one asks for, and the
    # print file of them all (letters-shard-I-of-N.pdf for a shard).
    _row("letters", "letters.pdf", "letters", None, "letters:write_letters", "letters.html",
         style="cover-letter", reads=APPEAL_DATA | {"letter", "recipients"}, when="letters", accessible=True,
         summary="a cover letter and the appeal for every recipient, and the print file of them all"),
    # Last: what every other product wrote (and earlier builds left), for `sha256sum -c`.
    _row("checksums", "SHA256SUMS", "checksums", None, "appeal.build.pipeline:checksums", None,
         style=None, reads=frozenset(), summary="the SHA-256 of every PDF in the output folder"),
)
PRODUCTS = {product.name: product for product in ROWS}
EDITIONS = {name: product for name, product in PRODUCTS.items() if product.edition}
NAMED = [name for name, product in PRODUCTS.items() if product.kind != "checksums"]  # what --edition takes
ARCHIVE = PRODUCTS["archive"]
CHECKSUMS = PRODUCTS["checksums"].filename
# Where the packs go, beside the print file (letters.pdf).
PACKS = "letters"


def markdown() -> str:
    """The table of outputs in docs/maintainers.md, written from the rows (a test holds the page to it)."""
    papers = {"a4": "A4", "letter": "US Letter", "press-a4": "A4 + 3 mm bleed", "press-a5": "A5 + 3 mm bleed",
              "a5": "A5 on A4", "half-letter": "half Letter on Letter", None: None}
    when = {"always": "always", "sign-on": "when data/sign-on.yaml exists",
            "letters": "when data/recipients.yaml exists"}
    lines = ["| `--edition` | file | paper | reads | by default | PDF/UA-1 | what it is |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for row in ROWS:
        name = f"`{row.name}`" if row.kind != "checksums" else "(always)"
        filename = f"`{row.filename}`" if row.kind != "letters" else f"`{PACKS}/<id>.pdf`, `{row.filename}`"
        paper = papers[row.paper] if row.kind != "letters" else "each recipient's"
        reads = ", ".join(sorted(row.reads)) or "every PDF in the folder"
        accessible = "yes" if row.accessible else "no" if row.kind != "checksums" else "-"
        if row.kind == "letters":
            accessible = "packs yes, print file no"
        lines.append(f"| {name} | {filename} | {paper or '-'} | {reads} | {when[row.when]} | {accessible} "
                     f"| {row.summary} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
