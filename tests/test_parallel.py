"""Renders in forked workers: results in order, warnings and errors brought back to this process."""

from __future__ import annotations

import logging
import os

import pytest

from appeal.build.workers import run_all
from appeal.layout.fetcher import RefusedURL


@pytest.fixture(autouse=True)
def two_workers(monkeypatch):
    monkeypatch.setenv("APPEAL_JOBS", "2")


def test_results_come_back_in_order():
    results = run_all([lambda n=n: (n, os.getpid()) for n in range(5)])
    assert [n for n, _ in results] == list(range(5))
    assert results[0][1] == os.getpid()  # the first warms this process
    assert os.getpid() not in {pid for _, pid in results[1:]}  # the rest really run elsewhere


@pytest.mark.weasyprint_warns
def test_a_workers_weasyprint_warning_is_logged_here(caplog):
    def warns():
        logging.getLogger("weasyprint").warning("Ignored `colour: red` at 1:1, unknown property.")
        return 1

    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        assert run_all([warns, warns, warns]) == [1, 1, 1]
    assert [r.getMessage() for r in caplog.records].count(
        "Ignored `colour: red` at 1:1, unknown property.") == 3


def test_a_workers_error_is_raised_here_even_a_fatal_fetch():
    def refuses():
        raise RefusedURL("refused to fetch file:///etc/passwd")

    with pytest.raises(RefusedURL, match="/etc/passwd"):
        run_all([lambda: 1, lambda: 2, refuses])


def test_a_warm_caller_hands_every_job_to_the_workers():
    results = run_all([lambda n=n: (n, os.getpid()) for n in range(4)], warm_first=False)
    assert [n for n, _ in results] == list(range(4))
    assert os.getpid() not in {pid for _, pid in results}


def test_a_worker_that_served_its_share_is_replaced_by_a_fresh_fork():
    # A long run's workers each keep a little of every job (letters: a few kB a pack, in the text
    # libraries); with per_worker, a worker ends after that many jobs and a fresh one takes over.
    import gc

    results = run_all([lambda n=n: (n, os.getpid()) for n in range(9)], warm_first=False, per_worker=2)
    assert [n for n, _ in results] == list(range(9))
    pids = [pid for _, pid in results]
    assert os.getpid() not in pids and all(pids.count(pid) <= 2 for pid in pids)
    assert len(set(pids)) >= 5  # 9 jobs, 2 each at most
    assert gc.get_freeze_count() == 0  # this process collects its objects again
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # every worker, the replaced ones too, reaped


def test_a_replaced_worker_dying_is_still_an_error_not_a_hang():
    import signal

    def dies():
        os.kill(os.getpid(), signal.SIGKILL)

    with pytest.raises(RuntimeError, match="a rendering worker ended without its result"):
        run_all([lambda: 1, lambda: 2, lambda: 3, dies, lambda: 5], warm_first=False, per_worker=1)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_one_worker_runs_everything_here(monkeypatch):
    monkeypatch.setenv("APPEAL_JOBS", "1")
    assert {pid for _, pid in run_all([lambda n=n: (n, os.getpid()) for n in range(4)])} == {os.getpid()}


def test_a_worker_killed_mid_job_is_an_error_not_a_hang():
    # Ctrl-C and SIGTERM reach the whole process group; a worker that dies must not leave the build
    # waiting (multiprocessing.Pool's workers died holding its queue's lock, and it waited forever).
    import signal

    def dies():
        os.kill(os.getpid(), signal.SIGKILL)

    with pytest.raises(RuntimeError, match="a rendering worker ended without its result"):
        run_all([lambda: 1, dies, lambda: 3, lambda: 4], warm_first=False)


def test_an_error_here_kills_and_reaps_the_workers():
    import time

    def slow():
        time.sleep(30)

    def fails():
        raise ValueError("stop")

    started = time.monotonic()
    with pytest.raises(ValueError, match="stop"):
        run_all([slow, fails], warm_first=False)
    assert time.monotonic() - started < 10  # the sleeping worker was killed, not waited for
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # and reaped: no child of this process is left


FORK_WATCHED = """
import os, sys, threading
sys.stderr.isatty = lambda: True  # the progress bar shows, as on a terminal
real = os.fork
def fork():
    # A fork copies the other threads' locks, not the threads: Python's, and a library's own.
    if threading.active_count() > 1 or len(os.listdir("/proc/self/task")) > 1:
        os.write(2, f"forked with threads: {sorted(os.listdir('/proc/self/task'))}\\n".encode())
    return real()
os.fork = fork
from appeal.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_the_workers_are_forked_from_a_process_with_no_other_thread(tmp_path):
    # Python 3.12 and later warn of a fork in a process with threads: tqdm's monitor was one, and
    # page-validation's, when the archive was checked before the other editions were forked.
    import subprocess
    import sys

    import yaml

    from appeal.paths import DATA_DIR, ROOT

    base = yaml.safe_load((DATA_DIR / "recipients.yaml").read_text(encoding="utf-8"))["recipients"][0]
    recipients = tmp_path / "recipients.yaml"
    recipients.write_text(yaml.safe_dump({"recipients": [dict(base, id=f"member-{n:03d}")
                                                         for n in range(80)]}), encoding="utf-8")
    result = subprocess.run([sys.executable, "-c", FORK_WATCHED, "--recipients", str(recipients), "--out",
                             str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "forked with threads" not in result.stderr
    assert len(list((tmp_path / "out" / "letters").glob("*.pdf"))) == 80


def _make_garbage(count: int) -> int:
    kept = [str(n) for n in range(count)]
    return len(kept)


def test_in_child_runs_elsewhere_and_leaves_nothing_here():
    # A parliament's recipients are read in a child: what the parse leaves free stays there.
    import gc
    import sys

    from appeal.build.workers import in_child

    assert in_child(os.getpid) != os.getpid()
    gc.collect()
    before = sys.getallocatedblocks()
    assert in_child(_make_garbage, 500_000) == 500_000
    gc.collect()
    assert sys.getallocatedblocks() - before < 5_000  # 500,000 strings were made, there
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # reaped


def test_in_child_raises_here_what_the_child_raised():
    from appeal.build.workers import in_child
    from appeal.errors import UserError

    def refuses():
        raise UserError("recipients.yaml:3: recipients[0].id: is required")

    with pytest.raises(UserError) as raised:
        in_child(refuses)
    assert str(raised.value) == "recipients.yaml:3: recipients[0].id: is required"
    assert not getattr(raised.value, "__notes__", None)  # a user's error: its message alone

    def bug():
        return {}["missing"]

    with pytest.raises(KeyError) as raised:
        in_child(bug)
    assert "in bug" in raised.value.__notes__[0]  # a bug: where it was, from the child


def test_in_child_killed_or_unpicklable_is_an_error_not_a_hang():
    import signal
    import threading

    from appeal.build.workers import in_child

    with pytest.raises(RuntimeError, match="ended without its result in a child process"):
        in_child(lambda: os.kill(os.getpid(), signal.SIGKILL))
    with pytest.raises(RuntimeError, match="cannot travel back"):
        in_child(threading.Lock)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_an_interrupt_while_the_child_works_kills_and_reaps_it():
    import signal
    import time

    from appeal.build.workers import in_child

    def interrupt(number, frame):
        raise KeyboardInterrupt

    earlier = signal.signal(signal.SIGALRM, interrupt)
    started = time.monotonic()
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        with pytest.raises(KeyboardInterrupt):
            in_child(time.sleep, 30)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, earlier)
    assert time.monotonic() - started < 10
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)
