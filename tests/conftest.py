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


# Invented endorsers for the layout tests: organisations with long names and roles, people with
# short ones, some without a country, as a campaign's export would have them.
_KINDS = ("Landmine Survivors", "Mine Action", "Humanitarian Disarmament", "Victim Assistance",
          "Clearance", "Peace Research", "Human Rights", "Children in War")
_BODIES = ("Network", "Coalition", "Association", "Foundation", "Institute", "Campaign")
_ROLES = ("Non-governmental organisation", "Coalition of 40 organisations", "Research institute",
          "Survivors' network", "")
_PEOPLE = ("Alex", "Sam", "Kim", "Robin", "Maria", "Jean-Pierre")
_COUNTRIES = ("Examplestan", "Norland", "Southia", "")


@pytest.fixture(scope="session")
def endorsed(tmp_path_factory) -> Path:
    """The A4 handout, the A5 press edition and the A5 booklet with 500 endorsements in two groups."""
    import csv

    folder = tmp_path_factory.mktemp("endorsed500")
    rows = []
    for n in range(500):
        if n < 250:
            suffix = f" of Region {n}" if n % 3 == 0 else f" {n}"
            name = f"Example {_KINDS[n % 8]} {_BODIES[n % 6]}{suffix}"
            role, group = _ROLES[n % 5], "Organisations"
        else:
            name, group = f"{_PEOPLE[n % 6]} Example {n}", "Individuals"
            role = ("Deminer", "Physician", "")[n % 3]
        rows.append(["", "", name, role, _COUNTRIES[n % 4], group, "yes"])
    path = folder / "endorsements.csv"
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["Timestamp", "Email address", "name", "role", "country", "group", "publish"])
        writer.writerows(rows)
    out = folder / "output"
    editions = [option for name in ("a4", "press-a5", "booklet") for option in ("--edition", name)]
    assert main(["--endorsements", str(path), *editions, "--out", str(out)]) == 0
    return out
