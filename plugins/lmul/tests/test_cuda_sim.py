"""The Numba CUDA backend, bit for bit against ``reference``: under Numba's CUDA simulator
(in a subprocess, since NUMBA_ENABLE_CUDASIM must be set before numba is imported and the
other tests import numba normally), and on a real GPU when there is one.

Also a script, so that a GPU machine without pytest or our packages can run the same checks
(``bench/gpu_check.sh``)::

    PYTHONPATH=plugins/lmul/src python plugins/lmul/tests/test_cuda_sim.py --device --large

``--sim`` sets NUMBA_ENABLE_CUDASIM=1 itself (before importing numba); ``--device`` insists on
a real GPU; ``--large`` adds large sizes; ``--json PATH`` writes a summary.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

try:
    import pytest
except ImportError:  # run as a script on a machine without pytest
    pytest = None

try:
    from papercraft import cuda_checks
except ImportError:  # a GPU machine with only numpy and numba: the helper file by its path
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "core" / "papercraft"))
    import cuda_checks

SRC = Path(__file__).resolve().parents[1] / "src"

SPECIAL_BITS = [
    0x00000000, 0x80000000, 0x3F800000, 0xBF800000, 0x3FC00000, 0xC0000000, 0x3F900000,
    0x3F880000, 0x3F840000, 0x3FFFFFFF, 0x3F800001, 0x3F780000, 0x3F7FFFFF, 0x7F800000,
    0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001, 0x00000001, 0x007FFFFF, 0x80000001,
    0x00800000, 0x80800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F7FF000, 0x1F800000, 0x5F800000,
    0x0DA24260, 0x60AD78EC,
]


def _check_bits(got, want, a, b, k: int, what: str) -> None:
    import numpy as np

    got = np.asarray(got).view(np.uint32).ravel()
    bad = np.flatnonzero(got != want)
    if bad.size:
        i = bad[0]
        raise AssertionError(
            f"{what}: {bad.size} of {got.size} differ, first a=0x{a.ravel()[i]:08X} "
            f"b=0x{b.ravel()[i]:08X} k={k}: got 0x{got[i]:08X}, want 0x{want.ravel()[i]:08X}"
        )


def _check_matmul(got, a, b, k: int, reference, what: str) -> None:
    import numpy as np

    with np.errstate(invalid="ignore", over="ignore"):
        want = reference.lmatmul(a, b, k)
        scale = np.zeros(want.shape, np.float64)
        for j in range(a.shape[1]):
            scale += np.abs(reference.lmul(a[:, j : j + 1], b[j : j + 1, :], k)).astype(np.float64)
    assert got.shape == want.shape and got.dtype == np.float32, what
    assert (np.isnan(got) == np.isnan(want)).all(), f"{what}: NaN positions differ"
    inf = np.isinf(want)
    assert (got[inf] == want[inf]).all(), f"{what}: Inf entries differ"
    fin = np.isfinite(want)
    err = np.abs(got[fin].astype(np.float64) - want[fin].astype(np.float64))
    assert (err <= 1e-5 * scale[fin] + 1e-37).all(), f"{what}: max error {err.max()}"


def run_checks(large: bool = False) -> dict:
    """Every check of the CUDA backend; raises AssertionError on the first failure."""
    import numpy as np

    cb = cuda_checks.import_backend("papercraft_lmul.cuda_backend", SRC)
    reference = cuda_checks.import_backend("papercraft_lmul.reference", SRC)
    if not cb.available():
        raise RuntimeError("no CUDA GPU and no simulator")
    sim = cb.simulator_enabled()
    log = cuda_checks.CheckLog(sim)
    done = log.done
    if sim:
        # The simulator runs a Python thread per CUDA thread: keep blocks small. (Its kernels
        # read these module globals at run time; a real GPU freezes them at compile time.)
        cb.TILE, cb.THREADS_PER_BLOCK, cb.MAX_BLOCKS = 4, 32, 4

    rng = np.random.default_rng(2024)
    specials = np.array(SPECIAL_BITS, np.uint32)
    a_sp, b_sp = (x.ravel().copy() for x in np.meshgrid(specials, specials, indexing="ij"))

    t = time.perf_counter()
    out = cb.lmul(np.array([1.0, 1.5, -2.0], np.float32), np.array([1.0, 1.5, 3.0], np.float32))
    assert out.tolist() == [1.0625, 2.125, -6.25], out
    done("anchor values", t)

    t = time.perf_counter()
    ks = range(1, 24)
    for k in ks:
        got = cb.lmul(a_sp.view(np.float32), b_sp.view(np.float32), k)
        _check_bits(got, reference.lmul_bits(a_sp, b_sp, k), a_sp, b_sp, k, "special values")
    done("special values x special values, k = 1..23", t)

    # More elements than threads in the grid: the grid-stride loop must cover all of them.
    t = time.perf_counter()
    saved = cb.MAX_BLOCKS, cb.THREADS_PER_BLOCK
    try:
        cb.MAX_BLOCKS, cb.THREADS_PER_BLOCK = 3, 64
        size = 3000
        a_bits = rng.integers(0, 2**32, size, dtype=np.uint64).astype(np.uint32)
        b_bits = rng.integers(0, 2**32, size, dtype=np.uint64).astype(np.uint32)
        got = cb.lmul(a_bits.view(np.float32).reshape(3, 1000), b_bits.view(np.float32)
                      .reshape(3, 1000), 23)
        assert got.shape == (3, 1000)
        _check_bits(got, reference.lmul_bits(a_bits, b_bits, 23), a_bits, b_bits, 23,
                    "grid-stride")
    finally:
        cb.MAX_BLOCKS, cb.THREADS_PER_BLOCK = saved
    done("3000 random patterns on 3 x 64 threads (grid-stride)", t)

    t = time.perf_counter()
    shapes = [(1, 1, 1), (7, 33, 5), (9, 8, 10)]
    if not sim:
        shapes += [(64, 64, 64), (129, 257, 65)]
    for m, n, p in shapes:
        for k in (2, 23):
            a = rng.standard_normal((m, n)).astype(np.float32)
            b = rng.standard_normal((n, p)).astype(np.float32)
            a.flat[:: max(1, a.size // 5)] = 0.0
            _check_matmul(cb.lmatmul(a, b, k), a, b, k, reference, f"lmatmul {m}x{n}x{p} k={k}")
    if large and not sim:
        for m, n, p in [(512, 256, 512), (517, 300, 263)]:
            a = rng.standard_normal((m, n)).astype(np.float32)
            b = rng.standard_normal((n, p)).astype(np.float32)
            _check_matmul(cb.lmatmul(a, b, 23), a, b, 23, reference, f"lmatmul {m}x{n}x{p}")
            shapes.append((m, n, p))
    done(f"tiled lmatmul on {shapes}", t)

    t = time.perf_counter()
    a = rng.standard_normal((9, 11)).astype(np.float32)
    b = rng.standard_normal((11, 13)).astype(np.float32)
    a[1, 3], a[2, 0], a[4, 5], a[6, 7] = np.inf, np.nan, 1e30, np.float32(1e-40)
    b[3, 4], b[8, 6], b[9, 9], b[5, 10] = 0.0, -np.inf, np.nan, 1e30
    for k in (3, 23):
        _check_matmul(cb.lmatmul(a, b, k), a, b, k, reference, f"lmatmul special values k={k}")
    done("lmatmul with Inf, NaN, zeros, overflow, subnormals", t)

    if large and not sim:
        t = time.perf_counter()
        size = (1 << 24) + 3
        a_bits = rng.integers(0, 2**32, size, dtype=np.uint64).astype(np.uint32)
        b_bits = rng.integers(0, 2**32, size, dtype=np.uint64).astype(np.uint32)
        for k in (4, 23):
            got = cb.lmul(a_bits.view(np.float32), b_bits.view(np.float32), k)
            _check_bits(got, reference.lmul_bits(a_bits, b_bits, k), a_bits, b_bits, k,
                        "2^24 + 3 random patterns")
        done("2^24 + 3 random patterns, k in (4, 23)", t)

    t = time.perf_counter()
    for bad in (lambda: cb.lmul(np.ones(3, np.float32), np.ones(4, np.float32)),
                lambda: cb.lmatmul(np.ones((2, 3), np.float32), np.ones((2, 3), np.float32)),
                lambda: cb.lmul(np.ones(3, np.float32), np.ones(3, np.float32), 0)):
        try:
            bad()
        except ValueError:
            pass
        else:
            raise AssertionError("expected ValueError")
    done("errors", t)
    return log.summary


def test_cuda_backend_under_the_simulator() -> None:
    pytest.importorskip("numba")
    proc = cuda_checks.run_python([__file__, "--sim"], cuda_checks.simulator_env(SRC))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok  tiled lmatmul" in proc.stdout


def test_cuda_backend_without_gpu_or_simulator_says_so() -> None:
    pytest.importorskip("numba")
    if cuda_checks.real_gpu():
        pytest.skip("a GPU is present")
    code = (
        "import numpy as np\n"
        "from papercraft_lmul import cuda_backend as cb\n"
        "assert not cb.available()\n"
        "try:\n"
        "    cb.lmul(np.ones(2, np.float32), np.ones(2, np.float32))\n"
        "except RuntimeError as e:\n"
        "    print('RuntimeError:', e)\n"
    )
    proc = cuda_checks.run_python(["-c", code], cuda_checks.device_env(SRC), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "RuntimeError:" in proc.stdout and "GPU" in proc.stdout


def test_cuda_backend_on_a_real_gpu() -> None:
    pytest.importorskip("numba")
    if not cuda_checks.real_gpu():
        pytest.skip("needs a CUDA GPU")
    run_checks(large=True)


if pytest is not None:
    test_cuda_backend_on_a_real_gpu = pytest.mark.gpu(test_cuda_backend_on_a_real_gpu)


if __name__ == "__main__":
    sys.exit(cuda_checks.main(run_checks, "lmul"))
