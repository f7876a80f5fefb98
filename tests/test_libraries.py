"""WeasyPrint imported by layout.libraries: the same libraries as its own search finds, found fast."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from appeal.paths import ROOT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the shortcut is Linux's")

# Prints the text libraries this process mapped, whether find_library is ctypes' own again, and
# whether WeasyPrint lays out a line of text with what it loaded.
REPORT = """
import ctypes.util, json, re, sys
original = ctypes.util.find_library
{prepare}
{load}
from weasyprint import HTML
pdf = HTML(string="<p>Uphold the Convention</p>").write_pdf()
names = sorted({{re.sub(r"\\.so.*", "", line.strip().split("/")[-1]) for line in open("/proc/self/maps")
                if re.search(r"/lib(pango|pangoft2|harfbuzz|fontconfig|gobject)[^/]*\\.so", line)}})
print(json.dumps({{"libraries": names, "restored": ctypes.util.find_library is original,
                  "pdf": pdf.startswith(b"%PDF-")}}))
"""

# A system whose libraries answer to no soname WeasyPrint tries: every name with ".so." refused.
NO_SONAMES = """
import cffi.api
opened = cffi.api.FFI.dlopen
def dlopen(self, name, flags=0):
    if isinstance(name, str) and ".so." in name:
        raise OSError(f"{name}: refused by the test")
    return opened(self, name, flags)
cffi.api.FFI.dlopen = dlopen
"""


def _report(load: str, prepare: str = "") -> tuple[dict, str]:
    result = subprocess.run([sys.executable, "-c", REPORT.format(load=load, prepare=prepare)], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    *printed, last = result.stdout.strip().splitlines()
    return json.loads(last), "\n".join(printed)


def test_the_fast_import_loads_what_weasyprints_own_search_loads():
    own, _ = _report("import weasyprint")
    fast, printed = _report("import appeal.layout.libraries")
    assert fast == own and {"libpango-1.0", "libharfbuzz", "libfontconfig"} <= set(fast["libraries"])
    assert fast["restored"] and fast["pdf"] and not printed


def test_where_no_soname_loads_weasyprint_is_imported_its_own_way():
    fast, printed = _report("import appeal.layout.libraries", NO_SONAMES)
    own, _ = _report("import weasyprint", NO_SONAMES)
    assert fast == own and fast["restored"] and fast["pdf"]
    assert "could not import some external libraries" not in printed  # the first try's advice unprinted
