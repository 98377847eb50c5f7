"""Fuzz the native-backed kernels: random calls to every L-Mul and differential-attention entry
point, with 0-d, empty and mismatched shapes, wrong dtypes, non-contiguous, broadcast,
unaligned and byte-swapped arrays, NaN/Inf/subnormal values and bad scalar arguments.

The calls run in a worker subprocess, so a crash (the worker dies by a signal) is counted and
the run goes on from the next call; a call that hangs past ``--call-timeout`` is killed and
counted too. A call may return or raise ``ValueError`` (``AllocationTooLarge`` included);
any other exception is counted as a failure, by type. The worker runs with
``PAPERCRAFT_MAX_ALLOC_BYTES=256M``, so large broadcasts are refused rather than allocated.

    python bench/fuzz_native.py [--calls 2700] [--seed 0] [--time-limit 900] [--json]

Exit status 1 when any call crashed, hung or raised something other than ValueError.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ENTRY_POINTS = (
    "native.lmul", "native.ldot", "native.lgemm", "native.diffattn",
    "native.diffattn_scratch_bytes",
    "api.lmul.c", "api.lmul.numba", "api.lmul.torch",
    "api.lmatmul.c", "api.lmatmul.numba", "api.lmatmul.torch",
    "numba_backend.lmul", "numba_backend.lmatmul",
    "torch_backend.lmul", "torch_backend.lmatmul",
    "reference.lmul",
    "diff_attention.torch", "diff_attention.c", "diff_attention.numba",
    "kernel_numba.diff_attention_numba",
)

SPECIAL_BITS = (
    0x00000000, 0x80000000, 0x00000001, 0x807FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000,
    0xFFC00001, 0x7F800001, 0x7F7FFFFF, 0xFF7FFFFF, 0x00800000, 0x3F800000,
)


# ------------------------------------------------------------------------- worker side


def _array(rng, shape):
    """A float32 array of ``shape`` with a random mix of ordinary and special values."""
    import numpy as np

    size = int(np.prod(shape)) if shape else 1
    kind = rng.integers(6)
    if kind == 0:
        x = rng.standard_normal(size).astype(np.float32)
    elif kind == 1:
        x = rng.integers(0, 2**32, size, dtype=np.uint64).astype(np.uint32).view(np.float32)
    elif kind == 2:
        x = np.array(SPECIAL_BITS, np.uint32)[rng.integers(len(SPECIAL_BITS), size=size)]
        x = x.view(np.float32)
    elif kind == 3:
        x = (rng.standard_normal(size) * 1e-40).astype(np.float32)  # subnormals
    elif kind == 4:
        x = (rng.standard_normal(size) * 1e30).astype(np.float32)
    else:
        x = rng.standard_normal(size).astype(np.float32)
        x[rng.random(size) < 0.2] = np.nan
        x[rng.random(size) < 0.1] = np.inf
    return x.reshape(shape) if shape else x.reshape(())


def _mangle(rng, x):
    """x, or x as another dtype, non-contiguous, broadcast, unaligned, byte-swapped, a list,
    a torch tensor or None."""
    import numpy as np

    choice = rng.integers(20)
    if choice < 7 or choice > 13:
        return x
    if choice == 6:
        return x.astype(rng.choice(["float64", "float16", "int32", "bool", "complex64"]))
    if choice == 7 and x.ndim >= 1 and x.shape[-1] > 0:
        return np.repeat(x, 2, axis=-1)[..., ::2]  # strided view
    if choice == 8 and x.ndim >= 2:
        return x.swapaxes(-1, -2)
    if choice == 9 and x.ndim >= 1:
        return np.broadcast_to(x[..., :1], x.shape)  # zero strides, read-only
    if choice == 10:
        raw = np.zeros(x.nbytes + 1, np.uint8)[1:]
        un = raw.view(np.float32).reshape(x.shape) if x.ndim else raw[:4].view(np.float32)[0:1]
        un[...] = x
        return un  # unaligned
    if choice == 11:
        return x.astype(x.dtype.newbyteorder(">"))
    if choice == 12:
        return x.tolist()
    return None if rng.random() < 0.5 else float(rng.standard_normal())


def _shape(rng, ndim_max=3, dim_max=9):
    ndim = int(rng.integers(0, ndim_max + 1))
    return tuple(int(rng.choice([0, 1, int(rng.integers(1, dim_max))])) for _ in range(ndim))


def _pair_shapes(rng):
    a = _shape(rng)
    r = rng.integers(4)
    if r == 0:
        return a, a
    if r == 1:  # broadcastable: some dims set to 1
        return a, tuple(1 if rng.random() < 0.5 else s for s in a)
    if r == 2 and rng.random() < 0.1:  # a big broadcast (refused by the cap)
        return (int(rng.integers(8000, 70000)), 1), (1, int(rng.integers(8000, 70000)))
    return a, _shape(rng)  # probably mismatched


def _pick(rng, good, bad, p_bad=0.08):
    """A random good value, or (with probability p_bad) a bad one."""
    pool = bad if rng.random() < p_bad else good
    return pool[int(rng.integers(len(pool)))]


def _bits(rng):
    return _pick(rng, [23, 23, 7, 1, 4, 10], [0, 24, -3, True, 2.5, "7", None, 2**40])


def _threads(rng):
    return _pick(rng, [1, 1, 2, 3], [0, 257, -1, True, 1.5])


def _lam(rng):
    return _pick(rng, [0.5, 0.8, -1.0, 0.0, 1e30], [1e39, float("nan"), float("inf"), True,
                                                    "x", None])


def _causal(rng):
    return _pick(rng, [True, False], [1, None])


def _attention_arrays(rng):
    lead = _shape(rng, 2, 3)
    n, d = int(rng.integers(0, 70)), int(rng.choice([0, 1, 3, 8, 16]))
    shapes = [(*lead, n, d)] * 4 + [(*lead, n, 2 * d)]
    if rng.random() < 0.15:  # a mismatched one
        i = int(rng.integers(5))
        shapes[i] = _shape(rng, 4, 6)
    return [_array(rng, s) for s in shapes]


def _case(name, rng):
    """(function, args, kwargs) for one random call of ``name``."""
    import numpy as np
    import torch

    import papercraft_native as pn
    from papercraft_diffattn import kernel_numba, kernels
    from papercraft_lmul import api, numba_backend, reference, torch_backend

    def tensor(x):
        if isinstance(x, np.ndarray) and x.dtype.isnative and rng.random() < 0.9:
            t = torch.from_numpy(np.array(x))
            return t.transpose(-1, -2) if t.dim() >= 2 and rng.random() < 0.2 else t
        return x

    if name.startswith("diff_attention") or name.startswith("kernel_numba") or name == (
            "native.diffattn"):
        arrays = [_mangle(rng, a) if rng.random() < 0.1 else a for a in _attention_arrays(rng)]
        lam, causal = _lam(rng), _causal(rng)
        if name == "native.diffattn":
            return pn.diffattn, (*arrays, lam, causal), {"threads": _threads(rng)}
        if name == "kernel_numba.diff_attention_numba":
            arrays = [a for a in _attention_arrays(rng)]  # its caller checks the arguments
            return kernel_numba.diff_attention_numba, (*arrays, 0.5, bool(causal)), {}
        backend = name.split(".")[1]
        tensors = [tensor(a) for a in arrays]
        return kernels.diff_attention, (*tensors, lam, causal), {"backend": backend}
    if name == "native.diffattn_scratch_bytes":
        return pn.diffattn_scratch_bytes, tuple(
            _pick(rng, [0, 1, 64, 10**6, 2**62], [-1, True], 0.2) for _ in range(3)
        ), {"threads": _threads(rng)}
    if "lmatmul" in name or name == "native.lgemm":
        m, n, p = (int(rng.choice([0, 1, int(rng.integers(1, 40))])) for _ in range(3))
        a_shape, b_shape = (m, n), (n if rng.random() < 0.85 else n + 1, p)
        if rng.random() < 0.1:
            a_shape, b_shape = _shape(rng), _shape(rng)
        if rng.random() < 0.05:
            a_shape, b_shape = (int(rng.integers(9000, 70000)), 1), (1, int(rng.integers(9000,
                                                                                         70000)))
        a, b = _mangle(rng, _array(rng, a_shape)), _mangle(rng, _array(rng, b_shape))
    else:
        a_shape, b_shape = _pair_shapes(rng)
        if name == "native.ldot":
            a_shape, b_shape = (a_shape[-1:] if a_shape else ()), (b_shape[-1:] if b_shape else ())
        a, b = _mangle(rng, _array(rng, a_shape)), _mangle(rng, _array(rng, b_shape))
        if name in ("native.lmul", "numba_backend.lmul") and rng.random() < 0.7:
            b = _mangle(rng, _array(rng, a_shape))
    k = _bits(rng)
    table = {
        "native.lmul": (pn.lmul, (a, b, k), {}),
        "native.ldot": (pn.ldot, (a, b, k), {}),
        "native.lgemm": (pn.lgemm, (a, b, k), {"threads": _threads(rng)}),
        "api.lmul.c": (api.lmul, (a, b, k), {"backend": "c"}),
        "api.lmul.numba": (api.lmul, (a, b, k), {"backend": "numba"}),
        "api.lmul.torch": (api.lmul, (tensor(a), tensor(b), k), {"backend": "torch"}),
        "api.lmatmul.c": (api.lmatmul, (a, b, k), {"backend": "c", "threads": _threads(rng)}),
        "api.lmatmul.numba": (api.lmatmul, (a, b, k), {"backend": "numba"}),
        "api.lmatmul.torch": (api.lmatmul, (tensor(a), tensor(b), k), {"backend": "torch"}),
        "numba_backend.lmul": (numba_backend.lmul, (a, b, k), {}),
        "numba_backend.lmatmul": (numba_backend.lmatmul, (a, b, k), {}),
        "torch_backend.lmul": (torch_backend.lmul, (tensor(a), tensor(b), k), {}),
        "torch_backend.lmatmul": (torch_backend.lmatmul, (tensor(a), tensor(b), k), {}),
        "reference.lmul": (reference.lmul, (a, b, k), {}),
    }
    return table[name]


def worker(seed: int, start: int, calls: int, crash_at: int = -1) -> None:
    """Make calls start..calls-1, printing "S i" before and "E i outcome" after each;
    ``crash_at``: die by SIGSEGV at that call (to test the counting)."""
    import signal
    import warnings

    import numpy as np

    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    for i in range(start, calls):
        rng = np.random.default_rng([seed, i])
        name = ENTRY_POINTS[i % len(ENTRY_POINTS)]
        print(f"S {i} {name}", flush=True)
        if i == crash_at:
            os.kill(os.getpid(), signal.SIGSEGV)
        try:
            func, args, kwargs = _case(name, rng)
            func(*args, **kwargs)
            outcome = "ok"
        except ValueError:
            outcome = "ValueError"
        except Exception as exc:  # counted: anything but ValueError is a finding
            outcome = f"{type(exc).__name__}: {str(exc)[:160]}".replace("\n", " ")
        print(f"E {i} {outcome}", flush=True)


# ------------------------------------------------------------------------- parent side


def fuzz(calls: int, seed: int, time_limit: float, call_timeout: float,
         crash_at: int = -1) -> dict:
    """Run the worker until ``calls`` calls are made (restarting it after a crash)."""
    env = dict(os.environ, PAPERCRAFT_MAX_ALLOC_BYTES="256M", OMP_NUM_THREADS="1",
               NUMBA_NUM_THREADS="2", PYTHONFAULTHANDLER="0")
    deadline = time.monotonic() + time_limit
    outcomes: Counter = Counter()
    per_entry: dict[str, Counter] = {name: Counter() for name in ENTRY_POINTS}
    findings: list[dict] = []
    crashes = hangs = restarts = 0
    nxt = 0
    while nxt < calls and time.monotonic() < deadline:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", "--seed", str(seed), "--start", str(nxt),
             "--calls", str(calls), "--crash-at", str(crash_at)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT,
        )
        restarts += 1
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        current: tuple[int, str] | None = None
        hung = False
        while True:
            limit = call_timeout if current is not None else 120.0  # the first imports
            if time.monotonic() > deadline:
                limit = 0.0
            if not sel.select(timeout=max(limit, 0.001)):
                hung = time.monotonic() <= deadline or current is not None
                proc.kill()
                break
            line = proc.stdout.readline()
            if not line:
                break
            tag, index, rest = line.rstrip("\n").split(" ", 2)
            if tag == "S":
                current = (int(index), rest)
            else:
                assert current is not None
                name = current[1]
                key = rest if rest in ("ok", "ValueError") else "other"
                outcomes[key] += 1
                per_entry[name][key] += 1
                if key == "other":
                    findings.append({"call": int(index), "entry": name, "error": rest})
                nxt = int(index) + 1
                current = None
        proc.wait()
        sel.close()
        if current is not None:  # died or hung during a call
            index, name = current
            if proc.returncode is not None and proc.returncode < 0 and not hung:
                crashes += 1
                outcomes["crash"] += 1
                per_entry[name]["crash"] += 1
                findings.append({"call": index, "entry": name,
                                 "error": f"signal {-proc.returncode}"})
            else:
                hangs += 1
                outcomes["hang"] += 1
                per_entry[name]["hang"] += 1
                findings.append({"call": index, "entry": name, "error": "hang or time limit"})
            nxt = index + 1
        elif proc.returncode != 0 and nxt < calls:
            findings.append({"call": nxt, "entry": "?", "error": f"worker exit {proc.returncode}"})
            break
    made = sum(outcomes.values())
    return {
        "calls": made, "seed": seed, "crashes": crashes, "hangs": hangs,
        "other_exceptions": outcomes["other"], "value_errors": outcomes["ValueError"],
        "ok": outcomes["ok"], "worker_starts": restarts,
        "per_entry_point": {k: dict(v) for k, v in per_entry.items()},
        "findings": findings,
    }


def main() -> int:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2700)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=900.0, help="seconds in all")
    parser.add_argument("--call-timeout", type=float, default=60.0, help="seconds per call")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--crash-at", type=int, default=-1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.seed, args.start, args.calls, args.crash_at)
        return 0
    started = time.monotonic()
    summary = fuzz(args.calls, args.seed, args.time_limit, args.call_timeout, args.crash_at)
    summary["seconds"] = round(time.monotonic() - started, 1)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{summary['calls']} calls in {summary['seconds']} s (seed {args.seed}): "
              f"{summary['crashes']} crashes, {summary['hangs']} hangs, "
              f"{summary['other_exceptions']} non-ValueError exceptions, "
              f"{summary['value_errors']} ValueErrors, {summary['ok']} returned")
        for finding in summary["findings"][:30]:
            print(f"  call {finding['call']} {finding['entry']}: {finding['error']}")
    bad = summary["crashes"] + summary["hangs"] + summary["other_exceptions"]
    return 1 if bad or summary["calls"] < args.calls else 0


if __name__ == "__main__":
    sys.exit(main())
