"""Running independent renders on every core: forked workers that share the loaded fonts."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from typing import Any

# Set just before the workers fork, so that they inherit the jobs (closures cannot be pickled).
_jobs: Sequence[Callable[[], Any]] = ()


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        record.msg, record.args = record.getMessage(), ()
        self.records.append(record)


def _run(index: int) -> tuple[Any, list[logging.LogRecord], BaseException | None]:
    keep = _Keep()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(keep)
    try:
        return _jobs[index](), keep.records, None
    except BaseException as exc:  # a worker must hand back even WeasyPrint's BaseException to the parent
        return None, keep.records, exc
    finally:
        logger.removeHandler(keep)


# The parent while it forks workers: a worker's first act, at the fork itself (before anything of
# multiprocessing runs in it), is to stop listening for the build's signals.
_parent: int | None = None


def _at_fork_in_worker() -> None:
    """A worker forked for run_all: ends with its build, leaves interrupts to it.

    Done at the fork, not in the pool's initializer: the pool forks a new worker when one dies,
    and one forked while the build is being stopped would otherwise run the build's own SIGTERM
    handler (a traceback) or outlive it (a worker nobody waits for).
    """
    if _parent is None:
        return
    # Ctrl-C reaches every process of the terminal's group: the build stops the workers itself,
    # so a worker prints no traceback of its own; SIGTERM (what the build sends) just ends it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # Linux: die with the build (PR_SET_PDEATHSIG); a build already gone leaves the worker alone.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    if os.getppid() != _parent:
        os._exit(0)


os.register_at_fork(after_in_child=_at_fork_in_worker)


def _worker_start() -> None:
    """A forked worker holds none of its build's locks (a worker outliving a killed build would
    keep the build's staging folder looking alive)."""
    from .output import inherited_fds

    for fd in list(inherited_fds):
        with contextlib.suppress(OSError):
            os.close(fd)


def workers() -> int:
    """APPEAL_JOBS when set (1 turns parallel rendering off), else the cores this process may use."""
    wanted = os.environ.get("APPEAL_JOBS", "").strip()
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_all(jobs: Sequence[Callable[[], Any]], done: Callable[[Any], None] | None = None,
            warm_first: bool = True) -> list[Any]:
    """The jobs' results in order, computed in forked workers when there are several jobs and cores.

    With `warm_first`, the first job runs here before the fork, to warm this process (hyphenation
    patterns, fonts, cffi types: about 0.4 s of a first render) so that no worker pays for it
    again; a caller that has rendered already passes False. WeasyPrint's warnings in a
    worker are logged again in this process, so nothing goes unseen; the first job that failed
    raises its exception here. `done` is called with each result as it comes (a progress bar).
    """
    done = done or (lambda result: None)
    global _jobs, _parent
    first = 1 if warm_first else 0
    count = min(len(jobs) - first, workers())
    # With one job left for the workers, or one core, a worker would only add the fork's cost.
    if count < 2 or "fork" not in multiprocessing.get_all_start_methods():
        results = []
        for job in jobs:
            results.append(job())
            done(results[-1])
        return results
    results = []
    if warm_first:
        results.append(jobs[0]())
        done(results[0])
    _jobs, _parent = jobs, os.getpid()
    logger = logging.getLogger("weasyprint")
    try:
        with multiprocessing.get_context("fork").Pool(count, initializer=_worker_start) as pool:
            for value, records, error in pool.imap(_run, range(first, len(jobs)), chunksize=1):
                for record in records:
                    logger.handle(record)
                if error is not None:
                    raise error
                results.append(value)
                done(value)
    finally:
        _jobs, _parent = (), None
    return results
