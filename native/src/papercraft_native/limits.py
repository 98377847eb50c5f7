"""Refuse an allocation that the machine cannot hold, before making it.

A broadcast multiplies sizes: L-Mul of (65536, 1) by (1, 65536) needs 2^32 outputs, about
48 GiB with its two broadcast copies. With Linux's overcommit ``numpy.empty`` of that size
succeeds and the process is then killed by the kernel's OOM killer (which may kill other
work first). So every entry point that allocates a broadcast (or outer-product) output calls
:func:`check_allocation` with its estimated peak bytes first.

The limit is the smaller of

- ``AVAILABLE_FRACTION`` (80%) of the memory available now: ``MemAvailable`` of
  ``/proc/meminfo`` (else ``os.sysconf`` available, then physical pages), and the headroom
  of this process's cgroup v2 (``memory.max`` - ``memory.current``) where one is set;
- the cap ``PAPERCRAFT_MAX_ALLOC_BYTES`` (bytes, an integer; suffixes K, M, G, T for
  powers of 1024), when set (it can lower the limit, never raise it).

Requests under ``SMALL_BYTES`` (64 MiB) skip the reading of /proc unless the cap is set, so
small calls cost one dictionary look-up.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

MAX_ALLOC_ENV = "PAPERCRAFT_MAX_ALLOC_BYTES"
"""Environment variable: a cap in bytes on one call's allocation (K/M/G/T suffixes)."""

AVAILABLE_FRACTION = 0.8
"""Share of the available memory one call may take (the rest is left to everything else)."""

SMALL_BYTES = 64 * 1024 * 1024
"""Below this, no memory figures are read (the cap still applies when set)."""

_SUFFIXES = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_CAP_PATTERN = re.compile(r"(\d+)\s*([KMGT]?)(?:I?B)?")


class AllocationTooLarge(ValueError, MemoryError):
    """A call would allocate more than the limit; raised before anything is allocated.

    Both a ``ValueError`` (the arguments are the problem) and a ``MemoryError``."""


def format_bytes(n: float) -> str:
    """Bytes in binary units to 3 significant figures: "48.0 GiB"."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"  # not reached


def env_cap() -> int | None:
    """The cap from ``PAPERCRAFT_MAX_ALLOC_BYTES`` in bytes, or None when unset/empty."""
    raw = os.environ.get(MAX_ALLOC_ENV, "").strip()
    if not raw:
        return None
    match = _CAP_PATTERN.fullmatch(raw.upper())
    if match is None:
        raise ValueError(
            f"{MAX_ALLOC_ENV}={raw!r} is not a number of bytes (e.g. 8000000000 or 8G)"
        )
    return int(match[1]) * _SUFFIXES[match[2]]


def _meminfo_available(path: Path = Path("/proc/meminfo")) -> int | None:
    try:
        text = path.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("MemAvailable:"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(parts[1]) * 1024
    return None


def _sysconf_available() -> int | None:
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        for name in ("SC_AVPHYS_PAGES", "SC_PHYS_PAGES"):
            pages = os.sysconf(name)
            if pages > 0 and page > 0:
                return pages * page
    except (ValueError, OSError, AttributeError):  # not POSIX / name unknown here
        pass
    return None


def _cgroup_headroom(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """memory.max - memory.current of this process's cgroup v2, or None if unlimited."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("0::"):
            folder = root / line[3:].lstrip("/")
            try:
                limit = (folder / "memory.max").read_text().strip()
                current = int((folder / "memory.current").read_text().strip())
            except (OSError, ValueError):
                return None
            if not limit.isdigit():  # "max": no limit
                return None
            return max(0, int(limit) - current)
    return None


def available_memory() -> int | None:
    """Bytes this process can still get without swapping (None when nothing says)."""
    figures = [x for x in (_meminfo_available() or _sysconf_available(), _cgroup_headroom())
               if x is not None]
    return min(figures) if figures else None


def allocation_limit(available: int | None = None) -> int | None:
    """The most bytes one call may allocate (see the module docstring); None: no limit known.

    ``available`` replaces the host's figure (e.g. a GPU's free memory)."""
    cap = env_cap()
    if available is None:
        available = available_memory()
    share = None if available is None else int(available * AVAILABLE_FRACTION)
    figures = [x for x in (cap, share) if x is not None]
    return min(figures) if figures else None


def check_allocation(nbytes: int, what: str, available: int | None = None) -> None:
    """Raise AllocationTooLarge when ``nbytes`` (a call's estimated peak) exceeds the limit.

    ``what`` names the call and its output, e.g. "lmul: output (65536, 65536) float32";
    ``available``: the free bytes of the memory that will be used, when not the host's."""
    nbytes = int(nbytes)
    if nbytes <= SMALL_BYTES and available is None and os.environ.get(MAX_ALLOC_ENV) is None:
        return
    limit = allocation_limit(available)
    if limit is None or nbytes <= limit:
        return
    cap = env_cap()
    if cap is not None and limit == cap:
        source, remedy = f"by {MAX_ALLOC_ENV}", f"or raise {MAX_ALLOC_ENV}"
    else:
        source = f"({AVAILABLE_FRACTION:.0%} of the memory available now)"
        remedy = "or free memory"
    raise AllocationTooLarge(
        f"{what} needs about {format_bytes(nbytes)}, more than the {format_bytes(limit)} "
        f"allowed {source}; use smaller or chunked inputs, {remedy}"
    )


def output_bytes(shape: tuple[int, ...], bytes_per_element: int) -> int:
    """Elements of ``shape`` times ``bytes_per_element`` (exact Python integers)."""
    return math.prod(int(s) for s in shape) * int(bytes_per_element)


__all__ = [
    "AVAILABLE_FRACTION",
    "MAX_ALLOC_ENV",
    "SMALL_BYTES",
    "AllocationTooLarge",
    "allocation_limit",
    "available_memory",
    "check_allocation",
    "env_cap",
    "format_bytes",
    "output_bytes",
]
