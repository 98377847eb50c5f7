"""Differential-attention benchmark: the fused C kernel and the Numba CPU kernel next to the
torch reference (two ``scaled_dot_product_attention`` calls and a subtraction), the extra
memory at a long sequence, and (on a GPU) Numba CUDA next to two SDPA calls on CUDA.

float32, causal, B=1, H=8, d=64 (v: 2d = 128 columns). Within every repeat the contenders
alternate, so machine noise hits all of them; medians are reported.

Goals (kernel issue):

- C forward time <= 1.0x the torch reference at N = 1024 and 2048 (all cores, both sides);
- Numba CPU forward time <= 1.0x the torch reference at the same sizes;
- extra memory O(N d), not O(N^2): shown at N = 8192 (the C kernel's scratch allocation, and
  the peak RSS increase of one call of each CPU contender, measured in a fresh process);
- on a CUDA GPU: Numba CUDA time next to two SDPA calls on CUDA (information, no goal);
- training step (information, no goal): forward + backward of the C kernel
  (``kernel_c.diff_attention_c_autograd``, recompute-based backward) next to two
  ``F.scaled_dot_product_attention`` calls and the combination under torch autograd, with the
  gradients of q1, k1, q2, k2, v and lambda.

    python bench/diffattn.py [--quick] [--json] [--save PATH] [--only all|cpu|cuda]
                             [--repeats N] [--memory-n N]

Rows whose library is missing (``papercraft_native``, numba, a GPU) are skipped.
"""

from __future__ import annotations

import os

# Idle OpenMP workers (torch, Numba's "omp" layer) must not spin after a parallel region: they
# would steal the cores of the next contender.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import json
import math
import subprocess
import sys
from collections.abc import Callable

from _common import (
    ROOT,
    bench_parser,
    emit,
    parse_bench_args,
    try_import,
    use_plugin_source,
)
from _timing import print_ratios, ratio, time_alternating

# a checkout without the plugin installed (e.g. the GPU machine)
use_plugin_source("papercraft_diffattn", "diffattn")

B, H, D = 1, 8, 64
LAM = 0.8 - 0.6 * math.exp(-0.3)  # lambda_init of layer 1


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def flops(n: int, d: int = D, heads: int = B * H) -> float:
    """Useful float operations of one causal forward: two maps, QK^T (d) and PV (2d) each."""
    pairs = n * (n + 1) / 2
    return heads * pairs * 2 * (2 * d + 2 * 2 * d)


def bench_cpu(rows: list, ratios: list, notes: list, quick: bool, repeats: int) -> None:
    import torch

    from papercraft_diffattn.kernels import bench_inputs, diff_attention

    native = try_import("papercraft_native")
    has_c = native is not None and native.available()
    has_numba = try_import("numba") is not None
    cpus = _cpus()
    notes.append(f"CPUs usable: {cpus}; torch threads: {torch.get_num_threads()}; "
                 f"C threads: {cpus}" + (f"; C kernels: {native.isa()}" if has_c else ""))
    if not has_c:
        notes.append("papercraft_native extension not available: C rows skipped")
    for n in (256, 512) if quick else (1024, 2048):
        kw = bench_inputs(B, H, n, D, True, 0)
        want = diff_attention(**kw, backend="torch")
        contenders: dict[str, Callable[[], object]] = {
            "torch": lambda kw=kw: diff_attention(**kw, backend="torch")}
        if has_c:
            contenders["c"] = lambda kw=kw: diff_attention(**kw, backend="c")
        if has_numba:
            contenders["numba"] = lambda kw=kw: diff_attention(**kw, backend="numba")
        t = time_alternating(contenders, repeats)
        size = f"B={B} H={H} N={n} d={D}"
        for key, label in (("torch", "torch: 2 x SDPA + subtraction"), ("c", "C fused"),
                           ("numba", "Numba CPU")):
            if key not in t:
                continue
            err = float((contenders[key]() - want).abs().max()) if key != "torch" else 0.0
            rows.append({"name": label, "size": size,
                         "median_ms": round(t[key]["median_s"] * 1e3, 2),
                         "min_ms": round(t[key]["min_s"] * 1e3, 2),
                         "gflops": round(flops(n) / t[key]["median_s"] / 1e9, 1),
                         "cores_used": round(t[key]["cpu_per_wall"], 2),
                         "max_abs_err_vs_torch": err})
        for key, label in (("c", "C"), ("numba", "Numba")):
            if key in t:
                ratios.append(ratio(f"N={n}: {label} time / torch time",
                                    t[key]["median_s"] / t["torch"]["median_s"], 1.0,
                                    higher_is_better=False))


