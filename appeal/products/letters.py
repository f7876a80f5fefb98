"""Letters to governments: a personal cover letter with the appeal behind it, for every recipient.

Fast because nothing is rendered twice: the cover letters of a run of recipients are laid out as
one document, the appeal once per paper, and each pack is assembled from their pages by pikepdf.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from appeal.build.commit import file_sha256, remember_sha256, write_file
from appeal.inputs.letter_models import FILE_ID
from appeal.inputs.load import Data
from appeal.inputs.mailing import Mailing, Pack, in_shard
from appeal.inputs.models import lookup
from appeal.layout.reads import recording
from appeal.layout.render import Renderer
from appeal.products import editions
from appeal.products.assembly import Written, assemble, merge, signed_at
from appeal.products.stationery import Stationery, render_chunk, render_stationery

PACKS_PER_WORKER = 512


def chunk_size() -> int:
    """Cover letters laid out per document: enough to share the cost of subsetting the fonts (once
    per document: 30 ms with HarfBuzz-Subset, 400 ms with fontTools), few enough that both workers
    finish together and memory stays small."""
    from appeal.versions import subsetter

    return 32 if subsetter().startswith("HarfBuzz") else 128


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

    appeal: dict[tuple[str, str], bytes] = dataclasses.field(default_factory=dict)  # by paper, language
    stationery: dict[str, Stationery] = dataclasses.field(default_factory=dict)
    chunks: dict[str, _Chunk] = dataclasses.field(default_factory=dict)
    reads: set[Path] = dataclasses.field(default_factory=set)  # the templates and assets read for them
    # What the last call replaced: packs, of how many, and whether the print file.
    rebuilt: tuple[int, int, bool] = (0, 0, False)

    def clear(self) -> None:
        self.appeal.clear()
        self.stationery.clear()
        self.chunks.clear()
        self.reads.clear()

    @staticmethod
    def key(mailing: Mailing, *parts: object) -> str:
        """A digest of the letter and `parts` (packs, with their place in the file left out: it
        only names them in messages)."""
        plain = [dataclasses.replace(part, index=0) if isinstance(part, Pack) else part for part in parts]
        return hashlib.sha256(repr((mailing.letter, plain)).encode()).hexdigest()


def write_letters(renderer: Renderer, data: Data, mailing: Mailing, staging,
                  shard: tuple[int, int] | None, signing=None, cache: LetterCache | None = None,
                  memo: dict | None = None, reads: set[Path] | None = None,
                  translations: Sequence[Data] = ()) -> list[str]:
    """Render and assemble every pack into the staging folder, signed with `signing` if given
    (each pack in the worker that assembles it; the print file once); the summary lines.

    A recipient whose language a translation serves (BCP 47 lookup among `translations`, the
    translated editions' data) gets the appeal in that language, the others the original.

    With a `cache` (build.py watch), chunks of packs that have not changed since the last call
    are not laid out again, and a pack whose bytes did not change is not replaced. `memo`
    (commit.file_sha256's) receives each pack's SHA-256 as the worker took it from memory, so that
    SHA256SUMS reads no pack back; `reads` receives every template and asset read (layout.reads),
    here and in the workers.
    """
    from tqdm import tqdm

    from appeal.build.workers import run_all

    watching = cache is not None
    if watching and signing is not None:
        raise ValueError("the letters are cached only unsigned")
    cache = cache if cache is not None else LetterCache()
    started = time.perf_counter()
    packs = mailing.packs
    removed = _remove_stale_packs(mailing, staging, shard)
    if not packs:
        return ["letters: no recipient falls in shard {}/{}".format(*shard), *removed]
    enclosing = {made.appeal.language: made for made in translations}
    original = data.appeal.language
    enclosed = {pack.recipient.id: lookup(pack.recipient.language or pack.language, enclosing) or original
                for pack in packs}
    appeals = {(pack.paper, enclosed[pack.recipient.id]) for pack in packs}
    with recording() as here:
        for paper, language in sorted(appeals - set(cache.appeal)):
            cache.appeal[paper, language] = editions.handout(
                renderer, enclosing.get(language, data), paper).data
        # A layer for each text that two or more letters share; the others are laid out whole.
        counts = Counter(pack.shared for pack in packs)
        stationery, kept = {}, {}
        for pack in packs:
            if counts[pack.shared] > 1 and pack.shared not in stationery:
                key = cache.key(mailing, pack.paper, pack.shared)
                kept[key] = cache.stationery.get(key) or render_stationery(renderer, data, mailing, pack)
                stationery[pack.shared] = kept[key]
    cache.reads |= here
    cache.stationery = kept  # a long editing session keeps only what the letters now use
    groups = chunks(packs, lambda pack: (pack.paper, pack.shared if pack.shared in stationery else None,
                                         enclosed[pack.recipient.id]))
    keys = [cache.key(mailing, group[0].shared in stationery, enclosed[group[0].recipient.id], *group)
            for group in groups]
    parts = [staging.scratch(f"parts/{number:05d}.pdf") for number in range(len(groups))]
    todo = [number for number, key in enumerate(keys)
            if key not in cache.chunks or not _in_place(staging.out_dir, cache.chunks[key])]
    # Paths are staged here, before the workers fork, so that the commit knows every file.
    targets = {pack.recipient.id: staging.path(f"letters/{pack.recipient.id}.pdf")
               for number in todo for pack in groups[number]}
    kinds = {number: (groups[number][0].paper, groups[number][0].language,
                      groups[number][0].shared in stationery) for number in todo}
    sampled = {kinds[number]: number for number in reversed(todo)}  # the first chunk of each kind
    jobs = [functools.partial(_chunk, renderer, data, mailing, group,
                              cache.appeal[group[0].paper, enclosed[group[0].recipient.id]],
                              stationery.get(group[0].shared), targets, parts[number], signing,
                              sampled[kinds[number]] == number)
            for number, group in ((number, groups[number]) for number in todo)]
    # No monitor thread: the workers are forked inside this block, and a fork copies a thread's
    # locks but not the thread (Python 3.12 and later warn of it).
    tqdm.monitor_interval = 0
    with tqdm(total=sum(len(groups[number]) for number in todo), unit="pack", desc="letters",
              file=sys.stderr, disable=not sys.stderr.isatty(), leave=False) as bar:
        # This process has rendered the appeal and the stationery: it is warm, the workers fork warm.
        # A worker serves about 500 packs, then a fresh one is forked: each keeps some kilobytes of
        # every pack it lays out (in the text libraries, measured), and a parliament's run stays flat.
        made_here = run_all(jobs, done=lambda made: bar.update(len(made[0])), warm_first=False,
                            per_worker=max(1, PACKS_PER_WORKER // chunk_size()))
    results = [written for written, _, _ in made_here]
    _check_samples([(groups[number], sample) for number, (_, _, sample) in zip(todo, made_here, strict=True)
                    if sample])
    cache.reads.update(*(chunk_reads for _, chunk_reads, _ in made_here))
    if reads is not None:
        reads |= cache.reads
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
    name = "letters.pdf" if not shard else "letters-shard-{}-of-{}.pdf".format(*shard)
    combined = staging.path(name)
    if signing is None:
        pages = merge(parts, combined, mailing)
    else:
        unsigned = staging.scratch(name)
        pages = merge(parts, unsigned, mailing)
        signing.file(unsigned, combined, signed_at(mailing))
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
            "per pack", *_enclosures(enclosed, original, translations), *removed]


def _enclosures(enclosed: dict[str, str], original: str, translations: Sequence[Data]) -> list[str]:
    """`letters: 3 packs enclose the appeal in en (the original), 2 in pl`, when translations exist."""
    if not translations:
        return []
    counts = Counter(enclosed.values())
    parts = [f"{counts.pop(original, 0)} in {original} (the original)",
             *(f"{count} in {language}" for language, count in sorted(counts.items()))]
    return [f"letters: the packs enclose the appeal {', '.join(parts)}"]


def _check_samples(samples: Sequence[tuple[Sequence[Pack], bytes]]) -> None:
    """A UserError unless the first pack of each kind just written (its paper, its language, and
    whether its letter was drawn from a stationery layer) passes PDF/UA-1, so that the build
    commits no pack that fails: the packs of one kind are tagged by the same steps. `samples`:
    the first chunk of each kind, and its first pack as its worker wrote it (only those travel
    back: a parliament's chunks would otherwise keep a pack each in this process). Checked here,
    in the main process, after the workers: page-validation leaves threads that a fork must not
    copy. About 25 ms a pack checked."""
    from appeal.verify.conformance import accessible_check

    for group, sample in samples:
        accessible_check(sample, f"letters/{group[0].recipient.id}.pdf")


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


def _chunk(renderer: Renderer, data: Data, mailing: Mailing, group: Sequence[Pack], appeal_pdf: bytes,
           stationery: Stationery | None, targets: dict[str, Path], part: Path,
           signing, sample: bool) -> tuple[list[Written], frozenset[Path], bytes]:
    """A chunk's packs written, what laying out its cover letters read (in a worker: the caller's
    recording does not see it), and, with `sample`, its first pack's bytes for the caller to check."""
    with recording() as reads:
        covers = render_chunk(renderer, data, mailing, group, stationery)
    written, first = assemble(mailing, group, covers, appeal_pdf, targets.__getitem__, part, signing)
    return written, frozenset(reads), first if sample else b""
