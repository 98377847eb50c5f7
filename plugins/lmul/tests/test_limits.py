"""A broadcast that would not fit in memory is refused before anything is allocated, on every
entry point that allocates a broadcast or outer-product output: lmul of (65536, 1) by
(1, 65536) needs about 48 GiB and used to be left to the kernel's OOM killer."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch

from papercraft_lmul import numba_backend, reference, torch_backend
from papercraft_lmul.api import lmatmul, lmul
from papercraft_native.limits import MAX_ALLOC_ENV, AllocationTooLarge

ISSUE = 65536  # the issue's (65536, 1) x (1, 65536)
HUGE = 2**20  # 4 TiB of float32 output: more than any machine, without a cap


def _column(n: int) -> np.ndarray:
    return np.ones((n, 1), np.float32)


def _row(n: int) -> np.ndarray:
    return np.ones((1, n), np.float32)


def _t(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x)


def _calls(n: int) -> dict:
    col, row = _column(n), _row(n)
    return {
        "api lmul c": lambda: lmul(col, row, backend="c"),
        "api lmul numba": lambda: lmul(col, row, backend="numba"),
        "api lmul torch": lambda: lmul(_t(col), _t(row), backend="torch"),
        "api lmatmul c": lambda: lmatmul(col, row, backend="c"),
        "api lmatmul numba": lambda: lmatmul(col, row, backend="numba"),
        "api lmatmul torch": lambda: lmatmul(_t(col), _t(row), backend="torch"),
        "numba_backend lmatmul": lambda: numba_backend.lmatmul(col, row),
        "torch_backend lmul": lambda: torch_backend.lmul(_t(col), _t(row)),
        "torch_backend lmatmul": lambda: torch_backend.lmatmul(_t(col), _t(row)),
        "reference lmul": lambda: reference.lmul(col, row),
        "reference lmatmul": lambda: reference.lmatmul(col, row),
    }


def _refused(name: str, n: int) -> AllocationTooLarge:
    """Run the call under tracemalloc: it must raise AllocationTooLarge having allocated
    < 1 MiB (numpy's and Python's allocations are traced; a small call first loads whatever
    the first call of a library loads lazily)."""
    _calls(2)[name]()
    call = _calls(n)[name]
    tracemalloc.start()
    try:
        with pytest.raises(AllocationTooLarge) as info:
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f"{peak} bytes allocated before the refusal"
    return info.value


@pytest.mark.parametrize("name", sorted(_calls(1)))
def test_the_issue_broadcast_is_refused_under_a_cap(monkeypatch, name: str) -> None:
    monkeypatch.setenv(MAX_ALLOC_ENV, "8G")  # refused on any machine, however large
    error = _refused(name, ISSUE)
    assert "(65536, 65536) float32 needs about" in str(error)
    assert MAX_ALLOC_ENV in str(error)
    assert isinstance(error, ValueError) and isinstance(error, MemoryError)


@pytest.mark.parametrize("name", sorted(_calls(1)))
def test_more_than_the_machine_has_is_refused(monkeypatch, name: str) -> None:
    monkeypatch.delenv(MAX_ALLOC_ENV, raising=False)
    error = _refused(name, HUGE)
    assert "(1048576, 1048576) float32 needs about" in str(error)
    assert "of the memory available now" in str(error)


def test_c_lmul_estimate_counts_the_broadcast_copies(monkeypatch) -> None:
    monkeypatch.setenv(MAX_ALLOC_ENV, "8G")
    error = _refused("api lmul c", ISSUE)
    assert "needs about 48 GiB" in str(error)  # output + two broadcast copies, 4 bytes each


@pytest.mark.parametrize("name", sorted(_calls(1)))
def test_calls_under_the_limit_still_run(monkeypatch, name: str) -> None:
    monkeypatch.setenv(MAX_ALLOC_ENV, "1G")
    out = _calls(64)[name]()
    assert tuple(out.shape) == (64, 64)
