"""Jinja2 templates to HTML, WeasyPrint HTML to PDF, with the project's fonts and assets only."""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import jinja2
from markupsafe import Markup

import appeal.layout.libraries  # noqa: F401  (WeasyPrint's libraries found fast: before WeasyPrint)

# isort: split
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from appeal.errors import UserError
from appeal.layout.boxes import walk
from appeal.layout.fetcher import AssetFetcher
from appeal.layout.reads import record, recording
from appeal.layout.writing import writing
from appeal.paths import STYLE_DIR, TEMPLATE_DIR
from appeal.versions import apply_subsetter_choice


def _page_references_once() -> None:
    """Make pydyf build the tuple of its pages' references once per page count.

    pydyf's `PDF.page_references` builds the tuple of every page's reference each time it is
    read, and WeasyPrint reads it once per structure element, so writing a tagged PDF takes time
    that grows with pages × elements: 1.1 of the 3.6 s of writing 92 pages of 5,000 endorsements.
    The tuple only grows as pages are added; the bytes written are the same (the tests build and
    compare them).
    """
    import pydyf

    if not isinstance(getattr(pydyf.PDF, "page_references", None), property):
        return  # another pydyf: leave it as it is

    def page_references(pdf):
        kids = pdf.pages["Kids"]
        cached = pdf.__dict__.get("_appeal_page_references")
        if cached is None or cached[0] != len(kids):
            cached = (len(kids), tuple(f"{number} 0 R".encode("ascii") for number in kids[::3]))
            pdf.__dict__["_appeal_page_references"] = cached
        return cached[1]

    pydyf.PDF.page_references = property(page_references)


_page_references_once()
apply_subsetter_choice()


def css_string(text: str) -> Markup:
    """`text` as a quoted CSS string, every character outside a safe set hex-escaped.

    It goes inside a <style> element, where HTML escaping does not apply, so `<`, quotes and
    backslashes must not survive as themselves.
    """
    out = []
    for char in text:
        if (char.isalnum() and char.isascii()) or char in " .,:;()-":
            out.append(char)
        else:
            # The space ends the escape and is consumed with it (CSS Syntax 4.3.7): without it, a
            # space after an escaped letter ("Подписавшие (продолжение)") would be eaten.
            out.append(f"\\{ord(char):06x} ")
    return Markup('"' + "".join(out) + '"')


def css_page_of(template: str) -> Markup:
    """`Page {page} of {pages}` as CSS `content`: strings around counter(page) and counter(pages)."""
    parts = []
    for piece in re.split(r"(\{pages?\})", template):
        if piece in ("{page}", "{pages}"):
            parts.append(f"counter({piece[1:-1]})")
        elif piece:
            parts.append(css_string(piece))
    return Markup(" ".join(parts))


class _Environment(jinja2.Environment):
    """Jinja's environment, recording each template it loads (a render's own, and those it extends,
    imports and includes: the code Jinja compiles loads them through here, cached or not)."""

    def get_template(self, name, parent=None, globals=None):
        if isinstance(name, str):
            record(TEMPLATE_DIR / name)
        return super().get_template(name, parent, globals)


def compounds_whole(text: str) -> Markup:
    """`text` escaped, each hyphenated compound ("Anti-personnel") in a span that the stylesheet
    keeps on one line: a title broken after "Anti-" reads as two words."""
    escaped = str(Markup.escape(text))
    return Markup(re.sub(r"\w+(?:-\w+)+", lambda match: f'<span class="compound">{match[0]}</span>', escaped))


@functools.cache
def environment() -> jinja2.Environment:
    env = _Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["css_string"] = css_string
    env.filters["css_page_of"] = css_page_of
    env.filters["compounds_whole"] = compounds_whole
    env.filters["isolate"] = lambda text, language: writing(language).isolate(text)
    env.filters["numbers"] = lambda text, language: writing(language).numbers(text)
    env.globals["writing"] = writing
    return env


def render_html(template: str, **context) -> str:
    try:
        return environment().get_template(template).render(**context)
    except jinja2.TemplateError as exc:  # a template being edited: its file and line, as for the data
        message = f"no such template: {exc.name}" if isinstance(exc, jinja2.TemplateNotFound) else \
            exc.message or type(exc).__name__
        raise UserError(f"{_template_place(exc, template)}: {message}") from None


def _template_place(exc: jinja2.TemplateError, template: str) -> str:
    """`templates/handout.html:12`: where in the templates `exc` arose (Jinja puts each template's
    lines into the traceback; a syntax error carries its own)."""
    folder = Path(TEMPLATE_DIR)
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename:
        return f"{folder.name}/{Path(exc.filename).name}:{exc.lineno}"
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if Path(frame.filename).parent == folder:
            return f"{folder.name}/{Path(frame.filename).name}:{frame.lineno}"
    return f"{folder.name}/{template}"


