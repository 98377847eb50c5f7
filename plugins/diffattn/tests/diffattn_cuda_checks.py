"""Checks of the Numba CUDA differential-attention kernel against float64 / torch references.

Used by ``test_kernels.py`` (under Numba's CUDA simulator, in a subprocess, since
NUMBA_ENABLE_CUDASIM must be set before numba is imported) and as a script on a GPU machine
without pytest or our installed packages (``bench/gpu_diffattn.sh``)::

    PYTHONPATH=plugins/diffattn/src:core \
        python plugins/diffattn/tests/diffattn_cuda_checks.py --device

``--sim`` sets NUMBA_ENABLE_CUDASIM=1 itself (before importing numba); ``--device`` insists on
a real GPU; ``--large`` adds large sizes; ``--json PATH`` writes a summary. Exit status 0 when
every check passes (the command line is ``papercraft.cuda_checks.main``).
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

try:
    from papercraft import cuda_checks
except ImportError:  # a GPU machine with only numpy and numba: the helper file by its path
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "core" / "papercraft"))
    import cuda_checks

SRC = Path(__file__).resolve().parents[1] / "src"


def _import_backend():
    return cuda_checks.import_backend("papercraft_diffattn.kernel_cuda", SRC)


def reference64(q1, k1, q2, k2, v, lam: float, causal: bool):
    """float64 numpy: (softmax(q1 k1^T/sqrt(d)) - lam softmax(q2 k2^T/sqrt(d))) v."""
    import numpy as np

    q1, k1, q2, k2, v = (np.asarray(a, np.float64) for a in (q1, k1, q2, k2, v))
    n, d = q1.shape[-2:]

    def softmax(q, k):
        s = q @ np.swapaxes(k, -1, -2) / math.sqrt(d)
        if causal:
            s = np.where(np.triu(np.ones((n, n), bool), 1), -np.inf, s)
        e = np.exp(s - s.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)

    return (softmax(q1, k1) - lam * softmax(q2, k2)) @ v


def _inputs(rng, b: int, h: int, n: int, d: int):
    import numpy as np

    qk = [rng.standard_normal((b, h, n, d)).astype(np.float32) for _ in range(4)]
    return (*qk, rng.standard_normal((b, h, n, 2 * d)).astype(np.float32))


def run_checks(large: bool = False) -> dict:
    """Every check; raises AssertionError on the first failure."""
    import numpy as np

    kc = _import_backend()
    if not kc.available():
        raise RuntimeError("no CUDA GPU and no simulator")
    sim = kc.simulator_enabled()
    log = cuda_checks.CheckLog(sim)
    done = log.done
    if sim:  # a Python thread per CUDA thread: few threads, several key tiles per row
        kc.THREADS = 4

    rng = np.random.default_rng(2024)
    shapes = [(1, 1, 1, 1), (1, 2, 9, 3), (2, 1, 6, 4)]
    if not sim:
        shapes += [(1, 2, 130, 64), (2, 3, 257, 32), (1, 1, 300, 128), (1, 1, 77, 256)]
    for b, h, n, d in shapes:
        for causal in (True, False):
            t = time.perf_counter()
            args = _inputs(rng, b, h, n, d)
            got = kc.diffattn_numpy(*args, 0.37, causal)
            want = reference64(*args, 0.37, causal)
            assert got.shape == want.shape and got.dtype == np.float32
            err = float(np.abs(got - want).max())
            assert err <= 1e-5, f"{(b, h, n, d)} causal={causal}: max error {err}"
            done(f"numpy in/out {(b, h, n, d)} causal={causal}", t, err)

    t = time.perf_counter()
    try:
        kc.diffattn_numpy(*_inputs(rng, 1, 1, 2, kc.MAX_D + 1), 0.5, True)
    except ValueError:
        pass
    else:
        raise AssertionError("d > MAX_D must raise ValueError")
    done("d > MAX_D is a ValueError", t)

    if not sim:
        try:
            import torch
            import torch.nn.functional as F

            cuda_torch = torch.cuda.is_available()
        except ImportError:
            cuda_torch = False
        if cuda_torch:
            sizes = [(1, 8, 1024, 64)] + ([(1, 8, 2048, 64), (2, 4, 4097, 64)] if large else [])
            for b, h, n, d in sizes:
                t = time.perf_counter()
                g = torch.Generator(device="cuda").manual_seed(n)
                q1, k1, q2, k2 = (torch.randn(b, h, n, d, device="cuda", generator=g)
                                  for _ in range(4))
                v = torch.randn(b, h, n, 2 * d, device="cuda", generator=g)
                got = kc.diff_attention_cuda(q1, k1, q2, k2, v, 0.37, True)
                want = (F.scaled_dot_product_attention(q1.double(), k1.double(), v.double(),
                                                       is_causal=True)
                        - 0.37 * F.scaled_dot_product_attention(q2.double(), k2.double(),
                                                                v.double(), is_causal=True))
                err = float((got.double() - want).abs().max())
                assert got.device.type == "cuda" and got.shape == want.shape
                assert err <= 1e-5, f"torch tensors {(b, h, n, d)}: max error {err}"
                done(f"CUDA tensors vs torch SDPA (float64) {(b, h, n, d)}", t, err)
        else:
            print("torch with CUDA not available: tensor checks skipped", flush=True)
    return log.summary


def main(argv: list[str] | None = None) -> int:
    """The command line: ``[--sim | --device] [--large] [--json PATH]``."""
    return cuda_checks.main(run_checks, "diffattn", argv)


if __name__ == "__main__":
    sys.exit(main())
