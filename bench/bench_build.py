"""Benchmark: median wall time of build.py in a fresh process, and of each render in-process.

    python bench/bench_build.py [--runs N]

Prints the machine, the software stack and the subsetter in use, then medians (and the spread)
over N runs: build.py for the two handouts, with the archive, and the default build (with the
example letters), and build.py verify on the archive, each in a fresh process; then each edition
rendered in-process, warm, and the checks the build runs on every archive it writes.
Compare numbers from one run of this script: the machine may be shared.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import statistics
import subprocess
import sys
import tempfile
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


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="runs per measurement (default 7)")
    args = parser.parse_args()

    from appeal import editions
    from appeal.model import load_appeal, load_words
    from appeal.paths import DATA_DIR
    from appeal.render import Renderer, source_date_epoch
    from appeal.verify import self_check
    from appeal.versions import stack

    print(f"machine: {machine()}")
    print(f"stack:   {stack()}")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    handouts = ["--edition", "a4", "--edition", "letter"]
    with tempfile.TemporaryDirectory() as out:
        rows = [summary("build.py: 2 handouts", fresh_process(args.runs, ["--out", out, *handouts], env)),
                summary("build.py: + archive",
                        fresh_process(args.runs, ["--out", out, *handouts, "--edition", "archive"], env)),
                summary("build.py: + archive + 5 letters", fresh_process(args.runs, ["--out", out], env)),
                summary("build.py verify appeal-archive.pdf",
                        fresh_process(args.runs, ["verify", str(Path(out) / "appeal-archive.pdf")], env))]

    appeal, source = load_appeal(DATA_DIR / "appeal.yaml")
    words = load_words(DATA_DIR / "words.yaml", appeal.language, source)
    renderer = Renderer()
    renders = [(e.filename, functools.partial(editions.make, e, renderer, appeal, words, source))
               for e in editions.EDITIONS.values()]
    with source_date_epoch(appeal.date):
        for filename, render in renders:
            render()  # warm: fonts, hyphenation patterns
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                render()
                times.append(time.perf_counter() - started)
            rows.append(summary(f"in-process: {filename}", times))
        archive = editions.make(editions.ARCHIVE, renderer, appeal, words, source).data
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            self_check(archive, editions.ARCHIVE.filename)
            times.append(time.perf_counter() - started)
        rows.append(summary("in-process: checks of the archive", times))
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
