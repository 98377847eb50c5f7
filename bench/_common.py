"""The benchmark scripts' set-up: a plugin's checkout source when it is not installed, optional
imports, and the shared command line (``--quick --json --save --only --repeats``)."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def use_plugin_source(package: str, plugin: str) -> None:
    """Put ``plugins/<plugin>/src`` on the path when ``package`` is not installed."""
    if importlib.util.find_spec(package) is None:
        sys.path.insert(0, str(ROOT / "plugins" / plugin / "src"))


def try_import(name: str) -> ModuleType | None:
    """The module, or None when it (or anything it needs) fails to load: skip those rows."""
    try:
        return importlib.import_module(name)
    except Exception:  # any failure to load means "skip these rows"
        return None


def bench_parser(description: str) -> argparse.ArgumentParser:
    """The options every kernel benchmark takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--save", metavar="PATH", help="also write the JSON to PATH")
    parser.add_argument("--only", choices=("all", "cpu", "cuda"), default="all")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs of each row")
    return parser


def parse_bench_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse the command line; ``repeats`` defaults to 3 with ``--quick``, else 7."""
    args = parser.parse_args()
    args.repeats = args.repeats or (3 if args.quick else 7)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def emit(result: dict[str, Any], args: argparse.Namespace,
         print_text: Callable[[dict[str, Any]], None]) -> None:
    """Write ``result`` to ``--save``, then print it as JSON (``--json``) or as text."""
    if args.save:
        Path(args.save).write_text(json.dumps(result, indent=2) + "\n")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_text(result)
