"""Running independent renders on every core: forked workers that share the loaded fonts.

A small pool of its own rather than multiprocessing.Pool: each worker talks to the build over a
pipe of its own, so a worker killed at any moment (Ctrl-C and SIGTERM reach a terminal's or a
batch job's whole process group) holds no lock the build then waits for. multiprocessing.Pool's
idle workers hold its task queue's lock while they wait; one killed there left the build waiting
forever in Pool.terminate.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import pickle
import signal
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, Pipe, wait
from typing import Any, TypeVar

from appeal.errors import UserError

T = TypeVar("T")

# Linux's prctl, looked up here: a forked child must not load libraries (another thread of the
# parent may have held the loader's lock at the fork).
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None
PR_SET_PDEATHSIG = 1
_malloc_trim = getattr(ctypes.CDLL(None), "malloc_trim", None) if _prctl is not None else None


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        record.msg, record.args = record.getMessage(), ()
        self.records.append(record)


def _run(job: Callable[[], Any]) -> tuple[Any, list[logging.LogRecord], BaseException | None]:
    keep = _Keep()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(keep)
    try:
        return job(), keep.records, None
    except BaseException as exc:  # a worker must hand back even WeasyPrint's BaseException to the parent
        return None, keep.records, exc
    finally:
        logger.removeHandler(keep)


def _worker(jobs: Sequence[Callable[[], Any]], connection: Connection, parent: int) -> None:
    """A forked worker's life: run the jobs it is sent by index until it is sent None. It ends with
    its build, leaves interrupts to it, and holds none of its locks."""
    from appeal.build.commit import inherited_fds

    # Ctrl-C reaches every process of the terminal's group: the build stops the workers itself,
    # so a worker prints no traceback of its own.
    _orphan_proof()
    if os.getppid() != parent:
        return  # the build is gone already
    for fd in list(inherited_fds):  # a worker outliving a killed build would keep its staging alive
        with contextlib.suppress(OSError):
            os.close(fd)
    while (index := connection.recv()) is not None:
        connection.send((index, *_run(jobs[index])))
        # A job's documents are cycles of boxes that outlive the young generations: with the
        # build's rare full collections (cli._fewer_collections) a worker grew by about 40 kB a
        # letter pack until one came. The objects inherited from the build are frozen (run_all),
        # so this walks only what the job left.
        gc.collect()


def in_child(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` computed in a forked child, its result pickled back (or its exception
    raised here): what the computation leaves free in the heap stays in the child.

    Reading a parliament's recipients leaves pymalloc's arenas half empty (the YAML's nodes freed
    among the strings kept): 45 MB of 81 at 10,000 recipients, measured, which this process could
    not give back and every letters worker would inherit. Only what is kept travels back, laid out
    compactly. Where there is no fork, it runs here."""
    if not hasattr(os, "fork"):
        return function(*args)
    reading, writing = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller's code
        status = 0
        try:
            os.close(reading)
            _orphan_proof()
            try:
                outcome = (True, function(*args))
            except BaseException as exc:  # handed back whatever it is; a bug with where it was
                if not isinstance(exc, UserError):
                    exc.add_note("".join(traceback.format_exception(exc)).rstrip())
                outcome = (False, exc)
            try:
                data = pickle.dumps(outcome, pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # an exception or result that does not pickle: said, not lost
                data = pickle.dumps((False, RuntimeError(f"{function.__qualname__}: its outcome cannot "
                                                         f"travel back: {exc}")))
            with os.fdopen(writing, "wb") as pipe:
                pipe.write(data)
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(writing)
    ended = False
    try:
        with os.fdopen(reading, "rb") as pipe:
            data = pipe.read()
        os.waitpid(pid, 0)
        ended = True
    finally:
        if not ended:  # interrupted while it worked: it goes too
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
    if not data:
        raise RuntimeError(f"{function.__qualname__} ended without its result in a child process (killed, "
                           "or out of memory?)")
    succeeded, value = pickle.loads(data)
    if not succeeded:
        raise value
    return value


def _orphan_proof() -> None:
    """In a forked child: Ctrl-C is the parent's to act on (it kills the child), SIGTERM just ends
    it, and it dies with the parent, whatever kills that."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def workers() -> int:
    """APPEAL_JOBS when set (1 turns parallel rendering off), else the cores this process may use."""
    wanted = os.environ.get("APPEAL_JOBS", "").strip()
    if wanted.isdigit() and int(wanted) > 0:
        return int(wanted)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_all(jobs: Sequence[Callable[[], Any]], done: Callable[[Any], None] | None = None,
            warm_first: bool = True, per_worker: int | None = None) -> list[Any]:
    """The jobs' results in order, computed in forked workers when there are several jobs and cores.

    With `warm_first`, the first job runs here before the fork, to warm this process (hyphenation
    patterns, fonts, cffi types: about 0.4 s of a first render) so that no worker pays for it
    again; a caller that has rendered already passes False. The jobs are closures: the workers
    inherit them by the fork, and only results travel. WeasyPrint's warnings in a worker are
    logged again in this process, so nothing goes unseen; the first job that failed raises its
    exception here. `done` is called with each result as it comes (a progress bar). On any
    exception here (an interrupt included) the workers are killed and reaped before it goes on.
    With `per_worker`, a worker that has run that many jobs ends and a fresh one is forked from
    this process for the jobs left: whatever the libraries keep of each job, a worker keeps no
    more than that many jobs' worth, however long the run.
    """
    done = done or (lambda result: None)
    first = 1 if warm_first else 0
    count = min(len(jobs) - first, workers())
    results: list[Any] = [None] * len(jobs)
    # With one job left for the workers, or one core, a worker would only add the fork's cost.
    if count < 2 or not hasattr(os, "fork"):
        for index, job in enumerate(jobs):
            results[index] = job()
            done(results[index])
        return results
    if warm_first:
        results[0] = jobs[0]()
        done(results[0])
    pending = list(range(first, len(jobs)))
    pool: dict[Connection, int] = {}  # each worker's end of its pipe, and its process id
    served: dict[Connection, int] = {}  # jobs sent to each worker
    ended: dict[Connection, int] = {}  # a worker sent None before the run's end, until it is reaped
    logger = logging.getLogger("weasyprint")
    parent, finished = os.getpid(), False

    def start() -> None:
        ours, theirs = Pipe()
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the build's code
            status = 0
            try:
                for connection in (ours, *pool, *ended):  # the build's ends are the build's
                    connection.close()
                _worker(jobs, theirs, parent)
            except BaseException:
                status = 1
            finally:
                os._exit(status)
        theirs.close()
        pool[ours], served[ours] = pid, 1
        ours.send(pending.pop(0))

    # Frozen, the objects the workers inherit are never walked by their collections, and the
    # memory pages holding them are not copied into each worker as a collection touches them.
    # Collected and trimmed first: what loading the data left free is not inherited (about 8 MB
    # less over a build and its workers at 4,000 letter packs, measured).
    gc.collect()
    if _malloc_trim is not None:
        _malloc_trim(0)
    gc.freeze()
    try:
        for _ in range(count):
            start()
        busy = len(pool)
        while busy:
            for connection in wait(list(pool)):
                try:
                    index, value, records, error = connection.recv()
                except EOFError:
                    raise RuntimeError("a rendering worker ended without its result (killed, or out "
                                       "of memory?)") from None
                for record in records:
                    logger.handle(record)
                if error is not None:
                    raise error
                results[index] = value
                done(value)
                if pending and per_worker is not None and served[connection] >= per_worker:
                    connection.send(None)
                    connection.close()
                    ended[connection] = pid = pool.pop(connection)
                    # Gone before its successor forks: never three workers' memory at once.
                    os.waitpid(pid, 0)
                    del ended[connection]
                    start()
                elif pending:
                    connection.send(pending.pop(0))
                    served[connection] += 1
                else:
                    busy -= 1
        for connection in pool:
            connection.send(None)
        finished = True
    finally:
        gc.unfreeze()
        _stop({**ended, **pool}, finished)
    return results


def _stop(pool: dict[Connection, int], finished: bool) -> None:
    """Reap every worker: sent None, they end by themselves; on an error or an interrupt they are
    killed first (a worker mid-render would otherwise finish its pages for nobody)."""
    for connection, pid in pool.items():
        with contextlib.suppress(OSError):
            connection.close()
        with contextlib.suppress(OSError):
            if not finished:
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
