"""`build.py verify`: is this PDF an unchanged archival edition of the appeal? One line per check.

Reading a file's text can never prove what its reader sees: a white box over a paragraph, a
sentence drawn as an artifact, a note in the margin leave the text of the source in place. So
verify rebuilds the edition from the source embedded in the file and compares:

- With the same stack and the same fingerprint (this tool's code, templates, styles, fonts and
  words), the build is reproducible: the file must be the rebuild, byte for byte.
- Otherwise (another version of WeasyPrint's font subsetter, of pikepdf, of this tool), every page
  must render pixel for pixel as the rebuild's does, with the same text, page boxes, annotations,
  attachments, tags, outline and metadata. The line says which proof was given.

Either way a difference is named with its page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Iterator, Sequence
from io import BytesIO
from pathlib import Path

import pikepdf

from appeal.errors import UserError
from appeal.inputs.endorsements import EMBEDDED_NAME, Endorsements, load_endorsements
from appeal.inputs.endorsements import LIMIT as ENDORSEMENTS_LIMIT
from appeal.inputs.models import Appeal, load_appeal
from appeal.inputs.translation import TRANSLATION_LIMIT, load_translation
from appeal.layout.writing import writing
from appeal.pdf.compare import COMPARE_DPI
from appeal.pdf.later_revisions import validation_revision_problems
from appeal.pdf.metadata import TOOL
from appeal.pdf.pdfa import ENDORSEMENTS_MIME, SOURCE_MIME, SOURCE_NAME, TRANSLATION_NAME
from appeal.pdf.revisions import changes, revisions, roles, signature_revision_problems, summary
from appeal.pdf.text import reading_text
from appeal.pdf.untrusted import Unreadable, preflight
from appeal.verify.conformance import ARCHIVE_PROFILES, DEPOSIT_PROFILES, validation
from appeal.verify.reading import (
    LETTER_KINDS,
    Check,
    Mark,
    edition_kind,
    embedded_file,
    embedded_source,
    given_sources,
    has_signature,
    is_deposit,
    modified_at,
    open_pdf,
    read_mark,
)

# What line breaking and hyphenation may change: white space and hyphens (-, U+2010, soft hyphen).
_BREAKS = re.compile(r"[\s\-\u2010\u00ad]+")
# The largest file verify reads: the archive of 5,000 signatories has 5 MB.
PDF_LIMIT = 256 * 2**20


# Bidi controls: the isolates the templates put around names in right-to-left text draw nothing.
_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def squash(text: str) -> str:
    return _BREAKS.sub("", _CONTROLS.sub("", unicodedata.normalize("NFC", text)))


def missing_in_order(page_text: str, expected: list[str]) -> list[str]:
    """The expected texts that do not occur in the page text in order (compared ignoring breaks)."""
    text, position, missing = squash(page_text), 0, []
    for item in expected:
        found = text.find(squash(item), position)
        if found < 0:
            missing.append(item)
        else:
            position = found + len(squash(item))
    return missing


def expected_texts(appeal: Appeal, endorsements: Endorsements | None = None) -> list[str]:
    texts = [appeal.title, appeal.publication, *appeal.body]
    for number, signatory in enumerate(appeal.signatories, 1):
        texts += [f"{number}. {signatory.name}", signatory.role]
    if endorsements is not None:
        for group in endorsements.groups("", len(appeal.signatories) + 1):
            for number, entry in group.numbered():
                texts += [f"{number}. {entry.name}", entry.detail]
    return [text for text in texts if text]


def checks(data: bytes, name: str, trust: Sequence[Path] = (), rebuild: Path | None = None,
           proven: dict | None = None, at: dt.datetime | None = None,
           sources: Sequence[Path] | None = None) -> Iterator[Check]:
    """Each check in turn; stops early only where the next checks need what failed.

    The file is first read within bounds (untrusted.preflight) and its revisions are told apart:
    an unsigned edition must be the one revision the build wrote; a signed one that and the
    revision adding the signature, which must change nothing else. The edition's own checks then
    read the revision the build wrote. The build runs them all but the rebuild on every archive it
    writes (it is the rebuild); verify gives `rebuild`, the words to rebuild the edition with.
    `proven` receives the source data once every check has held. A deposit edition carries no
    source: `sources` are the files that stand in for it (`verify --source`), its data and, when
    its colophon lists them, the published endorsements (a .csv file); without them its pages
    cannot be proven.
    """
    opened = yield from file_checks(data, name, trust, at)
    if opened is None:
        return
    edition, signed, mark, kind = opened
    if kind in LETTER_KINDS:
        yield (Check(True, f"a {kind} of this tool: the recipients' data is not inside it, so its pages "
                           "are not rebuilt; the signature vouches for them") if signed else
               Check(False, f"a {kind} of this tool, not signed: nothing in it proves who made it or that it "
                            "is unchanged (sign it with build.py sign)"))
        return
    if kind is not None and not mark.ours:
        yield Check(False, f"a {kind} of this tool: it carries no source to prove its pages against; "
                           "verify the archival edition (appeal-archive.pdf), which does")
        return
    results: list[bool] = []
    for check in _edition_checks(edition, data, name, rebuild, mark, proven, sources):
        results.append(check.ok)
        yield check
    if proven is not None and not all(results):
        proven.clear()


def _edition_checks(edition: bytes, data: bytes, name: str, rebuild: Path | None, mark: Mark,
                    proven: dict | None, sources: Sequence[Path] | None = None) -> Iterator[Check]:
    with open_pdf(edition, name) as pdf:
        yield Check(mark.ours, f"made by {mark.creator}" if mark.ours else
                    f"not made by {TOOL}: xmp:CreatorTool is {mark.creator or 'missing'}")
        deposit = is_deposit(pdf)
        optional = {EMBEDDED_NAME: None, TRANSLATION_NAME: None}
        if deposit:
            source, optional[EMBEDDED_NAME], check = given_sources(pdf, sources or ())
            yield check
            if source is None:
                return
        else:
            source, check = embedded_source(pdf)
            yield check
            if source is None:
                return
            # the endorsements and a translation, when the archive has them
            for name, mime, limit, what in (
                    (EMBEDDED_NAME, ENDORSEMENTS_MIME, ENDORSEMENTS_LIMIT, "the endorsements"),
                    (TRANSLATION_NAME, SOURCE_MIME, TRANSLATION_LIMIT, "the translation")):
                optional[name], check = embedded_file(pdf, name, mime, limit, what)
                if check is not None:
                    yield check
                    if optional[name] is None:
                        return
        endorsements_raw, translation_raw = optional[EMBEDDED_NAME], optional[TRANSLATION_NAME]
        modified = modified_at(pdf)
        right_to_left = writing(str(pdf.Root.get("/Lang", ""))).rtl
    sha256 = hashlib.sha256(source).hexdigest()
    page_text = reading_text(edition, right_to_left)
    for label, content in (("source", source), ("translation", translation_raw),
                           ("endorsements", endorsements_raw)):
        if content is not None:
            digest = hashlib.sha256(content).hexdigest()
            printed = digest in page_text
            yield Check(printed, f"{label} SHA-256 {digest} {'is' if printed else 'is not'} the one printed "
                                 "in the colophon")
    try:
        appeal, _ = load_appeal(Path(f"{name}:{SOURCE_NAME}"), source)
        if translation_raw is not None:
            translation, _ = load_translation(Path(f"{name}:{TRANSLATION_NAME}"), appeal, translation_raw)
            appeal = translation.applied(appeal)
        endorsements = load_endorsements(Path(f"{name}:{EMBEDDED_NAME}"), endorsements_raw) \
            if endorsements_raw is not None else None
    except UserError as exc:
        yield Check(False, f"embedded source is not valid data: {exc}")
        return
    missing = missing_in_order(page_text, expected_texts(appeal, endorsements))
    endorsed = f", {len(endorsements.published)} endorsements" if endorsements else ""
    yield Check(not missing, (
        f"page text matches the source: title, {len(appeal.body)} paragraphs, "
        f"{len(appeal.signatories)} signatories{endorsed}, in order") if not missing else
        f"page text differs from the source at: {missing[0][:70]!r} ({len(missing)} passages)")
    if rebuild is not None and mark.ours:
        yield from compare_with_rebuild(edition, name, source, endorsements_raw, rebuild, mark, modified,
                                        translation_raw, deposit)
    yield from validation(data, DEPOSIT_PROFILES if deposit else ARCHIVE_PROFILES)
    if mark.ours:
        yield Check(True, f"edition: {mark.edition}; source SHA-256: {sha256}")
    if proven is not None and not deposit:
        proven["source"] = source
        if translation_raw is not None:
            proven["translation"] = (translation.language, translation_raw)


def file_checks(data: bytes, name: str, trust: Sequence[Path] = (), at: dt.datetime | None = None):
    """The checks of the file as a whole, before any of its content is believed: read within bounds,
    its signature (validated as of `at`, or now), its revisions. Returns (the revision the build
    wrote, signed, the mark, the kind of edition) when they hold, else None."""
    try:
        with open_pdf(data, name) as pdf:
            preflight(pdf)
            signed = has_signature(pdf)
            mark = read_mark(pdf)
            kind = edition_kind(pdf, mark)
        found = revisions(data)
    except Unreadable as exc:
        yield Check(False, f"not read further: {exc}")
        return None
    if signed:
        from appeal.pdf.signatures import signatures

        try:
            reports = signatures(data, list(trust), at)
        except Unreadable as exc:
            yield Check(False, f"not read further: {exc}")
            return None
        from appeal.verify.signature_lines import signature_checks

        yield from signature_checks(reports, len(found))
        if len(reports) != 1:
            yield Check(False, f"it holds {len(reports)} signatures; an edition is signed once, "
                               "by its publisher")
            return None
    if (len(found) != 1 and not signed) or (len(found) < 2 and signed) or \
            (signed and reports[0].covers not in (0, found[1].end)):  # signed in a later revision
        yield Check(False, _revisions_line(data, found, signed))
        return None
    edition = data[:found[0].end]
    if not signed:
        yield Check(True, "one revision: what every reader opens is the file as it was written"
                    + (" (linearised for fast web view)" if len(found[0].sections) > 1 else ""))
        return edition, signed, mark, kind
    try:
        with open_pdf(edition, name) as before, open_pdf(data[:found[1].end], name) as after:
            preflight(before)
            problems = signature_revision_problems(before, after)
        later = []
        for number in range(2, len(found)):
            with open_pdf(data[:found[number - 1].end], name) as before, \
                    open_pdf(data[:found[number].end], name) as after:
                preflight(after)
                later += [f"revision {number + 1}: {problem}"
                          for problem in validation_revision_problems(before, after)]
    except Unreadable as exc:
        yield Check(False, f"not read further: the revision before the signature: {exc}")
        return None
    if later and not problems:
        yield Check(False, _revisions_line(data, found, signed))
        return None
    extra = len(found) - 2
    yield Check(not problems, (
        "two revisions, the one written before signing and the signature's, which adds the signature and "
        "changes nothing else" if not extra else
        f"{len(found)} revisions: the one written before signing, the signature's, which adds the signature "
        f"and changes nothing else, and {extra} of long-term validation, which add validation data and "
        "document timestamps and change nothing else") if not problems else
        "the signature's revision changes more than the signature: " + "; ".join(problems[:4]))
    return (edition, signed, mark, kind) if not problems else None


def _revisions_line(data: bytes, found: list, signed: bool) -> str:
    """Why the file has more revisions than it may, each later one named by what it changes."""
    parts = []
    for number in range(1, len(found)):
        try:
            with pikepdf.open(BytesIO(data[:found[number - 1].end])) as before, \
                    pikepdf.open(BytesIO(data[:found[number].end])) as after:
                preflight(before)
                preflight(after)
                what = summary(changes(before, after), roles(before))
        except (Unreadable, pikepdf.PdfError) as exc:
            what = f"cannot be compared ({exc})"
        parts.append(f"revision {number + 1} {what}")
    allowed = ("a signed edition has two: the one written before signing and the signature's, then only "
               "revisions of long-term validation (validation data, document timestamps)" if signed else
               "an unsigned edition has one: an update appended to it changes what a reader opens")
    return f"the file has {len(found)} revisions; {'; '.join(parts)}; {allowed}"


def compare_with_rebuild(edition: bytes, name: str, source: bytes, endorsements: bytes | None,
                         words_path: Path, mark: Mark, modified: dt.datetime | None,
                         translation: bytes | None = None, deposit: bool = False) -> Iterator[Check]:
    """Rebuild the archive from its embedded sources as the file says it was made (a translation's
    from the original and the translation), and compare; a deposit edition from the sources given
    for it."""
    from appeal.dates import source_date_epoch
    from appeal.inputs.load import load_data
    from appeal.layout.render import Renderer
    from appeal.products import editions
    from appeal.versions import stack

    origin = "the source given for it" if deposit else "its embedded source"
    try:
        content = load_data(Path(f"{name}:{SOURCE_NAME}"), words_path,
                            Path(f"{name}:{EMBEDDED_NAME}") if endorsements is not None else None,
                            appeal_raw=source, endorsements_raw=endorsements)
        if translation is not None:
            from appeal.inputs.load import translated_data
            from appeal.inputs.models import read_words

            content = translated_data(content, Path(f"{name}:{TRANSLATION_NAME}"), read_words(words_path),
                                      translation)
        facts = editions.deposit_facts(content) if deposit else editions.archive_facts(content)
        # The colophon prints the stack the file claims; the rebuild prints the same, and the
        # date of modification the file records.
        claimed = dataclasses.replace(facts, stack=mark.stack, modified=modified or facts.modified)
        content = dataclasses.replace(content, modified=claimed.modified)
        with source_date_epoch(claimed.modified):
            rebuilt = editions.archive(Renderer(), content, claimed).data
    except UserError as exc:
        yield Check(False, f"the edition cannot be rebuilt from {origin}: {exc}")
        return
    # The proof is chosen by this verifier, from its own stack and fingerprint, never by the file's
    # claims alone: when they agree, nothing but the bytes (or the same objects re-saved) will do.
    own = facts.fingerprint == mark.fingerprint and stack() == mark.stack
    if rebuilt == edition:
        yield Check(True, f"identical, byte for byte, to the edition rebuilt from {origin} with "
                          f"{'this stack and' if own else 'the stack it names and'} fingerprint "
                          f"{facts.fingerprint}: every page is as published")
        return
    made_by = (f"the file names fingerprint {mark.fingerprint} and {mark.stack}; this is "
               f"fingerprint {facts.fingerprint} with {stack()}")
    try:
        from appeal.pdf.compare import differences_from

        differences = list(differences_from(edition, rebuilt, fonts=own))
    except Unreadable as exc:
        yield Check(False, f"cannot be compared with the edition rebuilt from its source: {exc}")
        return
    if own and not differences:
        yield Check(True, "the same objects as the rebuild, re-serialised: every object a reader reaches "
                          "(pages, their content, fonts, annotations, attachments, tags, outline, metadata) "
                          f"equals the one in the edition rebuilt from {origin} with this stack "
                          f"and fingerprint {facts.fingerprint}; only how they are stored differs (object "
                          "numbers, compression, cross-references), as when a repository re-saves a file")
        return
    if not differences:
        yield Check(True, "the same objects as the rebuild but for the font programs, which draw every "
                          "glyph the pages use as the rebuild's do (outlines, instructions and advances "
                          f"compared), and every page renders pixel for pixel (at {COMPARE_DPI} dpi) as the "
                          f"rebuild's; not compared byte for byte, as {made_by}")
        return
    for difference in differences[:12]:
        yield Check(False, f"differs from the edition rebuilt from {origin}: {difference}")
    if not own:
        yield Check(False, f"note: {made_by}; a difference may come from that: for a byte-for-byte rebuild, "
                           "install the stack the file names and check out the commit with its fingerprint")


def deposit_check(data: bytes, name: str) -> None:
    """A UserError unless a deposit edition just built embeds no file and passes PDF/A-2a and
    PDF/UA-1 (its pages are the archive's, made from the same data in the same build)."""
    from appeal.pdf.pdfua import orphans

    failed = [check.line() for check in file_checks(data, name) if not check.ok]
    failed += [check.line() for check in validation(data, DEPOSIT_PROFILES) if not check.ok]
    with open_pdf(data, name) as pdf:
        if "/AF" in pdf.Root or pdf.attachments:
            failed.append("it embeds a file")
        untagged = orphans(pdf)
    if untagged:
        failed.append(f"{untagged} marked-content sequences that no structure element reaches")
    if failed:
        raise UserError(f"{name}: the deposit edition just built fails its checks, so the build stops and "
                        "writes nothing:\n  " + "\n  ".join(failed))


def self_check(data: bytes, name: str) -> None:
    """The checks of verify but the rebuild, on an archive just built: a build never hands out an
    archive that fails them (a UserError lists the failures, and nothing is written); a deposit
    edition's, which carries no source to check its pages against (deposit_check)."""
    with open_pdf(data, name) as pdf:
        if is_deposit(pdf):
            deposit_check(data, name)
            return
    failed = [check.line() for check in checks(data, name) if not check.ok]
    if failed:
        raise UserError(f"{name}: the archive just built fails verify, so the build stops and writes "
                        "nothing:\n  " + "\n  ".join(failed))
