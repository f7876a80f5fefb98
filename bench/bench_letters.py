"""Benchmark: a whole parliament's letters, the assembled way beside the naive way, in one run.

    python bench/bench_letters.py [--count 1100] [--naive 20] [--runs 1] [--sign]

Makes COUNT synthetic recipients, runs `build.py letters` on them in a fresh process (wall time,
ms per pack, peak memory of the process and its workers, every file checked to be there), then
renders NAIVE packs the naive way in this process (one full WeasyPrint render of letter and
appeal per pack, warm) and prints the ratio. With --sign, the same build again with
`--sign-key` (a throwaway RSA-2048 key made for the run, never kept), in the same run, and what
signing adds per pack. The machine may be shared: compare within a run.
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

from bench_build import build_measured, machine  # noqa: E402


def synthetic_recipients(count: int) -> dict:
    return {"recipients": [
        {"id": f"member-{n:05d}", "title": "Hon.", "name": f"Member of Parliament {n:05d}",
         "address": ["Parliament of the Republic", f"Office {n % 400 + 1}", "Parliament Square 1",
                     "CAPITAL CITY"],
         "salutation": "Dear Member of Parliament"} for n in range(1, count + 1)]}


def throwaway_key(folder: Path) -> Path:
    """A self-signed RSA-2048 signing certificate in a PKCS#12 file without a password."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Benchmark signer")])
    now = dt.datetime.now(dt.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(1).not_valid_before(now - dt.timedelta(days=1))
                   .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    path = folder / "benchmark.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(b"bench", key, certificate, None,
                                                           serialization.NoEncryption()))
    return path


def assembled(recipients: Path, out: Path, count: int, key: Path | None = None) -> tuple[float, int]:
    """Wall seconds and peak memory (bytes) of `build.py letters` in a fresh process."""
    seconds, peak, _ = build_measured(["letters", "--recipients", str(recipients), "--out", str(out),
                                       *(["--sign-key", str(key)] if key else [])],
                                      {"APPEAL_SIGN_PASSWORD": ""})
    written = len(list((out / "letters").glob("*.pdf")))
    if written != count or not (out / "letters.pdf").is_file():
        raise SystemExit(f"expected {count} packs and letters.pdf, found {written}")
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
    parser.add_argument("--sign", action="store_true", help="also build signed, and compare")
    args = parser.parse_args()

    from appeal.build.workers import workers
    from appeal.versions import stack

    print(f"machine: {machine()}")
    print(f"stack:   {stack()}")
    with tempfile.TemporaryDirectory() as folder:
        recipients = Path(folder) / "recipients.yaml"
        recipients.write_text(yaml.safe_dump(synthetic_recipients(args.count)), encoding="utf-8")
        results = [assembled(recipients, Path(folder) / f"out{run}", args.count) for run in range(args.runs)]
        seconds = statistics.median(s for s, _ in results)
        peak = max(p for _, p in results)
        if args.sign:
            key = throwaway_key(Path(folder))
            signed = [assembled(recipients, Path(folder) / f"signed{run}", args.count, key)
                      for run in range(args.runs)]
        per_pack_naive = naive(recipients, args.naive)
    per_pack = seconds / args.count
    print(f"assembled, build.py letters, {args.count} packs, {workers()} workers: "
          f"{seconds:.2f} s wall, {per_pack * 1000:.1f} ms per pack, peak memory {peak / 2**20:.0f} MB "
          "(PSS of the process and its workers)")
    print(f"naive, one render per pack, {args.naive} packs in-process: "
          f"{per_pack_naive * 1000:.0f} ms per pack")
    print(f"assembled is {per_pack_naive / per_pack:.0f} times faster than naive")
    if args.sign:
        signed_seconds = statistics.median(s for s, _ in signed)
        print(f"signed, build.py letters --sign-key, {args.count} packs and the print file: "
              f"{signed_seconds:.2f} s wall, {signed_seconds / args.count * 1000:.1f} ms per pack, "
              f"peak memory {max(p for _, p in signed) / 2**20:.0f} MB; signing adds "
              f"{(signed_seconds - seconds) / args.count * 1000:.1f} ms per pack")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
