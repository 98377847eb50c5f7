"""The fuzz harness ``bench/fuzz_native.py``, bounded: random hostile calls to every native-backed
entry point raise nothing but ValueError and never kill the process; a crash in the worker is
counted and the run goes on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "fuzz_native.py"

pytestmark = pytest.mark.slow


def _fuzz(*args: str) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--json", "--time-limit", "240", *args],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    return proc.returncode, json.loads(proc.stdout)


def test_fuzzed_calls_only_raise_value_error() -> None:
    code, summary = _fuzz("--calls", "300", "--seed", "7")
    assert summary["findings"] == []
    assert summary["calls"] == 300 and summary["crashes"] == 0 and code == 0
    assert summary["ok"] > 50  # the arguments are not all rejected: kernels do run


def test_a_crash_is_counted_not_fatal() -> None:
    code, summary = _fuzz("--calls", "45", "--crash-at", "21")
    assert code == 1
    assert summary["calls"] == 45 and summary["crashes"] == 1 and summary["worker_starts"] == 2
    assert summary["findings"][0]["call"] == 21 and summary["findings"][0]["error"] == "signal 11"
