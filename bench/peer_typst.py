"""The letters bench's peer: the same letter packs made with Typst (bench/typst/pack.typ).

    python bench/peer_typst.py RECIPIENTS OUT [--processes N]

What a user would write instead of this project: the letter and recipients read by this
project's own loader (the same words in every pack), then one `typst.Compiler` reused for every
pack (Typst keeps what did not change between compilations: the appeal's pages), in N forked
processes (default: the build's workers), each writing its packs as OUT/letters/<id>.pdf.
bench_letters.py --peer typst runs it in a fresh process beside `build.py letters` and prints
the ratio. Needs the `typst` package (pip install 'typst>=0.15'), a bench-only dependency.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEMPLATE = ROOT / "bench" / "typst" / "pack.typ"


def shared_inputs(data, mailing) -> str:
    """What every pack shares, as the template reads it (JSON): the appeal, the letter's sender."""
    letter = mailing.letter
    return json.dumps({
        "letter": {"organisation": letter.sender.organisation, "sender": list(letter.sender.address),
                   "return_address": letter.sender.return_address or "", "subject": letter.subject,
                   "signer": letter.signer.name, "signer_title": letter.signer.title or ""},
        "appeal": {"title": data.appeal.title, "short_title": data.appeal.short_title,
                   "publication": data.appeal.publication, "date": data.appeal.date.isoformat(),
                   "body": list(data.appeal.body),
                   "signatories": [{"name": s.name, "role": s.role} for s in data.appeal.signatories]},
    })


def pack_inputs(pack) -> str:
    """One pack's own words (JSON)."""
    recipient = pack.recipient
    address = [recipient.addressee, *([recipient.position] if recipient.position else []),
               *recipient.address]
    return json.dumps({
        "language": pack.language, "paper": pack.paper, "address": address,
        "date_line": pack.date_line, "subject": pack.subject, "paragraphs": list(pack.paragraphs),
        "closing": pack.closing, "enclosure": pack.enclosure})


def _work(shared: str, jobs: list[tuple[str, str]], out: Path) -> None:
    import typst

    compiler = typst.Compiler(str(TEMPLATE), font_paths=[str(ROOT / "styles" / "fonts")],
                              ignore_system_fonts=True)
    for recipient_id, inputs in jobs:
        pdf = compiler.compile(format="pdf", sys_inputs={"appeal": shared, "pack": inputs})
        (out / f"{recipient_id}.pdf").write_bytes(pdf)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipients", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--processes", type=int, default=0, help="default: the build's workers")
    args = parser.parse_args()
    from appeal.build.workers import workers
    from appeal.inputs.load import load_data
    from appeal.inputs.mailing import load_mailing
    from appeal.paths import DATA_DIR

    data = load_data(DATA_DIR / "appeal.yaml", DATA_DIR / "words.yaml")
    mailing = load_mailing(DATA_DIR / "words.yaml", DATA_DIR / "letter.yaml", args.recipients)
    shared = shared_inputs(data, mailing)
    jobs = [(pack.recipient.id, pack_inputs(pack)) for pack in mailing.packs]
    out = args.out / "letters"
    out.mkdir(parents=True, exist_ok=True)
    processes = args.processes or workers()
    share = -(-len(jobs) // processes)
    children = []
    for number in range(processes):
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                _work(shared, jobs[number * share:(number + 1) * share], out)
                status = 0
            finally:
                os._exit(status)
        children.append(pid)
    failed = sum(os.waitpid(pid, 0)[1] != 0 for pid in children)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
