"""Benchmark: the A4 handout with thousands of endorsements, in a fresh process.

    python bench/bench_endorsements.py [--counts 1000 5000 10000] [--runs 1] [--long-names]

Makes synthetic endorsements (every one published, in two groups: organisations and people, with
a role and a country each; with --long-names every name takes two lines), runs
`build.py --edition a4 --endorsements FILE` on them in a fresh process, and prints the median
wall time, the peak memory of the process, the pages, and each count's time as a ratio of the
previous one. Layout time that grew with the square of the count (grid and flex
do, in WeasyPrint) would show as a ratio of 4 for twice the names; the list's layout is meant
to grow linearly. The machine may be shared: compare within a run.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_build import build_measured, machine  # noqa: E402

FIRST = ["Amira", "Bo", "Chen", "Dara", "Emeka", "Fatima", "Goran", "Hana", "Ivan", "Jun", "Kofi", "Lena",
         "Mateo", "Nia", "Omar", "Priya", "Rosa", "Sami", "Tomasz", "Yara"]
LAST = ["Example", "Sample", "Placeholder", "Testperson", "Fictional-Madeup", "Synthetic", "Dummy",
        "Van der Example"]
ROLES = ["Deminer", "Retired surgeon", "Student of international law", "Teacher",
         "Member of parliament (fictional)", "Humanitarian worker, Example Relief Network", ""]
ORGANISATIONS = ["Example Demining Association", "Sample Humanitarian Network for Victim Assistance",
                 "Placeholder Institute for Peace Studies", "Fictional Coalition to Ban Landmines"]


def synthetic(path: Path, count: int, long_names: bool = False) -> None:
    """`count` published endorsements, made up, never leaving this benchmark: a third of them
    organisations (long names), the rest people, as a form export would hold them. With
    `long_names`, every name is long enough to take two lines (the heaviest layout)."""
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["name", "role", "country", "group", "publish"])
        for n in range(count):
            if long_names:
                row = [f"Endorser {n:05d} of the Appeal", f"Organisation number {n % 997}", "Examplestan",
                       "Organisations" if n < count // 3 else "Individuals"]
            elif n % 3 == 0:
                row = [f"{ORGANISATIONS[n % 4]} {n:05d}", "Non-governmental organisation", "Examplestan",
                       "Organisations"]
            else:
                row = [f"{FIRST[n % 20]} {LAST[n // 20 % 8]} {n:05d}", ROLES[n % 7], "Sampleland",
                       "Individuals"]
            writer.writerow([*row, "yes"])


def build(endorsements: Path, out: Path) -> tuple[float, int, int]:
    """Wall seconds, peak memory (bytes) and pages of `build.py --edition a4` in a fresh process."""
    seconds, peak, printed = build_measured(["--edition", "a4", "--endorsements", str(endorsements),
                                             "--out", str(out)])
    return seconds, peak, int(printed.split("  ")[1].split()[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--runs", type=int, default=1, help="runs per count (median)")
    parser.add_argument("--long-names", action="store_true", help="every name two lines long")
    args = parser.parse_args()

    from appeal.versions import stack

    print(f"machine: {machine()}")
    print(f"stack:   {stack()}")
    previous = None
    with tempfile.TemporaryDirectory() as folder:
        for count in args.counts:
            path = Path(folder) / f"endorsements-{count}.csv"
            synthetic(path, count, args.long_names)
            results = [build(path, Path(folder) / f"out-{count}-{run}") for run in range(args.runs)]
            seconds = statistics.median(s for s, _, _ in results)
            ratio = f", {seconds / previous[1]:.2f} × the time of {previous[0]:,}" if previous else ""
            print(f"{count:>6,} endorsements: A4 handout of {results[0][2]} pages in {seconds:.2f} s wall, "
                  f"peak memory {max(p for _, p, _ in results) / 2**20:.0f} MB{ratio}")
            previous = (count, seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
