#!/bin/sh
# Sets up .venv with the locked stack (requirements.lock, every version with its hashes) and this
# project, and installs Debian's libharfbuzz-subset0 where it can (as root, or with sudo that
# asks no password): WeasyPrint subsets fonts with it, and a default build takes about 0.6 times
# as long as with its fontTools fallback, which is deprecated. Run it again after pulling: it
# changes only what changed.
set -eu
cd "$(dirname "$0")/.."

have_subset() { ldconfig -p 2>/dev/null | grep -q 'libharfbuzz-subset\.so'; }
if ! have_subset && command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    sudo=""
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo"
  else
    sudo="-"
  fi
  if [ "$sudo" != "-" ]; then
    $sudo apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libharfbuzz-subset0 >/dev/null 2>&1 || true
  fi
fi
have_subset || echo "note: without libharfbuzz-subset0 a build takes about 1.7 times as long;" \
  "install it with: sudo apt-get install libharfbuzz-subset0 (Debian, Ubuntu)" >&2

python3 -m venv .venv
# --no-deps: the lock names every package the project needs, so pip installs exactly those and
# resolves nothing. Resolving would take a dependency's extra (WeasyPrint asks for fonttools[woff])
# as a requirement of its own, which pip 23.2 (Python 3.11's) then fetches at its newest release
# and refuses as unpinned. `pip check` then proves the lock complete: nothing anyone needs missing.
.venv/bin/pip install -q --no-deps --require-hashes -r requirements.lock
.venv/bin/pip install -q --no-deps -e .
.venv/bin/pip check >/dev/null

# PDF.js (Firefox's viewer), locked in scripts/pdfjs/package-lock.json, for the test that searches
# the editions as Firefox does; only where Node.js's npm is installed (the test is skipped elsewhere).
if command -v npm >/dev/null 2>&1; then
  npm ci --prefix scripts/pdfjs --omit=optional --silent --no-audit --no-fund >/dev/null 2>&1 ||
    echo "note: npm could not install PDF.js (scripts/pdfjs); its search test will be skipped" >&2
fi
