"""L-Mul benchmark: the C kernels next to numpy, Numba, the torch emulation and (on a GPU)
Numba CUDA next to cuBLAS, measured side by side in one run (medians over repeats; the
contenders of each comparison alternate within every repeat, so machine noise hits both).

Goals (numerics issue), all single-threaded unless said otherwise:

- elementwise C L-Mul over 2^24 float32 >= 0.8x the speed of numpy ``a * b``;
- C GEMM 1024^3 >= 15% of numpy's sgemm (OpenBLAS, one thread);
- C GEMM with two threads >= 1.8x one thread;
- Numba CPU GEMM within 1.5x of the C GEMM;
- C GEMM >= 50x faster than the vectorised torch emulation (measured on a smaller size and
  scaled by flops; the output says so);
- on a CUDA GPU: Numba CUDA GEMM GFLOP/s next to cuBLAS sgemm (information, no goal).

    python bench/lmul.py [--quick] [--json] [--save PATH] [--only all|cpu|cuda] [--repeats N]

Rows whose library is missing (``papercraft_native``, numba, torch, a GPU) are skipped.
"""

from __future__ import annotations

import os

# numpy's BLAS must be told before numpy is imported (OpenBLAS reads these at load time).
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
# Idle OpenMP workers (Numba's "omp" threading layer, torch) must not spin after a parallel
# region: on a small machine they would steal the core of the next, single-threaded row.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
from _common import (  # noqa: E402
    bench_parser,
    emit,
    parse_bench_args,
    try_import,
    use_plugin_source,
)
from _timing import print_ratios, ratio, time_alternating  # noqa: E402

use_plugin_source("papercraft_lmul", "lmul")  # a checkout without the plugin installed


class Bench:
    """Collects rows (one timed contender each) and ratios (goals)."""

    def __init__(self, repeats: int) -> None:
        self.repeats = repeats
        self.rows: list[dict] = []
        self.ratios: list[dict] = []
        self.notes: list[str] = []

    def run(self, contenders: dict[str, Callable[[], object]], sync: Callable[[], None] = None,
            repeats: int | None = None) -> dict[str, dict]:
        """Time each contender ``repeats`` times, alternating; returns median wall and CPU time."""
        return time_alternating(contenders, repeats or self.repeats, sync)

    def row(self, name: str, size: str, timing: dict | None, work: float | None = None,
            unit: str = "GFLOP/s", note: str = "") -> None:
        if timing is None:
            self.rows.append({"name": name, "size": size, "skipped": note})
            return
        row = {"name": name, "size": size, **{k: round(v, 6) for k, v in timing.items()}}
        if work is not None:
            row["rate"] = round(work / timing["median_s"] / 1e9, 3)
            row["unit"] = unit
        if note:
            row["note"] = note
        self.rows.append(row)

    def ratio(self, name: str, value: float | None, goal: float | None, higher_is_better: bool,
              note: str = "") -> None:
        self.ratios.append(ratio(name, value, goal, higher_is_better, note))


