#!/usr/bin/env bash
# GPU check of the L-Mul Numba CUDA backend (papercraft-lmul): the CUDA tests on the real GPU
# (not the simulator) and the CUDA rows of bench/lmul.py. Needs python3 with numpy and numba
# (+ numba-cuda); torch or cupy (for the cuBLAS row) are optional; nothing to pip install.
#
#   bash bench/gpu_check.sh          # from anywhere; results also go to $OUT when it is set
#
# Exit status: 0 when the checks pass (the benchmark is information only).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
export PYTHONPATH="plugins/lmul/src:core${PYTHONPATH:+:$PYTHONPATH}"
unset NUMBA_ENABLE_CUDASIM
# numba-cuda 0.30 registers an overload for np.row_stack, which numpy 2.5 removed; give it
# the alias back (seen on the GPU machine: numpy 2.5.2 + numba-cuda 0.30.4).
shim="$(mktemp -d)"
printf 'import numpy as _np\nif not hasattr(_np, "row_stack"):\n    _np.row_stack = _np.vstack\n' \
  > "$shim/sitecustomize.py"
export PYTHONPATH="$shim:$PYTHONPATH"
py="${PYTHON:-python3}"
out="${OUT:-}"
if [ -n "$out" ]; then mkdir -p "$out"; fi
save() { if [ -n "$out" ]; then tee "$out/$1"; else cat; fi; }

{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || true
  "$py" - <<'PY'
import sys, numpy, numba
print("python", sys.version.split()[0], "numpy", numpy.__version__, "numba", numba.__version__)
try:
    import numba_cuda
    print("numba-cuda", getattr(numba_cuda, "__version__", "?"))
except ImportError:
    print("numba-cuda not installed (numba's built-in CUDA target)")
for name in ("torch", "cupy"):
    try:
        mod = __import__(name)
        print(name, mod.__version__)
    except Exception as exc:
        print(name, "unavailable:", type(exc).__name__)
from numba import cuda
print("cuda.is_available():", cuda.is_available())
PY
} 2>&1 | save env.txt

status=0
echo "== CUDA checks (real GPU) =="
json_arg=()
if [ -n "$out" ]; then json_arg=(--json "$out/cuda_checks.json"); fi
timeout 150 "$py" plugins/lmul/tests/test_cuda_sim.py --device --large ${json_arg[@]+"${json_arg[@]}"} 2>&1 \
  | save cuda_checks.txt || status=1

echo "== CUDA benchmark =="
save_arg=()
if [ -n "$out" ]; then save_arg=(--save "$out/bench_cuda.json"); fi
timeout 120 "$py" bench/lmul.py --only cuda ${save_arg[@]+"${save_arg[@]}"} 2>&1 | save bench_cuda.txt || true

echo "gpu_check: checks $([ "$status" = 0 ] && echo passed || echo FAILED)"
exit "$status"
