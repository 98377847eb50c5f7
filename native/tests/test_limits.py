"""papercraft_native.limits: an allocation larger than the limit is refused with a clear
error before anything is allocated, in the helper and in every native entry point."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import papercraft_native as pn
from papercraft_native import limits

HUGE = 2**20  # (HUGE, 1) x (1, HUGE) float32 is 4 TiB: more than any machine has


def test_error_is_both_value_error_and_memory_error() -> None:
    assert issubclass(pn.AllocationTooLarge, ValueError)
    assert issubclass(pn.AllocationTooLarge, MemoryError)


@pytest.mark.parametrize(("raw", "want"), [
    ("1000", 1000), ("8G", 8 << 30), ("8GiB", 8 << 30), ("12 m", 12 << 20), ("2TB", 2 << 40),
])
def test_env_cap_parses_sizes(monkeypatch: pytest.MonkeyPatch, raw: str, want: int) -> None:
    monkeypatch.setenv(limits.MAX_ALLOC_ENV, raw)
    assert limits.env_cap() == want


@pytest.mark.parametrize("raw", ["lots", "-5", "1.5G", "8X"])
def test_bad_env_cap_is_a_value_error(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(limits.MAX_ALLOC_ENV, raw)
    with pytest.raises(ValueError, match=limits.MAX_ALLOC_ENV):
        limits.check_allocation(10, "x")


def test_available_memory_is_plausible() -> None:
    available = limits.available_memory()
    assert available is not None and 0 < available <= 1 << 50
    assert limits.allocation_limit() <= available


def test_cap_lowers_the_limit_and_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(limits.MAX_ALLOC_ENV, "1M")
    limits.check_allocation(1 << 20, "fits")
    with pytest.raises(pn.AllocationTooLarge, match=r"needs about 2 MiB, more than the 1 MiB "
                       r"allowed by PAPERCRAFT_MAX_ALLOC_BYTES"):
        limits.check_allocation(2 << 20, "thing")


def test_cap_cannot_raise_the_limit_above_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(limits.MAX_ALLOC_ENV, str(1 << 60))
    with pytest.raises(pn.AllocationTooLarge, match="of the memory available now"):
        limits.check_allocation(1 << 59, "thing")


def test_explicit_available_figure_is_used() -> None:
    limits.check_allocation(1 << 30, "gpu", available=2 << 30)
    with pytest.raises(pn.AllocationTooLarge, match="80% of the memory available"):
        limits.check_allocation(1 << 30, "gpu", available=1 << 30)


def test_small_requests_read_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(limits.MAX_ALLOC_ENV, raising=False)

    def fail() -> int:
        raise AssertionError("memory figures read for a small request")

    monkeypatch.setattr(limits, "available_memory", fail)
    limits.check_allocation(limits.SMALL_BYTES, "small")


def test_format_bytes() -> None:
    assert limits.format_bytes(512) == "512 B"
    assert limits.format_bytes(48 << 30) == "48 GiB"
    assert limits.format_bytes(1.5 * (1 << 40)) == "1.5 TiB"


def _refused_without_allocating(call) -> pn.AllocationTooLarge:
    tracemalloc.start()
    try:
        with pytest.raises(pn.AllocationTooLarge) as info:
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f"{peak} bytes allocated before the refusal"
    return info.value


@pytest.mark.skipif(not pn.available(), reason="extension not built")
def test_lgemm_outer_product_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(limits.MAX_ALLOC_ENV, raising=False)
    a = np.ones((HUGE, 1), np.float32)
    b = np.ones((1, HUGE), np.float32)
    error = _refused_without_allocating(lambda: pn.lgemm(a, b))
    assert "lgemm: output (1048576, 1048576) float32 needs about 4 TiB" in str(error)


@pytest.mark.skipif(not pn.available(), reason="extension not built")
def test_native_calls_obey_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.ones((1024, 1024), np.float32)  # 4 MiB
    monkeypatch.setenv(limits.MAX_ALLOC_ENV, "1M")
    _refused_without_allocating(lambda: pn.lmul(x, x))
    _refused_without_allocating(lambda: pn.lgemm(x, x))
    q = np.ones((1, 1024, 256), np.float32)
    v = np.ones((1, 1024, 512), np.float32)
    _refused_without_allocating(lambda: pn.diffattn(q, q, q, q, v, 0.5))
    monkeypatch.setenv(limits.MAX_ALLOC_ENV, "64M")
    assert pn.lmul(x, x).shape == x.shape
    assert pn.diffattn(q[:, :8], q[:, :8], q[:, :8], q[:, :8], v[:, :8], 0.5).shape == (1, 8, 512)