def bench_train(rows: list, ratios: list, notes: list, quick: bool, repeats: int) -> None:
    """Forward + backward: the C autograd Function vs 2 SDPA calls + combination in autograd."""
    import torch
    import torch.nn.functional as F

    native = try_import("papercraft_native")
    if native is None or not native.available():
        notes.append("papercraft_native extension not available: fwd+bwd rows skipped")
        return
    from papercraft_diffattn.kernel_c import diff_attention_c_autograd
    from papercraft_diffattn.kernels import bench_inputs

    cpus = _cpus()
    for n in (256, 512) if quick else (1024, 2048):
        kw = bench_inputs(B, H, n, D, True, 0)
        leaves = [kw[k].requires_grad_() for k in ("q1", "k1", "q2", "k2", "v")]
        lam = torch.tensor(LAM, requires_grad=True)
        upstream = torch.randn(B, H, n, 2 * D, generator=torch.Generator().manual_seed(n))

        def sdpa_step(leaves=leaves, lam=lam, upstream=upstream):
            q1, k1, q2, k2, v = leaves
            out = (F.scaled_dot_product_attention(q1, k1, v, is_causal=True)
                   - lam * F.scaled_dot_product_attention(q2, k2, v, is_causal=True))
            return torch.autograd.grad(out, [*leaves, lam], upstream)

        def c_step(leaves=leaves, lam=lam, upstream=upstream):
            out = diff_attention_c_autograd(*leaves, lam, True, threads=cpus)
            return torch.autograd.grad(out, [*leaves, lam], upstream)

        t = time_alternating({"sdpa": sdpa_step, "c": c_step}, repeats)
        got, want = c_step(), sdpa_step()
        err = max(float((a - b).abs().max()) for a, b in zip(got[:5], want[:5], strict=True))
        lam_err = float((got[5] - want[5]).abs() / want[5].abs())
        size = f"B={B} H={H} N={n} d={D}"
        for key, label in (("sdpa", "fwd+bwd: torch 2 x SDPA + combination"),
                           ("c", "fwd+bwd: C fused (recompute bwd)")):
            rows.append({"name": label, "size": size,
                         "median_ms": round(t[key]["median_s"] * 1e3, 2),
                         "min_ms": round(t[key]["min_s"] * 1e3, 2),
                         "cores_used": round(t[key]["cpu_per_wall"], 2),
                         **({"max_abs_grad_err_vs_torch": err,
                             "dlambda_rel_err_vs_torch": lam_err} if key == "c" else {})})
        ratios.append(ratio(f"N={n}: C fwd+bwd time / torch fwd+bwd time",
                            t["c"]["median_s"] / t["sdpa"]["median_s"], note="information"))
        for leaf in leaves:
            leaf.requires_grad_(False)


_MEMORY_PROBE = r"""
import gc, json, sys
backend, n = sys.argv[1], int(sys.argv[2])
import torch
from papercraft_diffattn.kernels import bench_inputs, diff_attention
diff_attention(**bench_inputs(1, 8, 8, 64, True, 0), backend=backend)  # JIT, pools, imports
kw = bench_inputs(1, 8, n, 64, True, 0)
gc.collect()
def status_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
with open("/proc/self/clear_refs", "w") as f:  # reset the peak (VmHWM) to the current RSS
    f.write("5")
before = status_mb("VmRSS")
out = diff_attention(**kw, backend=backend)
print(json.dumps({"rss_before_mb": before, "peak_mb": status_mb("VmHWM"),
                  "out_mb": out.numel() * 4 / 2**20}))
"""


