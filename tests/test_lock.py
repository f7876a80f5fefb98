"""requirements.lock pins what pyproject.toml asks for, each pin with its hashes, and the tests run
on the pinned versions (README: "A locked stack")."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, version

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from appeal.paths import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
REQUIREMENTS = [Requirement(text) for text in
                (*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["test"])]


def locked() -> dict[str, tuple[str, int]]:
    """Each pinned package: its version and how many hashes it has."""
    pins: dict[str, tuple[str, int]] = {}
    current = None
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if found := re.match(r"^([A-Za-z0-9_.\-]+)==([^\s\\]+)", line):
            current = canonicalize_name(found.group(1))
            pins[current] = (found.group(2), 0)
        elif current and re.match(r"^\s+--hash=sha256:[0-9a-f]{64}", line):
            pins[current] = (pins[current][0], pins[current][1] + 1)
        elif line.strip() and not line.lstrip().startswith("#"):
            current = None
    return pins


LOCK = locked()


def test_the_lock_pins_every_requirement_within_its_bounds():
    for requirement in REQUIREMENTS:
        name = canonicalize_name(requirement.name)
        assert name in LOCK, f"{requirement.name} is in pyproject.toml but not in requirements.lock"
        assert requirement.specifier.contains(LOCK[name][0], prereleases=True), \
            f"requirements.lock pins {name}=={LOCK[name][0]}, outside pyproject's {requirement}"


def test_every_pin_has_its_hashes():
    assert len(LOCK) > len(REQUIREMENTS)  # and what they need
    assert not [name for name, (_, hashes) in LOCK.items() if hashes == 0]


@pytest.mark.parametrize("name", ["weasyprint", "pikepdf"])
def test_the_next_major_version_of_what_changes_the_bytes_is_excluded(name):
    requirement = next(r for r in REQUIREMENTS if canonicalize_name(r.name) == name)
    pinned = Version(LOCK[name][0])
    assert requirement.specifier.contains(pinned)
    assert not requirement.specifier.contains(Version(f"{pinned.major + 1}.0"))


def test_the_tests_run_on_the_locked_versions():
    # scripts/setup.sh installs the lock; a venv made otherwise may hold other versions, and the
    # reproducibility promises were measured on these.
    differ = []
    for name, (pinned, _) in LOCK.items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            continue
        if Version(installed) != Version(pinned):
            differ.append(f"{name} {installed} (the lock: {pinned})")
    assert not differ, "installed versions differ from requirements.lock; run sh scripts/setup.sh: " + \
        ", ".join(differ)
