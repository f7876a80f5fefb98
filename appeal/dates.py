"""The dates a build writes: the user's SOURCE_DATE_EPOCH, or the data's own, never the clock.

fontTools stamps the time of subsetting into every subset font unless SOURCE_DATE_EPOCH is set,
so a build sets it (`source_date_epoch`) while it lays out. That value is for fontTools alone:
`given_epoch` tells the user's setting (reproducible-builds.org) from the build's own, so that a
letter signed during a build states the letter's date, not the appeal's.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import os
from collections.abc import Iterator

VARIABLE = "SOURCE_DATE_EPOCH"
_set_here: list[str] = []  # the values source_date_epoch() put in the environment, innermost last


def given_epoch() -> dt.datetime | None:
    """SOURCE_DATE_EPOCH as the user set it, or None (unset, not a number, or set by the build)."""
    epoch = os.environ.get(VARIABLE, "").strip()
    if not epoch.isdigit() or (_set_here and epoch == _set_here[-1]):
        return None
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC)


def modification_time(day: dt.date) -> dt.datetime:
    """SOURCE_DATE_EPOCH when the user sets it, else the data's date (`day`, at midnight UTC)."""
    return given_epoch() or dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


@contextlib.contextmanager
def source_date_epoch(moment: dt.date | dt.datetime) -> Iterator[None]:
    """Give fontTools' subsetter `moment` for the fonts' `head` times, unless the user set one."""
    if os.environ.get(VARIABLE):
        yield
        return
    value = str(calendar.timegm(moment.timetuple()))
    os.environ[VARIABLE] = value
    _set_here.append(value)
    try:
        yield
    finally:
        _set_here.pop()
        del os.environ[VARIABLE]
