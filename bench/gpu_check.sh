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
# shellcheck source=bench/_gpu_env.sh
source bench/_gpu_env.sh plugins/lmul/src

report_environment env.txt

status=0
echo "== CUDA checks (real GPU) =="
run_saved 150 --json cuda_checks.json cuda_checks.txt \
  plugins/lmul/tests/test_cuda_sim.py --device --large || status=1

echo "== CUDA benchmark =="
run_saved 120 --save bench_cuda.json bench_cuda.txt bench/lmul.py --only cuda || true

echo "gpu_check: checks $([ "$status" = 0 ] && echo passed || echo FAILED)"
exit "$status"
