"""Benchmark: median wall time of build.py in a fresh process, and of each render in-process.

    python bench/bench_build.py [--runs N]
    python bench/bench_build.py --against REF [--runs N]

Prints the machine, the software stack and the subsetter in use, then medians (and the spread)
over N runs: build.py for the two handouts, with the archive, and the default build (every
edition, the sign-on sheets and the example letters), and build.py verify on the archive, each in
a fresh process; then each edition rendered in-process, warm, and the checks the build runs on
every archive it writes.
Compare numbers from one run of this script: the machine may be shared.

With --against REF (a commit, such as the one before a redesign), it checks REF out into a
temporary work tree and times the default build and `--edition a4` of both trees in a fresh
process, interleaved run by run (REF, this tree, REF, ...), and prints each median and their ratio.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.platform()}, {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _memory(pid: int) -> int:
    """A process's proportional set size in bytes (pages shared after the fork counted once across
    the processes that share them), or its resident size where the kernel gives no PSS."""
    for path, field in ((f"/proc/{pid}/smaps_rollup", "Pss:"), (f"/proc/{pid}/status", "VmRSS:")):
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
        except OSError:
            continue
    return 0


def _tree_memory(root: int) -> int:
    """Memory of a process and its descendants (the build and its workers), in bytes."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("PPid:"):
                children.setdefault(int(line.split()[1]), []).append(int(entry))
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        total += _memory(pid)
        pending.extend(children.get(pid, []))
    return total


def build_measured(arguments: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """`build.py ARGUMENTS` in a fresh process: wall seconds, peak memory in bytes (sampled every
    50 ms over the process and its workers), and what it printed; stops the benchmark if it fails."""
    return measured([str(ROOT / "build.py"), *arguments], env)


def measured(arguments: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    """`python ARGUMENTS` (a script and its arguments) in a fresh process, measured as
    build_measured measures a build."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, *arguments],
                               env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _tree_memory(process.pid))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    if process.returncode:
        raise SystemExit(f"{' '.join(arguments)} failed:\n{err}")
    return seconds, peak, out


def summary(label: str, seconds: list[float]) -> str:
    return (f"{label:<36} median {statistics.median(seconds) * 1000:7.0f} ms   "
            f"min {min(seconds) * 1000:6.0f}   max {max(seconds) * 1000:6.0f}   (n={len(seconds)})")


def fresh_process(runs: int, arguments: list[str], env: dict[str, str]) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, str(ROOT / "build.py"), *arguments], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - started)
    return times


def against(ref: str, runs: int) -> int:
    """The default build and one handout of this tree and of `ref`, interleaved; medians, ratio."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    with tempfile.TemporaryDirectory() as scratch:
        old = Path(scratch) / "old"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(old), ref],
                       check=True)
        try:
            print(f"machine: {machine()}")
            print(f"this tree: {ROOT}; against: {ref} ({old})")
            for label, arguments in (("the default build", []), ("--edition a4", ["--edition", "a4"])):
                times: dict[Path, list[float]] = {old: [], ROOT: []}
                for _ in range(runs):
                    for tree in (old, ROOT):
                        out = Path(scratch) / f"out-{tree.name}"
                        # An empty folder each run: a build finds nothing up to date (a tree
                        # before the build's record, issue 22, would rebuild anyway; this one not).
                        shutil.rmtree(out, ignore_errors=True)
                        started = time.perf_counter()
                        command = [sys.executable, str(tree / "build.py"), "--out", str(out), *arguments]
                        subprocess.run(command, check=True, cwd=tree, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, env=env)
                        times[tree].append(time.perf_counter() - started)
                before, after = (statistics.median(times[tree]) for tree in (old, ROOT))
                print(summary(f"{label}, {ref}", times[old]))
                print(summary(f"{label}, this tree", times[ROOT]))
                print(f"{label}: this tree / {ref} = {after / before:.3f}")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement (default 7)")
    parser.add_argument("--against", metavar="REF", help="time this tree against commit REF, interleaved")
    args = parser.parse_args()
    if args.against:
        return against(args.against, args.runs)

    from appeal.dates import source_date_epoch
    from appeal.inputs.load import load_data
    from appeal.layout.render import Renderer
    from appeal.paths import DATA_DIR
    from appeal.products.settings import Settings
    from appeal.products.table import ARCHIVE, EDITIONS
    from appeal.verify.checks import self_check
    from appeal.versions import stack

    print(f"machine: {machine()}")
    print(f"stack:   {stack()}")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    # --force: every run builds (the same output folder would otherwise be found up to date).
    handouts = ["--force", "--edition", "a4", "--edition", "letter"]
    with tempfile.TemporaryDirectory() as out:
        rows = [summary("build.py: 2 handouts", fresh_process(args.runs, ["--out", out, *handouts], env)),
                summary("build.py: + archive",
                        fresh_process(args.runs, ["--out", out, *handouts, "--edition", "archive"], env)),
                summary("build.py: the default build",
                        fresh_process(args.runs, ["--out", out, "--force"], env)),
                summary("build.py verify appeal-archive.pdf",
                        fresh_process(args.runs, ["verify", str(Path(out) / "appeal-archive.pdf")], env))]

    data = load_data(DATA_DIR / "appeal.yaml", DATA_DIR / "words.yaml",
                     sign_on_path=DATA_DIR / "sign-on.yaml")
    renderer = Renderer()
    renders = [(e.filename, functools.partial(e.make, renderer, data, Settings()))
               for e in EDITIONS.values()]
    with source_date_epoch(data.appeal.date):
        for filename, render in renders:
            render()  # warm: fonts, hyphenation patterns
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                render()
                times.append(time.perf_counter() - started)
            rows.append(summary(f"in-process: {filename}", times))
        archive = ARCHIVE.make(renderer, data, Settings()).data
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            self_check(archive, ARCHIVE.filename)
            times.append(time.perf_counter() - started)
        rows.append(summary("in-process: checks of the archive", times))
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
