"""Letters to governments: a personal cover letter with the appeal behind it, for every recipient.

Fast because nothing is rendered twice: the cover letters of a run of recipients are laid out as
one document, the appeal once per paper, and each pack is assembled from their pages by pikepdf.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import jinja2
import pikepdf
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment

from appeal.build.commit import file_sha256, remember_sha256, write_file
from appeal.errors import UserError
from appeal.inputs.load import Data
from appeal.inputs.models import (
    FILE_ID,
    LETTER_LIMIT,
    RECIPIENTS_LIMIT,
    Letter,
    Recipient,
    Recipients,
    load_words,
)
from appeal.inputs.source import Problem, Source, duplicates, read_yaml
from appeal.layout.fonts import check_coverage
from appeal.layout.render import Renderer, overflows, pdf_info_date, render_html
from appeal.paths import ROOT
from appeal.pdf.concat import Concatenation
from appeal.products import editions
from appeal.versions import tool_version

# DIN 5008 form B: below the name, the address zone of the window holds 5 lines in all.
ADDRESS_LINES = 4


def chunk_size() -> int:
    """Cover letters laid out per document: enough to share the cost of subsetting the fonts (once
    per document: 30 ms with HarfBuzz-Subset, 400 ms with fontTools), few enough that both workers
    finish together and memory stays small."""
    from appeal.versions import subsetter

    return 32 if subsetter().startswith("HarfBuzz") else 128


@dataclass(frozen=True)
class Pack:
    """One recipient's letter, ready to render: the addressee and the letter's words for them."""

    index: int  # position in the recipients file, for messages
    recipient: Recipient
    paper: str
    language: str  # of the letter's words: the recipient's, or the one a BCP 47 lookup found for it
    salutation: str
    subject: str
    paragraphs: tuple[str, ...]
    closing: str
    enclosure: str
    date_line: str

    @property
    def shared(self) -> tuple:
        """What this letter shares with others that can share one stationery layer: all but the
        address and the first paragraph (the salutation)."""
        return (self.paper, self.language, self.date_line, self.subject, self.paragraphs[1:],
                self.closing, self.enclosure)


@dataclass
class Mailing:
    data: Data  # the appeal the letters enclose
    letter: Letter
    letter_source: Source
    recipients_source: Source
    packs: list[Pack]
    ids: frozenset[str]  # every recipient's, in a shard too
    # "recipients in en-GB get the letter in en": said in the summary, as BCP 47 lookup chose it.
    fallbacks: list[str]


def load_mailing(data: Data, words_path: Path, letter_path: Path, recipients_path: Path,
                 shard: tuple[int, int] | None = None) -> Mailing:
    """Everything the letters need besides the appeal (`data`), every record checked before
    anything is written; `words_path` gives the dates' words in each letter's language."""
    letter_source = read_yaml(letter_path, "letter", LETTER_LIMIT)
    letter = letter_source.validate(Letter)
    recipients_source = read_yaml(recipients_path, "recipients", RECIPIENTS_LIMIT)
    recipients = recipients_source.validate(Recipients).recipients
    problems = duplicates((r.id for r in recipients), ("recipients",), "id", "the id")
    for index, recipient in enumerate(recipients):
        loc = ("recipients", index)
        if len(recipient.address) > ADDRESS_LINES:
            problems.append(Problem((*loc, "address"), (
                f"has {len(recipient.address)} lines; at most {ADDRESS_LINES} fit the envelope "
                "window below the name")))
        if letter.text(recipient.language) is None:
            problems.append(Problem((*loc, "language"), (
                f"the letter ({letter_source.path}) has no translation for {recipient.language!r}; "
                f"add one under translations: {recipient.language}:")))
    if problems:
        raise recipients_source.error(problems)
    check_coverage(_letter_texts(letter), letter_source)
    check_coverage(_recipient_texts(recipients), recipients_source)

    body = _BodyTemplates(letter, letter_source)
    # The date is written in the language of the letter's words, with that language's words.
    dates = {letter.language: load_words(words_path, letter.language, letter_source).date(letter.date)}
    packs = []
    fallbacks: Counter[tuple[str, str]] = Counter()
    for index, recipient in enumerate(recipients):
        # Every record is filled in and checked, in a shard too: every machine judges the whole file.
        text = letter.text(recipient.language)
        language = letter.text_language(recipient.language)
        if recipient.language and recipient.language != language:
            fallbacks[(recipient.language, language)] += 1
        if language not in dates:
            dates[language] = load_words(words_path, language, recipients_source,
                                         ("recipients", index, "language")).date(letter.date)
        salutation = recipient.salutation or f"Dear {recipient.addressee}"
        paragraphs = body.paragraphs(text.body, recipient, salutation, index)
        check_coverage(((("recipients", index), p) for p in paragraphs), recipients_source)
        packs.append(Pack(index, recipient, recipient.paper or letter.paper, language, salutation,
                          text.subject, paragraphs, text.closing, text.enclosure, dates[language]))
    if shard:
        packs = [pack for pack in packs if in_shard(pack.recipient.id, *shard)]
    notes = [f"{count} recipient{'s' if count > 1 else ''} in {asked} get{'' if count > 1 else 's'} "
             f"the letter in {found} (it has no {asked} translation)"
             for (asked, found), count in sorted(fallbacks.items())]
    return Mailing(data, letter, letter_source, recipients_source, packs,
                   frozenset(r.id for r in recipients), notes)


def in_shard(recipient_id: str, number: int, count: int) -> bool:
    """Whether a recipient belongs to slice `number` of `count` (1-based).

    By a hash of the id, not by position: adding or removing a recipient moves no other one to
    another slice, and every machine computes the same slices from the same file.
    """
    digest = hashlib.sha256(recipient_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count == number - 1


def parse_shard(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise UserError(f"--shard: expected I/N with 1 <= I <= N, such as 2/8, not {text!r}")
    return int(match[1]), int(match[2])


def _letter_texts(letter: Letter) -> Iterator[tuple[tuple, str]]:
    sender, signer = letter.sender, letter.signer
    yield ("sender", "organisation"), sender.organisation
    yield ("sender", "return_address"), sender.return_address
    yield from ((("sender", "address", i), line) for i, line in enumerate(sender.address))
    yield from ((("sender", "contact", i), line) for i, line in enumerate(sender.contact))
    yield ("signer", "name"), signer.name
    yield ("signer", "title"), signer.title
    for key in ("subject", "closing", "enclosure"):
        yield (key,), getattr(letter, key)
    for language, text in letter.translations.items():
        for key in ("subject", "closing", "enclosure"):
            yield ("translations", language, key), getattr(text, key)


def _recipient_texts(recipients: Sequence[Recipient]) -> Iterator[tuple[tuple, str]]:
    for index, recipient in enumerate(recipients):
        for key in ("name", "salutation", "title"):
            if getattr(recipient, key):
                yield ("recipients", index, key), getattr(recipient, key)
        yield from ((("recipients", index, "address", i), line) for i, line in enumerate(recipient.address))


# The letter's body is data, not a program: it may print the recipient's fields, test them
# (`{% if recipient.title %}`) and pass them through a few text filters; nothing else. No loops,
# calls, includes, imports, macros or arithmetic: a huge `range()` or `{% include %}` is refused
# with a message before any letter is laid out.
_BODY_NODES = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Getattr, nodes.Getitem,
               nodes.Const, nodes.If, nodes.CondExpr, nodes.Not, nodes.And, nodes.Or, nodes.Compare,
               nodes.Operand, nodes.Concat, nodes.Filter, nodes.Test)
_BODY_FILTERS = {"upper", "lower", "title", "capitalize", "trim", "default", "join"}
_BODY_TESTS = {"defined", "undefined", "none", "string", "sameas"}
# A letter's filled-in body, in characters: one page holds about 3,500.
MAX_BODY = 20_000


def _body_problem(template: nodes.Template) -> str | None:
    for node in template.find_all(nodes.Node):
        if not isinstance(node, _BODY_NODES):
            return (f"{{% {type(node).__name__.lower()} %}} or the like is not allowed in the letter's body: "
                    "it may print and test the recipient's fields ({{ recipient.name }}), nothing else")
        if isinstance(node, nodes.Name) and node.name != "recipient":
            return f"{node.name!r} is unknown: the body may use only recipient.<field>"
        if isinstance(node, nodes.Filter) and node.name not in _BODY_FILTERS:
            return f"the filter {node.name!r} is not allowed (allowed: {', '.join(sorted(_BODY_FILTERS))})"
        if isinstance(node, nodes.Test) and node.name not in _BODY_TESTS:
            return f"the test {node.name!r} is not allowed"
    return None


class _BodyTemplates:
    """The letter's body: a sandboxed template over the recipient's fields, compiled once.

    The recipient's values are inserted as text, never evaluated: `{{ ... }}` in a name prints.
    """

    def __init__(self, letter: Letter, source: Source) -> None:
        self.env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False,
                                        keep_trailing_newline=True)
        self.source = source
        self.compiled: dict[str, jinja2.Template] = {}
        bodies = {("body",): letter.body}
        bodies |= {("translations", lang, "body"): t.body for lang, t in letter.translations.items()}
        self.locations = {text: loc for loc, text in bodies.items()}
        for loc, text in bodies.items():
            try:
                problem = _body_problem(self.env.parse(text))
                if problem is None:
                    self.compiled[text] = self.env.from_string(text)
            except jinja2.TemplateSyntaxError as exc:
                problem = f"line {exc.lineno} of the template: {exc.message}"
            if problem:
                raise source.error([Problem(loc, problem)])

    def paragraphs(self, body: str, recipient: Recipient, salutation: str, index: int) -> tuple[str, ...]:
        fields = {"id": recipient.id, "name": recipient.name, "title": recipient.title or "",
                  "salutation": salutation, "address": list(recipient.address),
                  "addressee": recipient.addressee}
        where = self.locations[body]
        try:
            text = self.compiled[body].render(recipient=fields)
        except jinja2.TemplateError as exc:
            raise self.source.error([Problem(where, (
                f"cannot be filled in for recipients[{index}] ({recipient.id}): {exc}"))]) from None
        if len(text) > MAX_BODY:
            raise self.source.error([Problem(where, (
                f"filled in for recipients[{index}] ({recipient.id}) it is {len(text):,} characters "
                f"long; a cover letter holds at most {MAX_BODY:,}"))])
        return tuple(" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip())


# Rendering and assembly.

@dataclass(frozen=True)
class Written:
    """One pack written: for the summary and for the combined print file."""

    path: Path
    pages: int
    size: int
    sha256: str  # of the bytes written, taken from memory: the commit's SHA256SUMS reads no pack again


def letters_html(mailing: Mailing, packs: Sequence[Pack], part: str = "full",
                 salutation_gap: float | None = None) -> str:
    letter = mailing.letter
    signature = (ROOT / letter.signer.signature).as_uri() if letter.signer.signature else None
    return render_html("letters.html", **editions.context(
        mailing.data, letter=letter, packs=packs, part=part,
        salutation_gap=salutation_gap, signature_uri=signature))


def _laid_out(renderer: Renderer, mailing: Mailing, packs: Sequence[Pack], part: str,
              salutation_gap: float | None = None):
    """The cover letters of `packs` laid out, one page each; a UserError names a letter that runs
    over its page or an address line too long for the envelope window."""
    html = letters_html(mailing, packs, part, salutation_gap)
    document = renderer.document(html, packs[0].paper)
    starts = {}
    for number, page in enumerate(document.pages):
        for anchor in page.anchors:
            if anchor.startswith("pack-"):
                starts[anchor] = number
    problems = []
    for position, pack in enumerate(packs):
        loc = ("recipients", pack.index)
        first = starts.get(f"pack-{pack.recipient.id}")
        following = starts.get(f"pack-{packs[position + 1].recipient.id}") if position + 1 < len(packs) \
            else len(document.pages)
        if first != position or following != first + 1:
            problems.append(Problem(loc, "the cover letter runs over one page; shorten the body or "
                                         "the address"))
            break
        address = _find(document.pages[first], lambda box: box.element_tag == "address")
        for number, line in enumerate(_lines(address)):
            if line.width > address.width + 0.01:
                field = ("name",) if number == 0 else ("address", number - 1)
                problems.append(Problem((*loc, *field), "is too long for the envelope window"))
    if not problems and part == "full":
        _check_return_address(document.pages[0], mailing)
    if not problems:
        for overflow in overflows(document):
            problems.append(Problem(("recipients", packs[overflow.page - 1].index), (
                f"the cover letter runs past its margin ({overflow.text[:40]!r}); break the long word")))
    if problems:
        raise mailing.recipients_source.error(problems)
    return document


def _find(page, wanted):
    """The first laid-out box on `page` that `wanted` accepts (WeasyPrint's boxes: the only record
    of where lines fell and how wide they are)."""
    pending = [page._page_box]
    while pending:
        box = pending.pop()
        if getattr(box, "element", None) is not None and wanted(box):
            return box
        pending.extend(reversed(getattr(box, "children", ())))
    return None


def _lines(box) -> list:
    return [child for child in getattr(box, "children", ()) if type(child).__name__ == "LineBox"]


def _first_paragraph(box) -> bool:
    return box.element_tag == "p" and "first-paragraph" in box.element.get("class", "")


def _check_return_address(page, mailing: Mailing) -> None:
    """The return address on one line inside the window (DIN 5008: the remarks zone's last line);
    US Letter shows none (the envelope carries it)."""
    window = _find(page, lambda box: "window" in box.element.get("class", "").split())
    back = _find(page, lambda box: "return-address" in box.element.get("class", "").split())
    if window is not None and back is not None and any(
            line.width > window.width + 0.01 for line in _lines(back)):
        raise mailing.letter_source.error([Problem(("sender", "return_address"),
                                                   "is too long for the envelope window")])


@dataclass(frozen=True)
class Stationery:
    """The layer a group of letters shares, laid out once, and where their salutation stands."""

    pdf: bytes
    salutation_gap: float  # CSS px between the window's bottom and the first paragraph


def render_stationery(renderer: Renderer, mailing: Mailing, pack: Pack) -> Stationery:
    document = renderer.document(letters_html(mailing, [pack], "stationery"), pack.paper)
    if len(document.pages) != 1:
        raise mailing.recipients_source.error([Problem(("recipients", pack.index), (
            "the cover letter runs over one page; shorten the body or the address"))])
    page = document.pages[0]
    window = _find(page, lambda box: "window" in box.element.get("class", "").split())
    _check_return_address(page, mailing)
    for overflow in overflows(document):  # the text the letters share: the letter's own
        raise mailing.letter_source.error([Problem((), (
            f"the cover letter runs past its margin ({overflow.text[:40]!r}); break the long word"))])
    first = _find(page, _first_paragraph)
    gap = first.position_y - (window.position_y + window.margin_height())
    return Stationery(document.write_pdf(), gap)


def render_chunk(renderer: Renderer, mailing: Mailing, packs: Sequence[Pack],
                 stationery: Stationery | None = None) -> bytes:
    """The cover letters of `packs` as one PDF, one page each.

    With a stationery layer (the part the letters share), only each letter's address and first
    paragraph are laid out and the layer is drawn over them; a letter whose first paragraph takes
    more than one line, which the layer leaves room for, is laid out whole instead.
    """
    if stationery is None:
        return _laid_out(renderer, mailing, packs, "full").write_pdf()
    document = _laid_out(renderer, mailing, packs, "variable", stationery.salutation_gap)
    whole = [number for number, page in enumerate(document.pages)
             if len(_lines(_find(page, _first_paragraph))) != 1]
    with pikepdf.open(BytesIO(document.write_pdf())) as covers, \
            pikepdf.open(BytesIO(stationery.pdf)) as layer:
        form = pikepdf.Page(layer.pages[0]).as_form_xobject()
        for number, page in enumerate(covers.pages):
            if number not in whole:
                _draw_over(page, form)
        if not whole:
            return _saved(covers)
        full = _laid_out(renderer, mailing, [packs[n] for n in whole], "full").write_pdf()
        with pikepdf.open(BytesIO(full)) as replacements:
            for replacement, number in zip(replacements.pages, whole, strict=True):
                covers.pages[number] = replacement
            return _saved(covers)


def _draw_over(page: pikepdf.Page, form: pikepdf.Object) -> None:
    """Draw the form XObject over the page, under a fixed resource name: pikepdf's add_overlay
    picks a random one, and the bytes would change from build to build."""
    name = page.add_resource(form, pikepdf.Name.XObject, pikepdf.Name("/Stationery"))
    placement = page.calc_form_xobject_placement(form, name, pikepdf.Rectangle(page.trimbox))
    page.contents_add(b"q\n", prepend=True)
    page.contents_add(b"Q\n" + placement)
    page.contents_coalesce()


def _saved(pdf: pikepdf.Pdf) -> bytes:
    out = BytesIO()
    pdf.save(out, deterministic_id=True)
    return out.getvalue()


def assemble(mailing: Mailing, packs: Sequence[Pack], letters_pdf: bytes, appeal_pdf: bytes,
             pack_path: Callable[[str], Path], combined_path: Path, signing=None) -> list[Written]:
    """Write each pack (cover letter, then the appeal) and one file of all of them for printing,
    each pack padded to an even page count so that duplex printing starts every pack on a new sheet.
    """
    written = []
    with pikepdf.open(BytesIO(letters_pdf)) as covers, pikepdf.open(BytesIO(appeal_pdf)) as appeal, \
            pikepdf.new() as combined:
        appeal_pages = list(appeal.pages)
        for number, pack in enumerate(packs):
            with pikepdf.new() as single:
                single.pages.append(covers.pages[number])
                single.pages.extend(appeal_pages)
                _describe(single, mailing, pack)
                target = pack_path(pack.recipient.id)
                data = _saved(single)
                if signing is not None:
                    data = signing(data, _signed_at(mailing))
                write_file(target, data)
                digest = hashlib.sha256(data).hexdigest()
                written.append(Written(target, len(single.pages), len(data), digest))
            combined.pages.append(covers.pages[number])
            combined.pages.extend(appeal_pages)
            if (1 + len(appeal_pages)) % 2:
                box = covers.pages[number].mediabox
                combined.add_blank_page(page_size=(float(box[2]), float(box[3])))
        _describe(combined, mailing, None)
        write_file(combined_path, _saved(combined))
    return written


def _info(mailing: Mailing, pack: Pack | None) -> dict[str, str]:
    """The information dictionary of a pack (or, with None, of the print file of them all)."""
    letter = mailing.letter
    date = pdf_info_date(letter.date)
    return {
        "/Title": pack.subject if pack else letter.subject,
        "/Author": letter.sender.organisation,
        "/Subject": f"To {pack.recipient.addressee}" if pack else "Cover letters with the appeal",
        "/CreationDate": date,
        "/ModDate": date,
        "/Producer": "appeal-edition",
        # The mark verify and sign recognise a pack or print file by (verify.edition_kind).
        "/Creator": f"appeal-edition {tool_version()} "
                    f"({'letter pack' if pack else 'print file of letter packs'})",
    }


def _describe(pdf: pikepdf.Pdf, mailing: Mailing, pack: Pack | None) -> None:
    info = _info(mailing, pack)
    pdf.docinfo = pdf.make_indirect(pikepdf.Dictionary({k: pikepdf.String(v) for k, v in info.items()}))
    language = pack.language if pack else mailing.letter.language
    pdf.Root.Lang = pikepdf.String(language)


def merge(parts: Sequence[Path], target: Path, mailing: Mailing) -> int:
    """The combined print file from the chunks' combined files, in order; its page count.

    Streamed part by part (pdfcat): a parliament's 60,000 pages never sit in memory at once.
    """
    try:
        with target.open("wb") as out:
            concatenation = Concatenation(out)
            for path in parts:
                with pikepdf.open(path) as part:
                    concatenation.add(part)
            return concatenation.close(info=_info(mailing, None), catalog={"/Lang": mailing.letter.language})
    except OSError as exc:
        raise UserError(f"{target}: cannot be written: {exc.strerror or exc}") from None


def chunks(packs: Sequence[Pack], shared: Callable[[Pack], object] = lambda pack: pack.paper,
           size: int | None = None) -> list[list[Pack]]:
    """Consecutive packs that share a layout (`shared`), at most `size` at a time, in order."""
    size = size or chunk_size()
    out: list[list[Pack]] = []
    for pack in packs:
        if out and shared(out[-1][0]) == shared(pack) and len(out[-1]) < size:
            out[-1].append(pack)
        else:
            out.append([pack])
    return out


def _signed_at(mailing: Mailing) -> dt.datetime:
    """The time a letter's signature states (unless SOURCE_DATE_EPOCH says otherwise): its date."""
    day = mailing.letter.date
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


@dataclass
class _Chunk:
    """A chunk of packs as the last rebuild made it: its part of the print file, and each pack's
    size and SHA-256 as written."""

    part: bytes
    packs: dict[str, tuple[int, str]]
    pages: int


@dataclass
class LetterCache:
    """What `build.py watch` keeps of the letters between rebuilds, so that a change to one
    recipient lays out only the chunk of letters it is in and replaces only its pack and the print
    file. The watcher clears it when anything but the letter or the recipients changed (the
    appeal, the words, a template, a style, the signature image): every key here assumes those."""

    appeal: dict[str, bytes] = dataclasses.field(default_factory=dict)  # by paper
    stationery: dict[str, Stationery] = dataclasses.field(default_factory=dict)
    chunks: dict[str, _Chunk] = dataclasses.field(default_factory=dict)
    # What the last call replaced: packs, of how many, and whether the print file.
    rebuilt: tuple[int, int, bool] = (0, 0, False)

    def clear(self) -> None:
        self.appeal.clear()
        self.stationery.clear()
        self.chunks.clear()

    @staticmethod
    def key(mailing: Mailing, *parts: object) -> str:
        """A digest of the letter and `parts` (packs, with their place in the file left out: it
        only names them in messages)."""
        plain = [dataclasses.replace(part, index=0) if isinstance(part, Pack) else part for part in parts]
        return hashlib.sha256(repr((mailing.letter, plain)).encode()).hexdigest()


def write_letters(renderer: Renderer, mailing: Mailing, staging, shard: str | None,
                  signing=None, cache: LetterCache | None = None, memo: dict | None = None) -> list[str]:
    """Render and assemble every pack into the staging folder, signed with `signing` if given
    (each pack in the worker that assembles it; the print file once); the summary lines.

    With a `cache` (build.py watch), chunks of packs that have not changed since the last call
    are not laid out again, and a pack whose bytes did not change is not replaced. `memo`
    (commit.file_sha256's) receives each pack's SHA-256 as the worker took it from memory, so that
    SHA256SUMS reads no pack back.
    """
    from tqdm import tqdm

    from appeal.build.workers import run_all

    watching = cache is not None
    if watching and signing is not None:
        raise ValueError("the letters are cached only unsigned")
    cache = cache if cache is not None else LetterCache()
    started = time.perf_counter()
    packs = mailing.packs
    removed = _remove_stale_packs(mailing, staging, parse_shard(shard) if shard else None)
    if not packs:
        return [f"letters: no recipient falls in shard {shard}", *removed]
    for paper in sorted({pack.paper for pack in packs} - set(cache.appeal)):
        cache.appeal[paper] = editions.handout(renderer, mailing.data, paper).data
    # A layer for each text that two or more letters share; the others are laid out whole.
    counts = Counter(pack.shared for pack in packs)
    stationery, kept = {}, {}
    for pack in packs:
        if counts[pack.shared] > 1 and pack.shared not in stationery:
            key = cache.key(mailing, pack.paper, pack.shared)
            kept[key] = cache.stationery.get(key) or render_stationery(renderer, mailing, pack)
            stationery[pack.shared] = kept[key]
    cache.stationery = kept  # a long editing session keeps only what the letters now use
    groups = chunks(packs, lambda pack: (pack.paper, pack.shared if pack.shared in stationery else None))
    keys = [cache.key(mailing, pack.shared in stationery, *group) for group in groups]
    parts = [staging.scratch(f"parts/{number:05d}.pdf") for number in range(len(groups))]
    todo = [number for number, key in enumerate(keys)
            if key not in cache.chunks or not _in_place(staging.out_dir, cache.chunks[key])]
    # Paths are staged here, before the workers fork, so that the commit knows every file.
    targets = {pack.recipient.id: staging.path(f"letters/{pack.recipient.id}.pdf")
               for number in todo for pack in groups[number]}
    jobs = [functools.partial(_chunk, renderer, mailing, group, cache.appeal[group[0].paper],
                              stationery.get(group[0].shared), targets, parts[number], signing)
            for number, group in ((number, groups[number]) for number in todo)]
    # No monitor thread: the workers are forked inside this block, and a fork copies a thread's
    # locks but not the thread (Python 3.12 and later warn of it).
    tqdm.monitor_interval = 0
    with tqdm(total=sum(len(groups[number]) for number in todo), unit="pack", desc="letters",
              file=sys.stderr, disable=not sys.stderr.isatty(), leave=False) as bar:
        # This process has rendered the appeal and the stationery: it is warm, the workers fork warm.
        results = run_all(jobs, done=lambda written: bar.update(len(written)), warm_first=False)
    replaced = 0
    # Only watch keeps the chunks' parts: a one-shot build reads none of them back into memory.
    fresh = {keys[number]: _Chunk(parts[number].read_bytes() if watching else b"",
                                  {w.path.stem: (w.size, w.sha256) for w in written},
                                  sum(w.pages for w in written))
             for number, written in zip(todo, results, strict=True)}
    if memo is not None:
        for written in results:
            for pack in written:
                remember_sha256(memo, pack.path, pack.sha256)
    for chunk in fresh.values():
        for recipient_id, made in chunk.packs.items():
            if watching and _unchanged(staging.out_dir / "letters" / f"{recipient_id}.pdf", made):
                staging.unstage(f"letters/{recipient_id}.pdf")
            else:
                replaced += 1
    for number, key in enumerate(keys):
        if key not in fresh:
            write_file(parts[number], cache.chunks[key].part)
    made = {key: fresh.get(key) or cache.chunks[key] for key in keys}
    cache.chunks = made if watching else {}
    name = "letters.pdf" if not shard else "letters-shard-{}-of-{}.pdf".format(*parse_shard(shard))
    combined = staging.path(name)
    if signing is None:
        pages = merge(parts, combined, mailing)
    else:
        unsigned = staging.scratch(name)
        pages = merge(parts, unsigned, mailing)
        signing.file(unsigned, combined, _signed_at(mailing))
    print_size = combined.stat().st_size
    same = watching and _unchanged(staging.out_dir / name, (print_size, file_sha256(combined)))
    if same:
        staging.unstage(name)
    cache.rebuilt = (replaced, len(packs), not same)
    seconds = time.perf_counter() - started
    chunk_list = [made[key] for key in keys]
    packs_size = sum(made[0] for chunk in chunk_list for made in chunk.packs.values())
    return [f"{staging.out_dir / 'letters'}/  {len(packs)} packs  "
            f"{sum(chunk.pages for chunk in chunk_list)} pages  {packs_size / 1e6:.1f} MB",
            f"{staging.out_dir / name}  {pages} pages  {print_size / 1e6:.1f} MB",
            f"letters: {len(packs)} packs in {seconds:.2f} s, {seconds / len(packs) * 1000:.1f} ms "
            "per pack", *removed]


def _unchanged(path: Path, made: tuple[int, str]) -> bool:
    """Whether the file at `path` holds the bytes of size and SHA-256 `made`."""
    try:
        return path.stat().st_size == made[0] and file_sha256(path) == made[1]
    except OSError:
        return False


def _in_place(out_dir: Path, chunk: _Chunk) -> bool:
    """Whether every pack of a cached chunk is still in the output folder as it was written (by
    size: the watcher's folder is its own; a pack removed or replaced by hand is made again)."""
    for recipient_id, (size, _) in chunk.packs.items():
        try:
            if (out_dir / "letters" / f"{recipient_id}.pdf").stat().st_size != size:
                return False
        except OSError:
            return False
    return True


SHARD_PRINT_FILE = re.compile(r"letters-shard-[1-9][0-9]*-of-[1-9][0-9]*\.pdf")


def _remove_stale_packs(mailing: Mailing, staging, shard: tuple[int, int] | None) -> list[str]:
    """Stage the removal of the packs of recipients no longer in the file: of those this shard
    would hold, so that shards sharing a folder never remove each other's packs. A summary line."""
    folder = staging.out_dir / "letters"
    stale = sorted(path.stem for path in folder.glob("*.pdf")
                   if path.is_file() and FILE_ID.fullmatch(path.stem) and path.stem not in mailing.ids
                   and (shard is None or in_shard(path.stem, *shard)))
    for stem in stale:
        staging.remove(f"letters/{stem}.pdf")
    lines = [f"{folder}/  {len(stale)} packs removed, their recipients no longer in "
             f"{mailing.recipients_source.path}: {', '.join(stale[:5])}{', …' if len(stale) > 5 else ''}"
             ] if stale else []
    if shard is None:
        # A full build owns the folder's letters: the print files of an earlier sharding hold packs
        # it has superseded (and perhaps a removed recipient's), so they go.
        superseded = sorted(path.name for path in staging.out_dir.glob("letters-shard-*-of-*.pdf")
                            if path.is_file() and SHARD_PRINT_FILE.fullmatch(path.name))
        for name in superseded:
            staging.remove(name)
        if superseded:
            lines.append(f"{staging.out_dir}/  {len(superseded)} print files of an earlier sharding removed, "
                         f"superseded by letters.pdf: {', '.join(superseded[:4])}"
                         f"{', …' if len(superseded) > 4 else ''}")
    return lines


def _chunk(renderer: Renderer, mailing: Mailing, group: Sequence[Pack], appeal_pdf: bytes,
           stationery: Stationery | None, targets: dict[str, Path], part: Path, signing) -> list[Written]:
    covers = render_chunk(renderer, mailing, group, stationery)
    return assemble(mailing, group, covers, appeal_pdf, targets.__getitem__, part, signing)
