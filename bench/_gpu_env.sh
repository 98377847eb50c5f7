# Shared set-up of the GPU check scripts (bench/gpu_check.sh, bench/gpu_diffattn.sh); source it
# from the repository root with the plugin's source folder:
#
#   source bench/_gpu_env.sh plugins/lmul/src
#
# Puts the plugin and core on PYTHONPATH (nothing is installed on the GPU machine), turns the
# CUDA simulator off, gives numba-cuda back np.row_stack, and defines:
#   py                       the python to run (python3, or $PYTHON)
#   save FILE                tee stdin to $OUT/FILE when $OUT is set
#   report_environment FILE  the GPU, python, numpy, numba, numba-cuda, torch, cupy versions
#   run_saved SECONDS FLAG NAME.json NAME.txt ARGS...
#                            python ARGS under a timeout, adding FLAG $OUT/NAME.json when $OUT
#                            is set, its output saved as NAME.txt; the status is python's
export PYTHONPATH="$1:core${PYTHONPATH:+:$PYTHONPATH}"
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

report_environment() {
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
try:
    import cupy
    print("cupy", cupy.__version__)
except Exception as exc:
    print("cupy unavailable:", type(exc).__name__)
from numba import cuda
print("cuda.is_available():", cuda.is_available())
PY
  } 2>&1 | save "$1"
}

run_saved() {
  local seconds="$1" flag="$2" json="$3" txt="$4"
  shift 4
  local extra=()
  if [ -n "$out" ]; then extra=("$flag" "$out/$json"); fi
  timeout "$seconds" "$py" "$@" ${extra[@]+"${extra[@]}"} 2>&1 | save "$txt"
}
