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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import pikepdf

from appeal.build.commit import file_sha256, remember_sha256, write_file
from appeal.errors import UserError
from appeal.inputs.letter_models import FILE_ID
from appeal.inputs.mailing import Mailing, Pack, in_shard, parse_shard
from appeal.inputs.source import Problem
from appeal.layout.render import Renderer, overflows, pdf_info_date, render_html
from appeal.paths import ROOT
from appeal.pdf.concat import Concatenation
from appeal.products import editions
from appeal.versions import tool_version


def chunk_size() -> int:
    """Cover letters laid out per document: enough to share the cost of subsetting the fonts (once
    per document: 30 ms with HarfBuzz-Subset, 400 ms with fontTools), few enough that both workers
    finish together and memory stays small."""
    from appeal.versions import subsetter

    return 32 if subsetter().startswith("HarfBuzz") else 128


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
