"""Jinja2 templates to HTML, WeasyPrint HTML to PDF, with the project's fonts and assets only."""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from dataclasses import dataclass

import jinja2
from markupsafe import Markup
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from .fetcher import AssetFetcher
from .paths import STYLE_DIR, TEMPLATE_DIR

PAPERS = ("a4", "letter")


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
            out.append(f"\\{ord(char):06x}")
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


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["css_string"] = css_string
    env.filters["css_page_of"] = css_page_of
    return env


def render_html(template: str, **context) -> str:
    return environment().get_template(template).render(**context)


def pdf_date(day: dt.date | dt.datetime) -> str:
    """A W3C date-time for <meta name="dcterms.*">, always in UTC so no time zone leaks in."""
    if isinstance(day, dt.datetime):
        return day.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{day.isoformat()}T00:00:00Z"


def pdf_info_date(moment: dt.date | dt.datetime) -> str:
    """A date for the PDF information dictionary (ISO 32000-1, 7.9.4), in UTC: D:20250616000000Z."""
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime(moment.year, moment.month, moment.day, tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("D:%Y%m%d%H%M%SZ")


def modification_time(day: dt.date) -> dt.datetime:
    """SOURCE_DATE_EPOCH when the caller sets it (reproducible-builds.org), else the appeal's date."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Rendered:
    """A finished PDF in memory."""

    data: bytes
    pages: int


class Renderer:
    """One FontConfiguration and one set of compiled stylesheets, reused for every render."""

    def __init__(self) -> None:
        self.font_config = FontConfiguration()
        self.fetcher = AssetFetcher()
        self.stylesheets = {
            paper: CSS(filename=str(STYLE_DIR / f"{paper}.css"), font_config=self.font_config,
                       url_fetcher=self.fetcher)
            for paper in PAPERS}

    def document(self, html: str, paper: str, **options):
        """Lay out `html` on `paper`; the WeasyPrint Document (pages can be inspected or copied)."""
        page_html = HTML(string=html, base_url=TEMPLATE_DIR.as_uri() + "/", url_fetcher=self.fetcher)
        return page_html.render(font_config=self.font_config, stylesheets=[self.stylesheets[paper]],
                                **options)

    def pdf(self, html: str, paper: str, **options) -> Rendered:
        document = self.document(html, paper, **options)
        data = document.write_pdf(**options)
        return Rendered(data, len(document.pages))

