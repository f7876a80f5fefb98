"""Every output byte for byte: the same builds at two commits, compared file by file.

    .venv/bin/python scripts/compare_outputs.py [--before REF] [--after REF] [--keep DIR]

Checks out each commit into a temporary work tree (`git worktree`), runs the same builds with
its own `build.py` and this checkout's Python, and compares every file each build wrote:

1. the default build (`python build.py`);
2. the handouts, archive and booklets with `examples/endorsements.csv`;
3. the press editions with `--marks`;
4. the letters for 200 generated recipients (`build.py letters --recipients`);
5. the archive and those letters signed with a throwaway key made for the run (the same key for
   both commits).

Every build runs with SOURCE_DATE_EPOCH fixed. The archive records the tool's fingerprint, a
digest of the code, templates, styles and fonts, which differs between any two commits: both
builds run with that digest made equal (`versions._tool_files_digest`), so every byte of every
file, the archive's included, is compared. Exit 0 when every file is identical, 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import filecmp
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# The last commit before the pipeline redesign (issue 16).
BEFORE = "b1199b5"
EPOCH = "1750032000"  # 16 June 2025, 00:00 UTC

# Run inside the tree under test: the tool-files digest made equal, then that tree's build.py.
RUNNER = """
import runpy, sys
tree, argv = sys.argv[1], sys.argv[2:]
sys.path.insert(0, tree)
import appeal.versions
appeal.versions._tool_files_digest = lambda: b"compare_outputs"
sys.argv = [tree + "/build.py", *argv]
runpy.run_path(tree + "/build.py", run_name="__main__")
"""


def recipients(folder: Path, count: int = 200) -> Path:
    """`count` recipients made up for the comparison (never printed by a default build)."""
    path = folder / "recipients.yaml"
    path.write_text(yaml.safe_dump({"recipients": [
        {"id": f"member-{n:03d}", "title": "Hon.", "name": f"Member of Parliament {n:03d}",
         "address": ["Parliament of the Republic", f"Office {n}", "Parliament Square 1", "CAPITAL CITY"],
         "salutation": "Dear Member of Parliament"} for n in range(1, count + 1)]}), encoding="utf-8")
    return path


def throwaway_key(folder: Path) -> Path:
    """A self-signed RSA-2048 certificate, valid 2020 to 2100, in a PKCS#12 file without a password."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Comparison signer")])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(1).not_valid_before(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
                   .not_valid_after(dt.datetime(2100, 1, 1, tzinfo=dt.UTC)).sign(key, hashes.SHA256()))
    path = folder / "comparison.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(b"compare", key, certificate, None,
                                                           serialization.NoEncryption()))
    return path


def builds(scratch: Path) -> dict[str, list[str]]:
    listed = recipients(scratch)
    key = throwaway_key(scratch)
    return {
        "default": [],
        "endorsements": ["--endorsements", str(ROOT / "examples" / "endorsements.csv"),
                         *[f"--edition={name}" for name in ("a4", "letter", "archive", "booklet")]],
        "marks": ["--marks", "--edition", "press-a4", "--edition", "press-a5"],
        "letters": ["letters", "--recipients", str(listed)],
        "signed": ["--sign-key", str(key), "--edition", "archive", "--edition", "letters",
                   "--recipients", str(listed)],
    }


def run_builds(tree: Path, out: Path, plan: dict[str, list[str]]) -> None:
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    env.pop("PYTHONPATH", None)
    for name, arguments in plan.items():
        argv = arguments[:1] if arguments[:1] == ["letters"] else []
        argv += [*arguments[len(argv):], "--out", str(out / name)]
        result = subprocess.run([sys.executable, "-c", RUNNER, str(tree), *argv], cwd=tree, env=env,
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"{tree.name}: build {name} failed (exit {result.returncode}):\n{result.stderr}")
        print(f"  {tree.name}: {name}: {sum(1 for p in (out / name).rglob('*') if p.is_file())} files",
              flush=True)


def files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")
            if p.is_file() and not p.name.startswith(".")}


def compare(before: Path, after: Path) -> list[str]:
    differences = []
    for build in sorted(p.name for p in before.iterdir()):
        old, new = files(before / build), files(after / build)
        differences += [f"{build}: only before: {name}" for name in sorted(old - new)]
        differences += [f"{build}: only after: {name}" for name in sorted(new - old)]
        for name in sorted(old & new):
            if not filecmp.cmp(before / build / name, after / build / name, shallow=False):
                differences.append(f"{build}: differs: {name}")
        print(f"{build}: {len(old & new)} files compared", flush=True)
    return differences


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default=BEFORE, help=f"the earlier commit (default {BEFORE})")
    parser.add_argument("--after", default="HEAD", help="the later commit (default HEAD; 'work' for the "
                                                         "working tree as it is)")
    parser.add_argument("--keep", type=Path, help="leave the outputs in this folder")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="compare-") as temp:
        scratch = Path(temp)
        keep = options.keep or scratch / "out"
        plan = builds(scratch)
        trees = []
        try:
            for label, ref in (("before", options.before), ("after", options.after)):
                if ref == "work":
                    trees.append((label, ROOT))
                    continue
                tree = scratch / label
                subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree),
                                ref], check=True)
                trees.append((label, tree))
            for label, tree in trees:
                print(f"{label}: {tree.name if tree != ROOT else 'working tree'}", flush=True)
                run_builds(tree, keep / label, plan)
        finally:
            for _, tree in trees:
                if tree != ROOT:
                    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                                   check=False)
        differences = compare(keep / "before", keep / "after")
    for line in differences:
        print(line)
    print("identical" if not differences else f"{len(differences)} differences")
    return 0 if not differences else 1


if __name__ == "__main__":
    raise SystemExit(main())
