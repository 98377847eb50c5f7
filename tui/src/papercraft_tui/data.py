"""What the TUI shows, read through the core's Python API (no textual here).

Plugins, their README, commands, records and demos; hooks; records per area; run and tour
folders. Every function is plain Python so that it can be tested without a terminal.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from papercraft.plugins import PluginInfo, PluginManager
from papercraft.registry import AREA_HOOKS, Record

AREAS: tuple[str, ...] = tuple(AREA_HOOKS)
"""The registry's areas, in the contract's order."""

_EXTRA_COLUMNS = ("kind", "family", "mantissa_bits", "metric", "shows")
"""Record fields worth a column when an area's records use them (as ``<area> list``)."""


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
def _apps(cli: Any) -> list[Any]:
    found = [cli]
    for info in cli.registered_groups:
        if info.typer_instance is not None:
            found.extend(_apps(info.typer_instance))
    return found


def _snapshot(cli: Any) -> list[tuple[Any, list[Any], list[Any]]]:
    return [(a, list(a.registered_commands), list(a.registered_groups)) for a in _apps(cli)]


def _restore(state: list[tuple[Any, list[Any], list[Any]]]) -> None:
    for app, commands, groups in state:
        app.registered_commands[:] = commands
        app.registered_groups[:] = groups


def _command_name(info: Any) -> str:
    if info.name:
        return str(info.name)
    callback = info.callback
    return getattr(callback, "__name__", "?").lower().replace("_", "-")


def _paths(cli: Any, prefix: str = "") -> dict[int, str]:
    """id(typer app) -> its command path (``""`` for the root, ``"arith"``, ...)."""
    found = {id(cli): prefix}
    for info in cli.registered_groups:
        if info.typer_instance is not None and info.name:
            name = f"{prefix} {info.name}".strip()
            found.update(_paths(info.typer_instance, name))
    return found


def commands_by_plugin(manager: PluginManager) -> dict[str, list[str]]:
    """Plugin name -> the commands its ``register_commands`` added (``tour``, ``arith energy``).

    Calls every plugin's ``register_commands`` on a fresh typer app, noting what each call
    adds: a new top-level command or group by its name, a command added to another plugin's
    group as ``group command``.
    """
    from papercraft.cli.groups import new_app

    cli = new_app()
    order = manager.hook_implementers("register_commands")
    states: list[list[tuple[Any, list[Any], list[Any]]]] = []

    def snapshot() -> list[tuple[Any, list[Any], list[Any]]]:
        state = _snapshot(cli)
        states.append(state)
        return state

    manager.register_commands(cli, snapshot, _restore)
    states.append(_snapshot(cli))
    paths = _paths(cli)
    result: dict[str, list[str]] = {}
    for index, name in enumerate(order[: len(states) - 1]):
        before = {id(app): (commands, groups) for app, commands, groups in states[index]}
        added: list[str] = []
        for app, commands, groups in states[index + 1]:
            if id(app) not in before or id(app) not in paths:
                continue  # inside a group this plugin created: named by the group
            old_commands, old_groups = before[id(app)]
            prefix = paths[id(app)]
            for info in commands:
                if not any(info is old for old in old_commands):
                    added.append(f"{prefix} {_command_name(info)}".strip())
            for info in groups:
                if info.name and not any(info is old for old in old_groups):
                    added.append(f"{prefix} {info.name}".strip())
        result[name] = sorted(added)
    return result


# ------------------------------------------------------------------- hooks
def hook_rows(manager: PluginManager) -> list[tuple[str, str, str]]:
    """(hook, implementing plugins, first line of its doc) for every hook of the contract."""
    from papercraft import hookspecs

    rows = []
    for name in manager.hook_names():
        doc = (getattr(hookspecs, name).__doc__ or "").strip().splitlines()
        rows.append((name, ", ".join(manager.hook_implementers(name)), doc[0] if doc else ""))
    return rows


# ----------------------------------------------------------------- records
def record_columns(records: Sequence[Record]) -> list[str]:
    """Columns for one area's table: name, the extra fields in use, plugin, summary."""
    dicts = [r.to_dict() for r in records]
    extra = [c for c in _EXTRA_COLUMNS if any(d.get(c) not in (None, "", ()) for d in dicts)]
    return ["name", *extra, "plugin", "summary"]


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


# -------------------------------------------------------------------- runs
@dataclass(frozen=True)
class RunEntry:
    """A folder the runs browser lists: an evaluation run or a tour."""

    kind: str  # "eval" | "tour"
    label: str
    path: Path


