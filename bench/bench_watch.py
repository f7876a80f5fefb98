"""Benchmark: from a save to the rebuilt PDF in place, under `build.py watch`, with each subsetter.

    python bench/bench_watch.py [--runs 9] [--recipients 200]

For each font subsetter this machine has (HarfBuzz-Subset when libharfbuzz-subset0 is installed,
and always fontTools; APPEAL_SUBSETTER chooses), starts `build.py watch` on a temporary copy of
the data (every edition and the letters), then RUNS times saves a changed paragraph to
appeal.yaml the way editors do (a new file renamed over the old one) and measures the time from
the save until appeal-a4.pdf has been replaced (its inode changes: the viewer can reload),
waiting for the whole rebuild to end before the next save. The watcher's own wait (files are
read once no change came for 50 ms) is part of it.

Then, with RECIPIENTS synthetic recipients (made for the run, never kept), `watch --edition
letters`: the first build, and RUNS changes to one recipient's address, each rebuilding that
recipient's chunk of packs; which pack files were replaced is read from their inodes.
Compare numbers from one run of this script: the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_build import machine  # noqa: E402
from bench_letters import synthetic_recipients  # noqa: E402

# APPEAL_SUBSETTER for each subsetter (README: "A locked stack").
CHOICE = {"HarfBuzz-Subset": "harfbuzz", "fontTools": "fonttools"}
TIMEOUT = 120


class Watching:
    """`build.py watch ARGUMENTS` in a subprocess, its status lines read as they come."""

    def __init__(self, subsetter: str, arguments: list[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "build.py"), "watch", *arguments],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore", "APPEAL_SUBSETTER": CHOICE[subsetter]})
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.seen.append(line.rstrip("\n"))
            self.lines.put(self.seen[-1])

    def wait_for(self, pattern: str) -> str:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            if re.search(pattern, line):
                return line
            if "not rebuilt" in line or line.startswith(("error", "Traceback")):
                raise SystemExit(f"watch failed: {line}")
        raise SystemExit(f"watch printed no line matching {pattern!r} within {TIMEOUT} s: {self.seen}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise SystemExit(f"watch did not stop on SIGTERM within {TIMEOUT} s: {self.seen}") from None


def save(path: Path, text: str) -> float:
    """Save as editors do (a new file renamed over the old one); when the save landed."""
    temp = path.with_name(f".{path.name}.swp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)
    return time.perf_counter()


def until_replaced(path: Path, inode: int) -> float:
    deadline = time.monotonic() + TIMEOUT
    while path.stat().st_ino == inode:
        if time.monotonic() > deadline:
            raise SystemExit(f"{path} was not replaced within {TIMEOUT} s")
        time.sleep(0.001)
    return time.perf_counter()


def data_copy(folder: Path) -> list[str]:
    for name in ("appeal", "words", "letter", "recipients", "sign-on"):
        shutil.copy(ROOT / "data" / f"{name}.yaml", folder / f"{name}.yaml")
    return ["--data", str(folder / "appeal.yaml"), "--words", str(folder / "words.yaml"),
            "--sign-on", str(folder / "sign-on.yaml")]


def appeal_saves(subsetter: str, runs: int) -> tuple[list[float], list[str]]:
    """Seconds from each save of appeal.yaml until appeal-a4.pdf is replaced; the status lines."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        out = folder / "out"
        watch = Watching(subsetter, [*data_copy(folder), "--letter", str(folder / "letter.yaml"),
                                     "--recipients", str(folder / "recipients.yaml"), "--out", str(out)])
        try:
            watch.wait_for(r"first build: ")
            appeal, a4 = folder / "appeal.yaml", out / "appeal-a4.pdf"
            original = appeal.read_text(encoding="utf-8")
            if "have saved tens" not in original:
                raise SystemExit("appeal.yaml no longer says 'have saved tens': change the benchmark's edit")
            latencies, lines = [], []
            for run in range(runs):
                inode = a4.stat().st_ino
                changed = original.replace("have saved tens", "have saved many tens")
                saved = save(appeal, changed if run % 2 == 0 else original)
                latencies.append(until_replaced(a4, inode) - saved)
                lines.append(watch.wait_for(r"appeal\.yaml changed: "))
            return latencies, lines
        finally:
            watch.stop()


def recipient_saves(subsetter: str, runs: int, count: int) -> tuple[str, list[tuple[float, int, str]]]:
    """The first build's status line, then for each change of one recipient's address: seconds
    from the save to letters.pdf replaced, how many pack files were replaced, the status line."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        out = folder / "out"
        recipients = folder / "many.yaml"
        people = synthetic_recipients(count)
        recipients.write_text(yaml.safe_dump(people), encoding="utf-8")
        watch = Watching(subsetter, [*data_copy(folder), "--letter", str(folder / "letter.yaml"),
                                     "--recipients", str(recipients), "--edition", "letters",
                                     "--out", str(out)])
        try:
            first = watch.wait_for(r"first build: ")
            results = []
            for run in range(runs):
                packs = {p.name: p.stat().st_ino for p in (out / "letters").glob("*.pdf")}
                inode = (out / "letters.pdf").stat().st_ino
                chosen = people["recipients"][(run * 37 + count // 2) % count]
                chosen["address"][1] = f"Office {1000 + run}"
                saved = save(recipients, yaml.safe_dump(people))
                seconds = until_replaced(out / "letters.pdf", inode) - saved
                line = watch.wait_for(r"many\.yaml changed: ")
                replaced = sum(1 for pack in (out / "letters").glob("*.pdf")
                               if packs.get(pack.name) != pack.stat().st_ino)
                results.append((seconds, replaced, line))
            return first, results
        finally:
            watch.stop()


def available() -> list[str]:
    import ctypes.util

    return ["HarfBuzz-Subset", "fontTools"] if ctypes.util.find_library("harfbuzz-subset") else ["fontTools"]


def spread(seconds: list[float]) -> str:
    return (f"median {statistics.median(seconds) * 1000:4.0f} ms   min {min(seconds) * 1000:4.0f}   "
            f"max {max(seconds) * 1000:4.0f}   (n={len(seconds)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9, help="saves per measurement (default 9)")
    parser.add_argument("--recipients", type=int, default=200, help="synthetic recipients (default 200)")
    args = parser.parse_args()

    from appeal.versions import stack

    print(f"machine: {machine()}")
    print(f"stack:   {stack()}")
    for subsetter in available():
        latencies, lines = appeal_saves(subsetter, args.runs)
        inside = [float(found.group(1)) for line in lines
                  if (found := re.search(r"appeal-a4\.pdf after ([\d.]+) s", line))]
        print(f"{subsetter:<16} save appeal.yaml -> appeal-a4.pdf replaced: {spread(latencies)}; "
              f"of which the rebuild until then: median {statistics.median(inside) * 1000:.0f} ms")
        print(f"{'':<16} last status line: {lines[-1].split('  ', 1)[1]}")
        first, results = recipient_saves(subsetter, args.runs, args.recipients)
        replaced = sorted({count for _, count, _ in results})
        print(f"{subsetter:<16} {args.recipients} recipients, {first.split('  ', 1)[1]}")
        print(f"{'':<16} one recipient's address changed -> letters.pdf replaced: "
              f"{spread([s for s, _, _ in results])}; pack files replaced: {', '.join(map(str, replaced))}")
        print(f"{'':<16} last status line: {results[-1][2].split('  ', 1)[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
