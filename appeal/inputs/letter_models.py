"""The cover letters' models: data/letter.yaml (sender, signer, texts) and data/recipients.yaml."""


from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from appeal.inputs.models import LANGUAGE_PATTERN, IsoDate, Language, Strict, Text, lookup

# The cover letters: data/letter.yaml and data/recipients.yaml.

# A recipient's id becomes a file name: letters, digits, and . _ - inside, nothing else.
FILE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def _file_id(value: str) -> str:
    if not FILE_ID.fullmatch(value):
        raise ValueError(f"must be usable as a file name (letters, digits, '.', '_', '-'), not {value!r}")
    return value


# A signature image: a scan at 600 dpi of a 60 × 20 mm signature is 1,400 × 500 pixels and a few
# hundred kilobytes; these limits refuse a wrong file (or a decompression bomb) before it is read.
IMAGE_LIMIT = 5 * 2**20
IMAGE_PIXELS = 25_000_000


def _project_image(value: str) -> str:
    from appeal.paths import ROOT, STYLE_DIR

    path = (ROOT / value).resolve()
    if not path.is_relative_to(STYLE_DIR) or not path.is_file():
        raise ValueError(f"must name an image file under styles/ (the build reads no other), not {value!r}")
    problem = image_problem(path)
    if problem:
        raise ValueError(f"{value}: {problem}")
    return value


def image_problem(path: Path) -> str | None:
    """Why the image at `path` cannot be drawn, or None: it must be a PNG or JPEG that decodes
    whole within the limits, or an SVG without a document type (whose entities could reach
    other files). WeasyPrint would only warn, and leave the signature out."""
    size = path.stat().st_size
    if size > IMAGE_LIMIT:
        return f"is {size / 2**20:.1f} MB; a signature image may have at most {IMAGE_LIMIT // 2**20} MB"
    data = path.read_bytes()
    if data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff"):
        from PIL import Image, ImageFile

        # WeasyPrint sets LOAD_TRUNCATED_IMAGES for the whole process, and would draw half an image.
        lenient, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
        try:
            with Image.open(path) as image:
                width, height = image.size
                if width * height > IMAGE_PIXELS:
                    return (f"is {width:,} × {height:,} pixels; a signature image may have at most "
                            f"{IMAGE_PIXELS:,} pixels")
                image.load()
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            return f"cannot be read as an image: {exc}"
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = lenient
        return None
    head = data[:4096].decode("utf-8", "replace").lower()
    if "<svg" in head:
        if "<!doctype" in head or "<!entity" in head:
            return "is an SVG with a document type or entities, which may reach other files; remove them"
        return None
    return "is not a PNG, JPEG or SVG image"


Paper = Literal["a4", "letter"]


class Sender(Strict):
    """Who sends the letters: the letterhead and the return address."""

    organisation: Text
    """The sending organisation's name, at the head of the letter and as the PDF's author."""
    address: Annotated[list[Text], Field(min_length=1)]
    """The organisation's postal address in the letterhead, one line per item."""
    return_address: Text
    """One short line above the recipient's address in the envelope window, for example "Joint
    Appeal · Street 1 · 1000 City"."""
    contact: list[Text] = []  # noqa: RUF012 (pydantic copies defaults)
    """Lines under the letterhead's address, such as an e-mail address and a telephone number."""


class Signer(Strict):
    """Who signs the letters."""

    name: Text
    """The signer's name, under the signature."""
    title: Text
    """The signer's position, under the name."""
    signature: Annotated[str, AfterValidator(_project_image)] | None = None
    """An image of the handwritten signature, a PNG, JPEG or SVG file under styles/, for example
    styles/signatures/signer.png. Without it the letters leave room to sign by hand."""


class LetterText(Strict):
    """The words of the letter in one language."""

    subject: Text
    """The letter's subject line in this language."""
    body: Text
    """The letter's text in this language, a template as the letter's own body is."""
    closing: Text
    """The closing in this language, for example "Yours sincerely,"."""
    enclosure: Text
    """The enclosure line in this language."""