def _kind_of(path: Path) -> str | None:
    if (path / "config.json").is_file():
        return "eval"
    if (path / "report.json").is_file():
        return "tour"
    return None


def _children(folder: Path) -> list[Path]:
    try:
        return sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.name,
                      reverse=True)
    except OSError:
        return []


def find_runs(home: Path | None, extra: Iterable[Path] = ()) -> list[RunEntry]:
    """Run and tour folders: ``home/runs/*``, ``home/tours/*``, then each extra path.

    An extra path is listed itself when it is a run or tour folder, else its sub-folders that
    are. Newest first (folder names start with their time stamp, or end with it).
    """
    found: list[RunEntry] = []
    seen: set[Path] = set()

    def add(path: Path, label: str) -> None:
        kind = _kind_of(path)
        resolved = path.resolve()
        if kind is not None and resolved not in seen:
            seen.add(resolved)
            found.append(RunEntry(kind, label, path))

    if home is not None:
        for sub in ("runs", "tours"):
            for path in _children(home / sub):
                add(path, f"{sub}/{path.name}")
    for base in extra:
        base = Path(base)
        if _kind_of(base) is not None:
            add(base, str(base))
        else:
            for path in _children(base):
                add(path, str(base / path.name))
    return found


@dataclass
class EvalView:
    """An evaluation run, ready to show."""

    results: dict[str, Any]
    records: list[dict[str, Any]]
    summary_rows: list[list[str]] = field(default_factory=list)
    title: str = ""
    note: str = ""


def load_eval(path: Path, manager: PluginManager | None) -> EvalView:
    """A run folder's results: ``results.json`` when finished, else recomputed from samples."""
    from papercraft.evaluation.report import load_report, summary_rows, summary_title
    from papercraft.evaluation.runfolder import RunFolder

    folder = RunFolder(path)
    stored = folder.read_results()
    note = ""
    if stored is not None and "metrics" in stored:
        results = stored
        records = folder.read_records()
    else:
        results, _ = load_report(path, manager)
        records = results.pop("records")
        note = "partial run: metrics recomputed from samples.jsonl"
    records = sorted(records, key=lambda r: (r.get("index", float("inf")), str(r.get("id"))))
    return EvalView(results, records, summary_rows(results), summary_title(results), note)


def sample_rows(records: Sequence[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """(id, parsed, target, score) per sample record."""
    rows = []
    for record in records:
        score = record.get("score")
        shown = f"{score:g}" if isinstance(score, (int, float)) else cell(score)
        rows.append((cell(record.get("id")), cell(record.get("parsed")),
                     cell(record.get("target")), shown))
    return rows


def running_mean(scores: Sequence[float]) -> list[float]:
    """The mean of the first i scores, for i = 1..n."""
    total = 0.0
    means = []
    for index, score in enumerate(scores, 1):
        total += float(score)
        means.append(total / index)
    return means


def per_set_metrics(task_metrics: Any) -> tuple[str, dict[str, float]] | None:
    """The first flat ``{name: number}`` table in a run's task metrics (per-set accuracy...)."""
    if not isinstance(task_metrics, dict):
        return None
    for key, value in task_metrics.items():
        if (
            isinstance(value, dict)
            and len(value) >= 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                    for v in value.values())
        ):
            return str(key), {str(k): float(v) for k, v in value.items()}
    for value in task_metrics.values():
        found = per_set_metrics(value)
        if found is not None:
            return found
    return None


TOUR_COLUMNS = ("demo", "status", "figure", "seconds", "plugin", "what it shows")
"""A tour's table, the figure first (``report.md`` has the same columns)."""


def load_tour(path: Path) -> tuple[dict[str, Any], list[tuple[str, ...]]]:
    """A tour's ``report.json`` and the rows of its table (a failed demo shows its error)."""
    data = json.loads((path / "report.json").read_text(encoding="utf-8"))
    rows = []
    for demo in data.get("demos", []):
        ok = demo.get("status") == "ok"
        figure = demo.get("figure") if ok else demo.get("error")
        seconds = demo.get("seconds")
        rows.append((
            cell(demo.get("name")), cell(demo.get("status")), cell(figure),
            f"{seconds:.1f}" if isinstance(seconds, (int, float)) else "",
            cell(demo.get("plugin")), cell(demo.get("shows")),
        ))
    return data, rows
