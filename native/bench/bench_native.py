"""Throughput of papercraft_native against numpy, for the README figures.

    OPENBLAS_NUM_THREADS=1 python native/bench/bench_native.py [--quick]

Each pair (numpy, native) is timed in alternation, best of several rounds, so that other load
on the machine disturbs both alike. Reports:
- elementwise over 2^24 float32: ``lmul(a, b)`` vs ``a * b`` (both allocate their output);
- GEMM 1024^3: ``lgemm`` 1 thread vs ``a @ b`` (OpenBLAS sgemm; set OPENBLAS_NUM_THREADS=1),
  in GFLOP/s = 2 m n p / time, and ``lgemm`` 2 threads vs 1 thread;
- ``ldot`` over 2^20 vs ``numpy.dot``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import papercraft_native as pn


def best_pair(f, g, rounds: int) -> tuple[float, float]:
    tf = tg = float("inf")
    f(), g()  # warm-up
    for _ in range(rounds):
        t0 = time.perf_counter()
        f()
        t1 = time.perf_counter()
        g()
        t2 = time.perf_counter()
        tf, tg = min(tf, t1 - t0), min(tg, t2 - t1)
    return tf, tg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--isa", default="auto", help="auto, avx512, avx2 or baseline")
    args = parser.parse_args()
    rounds = 3 if args.quick else 12
    pn.set_isa(args.isa)
    print(f"kernels: {pn.isa()}  OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    rng = np.random.default_rng(0)

    n = 1 << 24
    a = rng.standard_normal(n, dtype=np.float32)
    b = rng.standard_normal(n, dtype=np.float32)
    t_np, t_pn = best_pair(lambda: a * b, lambda: pn.lmul(a, b, 23), rounds)
    _, t_pn3 = best_pair(lambda: None, lambda: pn.lmul(a, b, 3), rounds)
    print(
        f"elementwise 2^24: numpy a*b {n / t_np / 1e9:.2f} Gelem/s, lmul k=23 "
        f"{n / t_pn / 1e9:.2f} ({t_np / t_pn:.2f}x numpy), k=3 {n / t_pn3 / 1e9:.2f}"
    )

    size = 1024
    x = rng.standard_normal((size, size), dtype=np.float32)
    y = rng.standard_normal((size, size), dtype=np.float32)
    flops = 2.0 * size**3
    gemm_rounds = max(3, rounds // 2)
    t_blas, t_one = best_pair(lambda: x @ y, lambda: pn.lgemm(x, y, 23, threads=1), gemm_rounds)
    t_one2, t_two = best_pair(
        lambda: pn.lgemm(x, y, 23, threads=1), lambda: pn.lgemm(x, y, 23, threads=2), gemm_rounds
    )
    t_one = min(t_one, t_one2)
    print(
        f"gemm 1024^3: sgemm {flops / t_blas / 1e9:.1f} GFLOP/s, lgemm 1 thread "
        f"{flops / t_one / 1e9:.1f} ({t_blas / t_one:.1%} of sgemm), 2 threads "
        f"{flops / t_two / 1e9:.1f} ({t_one / t_two:.2f}x 1 thread)"
    )

    v = rng.standard_normal(1 << 20, dtype=np.float32)
    w = rng.standard_normal(1 << 20, dtype=np.float32)
    t_dot, t_ldot = best_pair(lambda: np.dot(v, w), lambda: pn.ldot(v, w), rounds)
    print(f"dot 2^20: numpy {t_dot * 1e3:.3f} ms, ldot {t_ldot * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
