"""Shared fixtures: one build of the editions per session, and no WeasyPrint warning unnoticed."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
import yaml

from appeal.cli import main
from appeal.paths import DATA_DIR

# Expected where Debian's libharfbuzz-subset0 is absent; any other WeasyPrint warning fails the test.
EXPECTED_NOTICES = ("Using fontTools instead of HarfBuzz-Subset",)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not any(notice in message for notice in (*EXPECTED_NOTICES, "note: fonts are subset")):
            self.records.append(record)


@pytest.fixture(autouse=True)
def no_weasyprint_warnings(request):
    handler = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    if request.node.get_closest_marker("weasyprint_warns"):
        return
    assert not handler.records, "WeasyPrint warned: " + "; ".join(r.getMessage() for r in handler.records)


@pytest.fixture(scope="session")
def appeal_data() -> dict:
    return yaml.safe_load((DATA_DIR / "appeal.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """The default build, made once: the folder holding every edition."""
    out = tmp_path_factory.mktemp("output")
    assert main(["--out", str(out)]) == 0
    return out


@pytest.fixture
def earlier_build(built, tmp_path) -> Path:
    """An output folder holding a finished build, for tests that must leave it untouched."""
    out = tmp_path / "output"
    shutil.copytree(built, out)
    return out
