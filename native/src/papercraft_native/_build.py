"""cffi build script for ``papercraft_native._native`` (API / out-of-line mode).

Run by setuptools through ``setup.py`` (``cffi_modules``) with the working directory at
``native/``. To add a kernel file (e.g. the differential-attention kernel): put the ``.c`` file
in ``csrc/`` and add it to ``SOURCES``; put its public declarations in a header between
``/* cffi-cdef-begin */`` and ``/* cffi-cdef-end */`` (plain declarations and integer
``#define``s only) and add the header to ``HEADERS``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cffi import FFI

NATIVE = Path(__file__).resolve().parents[2]
CSRC = NATIVE / "csrc"

HEADERS = ["pc_lmul.h", "pc_diffattn.h"]
SOURCES = ["pc_common.c", "pc_lmul.c", "pc_diffattn.c"]
# Flags: optimise, but never -march=native (the library must run on any CPU of its
# architecture); the kernels pick AVX-512 / AVX2 / baseline code at run time themselves.
# No -ffast-math: the kernels depend on IEEE NaN/Inf and on the order of float additions.
CFLAGS_UNIX = ["-O3", "-std=gnu11", "-fno-math-errno", "-fno-trapping-math", "-pthread"]
LDFLAGS_UNIX = ["-pthread"]

BEGIN, END = "/* cffi-cdef-begin */", "/* cffi-cdef-end */"


def _rel(path: Path) -> str:
    """Path relative to the working directory (setuptools rejects absolute paths)."""
    return os.path.relpath(path, Path.cwd()).replace(os.sep, "/")


def cdef_source() -> str:
    """The declarations between the cffi-cdef markers of every header in HEADERS."""
    parts = []
    for name in HEADERS:
        text = (CSRC / name).read_text(encoding="utf-8")
        start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
        parts.append(text[start:end])
    return "\n".join(parts)


def make_ffibuilder() -> FFI:
    builder = FFI()
    builder.cdef(cdef_source())
    unix = sys.platform != "win32"
    builder.set_source(
        "papercraft_native._native",
        "\n".join(f'#include "{name}"' for name in HEADERS),
        sources=[_rel(CSRC / name) for name in SOURCES],
        include_dirs=[_rel(CSRC)],
        extra_compile_args=CFLAGS_UNIX if unix else ["/O2"],
        extra_link_args=LDFLAGS_UNIX if unix else [],
        libraries=["pthread"] if unix else [],
    )
    return builder


ffibuilder = make_ffibuilder()

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
