"""What the TUI shows, read through the core's Python API (no textual here).

Plugins, their README, commands, records and demos; hooks; records per area (run folders:
:mod:`papercraft_tui.runs`). Every function is plain Python so that it can be tested without
a terminal.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from papercraft.plugins import PluginInfo, PluginManager
from papercraft.registry import AREA_HOOKS, Record
from papercraft.registry import record_columns as _record_columns

AREAS: tuple[str, ...] = tuple(AREA_HOOKS)
"""The registry's areas, in the contract's order."""


# ------------------------------------------------------------------ plugins
def hooks_label(info: PluginInfo) -> str:
    """``models, demos``: the hooks a plugin implements, without ``register_``."""
    return ", ".join(h.removeprefix("register_") for h in info.hooks)


def plugin_matches(info: PluginInfo, text: str) -> bool:
    """True when every word of ``text`` occurs in the plugin's name, status, hooks or summary."""
    haystack = " ".join(
        [info.name, info.status, info.version, hooks_label(info), info.summary,
         info.error or "", "core" if info.default else "plugin"]
    ).lower()
    return all(word in haystack for word in text.lower().split())


def _module_name(info: PluginInfo) -> str:
    return info.module.split(":", 1)[0].strip()


def _distribution_name(info: PluginInfo) -> str:
    return info.name.split(":", 1)[0]


def _readme_near(path: Path) -> str | None:
    """A README next to the first pyproject.toml above ``path`` (editable installs)."""
    for folder in list(path.parents)[:5]:
        if (folder / "pyproject.toml").is_file():
            for name in ("README.md", "README.rst", "README.txt", "README"):
                candidate = folder / name
                if candidate.is_file():
                    return candidate.read_text(encoding="utf-8", errors="replace")
            return None
        if folder.name == "site-packages":
            return None
    return None


def _is_editable(dist: Any) -> bool:
    try:
        text = dist.read_text("direct_url.json")
        return bool(text and json.loads(text).get("dir_info", {}).get("editable"))
    except (OSError, ValueError, AttributeError):
        return False


def _metadata_description(dist: Any) -> str | None:
    metadata = dist.metadata
    body = metadata.get_payload() if hasattr(metadata, "get_payload") else None
    if not body:
        body = metadata.get("Description")
    text = str(body).strip() if body else ""
    return text or None


def plugin_readme(info: PluginInfo) -> str:
    """Markdown describing a plugin: its README, else its module docstring and summary.

    A core default plugin shows its module's docstring (the core's README is the project's).
    An installed distribution shows the README beside its pyproject.toml when installed
    editable, else its metadata's long description.
    """
    module = sys.modules.get(_module_name(info))
    if not info.default:
        try:
            from importlib.metadata import PackageNotFoundError, distribution

            dist = distribution(_distribution_name(info))
        except (ImportError, PackageNotFoundError, ValueError):
            dist = None
        if dist is not None:
            text = None
            module_file = getattr(module, "__file__", None)
            if module_file and _is_editable(dist):
                text = _readme_near(Path(module_file).resolve())
            text = text or _metadata_description(dist)
            if text:
                return text
    doc = (getattr(module, "__doc__", None) or "").strip()
    lines = [f"# {info.name}", ""]
    if info.summary and not doc.startswith(info.summary):
        lines += [info.summary, ""]
    if doc:
        lines += [doc, ""]
    if info.default:
        lines += ["*Part of the papercraft core (a default plugin).*"]
    elif not doc and not info.summary:
        lines += ["*No README.*"]
    return "\n".join(lines).strip() + "\n"


# ----------------------------------------------------------------- commands
def commands_by_plugin(manager: PluginManager) -> dict[str, list[str]]:
    """Plugin name -> the commands its ``register_commands`` added (``tour``, ``arith energy``).

    The core's record (:meth:`PluginManager.plugin_commands`): a new top-level command or
    group by its name, a command added to another plugin's group as ``group command``.
    """
    return manager.plugin_commands()


# ------------------------------------------------------------------- hooks
def hook_rows(manager: PluginManager) -> list[tuple[str, str, str]]:
    """(hook, implementing plugins, first line of its doc) for every hook of the contract."""
    from papercraft.cli.hooks_cmd import hook_table

    return [(r["name"], ", ".join(r["plugins"]), r["doc"]) for r in hook_table(manager)]


# ----------------------------------------------------------------- records
def record_columns(records: Sequence[Record]) -> list[str]:
    """Columns for one area's table, as ``<area> list`` shows it (the core's choice)."""
    return _record_columns(records)


def cell(value: Any) -> str:
    """A record field as table text."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def record_details(record: Record) -> list[tuple[str, str]]:
    """Every field of a record as (field, text), the area first."""
    data = record.to_dict()
    area = data.pop("area")
    return [("area", area), *((key, cell(value)) for key, value in data.items())]
