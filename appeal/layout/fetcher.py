"""A URL fetcher that lets WeasyPrint read the project's own assets and nothing else."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import appeal.layout.libraries  # noqa: F401  (WeasyPrint's libraries found fast: before WeasyPrint)

# isort: split
from weasyprint.urls import FatalURLFetchingError, URLFetcher

from appeal.layout.reads import record
from appeal.paths import STYLE_DIR, TEMPLATE_DIR


class AssetFetcher(URLFetcher):
    """Allow `data:` URLs and files under styles/ and templates/; stop the build on anything else.

    `allowed_protocols` alone still let a `file://` link outside the project through, so each
    file URL is resolved (symlinks and `..` included) and checked against the asset folders.
    """

    def __init__(self, roots: tuple[Path, ...] = (STYLE_DIR, TEMPLATE_DIR)) -> None:
        super().__init__(allowed_protocols={"data", "file"}, allow_redirects=False,
                         fail_on_errors=True)
        self.roots = tuple(root.resolve() for root in roots)

    def fetch(self, url, headers=None):
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            path = Path(url2pathname(urlsplit(url).path)).resolve()
            if any(path.is_relative_to(root) for root in self.roots) and path.is_file():
                record(path)
                return super().fetch(url, headers)
        folders = " and ".join(str(root) for root in self.roots)
        raise RefusedURL(f"refused to fetch {url}: a build reads only data: URLs and files under "
                         f"{folders}")


class RefusedURL(FatalURLFetchingError):
    """WeasyPrint lets exceptions of this kind (a BaseException) stop the render."""
