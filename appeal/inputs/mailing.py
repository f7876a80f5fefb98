"""The letters' inputs: the letter and its recipients, read and checked, filled in as one pack each."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment

from appeal.errors import Collected
from appeal.inputs.letter_models import Letter, Recipient, Recipients
from appeal.inputs.models import LETTER_LIMIT, RECIPIENTS_LIMIT, lookup, read_words, words_for
from appeal.inputs.placeholders import placeholders
from appeal.inputs.source import Problem, Source, duplicates, read_yaml
from appeal.layout.fonts import check_coverage

# DIN 5008 form B: below the name, the address zone of the window holds 5 lines in all.
ADDRESS_LINES = 4
@dataclass(frozen=True, slots=True)  # slots: no dict in each of a parliament's packs
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
    """The letter and its recipients, filled in as one pack each (the appeal they enclose is the
    build's data, given beside it)."""

    letter: Letter
    letter_source: Source
    recipients_source: Source
    packs: list[Pack]
    ids: frozenset[str]  # every recipient's, in a shard too
    # "recipients in en-GB get the letter in en": said in the summary, as BCP 47 lookup chose it.
    fallbacks: list[str]
def load_mailing(words: Source | Path | None, letter_path: Path, recipients_path: Path,
                 shard: tuple[int, int] | None = None) -> Mailing | None:
    """Everything the letters need besides the appeal, every record checked before anything is
    written; the words file gives the dates' words in each letter's language. One UserError names
    every problem of both files; with `words` None (the caller could not read them, and says why)
    the letter and the recipients are checked, and None is returned."""
    found = Collected()
    if isinstance(words, Path):
        words = found.attempt(read_words, words)
    letter_source = found.attempt(read_yaml, letter_path, "letter", LETTER_LIMIT)
    letter = found.attempt(letter_source.validate, Letter) if letter_source else None
    if letter is not None:
        found.attempt(check_coverage, _letter_texts(letter), letter_source)
    # The recipients' lines are found again in the file for a message that names one.
    recipients_source = found.attempt(read_yaml, recipients_path, "recipients", RECIPIENTS_LIMIT, False)
    recipients = None
    if recipients_source is not None:
        recipients = found.attempt(recipients_source.validate, Recipients)
    if recipients is not None:
        recipients = recipients.recipients
        _share_field_sets(recipients)
        found.attempt(_check_recipients, recipients, recipients_source, letter, letter_source)
        found.attempt(check_coverage, _recipient_texts(recipients), recipients_source)
    found.raise_any()
    if words is None:
        return None
    body = _BodyTemplates(letter, letter_source)
    # The date is written in the language of the letter's words, with that language's words.
    dates = {letter.language: words_for(words, letter.language, letter_source).date(letter.date)}
    packs = []
    fallbacks: Counter[tuple[str, str]] = Counter()
    for index, recipient in enumerate(recipients):
        # Every record is filled in and checked, in a shard too: every machine judges the whole file.
        text = letter.text(recipient.language)
        language = letter.text_language(recipient.language)
        if recipient.language and recipient.language != language:
            fallbacks[(recipient.language, language)] += 1
        # Dated in the recipient's usage where the words have it (en-US: "June 16, 2025", though
        # the text is en's), else in the text's language.
        dated = recipient.language if recipient.language and lookup(recipient.language, words.data) \
            else language
        if dated not in dates:
            dates[dated] = words_for(words, dated, recipients_source,
                                     ("recipients", index, "language")).date(letter.date)
        salutation = recipient.salutation or f"Dear {recipient.addressee}"
        paragraphs = body.paragraphs(text.body, recipient, salutation, index)
        check_coverage(((("recipients", index), p) for p in paragraphs), recipients_source)
        packs.append(Pack(index, recipient, recipient.paper or letter.paper, language, salutation,
                          text.subject, paragraphs, text.closing, text.enclosure, dates[dated]))
    if shard:
        packs = [pack for pack in packs if in_shard(pack.recipient.id, *shard)]
    # Every record read: the packs hold what the letters need.
    recipients_source.compact(placeholders(recipients_source))
    notes = [f"{count} recipient{'s' if count > 1 else ''} in {asked} get{'' if count > 1 else 's'} "
             f"the letter in {found} (it has no {asked} translation)"
             for (asked, found), count in sorted(fallbacks.items())]
    return Mailing(letter, letter_source, recipients_source, packs,
                   frozenset(r.id for r in recipients), notes)
def _share_field_sets(models: Sequence[Recipient]) -> None:
    """One set of the keys given for every recipient that gives the same keys. pydantic keeps a set
    in each model (`model_fields_set`): 0.7 kB of the 2.3 kB a recipient kept through the letters'
    run, measured. The models are frozen, so no model changes the set it shares."""
    shared: dict[frozenset[str], set[str]] = {}
    for model in models:
        given = model.__pydantic_fields_set__
        object.__setattr__(model, "__pydantic_fields_set__", shared.setdefault(frozenset(given), given))


def _check_recipients(recipients: Sequence[Recipient], source: Source, letter: Letter | None,
                      letter_source: Source | None) -> None:
    """Every recipient's id unique, the address fitting the window, the language one the letter
    has (when the letter could be read)."""
    problems = duplicates((r.id for r in recipients), ("recipients",), "id", "the id")
    for index, recipient in enumerate(recipients):
        loc = ("recipients", index)
        room = ADDRESS_LINES - (1 if recipient.position else 0)
        if len(recipient.address) > room:
            below = "the name and the position" if recipient.position else "the name"
            problems.append(Problem((*loc, "address"), (
                f"has {len(recipient.address)} lines; at most {room} fit the envelope "
                f"window below {below}")))
        if letter is not None and letter.text(recipient.language) is None:
            problems.append(Problem((*loc, "language"), (
                f"the letter ({letter_source.path}) has no translation for {recipient.language!r}; "
                f"add one under translations: {recipient.language}:")))
    if problems:
        raise source.error(problems)


def in_shard(recipient_id: str, number: int, count: int) -> bool:
    """Whether a recipient belongs to slice `number` of `count` (1-based).

    By a hash of the id, not by position: adding or removing a recipient moves no other one to
    another slice, and every machine computes the same slices from the same file.
    """
    digest = hashlib.sha256(recipient_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count == number - 1
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
        self.shared: dict[str, str] = {}
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
        # One copy of each paragraph the letters share: a parliament's letters are the same but
        # for the salutation (13.8 of 62 MB that loading 10,000 recipients kept, measured).
        return tuple(self.shared.setdefault(paragraph, paragraph) for paragraph in
                     (" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()))