class Letter(Strict):
    """The cover letter that goes with the appeal to every recipient (data/letter.yaml)."""

    language: Language
    """The language of the letter's own words, a BCP 47 tag such as en; recipients in other
    languages get a translation from translations."""
    date: IsoDate
    """The date on the letters, as YYYY-MM-DD, for example 2025-06-16."""
    paper: Paper = "a4"
    """The paper of the letters, a4 or letter; a recipient may ask for the other."""
    sender: Sender
    """Who sends the letters: the letterhead's organisation and address, and the return address."""
    signer: Signer
    """Who signs the letters: name, position and, if there is one, an image of the signature."""
    subject: Text
    """The subject line, in bold above the salutation."""
    body: Text
    """The letter's text: paragraphs separated by a blank line, starting with the salutation line.
    It may use {{ recipient.salutation }}, {{ recipient.name }} and {{ recipient.title }}, and
    nothing else of the template language."""
    closing: Text
    """The closing above the signature, for example "Yours sincerely,"."""
    enclosure: Text
    """The line under the signature that names what is enclosed: the appeal."""
    translations: Annotated[dict[Language, LetterText],
                            Field(json_schema_extra={"propertyNames": LANGUAGE_PATTERN})] = {}  # noqa: RUF012
    """The letter's words in other languages, by BCP 47 tag, for example fr: with subject, body,
    closing and enclosure. A recipient's language picks one (fr-CH is served by fr)."""

    def text_language(self, language: str | None) -> str | None:
        """The language of the letter's words that serves `language` (None: the letter's own), by
        BCP 47 lookup among the letter's language and its translations; None if none does."""
        if language is None:
            return self.language
        return lookup(language, [self.language, *self.translations])

    def text(self, language: str | None) -> LetterText | None:
        """The letter's words for `language` (None: the letter's own), or None if it has none."""
        found = self.text_language(language)
        if found == self.language:
            return LetterText(subject=self.subject, body=self.body, closing=self.closing,
                              enclosure=self.enclosure)
        return self.translations.get(found) if found is not None else None


class Recipient(Strict):
    """One recipient: one pack, output/letters/ID.pdf."""

    id: Annotated[str, Field(json_schema_extra={"pattern": f"^{FILE_ID.pattern}$"}), AfterValidator(_file_id)]
    """The pack's file name without .pdf: letters, digits, '.', '_' and '-', for example
    estonia-foreign-minister. Each recipient's must differ."""
    name: Text
    """The first line of the address: a person's name or an office, for example "Minister of
    Foreign Affairs"."""
    address: Annotated[list[Text], Field(min_length=1)]
    """The postal address under the name, at most 4 lines (the envelope window's)."""
    salutation: Text | None = None
    """How the letter greets the recipient, for example "Dear Minister"; the letter's body places it
    with {{ recipient.salutation }}."""
    title: Text | None = None
    """An honorific before the name on its line, for example "H.E." or "The Honorable"; an office
    ("Secretary of State") is a position."""
    position: Text | None = None
    """The recipient's office, on its own line under the name (US and UK usage), for example
    "Secretary of State"; the address then has room for 3 lines."""
    language: Language | None = None
    """The language of the recipient's letter, a BCP 47 tag; the letter's own language without it."""
    paper: Paper | None = None
    """a4 or letter, if this recipient's paper differs from the letter's."""

    @property
    def addressee(self) -> str:
        """The first line of the address block: title and name."""
        return f"{self.title} {self.name}" if self.title else self.name


class Recipients(Strict):
    """The recipients of the cover letter and the appeal (data/recipients.yaml)."""

    recipients: Annotated[list[Recipient], Field(min_length=1)]
    """Every recipient, one pack each, in the order of the print file."""