def bench_cpu(b: Bench, quick: bool) -> None:
    native = try_import("papercraft_native")
    if native is not None and not native.available():
        b.notes.append("papercraft_native is installed but its extension is not built")
        native = None
    if native is None:
        b.notes.append("papercraft_native not importable: C rows skipped")
    numba = try_import("numba")
    numba_backend = try_import("papercraft_lmul.numba_backend") if numba else None
    torch = try_import("torch")
    torch_backend = try_import("papercraft_lmul.torch_backend") if torch else None
    rng = np.random.default_rng(0)
    cores = os.cpu_count() or 1
    b.notes.append(f"CPU cores visible: {cores}; OPENBLAS_NUM_THREADS="
                   f"{os.environ.get('OPENBLAS_NUM_THREADS')} (numpy sgemm, set before import)")
    if native is not None:
        b.notes.append(f"papercraft_native ISA: {native.isa()}")

    # -- elementwise ---------------------------------------------------------------------
    size = 1 << (22 if quick else 24)
    x = rng.standard_normal(size).astype(np.float32)
    y = rng.standard_normal(size).astype(np.float32)
    contenders: dict[str, Callable[[], object]] = {"numpy": lambda: x * y}
    if native is not None:
        contenders["c"] = lambda: native.lmul(x, y, 23)
    if numba_backend is not None:
        contenders["numba"] = lambda: numba_backend.lmul(x, y, 23)
    t = b.run(contenders)
    label = f"2^{size.bit_length() - 1}"
    b.row("elementwise numpy a * b", label, t["numpy"], size, "Gelem/s")
    b.row("elementwise C lmul (k=23)", label, t.get("c"), size, "Gelem/s",
          "" if native else "papercraft_native missing")
    b.row("elementwise Numba lmul (k=23)", label, t.get("numba"), size, "Gelem/s",
          "" if numba_backend else "numba missing")
    b.ratio("elementwise: C speed / numpy a*b speed",
            t["numpy"]["median_s"] / t["c"]["median_s"] if "c" in t else None, 0.8, True)

    # -- GEMM ----------------------------------------------------------------------------
    n = 512 if quick else 1024
    a = rng.standard_normal((n, n)).astype(np.float32)
    bm = rng.standard_normal((n, n)).astype(np.float32)
    flops = 2.0 * n**3
    contenders = {"numpy": lambda: a @ bm}
    if native is not None:
        contenders["c1"] = lambda: native.lgemm(a, bm, 23, threads=1)
        contenders["c2"] = lambda: native.lgemm(a, bm, 23, threads=2)
    if numba_backend is not None:
        def numba_gemm(threads: int) -> Callable[[], object]:
            def run() -> object:
                numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
                return numba_backend.lmatmul(a, bm, 23)
            return run

        contenders["numba1"] = numba_gemm(1)
        contenders["numba2"] = numba_gemm(2)
    t = b.run(contenders)
    if numba_backend is not None:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    shape = f"{n}^3"
    b.row("GEMM numpy sgemm, 1 thread", shape, t["numpy"], flops)
    for key, label in (("c1", "GEMM C lgemm, 1 thread"), ("c2", "GEMM C lgemm, 2 threads")):
        b.row(label, shape, t.get(key), flops, note="" if native else "papercraft_native missing")
    for key, label in (("numba1", "GEMM Numba CPU, 1 thread"),
                       ("numba2", "GEMM Numba CPU, 2 threads")):
        b.row(label, shape, t.get(key), flops, note="" if numba_backend else "numba missing")
    has_c = "c1" in t
    b.ratio("GEMM: C 1 thread / numpy sgemm 1 thread (speed)",
            t["numpy"]["median_s"] / t["c1"]["median_s"] if has_c else None, 0.15, True)
    note = "" if cores >= 2 else f"only {cores} core visible"
    if has_c and t["c2"]["cpu_per_wall"] < 1.5:
        note = (f"the 2-thread runs got {t['c2']['cpu_per_wall']:.2f} cores' worth of CPU "
                "time per second: the machine is busy, this ratio is not meaningful")
    b.ratio("GEMM: C 2 threads speed-up over 1 thread",
            t["c1"]["median_s"] / t["c2"]["median_s"] if has_c else None, 1.8, True, note)
    b.ratio("GEMM: Numba CPU time / C time (1 thread)",
            t["numba1"]["median_s"] / t["c1"]["median_s"] if has_c and "numba1" in t else None,
            1.5, False)
    b.ratio("GEMM: Numba CPU time / C time (2 threads)",
            t["numba2"]["median_s"] / t["c2"]["median_s"] if has_c and "numba2" in t else None,
            None, False, "information")

    # -- torch emulation -------------------------------------------------------------------
    if torch_backend is None:
        b.row("GEMM torch emulation", "-", None, note="torch missing")
        return
    small = 128 if quick else 256
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ta = torch.from_numpy(a[:small, :small].copy())
        tb = torch.from_numpy(bm[:small, :small].copy())
        ca, cb = a[:small, :small].copy(), bm[:small, :small].copy()
        contenders = {"torch": lambda: torch_backend.lmatmul_forward(ta, tb, 23)}
        if native is not None:
            contenders["c_small"] = lambda: native.lgemm(ca, cb, 23, threads=1)
        t_small = b.run(contenders, repeats=max(3, b.repeats // 2))
    finally:
        torch.set_num_threads(threads)
    scale = (n / small) ** 3
    b.row("GEMM torch emulation (int64 bit trick), 1 thread", f"{small}^3", t_small["torch"],
          2.0 * small**3)
    b.row("GEMM C lgemm, 1 thread", f"{small}^3", t_small.get("c_small"), 2.0 * small**3)
    b.ratio(f"GEMM {n}^3: torch emulation time (measured at {small}^3, x{scale:g} by flops) "
            "/ C time",
            t_small["torch"]["median_s"] * scale / t["c1"]["median_s"] if has_c else None,
            50, True, f"torch time scaled from {small}^3 by flops")
    b.ratio(f"GEMM {small}^3: torch emulation time / C time (same size)",
            t_small["torch"]["median_s"] / t_small["c_small"]["median_s"]
            if "c_small" in t_small else None, None, True, "information")


def bench_cuda(b: Bench, quick: bool, gemm_sizes: tuple[int, ...] | None = None,
               elem_size: int = 1 << 24, allow_simulator: bool = False) -> None:
    numba = try_import("numba")
    if numba is None:
        b.row("CUDA", "-", None, note="numba missing")
        return
    from papercraft_lmul import cuda_backend as cb

    if (cb.simulator_enabled() and not allow_simulator) or not cb.available():
        b.row("CUDA", "-", None, note="no CUDA GPU (or only the simulator)")
        return
    cuda = cb.cuda
    if not cb.simulator_enabled():
        b.notes.append(f"GPU: {cuda.get_current_device().name!r}")
    torch = try_import("torch")
    if torch is not None and not torch.cuda.is_available():
        torch = None
    cupy = try_import("cupy") if torch is None else None
    rng = np.random.default_rng(1)
    for n in gemm_sizes or ((1024,) if quick else (1024, 2048)):
        a = rng.standard_normal((n, n)).astype(np.float32)
        bm = rng.standard_normal((n, n)).astype(np.float32)
        d_a = cb.prepare_device(cuda.to_device(a.view(np.uint32)), 23)
        d_b = cb.prepare_device(cuda.to_device(bm.view(np.uint32)), 23)
        d_c = cuda.device_array((n, n), np.float32)
        contenders: dict[str, Callable[[], object]] = {
            "numba_cuda": lambda d_a=d_a, d_b=d_b, d_c=d_c: cb.gemm_device(d_a, d_b, 23, d_c)
        }
        if torch is not None:
            torch.backends.cuda.matmul.allow_tf32 = False
            ta, tb = torch.from_numpy(a).cuda(), torch.from_numpy(bm).cuda()
            contenders["cublas"] = lambda ta=ta, tb=tb: torch.matmul(ta, tb)
            if n == min(gemm_sizes or (1024,)):
                from papercraft_lmul import torch_backend

                contenders["torch_emulation"] = (
                    lambda ta=ta, tb=tb: torch_backend.lmatmul_forward(ta, tb, 23)
                )
        elif cupy is not None:
            ca, cbm = cupy.asarray(a), cupy.asarray(bm)
            contenders["cublas"] = lambda ca=ca, cbm=cbm: ca @ cbm

        def sync() -> None:
            cuda.synchronize()
            if torch is not None:
                torch.cuda.synchronize()
            if cupy is not None:
                cupy.cuda.Device().synchronize()

        t = b.run(contenders, sync=sync)
        flops = 2.0 * n**3
        b.row("GEMM Numba CUDA (tiled, L-Mul)", f"{n}^3", t["numba_cuda"], flops)
        b.row("GEMM cuBLAS sgemm (FP32, no TF32)", f"{n}^3", t.get("cublas"), flops,
              note="" if "cublas" in t else "neither torch with CUDA nor cupy")
        if "torch_emulation" in t:
            b.row("GEMM torch emulation on the GPU", f"{n}^3", t["torch_emulation"], flops)
        if "cublas" in t:
            b.ratio(f"GPU GEMM {n}^3: Numba CUDA speed / cuBLAS speed",
                    t["cublas"]["median_s"] / t["numba_cuda"]["median_s"], None, True,
                    "information")
        # check the timed kernel's output once
        got = d_c.copy_to_host()[:16, :16]
        want_block = cb.lmatmul(a[:16], bm[:, :16], 23)
        if not np.allclose(got, want_block, rtol=1e-5, atol=1e-4):
            b.notes.append(f"WARNING: Numba CUDA GEMM {n}^3 output differs from lmatmul")

    size = elem_size
    x = rng.standard_normal(size).astype(np.float32)
    y = rng.standard_normal(size).astype(np.float32)
    d_x, d_y = cuda.to_device(x.view(np.uint32)), cuda.to_device(y.view(np.uint32))
    d_out = cuda.device_array(size, np.uint32)
    shift, bias, lsb = cb._round_params(23)
    c_k = cb.lmul_constant(23)
    contenders = {
        "numba_cuda": lambda: cb.lmul_kernel[cb._blocks(size), cb.THREADS_PER_BLOCK](
            d_x, d_y, d_out, shift, bias, lsb, c_k)
    }
    if torch is not None:
        tx, ty = torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda()
        contenders["torch_mul"] = lambda: tx * ty
    t = b.run(contenders, sync=cuda.synchronize if torch is None else
              (lambda: (cuda.synchronize(), torch.cuda.synchronize())))
    label = f"2^{size.bit_length() - 1}"
    b.row("elementwise Numba CUDA lmul (k=23)", label, t["numba_cuda"], size, "Gelem/s")
    b.row("elementwise torch a * b on the GPU", label, t.get("torch_mul"), size, "Gelem/s",
          "" if "torch_mul" in t else "torch with CUDA missing")


def _print(b: Bench) -> None:
    print(f"{'benchmark':52} {'size':>7} {'median':>10} {'rate':>16} {'cpu/wall':>8}")
    for row in b.rows:
        if "skipped" in row:
            print(f"{row['name']:52} {row['size']:>7} {'skipped: ' + row['skipped']}")
            continue
        rate = f"{row['rate']:.2f} {row['unit']}" if "rate" in row else ""
        print(f"{row['name']:52} {row['size']:>7} {row['median_s'] * 1e3:8.2f} ms "
              f"{rate:>16} {row['cpu_per_wall']:8.2f}")
    print()
    print_ratios(b.ratios, b.notes)


def main() -> None:
    args = parse_bench_args(bench_parser(__doc__.splitlines()[0]))
    b = Bench(args.repeats)
    if args.only in ("all", "cpu"):
        bench_cpu(b, args.quick)
    if args.only in ("all", "cuda"):
        bench_cuda(b, args.quick)
    result = {"repeats": args.repeats, "quick": args.quick, "rows": b.rows, "ratios": b.ratios,
              "notes": b.notes}
    emit(result, args, lambda _result: _print(b))


if __name__ == "__main__":
    main()
