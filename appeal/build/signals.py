"""Stop signals in a build: SIGTERM unwinds like Ctrl-C; a signal a finalizer swallowed is acted on later."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator


class Terminated(BaseException):
    """SIGTERM, as a batch scheduler sends it: unwinds like Ctrl-C, so the staging folder goes."""

    def __init__(self, number: int) -> None:
        super().__init__(number)
        self.signal = number


# The stop signals received (SIGINT, SIGTERM), in order. A signal's exception is raised where
# Python happens to be; when that is a finalizer (a __del__, a weakref callback), Python drops the
# exception ("Exception ignored in ..."), so the build also asks this list before its commit.
received: list[int] = []


def _stop(number: int) -> BaseException:
    return KeyboardInterrupt() if number == signal.SIGINT else Terminated(number)


@contextlib.contextmanager
def terminate_as_exception() -> Iterator[None]:
    """SIGTERM raises Terminated and SIGINT KeyboardInterrupt, each noted in `received`."""
    def stop(number, frame):
        received.append(number)
        raise _stop(number)

    received.clear()  # a caller may run several builds in one process
    earlier_hook = sys.unraisablehook

    def unraisable(report) -> None:
        # Our own stop, raised inside a finalizer and dropped there: `received` holds it and
        # raise_if_stopped acts on it, so Python's "Exception ignored in ..." traceback is noise.
        if not (received and isinstance(report.exc_value, KeyboardInterrupt | Terminated)):
            earlier_hook(report)

    sys.unraisablehook = unraisable
    try:
        with swapped(stop):
            yield
    finally:
        sys.unraisablehook = earlier_hook


@contextlib.contextmanager
def swapped(handler, set_from_python_only: bool = False) -> Iterator[None]:
    """SIGINT and SIGTERM go to `handler` inside the block, to their earlier handlers after it.
    Outside the main thread (a caller embedding the build) signals are left alone; so is, with
    `set_from_python_only`, a signal whose handler was not set from Python."""
    previous = {}
    try:
        for number in (signal.SIGINT, signal.SIGTERM):
            if not set_from_python_only or signal.getsignal(number) is not None:
                previous[number] = signal.signal(number, handler)
    except ValueError:  # not the main thread: signals are the main thread's business
        yield
        return
    try:
        yield
    finally:
        for number, earlier in previous.items():
            signal.signal(number, earlier)


def raise_if_stopped() -> None:
    """Stop now if a stop signal came whose exception a finalizer swallowed."""
    if received:
        raise _stop(received[0])
