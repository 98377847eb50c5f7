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
# shellcheck source=bench/_gpu_env.sh
source bench/_gpu_env.sh plugins/diffattn/src

report_environment env_diffattn.txt

status=0
echo "== diffattn CUDA checks (real GPU) =="
run_saved 75 --json diffattn_cuda_checks.json diffattn_cuda_checks.txt \
  plugins/diffattn/tests/diffattn_cuda_checks.py --device --large || status=1

echo "== diffattn CUDA benchmark =="
run_saved 45 --save diffattn_bench_cuda.json diffattn_bench_cuda.txt \
  bench/diffattn.py --only cuda --repeats 5 || true

echo "gpu_diffattn: checks $([ "$status" = 0 ] && echo passed || echo FAILED)"
exit "$status"