def bench_memory(rows: list, notes: list, n: int) -> None:
    """Peak RSS increase of one call per backend, each in a fresh process."""
    native = try_import("papercraft_native")
    backends = ["torch", "numba"] + (["c"] if native is not None and native.available() else [])
    scores_mb = B * H * n * n * 4 / 2**20
    for backend in backends:
        env = dict(os.environ)
        src = str(ROOT / "plugins" / "diffattn" / "src")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
        try:
            done = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, backend, str(n)],
                                  capture_output=True, text=True, timeout=600, env=env)
            info = json.loads(done.stdout.strip().splitlines()[-1])
        except Exception as exc:
            rows.append({"name": f"memory {backend}", "size": f"N={n}", "skipped": str(exc)})
            continue
        # the call's own peak: the peak RSS (reset just before the call) minus the RSS before
        extra = info["peak_mb"] - info["rss_before_mb"]
        rows.append({"name": f"memory: {backend}", "size": f"B={B} H={H} N={n} d={D}",
                     "peak_rss_increase_mb": round(extra, 1),
                     "output_mb": round(info["out_mb"], 1),
                     "one_score_matrix_per_map_mb": round(scores_mb, 1)})
    if native is not None and native.available():
        scratch = native.diffattn_scratch_bytes(B * H, n, D, threads=_cpus())
        rows.append({"name": "memory: C scratch allocation (exact)", "size": f"N={n}",
                     "scratch_kb": round(scratch / 1024, 1),
                     "same_for_N=1024": native.diffattn_scratch_bytes(B * H, 1024, D,
                                                                     threads=_cpus()) == scratch,
                     "n_by_n_float32_mb_per_map": round(scores_mb, 1)})
    notes.append(f"memory: {B * H} heads x N^2 float32 scores = {scores_mb:.0f} MB per map at "
                 f"N={n}; peak RSS increase includes the {B * H * n * 2 * D * 4 / 2**20:.0f} MB "
                 "output and any temporaries")


def bench_cuda(rows: list, ratios: list, notes: list, quick: bool, repeats: int) -> None:
    torch = try_import("torch")
    kc = try_import("papercraft_diffattn.kernel_cuda")
    if kc is None or kc.simulator_enabled() or not kc.available():
        notes.append("no CUDA GPU (or numba CUDA unavailable): CUDA rows skipped")
        return
    if torch is None or not torch.cuda.is_available():
        notes.append("torch without CUDA: CUDA rows skipped")
        return
    import torch.nn.functional as F

    notes.append(f"GPU: {torch.cuda.get_device_name()}")
    for n in (1024,) if quick else (1024, 2048, 4096):
        g = torch.Generator(device="cuda").manual_seed(n)
        q1, k1, q2, k2 = (torch.randn(B, H, n, D, device="cuda", generator=g) for _ in range(4))
        v = torch.randn(B, H, n, 2 * D, device="cuda", generator=g)

        def sdpa(q1=q1, k1=k1, q2=q2, k2=k2, v=v):
            return (F.scaled_dot_product_attention(q1, k1, v, is_causal=True)
                    - LAM * F.scaled_dot_product_attention(q2, k2, v, is_causal=True))

        def numba_cuda(q1=q1, k1=k1, q2=q2, k2=k2, v=v):
            return kc.diff_attention_cuda(q1, k1, q2, k2, v, LAM, True)

        t = time_alternating({"sdpa": sdpa, "cuda": numba_cuda}, repeats, torch.cuda.synchronize)
        err = float((numba_cuda() - sdpa()).abs().max())
        size = f"B={B} H={H} N={n} d={D}"
        for key, label in (("sdpa", "CUDA: torch 2 x SDPA + subtraction"),
                           ("cuda", "CUDA: Numba kernel")):
            rows.append({"name": label, "size": size,
                         "median_ms": round(t[key]["median_s"] * 1e3, 3),
                         "gflops": round(flops(n) / t[key]["median_s"] / 1e9, 1),
                         **({"max_abs_err_vs_sdpa": err} if key == "cuda" else {})})
        ratios.append(ratio(f"CUDA N={n}: Numba time / SDPA time",
                            t["cuda"]["median_s"] / t["sdpa"]["median_s"], note="information",
                            digits=2))


def _print(result: dict) -> None:
    for row in result["rows"]:
        rest = ", ".join(f"{k}={v}" for k, v in row.items() if k not in ("name", "size"))
        print(f"{row['name']:<40} {row.get('size', ''):<22} {rest}")
    print()
    print_ratios(result["ratios"], result["notes"])


def main() -> None:
    parser = bench_parser(__doc__.splitlines()[0])
    parser.add_argument("--memory-n", type=int, default=None,
                        help="sequence length of the memory rows (default 8192, quick 2048)")
    args = parse_bench_args(parser)
    repeats = args.repeats
    rows: list = []
    ratios: list = []
    notes: list = []
    if args.only in ("all", "cpu"):
        bench_cpu(rows, ratios, notes, args.quick, repeats)
        bench_train(rows, ratios, notes, args.quick, repeats)
        bench_memory(rows, notes, args.memory_n or (2048 if args.quick else 8192))
    if args.only in ("all", "cuda"):
        bench_cuda(rows, ratios, notes, args.quick, repeats)
    result = {"repeats": repeats, "quick": args.quick, "rows": rows, "ratios": ratios,
              "notes": notes}
    emit(result, args, _print)


if __name__ == "__main__":
    main()
