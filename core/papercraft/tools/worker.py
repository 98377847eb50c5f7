"""The tool worker: ``python -m papercraft.tools.worker``, run by :mod:`papercraft.tools.execute`.

It talks JSON lines over its own stdin/stdout. The first line configures it::

    {"allow": ["papercraft.tools.stdlib", ...], "path": [...], "memory_mb": 1024}

(modules whose functions it may run, ``sys.path`` entries to add, the address-space limit),
and it answers ``{"ready": true}``. Each later line is a call::

    {"function": "module:attr", "arguments": {...}, "timeout": 2.0, "max_chars": 2000}

answered by ``{"ok": true, "value": ...}`` or ``{"ok": false, "error": "ValueError: ..."}``.
A function outside the allowed modules is refused without importing it. What a tool prints
goes to stderr (the protocol keeps the original stdout), it reads an empty stdin, and each
call runs under a CPU-time limit (RLIMIT_CPU) of its time-out plus a second, where the
platform has one; the parent kills the process group on a wall-clock time-out.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import sys
from decimal import Decimal
from fractions import Fraction
from typing import Any

TRUNCATED = "… [truncated]"
"""Appended to a result cut at the executor's ``max_result_chars``."""
MAX_DEPTH = 20
"""Nesting below this depth is shown as ``str``."""


def to_json_value(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON-ready data: containers converted, exact numbers as str, others str."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        if value.bit_length() > 3 * 10**5:  # str() of it would be slow or refused
            digits = int((value.bit_length() - 1) * math.log10(2)) + 1
            return f"an integer of about {digits} digits"
        if value.bit_length() > 4000:
            return _big_int_text(value)
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (Fraction, Decimal, complex)):
        return str(value)
    if depth >= MAX_DEPTH:
        return str(value)
    if isinstance(value, dict):
        return {str(key): to_json_value(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(item, depth + 1) for item in value]
    if isinstance(value, (set, frozenset)):
        items = [to_json_value(item, depth + 1) for item in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    return str(value)


def _big_int_text(value: int) -> str:
    """The digits of a large int (Python 3.11+ refuses str() past 4300 digits by default)."""
    if not hasattr(sys, "get_int_max_str_digits"):
        return str(value)
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        return str(value)
    finally:
        sys.set_int_max_str_digits(old)


def truncate(value: Any, max_chars: int) -> Any:
    """``value`` when its JSON fits in ``max_chars``; else its text cut there, with a marker."""
    if isinstance(value, str):
        return value if len(value) <= max_chars else value[:max_chars] + TRUNCATED
    text = json.dumps(value, ensure_ascii=False)
    return value if len(text) <= max_chars else text[:max_chars] + TRUNCATED


def allowed(module: str, roots: list[str]) -> bool:
    """True when ``module`` is one of ``roots`` or a sub-module of one."""
    return any(module == root or module.startswith(root + ".") for root in roots)


def _load(ref: str, roots: list[str]) -> Any:
    module_name, sep, attr_path = ref.partition(":")
    if not sep or not module_name or not attr_path:
        raise ValueError(f"not a 'module:attr' reference: {ref!r}")
    if not allowed(module_name, roots):
        raise PermissionError(f"refused {ref!r}: module {module_name!r} is not in the allowed "
                              f"toolset modules ({', '.join(roots) or 'none'})")
    obj: Any = importlib.import_module(module_name)
    for part in attr_path.split("."):
        obj = getattr(obj, part)
    return obj


def _limit_memory(memory_mb: int) -> None:
    try:
        import resource
    except ImportError:  # not on this platform
        return
    wanted = int(memory_mb) * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))
    except (ValueError, OSError):
        pass


def _limit_cpu(timeout: float) -> None:
    """Let this call use ``timeout + 1`` more CPU seconds at most (SIGXCPU past that)."""
    try:
        import resource
    except ImportError:
        return
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    soft = int(math.ceil(used + timeout)) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    except (ValueError, OSError):
        pass


def answer(request: dict[str, Any], roots: list[str]) -> dict[str, Any]:
    """Run one call request; the reply (never raises)."""
    max_chars = int(request.get("max_chars") or 2000)
    try:
        function = _load(str(request.get("function")), roots)
        arguments = request.get("arguments") or {}
        _limit_cpu(float(request.get("timeout") or 2.0))
        value = function(**arguments)
        return {"ok": True, "value": truncate(to_json_value(value), max_chars)}
    except Exception as exc:  # a tool's failure is a result, not a crash
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return {"ok": False, "error": truncate(message, max_chars)}


def main() -> None:
    """Serve call requests until stdin closes."""
    proto_in = os.fdopen(os.dup(0), "r", encoding="utf-8")
    proto_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # what tools print goes to stderr, not into the protocol
    sys.stdout = sys.stderr

    def send(data: dict[str, Any]) -> None:
        try:
            text = json.dumps(data, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            text = json.dumps({"ok": False, "error": f"unserialisable result: {exc}"})
        proto_out.write(text + "\n")
        proto_out.flush()

    first = proto_in.readline()
    if not first:
        return
    config = json.loads(first)
    roots = [str(root) for root in config.get("allow", [])]
    sys.path.extend(entry for entry in config.get("path", []) if entry not in sys.path)
    _limit_memory(int(config.get("memory_mb") or 1024))
    send({"ready": True})
    for line in proto_in:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
        except json.JSONDecodeError as exc:
            send({"ok": False, "error": f"bad request: {exc.msg}"})
            continue
        send(answer(request, roots))


if __name__ == "__main__":
    main()
