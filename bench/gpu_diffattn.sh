#!/usr/bin/env bash
# GPU check of the differential-attention Numba CUDA kernel (papercraft-diffattn): the CUDA
# checks on the real GPU (not the simulator) against float64 references and torch SDPA, and
# the CUDA rows of bench/diffattn.py. Needs python3 with numpy, numba (+ numba-cuda) and
# torch; our packages are not installed there (PYTHONPATH only; kernel_cuda.py needs neither
# papercraft_native nor a C compiler). Meant to finish in under 2 minutes.
#
#   bash bench/gpu_diffattn.sh       # from anywhere; results also go to $OUT when it is set
#
# Exit status: 0 when the checks pass (the benchmark is information only).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
export PYTHONPATH="plugins/diffattn/src:core${PYTHONPATH:+:$PYTHONPATH}"
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
try:
    import torch
    print("torch", torch.__version__, "cuda", torch.cuda.is_available())
except Exception as exc:
    print("torch unavailable:", type(exc).__name__)
from numba import cuda
print("cuda.is_available():", cuda.is_available())
PY
} 2>&1 | save env_diffattn.txt

status=0
echo "== diffattn CUDA checks (real GPU) =="
json_arg=()
if [ -n "$out" ]; then json_arg=(--json "$out/diffattn_cuda_checks.json"); fi
timeout 75 "$py" plugins/diffattn/tests/diffattn_cuda_checks.py --device --large \
  ${json_arg[@]+"${json_arg[@]}"} 2>&1 | save diffattn_cuda_checks.txt || status=1

echo "== diffattn CUDA benchmark =="
save_arg=()
if [ -n "$out" ]; then save_arg=(--save "$out/diffattn_bench_cuda.json"); fi
timeout 45 "$py" bench/diffattn.py --only cuda --repeats 5 ${save_arg[@]+"${save_arg[@]}"} 2>&1 \
  | save diffattn_bench_cuda.txt || true

echo "gpu_diffattn: checks $([ "$status" = 0 ] && echo passed || echo FAILED)"
exit "$status"