class _Warnings(logging.Handler):
    """WeasyPrint's warnings during a build: each one means something is missing from a page (an
    image it could not read, a style it ignored), so the build stops on any of them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        # The subsetter notice (cli.py) is advice about speed, not about the pages.
        if not message.startswith("note:") and "Using fontTools instead of HarfBuzz-Subset" not in message:
            self.messages.append(message)

    def check(self, what: str) -> None:
        if self.messages:
            messages = list(dict.fromkeys(self.messages))
            self.messages.clear()
            raise UserError(f"WeasyPrint warned while laying out {what}; the build stops rather than "
                            "write a page with something missing:\n  " + "\n  ".join(messages))


@contextlib.contextmanager
def stop_on_warnings() -> Iterator[_Warnings]:
    """Collect WeasyPrint's warnings; `check(what)` after each render raises them as a UserError."""
    handler = _Warnings()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@dataclass(frozen=True)
class Rendered:
    """A finished PDF in memory."""

    data: bytes
    pages: int
    reads: frozenset[Path] = frozenset()  # the templates and assets it was made from (layout.reads)


class _Fonts(FontConfiguration):
    """WeasyPrint's font configuration, recording each @font-face file a stylesheet names: it
    fetches a face once and skips it in the next stylesheet that names it."""

    def add_font_face(self, rule_descriptors, url_fetcher):
        for _, url in rule_descriptors.get("src", ()):
            if isinstance(url, str) and url.startswith("file:"):
                record(url2pathname(urlsplit(url).path))
        return super().add_font_face(rule_descriptors, url_fetcher)


class Renderer:
    """One FontConfiguration and the compiled stylesheets, reused for every render."""

    def __init__(self) -> None:
        self.font_config = _Fonts()
        self.fetcher = AssetFetcher()
        self.stylesheets: dict[str, tuple[CSS, frozenset[Path]]] = {}

    def stylesheet(self, name: str) -> CSS:
        """`styles/<name>.css` compiled, once; what it read (its imports, its fonts) recorded on
        every use."""
        if name not in self.stylesheets:
            path = STYLE_DIR / f"{name}.css"
            with recording() as reads:
                record(path)
                css = CSS(filename=str(path), font_config=self.font_config, url_fetcher=self.fetcher)
            self.stylesheets[name] = (css, frozenset(reads))
        css, reads = self.stylesheets[name]
        for path in reads:
            record(path)
        return css

    def document(self, html: str, paper: str, style: str | tuple[str, ...] = "appeal", **options):
        """Lay out `html` on `paper` with what every document shares (base.css), the document's
        own stylesheet (`style`: appeal, cover-letter, sign-on; several in order) and the paper's
        (a4, letter, a5, half-letter, press-a4, press-a5), in that order; the WeasyPrint Document
        (pages can be inspected or copied)."""
        styles = (style,) if isinstance(style, str) else style
        sheets = [self.stylesheet(name) for name in ("base", *styles, paper)]
        page_html = HTML(string=html, base_url=TEMPLATE_DIR.as_uri() + "/", url_fetcher=self.fetcher)
        return page_html.render(font_config=self.font_config, stylesheets=sheets, **options)

    def pdf(self, html: str, paper: str, style: str | tuple[str, ...] = "appeal", **options) -> Rendered:
        document = self.document(html, paper, style, **options)
        data = document.write_pdf(**options)
        return Rendered(data, len(document.pages))



@dataclass(frozen=True)
class Overflow:
    """Text drawn outside the box it belongs to, found after layout."""

    page: int  # from 1
    key: str  # the data-key of the nearest element that names one, or the margin box (@bottom-left)
    text: str


_TOLERANCE = 0.5  # CSS px: rounding, not a visible overrun


def overflows(document) -> list[Overflow]:
    """Every run of text that a laid-out `document` draws outside its frame: past the page's
    content area, its margin box, an entry of the signature list or a cover letter's margins.
    WeasyPrint lets a word too long for its line run on (off the paper, over the next column); the
    editions break such words (`overflow-wrap`), and this proves that nothing still runs over."""
    from weasyprint.formatting_structure import boxes

    found = []
    for number, page in enumerate(document.pages, 1):
        page_box = page._page_box
        bottom = page_box.margin_height()
        area = (page_box.content_box_x(), page_box.content_box_x() + page_box.width, "", False)
        for box, (left, right, key, _) in walk(page_box, area, _frame):
            if isinstance(box, boxes.TextBox | boxes.InlineReplacedBox):
                start, end = box.position_x, box.position_x + box.margin_width()
                if (start < left - _TOLERANCE or end > right + _TOLERANCE or box.position_y < 0
                        or box.position_y + box.margin_height() > bottom + _TOLERANCE):
                    text = getattr(box, "text", "") or "(an image)"
                    found.append(Overflow(number, key, text))
    return found


def _frame(box, context: tuple) -> tuple:
    """(left, right, key, in a margin box): the frame that `box`'s text must stay inside, given its
    parent's: a margin box's own, an entry's padding box, a cover letter's content box."""
    from weasyprint.formatting_structure import boxes

    left, right, key, margin = context
    if isinstance(box, boxes.MarginBox):
        return box.content_box_x(), box.content_box_x() + box.width, box.at_keyword, True
    element = getattr(box, "element", None)
    tag = getattr(box, "element_tag", None) if element is not None else None
    if tag == "li":  # the entry's number hangs in its padding
        left, right = box.padding_box_x(), box.padding_box_x() + box.padding_width()
    elif tag == "article":  # a cover letter's padding is its margins
        left, right = box.content_box_x(), box.content_box_x() + box.width
    if element is not None and element.get("data-key") and not margin:
        key = element.get("data-key")
    return left, right, key, margin
