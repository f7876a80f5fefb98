"""Benchmark: a whole parliament's letters, the assembled way beside the naive way, in one run.

    python bench/bench_letters.py [--count 1100] [--naive 20] [--runs 1] [--sign [LEVEL,...]]
                                  [--peer typst]

Makes COUNT synthetic recipients, runs `build.py letters` on them in a fresh process (wall time,
ms per pack, peak memory of the process and its workers, every file checked to be there), then
renders NAIVE packs the naive way in this process (one full WeasyPrint render of letter and
appeal per pack, warm) and prints the ratio. With --sign, the same build again signed at each
level (default all: B-B with RSA-2048 and with RSA-3072 behind a password, as the README makes
one; B-T and B-LTA with RSA-3072), its keys issued by a throwaway CA whose time-stamping
authority and OCSP responder this process serves on 127.0.0.1 (tests/pki.py), every run taking
the variants in turn; what each adds per pack against the unsigned build of the same run
(medians), and what a signed pack weighs. With --peer typst, the same packs made with Typst
(bench/peer_typst.py: one compiler reused, in as many processes as the build has workers), in a
fresh process after each unsigned build of every run, and the ratio of the medians. The machine
may be shared: compare within a run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))  # pki.py: the throwaway authorities

from bench_build import build_measured, machine, measured  # noqa: E402


def synthetic_recipients(count: int) -> dict:
    return {"recipients": [
        {"id": f"member-{n:05d}", "title": "Hon.", "name": f"Member of Parliament {n:05d}",
         "address": ["Parliament of the Republic", f"Office {n % 400 + 1}", "Parliament Square 1",
                     "CAPITAL CITY"],
         "salutation": "Dear Member of Parliament"} for n in range(1, count + 1)]}


LEVELS = ("B-B-2048", "B-B", "B-T", "B-LTA")
PASSWORD = b"correct horse battery staple"


def signing_variants(folder: Path, pki, levels) -> dict[str, tuple[list[str], dict]]:
    """The build options and environment of each level, with keys issued by the throwaway CA."""
    variants = {}
    keys = {size: pki.signer(folder, f"rsa{size}", key_size=size, password=PASSWORD if size == 3072 else None)
            for size in (2048, 3072)}
    for level in levels:
        size = 2048 if level == "B-B-2048" else 3072
        options = ["--sign-key", str(keys[size])]
        if level in ("B-T", "B-LTA"):
            options += ["--timestamp-url", pki.tsa_url]
        if level == "B-LTA":
            options += ["--ltv"]
        variants[level] = options, {"APPEAL_SIGN_PASSWORD": PASSWORD.decode() if size == 3072 else ""}
    return variants


def assembled(recipients: Path, out: Path, count: int, options: list[str] = (),
              environment: dict | None = None) -> tuple[float, int]:
    """Wall seconds and peak memory (bytes) of `build.py letters` in a fresh process."""
    seconds, peak, _ = build_measured(["letters", "--recipients", str(recipients), "--out", str(out),
                                       *options], environment or {"APPEAL_SIGN_PASSWORD": ""})
    written = len(list((out / "letters").glob("*.pdf")))
    if written != count or not (out / "letters.pdf").is_file():
        raise SystemExit(f"expected {count} packs and letters.pdf, found {written}")
    return seconds, peak


def peer(recipients: Path, out: Path, count: int) -> tuple[float, int]:
    """Wall seconds and peak memory of the Typst peer making the same packs in a fresh process."""
    seconds, peak, _ = measured([str(ROOT / "bench" / "peer_typst.py"), str(recipients), str(out)])
    written = len(list((out / "letters").glob("*.pdf")))
    if written != count:
        raise SystemExit(f"the Typst peer: expected {count} packs, found {written}")
    return seconds, peak


def naive(recipients: Path, count: int) -> float:
    """Median seconds per pack rendered the naive way: one full WeasyPrint render per pack."""
    from appeal.inputs.load import load_data
    from appeal.inputs.mailing import load_mailing
    from appeal.layout.render import Renderer, render_html
    from appeal.paths import DATA_DIR
    from appeal.products import editions

    data = load_data(DATA_DIR / "appeal.yaml", DATA_DIR / "words.yaml")
    mailing = load_mailing(DATA_DIR / "words.yaml", DATA_DIR / "letter.yaml", recipients)
    renderer = Renderer()
    times = []
    for pack in mailing.packs[: count + 1]:
        started = time.perf_counter()
        html = render_html("pack.html", **editions.context(
            data, letter=mailing.letter, packs=[pack], signature_uri=None))
        renderer.pdf(html, pack.paper, ("appeal", "cover-letter"))
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])  # the first pays the one-time warm-up


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1100, help="recipients (default 1100)")
    parser.add_argument("--naive", type=int, default=20, help="packs rendered the naive way (default 20)")
    parser.add_argument("--runs", type=int, default=1, help="runs of the assembled way (median)")
    parser.add_argument("--sign", nargs="?", const=",".join(LEVELS), metavar="LEVEL,...",
                        help=f"also build signed at these levels, and compare (default: {','.join(LEVELS)})")
    parser.add_argument("--peer", choices=["typst"], help="also make the packs with this peer, and compare")
    args = parser.parse_args()
    if args.peer:
        try:
            import typst  # noqa: F401
        except ImportError:
            parser.error("--peer typst needs the typst package: pip install 'typst>=0.15'")
    levels = [level for level in (args.sign or "").split(",") if level]
    if any(level not in LEVELS for level in levels):
        parser.error(f"--sign: levels among {', '.join(LEVELS)}")

    from appeal.build.workers import workers
    from appeal.versions import stack

    print(f"machine: {machine()}")
    print(f"stack:   {stack()}")
    with tempfile.TemporaryDirectory() as folder:
        recipients = Path(folder) / "recipients.yaml"
        recipients.write_text(yaml.safe_dump(synthetic_recipients(args.count)), encoding="utf-8")
        pki = None
        if levels:
            from pki import PKI

            pki = PKI()
            variants = signing_variants(Path(folder), pki, levels)
        results, signed, sizes, peers = [], {level: [] for level in levels}, {}, []
        try:
            for run in range(args.runs):  # the variants in turn, each run
                results.append(assembled(recipients, Path(folder) / f"out{run}", args.count))
                if args.peer:
                    peers.append(peer(recipients, Path(folder) / f"peer{run}", args.count))
                for level in levels:
                    out = Path(folder) / f"{level}-{run}"
                    signed[level].append(assembled(recipients, out, args.count, *variants[level]))
                    sizes[level] = _median_pack(out)
        finally:
            if pki is not None:
                pki.stop()
        unsigned_size = _median_pack(Path(folder) / "out0")
        peer_size = _median_pack(Path(folder) / "peer0") if peers else 0
        seconds = statistics.median(s for s, _ in results)
        peak = max(p for _, p in results)
        per_pack_naive = naive(recipients, args.naive)
    per_pack = seconds / args.count
    print(f"assembled, build.py letters, {args.count} packs, {workers()} workers: "
          f"{seconds:.2f} s wall, {per_pack * 1000:.1f} ms per pack, peak memory {peak / 2**20:.0f} MB "
          "(PSS of the process and its workers)")
    if peers:
        peer_seconds = statistics.median(s for s, _ in peers)
        print(f"peer, Typst {_typst_version()} (bench/peer_typst.py), {args.count} packs, {workers()} "
              f"processes: {peer_seconds:.2f} s wall, {peer_seconds / args.count * 1000:.1f} ms per pack, "
              f"peak memory {max(p for _, p in peers) / 2**20:.0f} MB; a pack {peer_size / 1000:.1f} kB")
        print(f"assembled takes {seconds / peer_seconds:.2f} times the peer's time per pack "
              f"(medians of {args.runs} interleaved runs)")
    print(f"naive, one render per pack, {args.naive} packs in-process: "
          f"{per_pack_naive * 1000:.0f} ms per pack")
    print(f"assembled is {per_pack_naive / per_pack:.0f} times faster than naive")
    for level in levels:
        runs = signed[level]
        pairs = zip(runs, results, strict=True)  # each signed build against the unsigned one of its run
        added = statistics.median((signed_s - unsigned_s) / args.count * 1000
                                  for (signed_s, _), (unsigned_s, _) in pairs)
        key = "RSA-2048" if level == "B-B-2048" else "RSA-3072, with a password"
        print(f"signed {level.removesuffix('-2048')} ({key}), {args.count} packs and the print file: "
              f"{statistics.median(s for s, _ in runs):.2f} s wall, "
              f"{statistics.median(s for s, _ in runs) / args.count * 1000:.1f} ms per pack, peak memory "
              f"{max(p for _, p in runs) / 2**20:.0f} MB; signing adds {added:.1f} ms per pack; a pack "
              f"{sizes[level] / 1000:.1f} kB (unsigned {unsigned_size / 1000:.1f} kB)")
    return 0


def _typst_version() -> str:
    from importlib.metadata import version

    return version("typst")


def _median_pack(out: Path) -> float:
    return statistics.median(path.stat().st_size for path in (out / "letters").glob("*.pdf"))


if __name__ == "__main__":
    raise SystemExit(main())
