"""Python side of the L-Mul kernels: argument checks, then one call into the C library."""

from __future__ import annotations

from typing import Any

import numpy as np

from papercraft_native.limits import check_allocation

try:
    from papercraft_native._native import ffi, lib
except ImportError as exc:  # the extension was not compiled (e.g. a bare source checkout)
    ffi = lib = None
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None

MAX_THREADS = 256  # PC_MAX_THREADS in csrc/pc_lmul.h


def available() -> bool:
    """True when the compiled extension ``papercraft_native._native`` is importable."""
    return lib is not None


def _lib() -> Any:
    if lib is None:
        raise ImportError(
            "papercraft_native: the compiled extension papercraft_native._native is not built "
            f"({_IMPORT_ERROR}); install it with "
            "`python -m pip install --no-build-isolation -e native` (needs a C compiler and cffi)"
        ) from _IMPORT_ERROR
    return lib


def _check_error(func: str, code: int) -> None:
    if code == 0:
        return
    message = f"{func}: {ffi.string(lib.pc_strerror(code)).decode()} (error {code})"
    if code == lib.PC_ERR_NOMEM:
        raise MemoryError(message)
    raise ValueError(message)


def _check_bits(k: Any) -> int:
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or not 1 <= k <= 23:
        raise ValueError(f"k (mantissa bits) must be an integer in 1..23, got {k!r}")
    return int(k)


def _check_threads(threads: Any) -> int:
    if isinstance(threads, (bool, np.bool_)) or not isinstance(threads, (int, np.integer)):
        raise ValueError(f"threads must be an integer, got {threads!r}")
    if not 1 <= threads <= MAX_THREADS:
        raise ValueError(f"threads must be in 1..{MAX_THREADS}, got {threads}")
    return int(threads)


def _check_array(func: str, name: str, x: Any, ndim: int | None = None) -> np.ndarray:
    if isinstance(x, np.generic):
        x = np.asarray(x)
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{func}: {name} must be a numpy.ndarray, got {type(x).__name__}")
    if x.dtype != np.float32:
        raise ValueError(f"{func}: {name} must have dtype float32 (native order), got {x.dtype}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{func}: {name} must be {ndim}-D, got shape {x.shape}")
    if not x.flags.c_contiguous:
        raise ValueError(
            f"{func}: {name} must be C-contiguous (use numpy.ascontiguousarray), got strides "
            f"{x.strides} for shape {x.shape}"
        )
    if not x.flags.aligned:
        raise ValueError(f"{func}: {name} must be aligned to its dtype (use numpy.array copy)")
    return x


def _ptr(x: np.ndarray) -> Any:
    return ffi.from_buffer("float[]", x)


def lmul(a: np.ndarray, b: np.ndarray, k: int = 23) -> np.ndarray:
    """Elementwise L-Mul with k mantissa bits; a and b: same shape, float32, C-contiguous."""
    _lib()
    a = _check_array("lmul", "a", a)
    b = _check_array("lmul", "b", b)
    if a.shape != b.shape:
        raise ValueError(f"lmul: a and b must have the same shape, got {a.shape} and {b.shape}")
    k = _check_bits(k)
    check_allocation(a.size * 4, f"lmul: output {a.shape} float32")
    out = np.empty(a.shape, np.float32)
    if out.size:
        _check_error("lmul", lib.pc_lmul(_ptr(a), _ptr(b), _ptr(out), out.size, k))
    return out


def ldot(a: np.ndarray, b: np.ndarray, k: int = 23) -> float:
    """Sum of the L-Mul products of two 1-D float32 arrays (float32, in index order)."""
    _lib()
    a = _check_array("ldot", "a", a, ndim=1)
    b = _check_array("ldot", "b", b, ndim=1)
    if a.shape != b.shape:
        raise ValueError(f"ldot: a and b must have the same length, got {a.shape} and {b.shape}")
    k = _check_bits(k)
    if a.size == 0:
        return 0.0
    result = ffi.new("float *")
    _check_error("ldot", lib.pc_ldot(_ptr(a), _ptr(b), a.size, k, result))
    return float(result[0])


def lgemm(a: np.ndarray, b: np.ndarray, k: int = 23, threads: int = 1) -> np.ndarray:
    """``a @ b`` ([m, n] @ [n, p], float32, C-contiguous) with L-Mul products, float32 sums.

    Sums run in index order from +0 whatever ``threads`` is (1..MAX_THREADS; rows are split
    between threads), so every result equals ``ldot`` of its row and column.
    """
    _lib()
    a = _check_array("lgemm", "a", a, ndim=2)
    b = _check_array("lgemm", "b", b, ndim=2)
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"lgemm: needs [m, n] @ [n, p], got {a.shape} @ {b.shape}")
    k = _check_bits(k)
    threads = _check_threads(threads)
    (m, n), p = a.shape, b.shape[1]
    if m * p == 0:
        return np.empty((m, p), np.float32)
    # the output, the packed copy of b (about twice b) and ~200 KiB of tiles per thread
    scratch = 8 * n * (p + 32) + threads * 256 * 1024 if n else 0
    check_allocation(4 * m * p + scratch, f"lgemm: output ({m}, {p}) float32")
    if n == 0:
        return np.zeros((m, p), np.float32)
    out = np.empty((m, p), np.float32)
    _check_error("lgemm", lib.pc_lgemm(_ptr(a), _ptr(b), _ptr(out), m, n, p, k, threads))
    return out


def isa() -> str:
    """The instruction set the kernels use: "avx512", "avx2" or "baseline"."""
    return ffi.string(_lib().pc_isa()).decode()


def set_isa(name: str = "auto") -> None:
    """Choose the kernels' instruction set ("auto", "avx512", "avx2", "baseline"); for tests
    and benchmarks. Results are the same whichever is used. ValueError if unsupported."""
    _lib()
    if not isinstance(name, str):
        raise ValueError(f"set_isa: name must be a string, got {name!r}")
    _check_error("set_isa", lib.pc_set_isa(name.encode()))


ISA_NAMES = ("baseline", "avx2", "avx512")


def supported_isas() -> list[str]:
    """The instruction sets this processor can run, of ``ISA_NAMES``; leaves "auto" chosen."""
    found = []
    for name in ISA_NAMES:
        try:
            set_isa(name)
        except ValueError:
            continue
        found.append(name)
    set_isa("auto")
    return found
