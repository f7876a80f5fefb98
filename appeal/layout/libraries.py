"""WeasyPrint imported without its slow library search: importing this module imports WeasyPrint.

WeasyPrint loads Pango, HarfBuzz, HarfBuzz-Subset, fontconfig and GObject by trying a list of
names for each, Windows' and macOS's among them, and cffi hands every name without a dot to
`ctypes.util.find_library`, which on Linux runs `ldconfig -p` and, for a name it does not find
there, gcc and ld, in subprocesses. Each list ends in the library's soname
(`libpango-1.0.so.0`), which cffi passes straight to dlopen, and dlopen finds it wherever the
search would have. So while WeasyPrint is imported, `find_library` answers at once that it
knows nothing, and the sonames load the same libraries: 28 searches, 0.24 s of every fresh
process that renders (bench_startup.py's two floors; 0.43 s in a busier hour). Where a soname
does not load (a system that has only some other name for a library), WeasyPrint is imported
again the slow way, and loads what it always did.

Import it before anything of WeasyPrint's: layout.render and layout.fetcher do, and versions
takes WeasyPrint's libraries from it (`weasyprint_ffi`).
"""

from __future__ import annotations

import contextlib
import ctypes.util
import io
import sys


def _import_weasyprint():
    if "weasyprint.text.ffi" in sys.modules or not sys.platform.startswith("linux"):
        import weasyprint.text.ffi

        return weasyprint.text.ffi
    search = ctypes.util.find_library
    ctypes.util.find_library = lambda name: None
    try:
        # WeasyPrint prints its installation advice before it fails: not for this first try.
        with contextlib.redirect_stdout(io.StringIO()):
            import weasyprint.text.ffi
    except OSError:
        for module in [name for name in sys.modules if name.partition(".")[0] == "weasyprint"]:
            del sys.modules[module]
        ctypes.util.find_library = search
        import weasyprint.text.ffi
    finally:
        ctypes.util.find_library = search
    return sys.modules["weasyprint.text.ffi"]


weasyprint_ffi = _import_weasyprint()  # weasyprint.text.ffi: the libraries it loaded
