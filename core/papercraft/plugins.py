"""The plugin manager: discovery, isolation, filtering and tracing.

Plugins are modules named by entry points in group ``papercraft``; the core's
own features are default plugins that use the same hooks. A plugin that fails
to import, raises in a hook, or was built for another major API version is
skipped with one line on stderr and listed with its status; everything else
keeps working. Environment variables:

``PAPERCRAFT_PLUGINS``         comma-separated distribution names to load ("" loads none)
``PAPERCRAFT_STRICT_PLUGINS``  ``1``: raise instead of skipping a broken plugin
``PAPERCRAFT_TRACE_HOOKS``     ``1``: print every hook call to stderr
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Literal, TextIO

import pluggy

from papercraft import hookspecs
from papercraft._version import __version__
from papercraft.errors import PluginError, UnknownNameError
from papercraft.registry import AREA_HOOKS, RECORD_TYPES, Record

ENTRY_POINT_GROUP = "papercraft"
DEFAULT_PLUGINS: tuple[str, ...] = (
    "papercraft.builtin.commands",
    "papercraft.builtin.demos",
    "papercraft.builtin.models",
)
"""Core modules loaded as plugins before any installed distribution."""

Status = Literal["ok", "error", "incompatible"]


def canonical_name(name: str) -> str:
    """PEP 503 normalisation: ``Papercraft_HF`` -> ``papercraft-hf``."""
    return re.sub(r"[-_.]+", "-", name).lower().strip()


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _describe(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


@dataclass
class PluginInfo:
    """One loaded (or skipped) plugin, as ``plugins list`` shows it."""

    name: str
    version: str
    summary: str = ""
    module: str = ""
    status: Status = "ok"
    error: str | None = None
    hooks: list[str] = field(default_factory=list)
    default: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "name": self.name,
            "version": self.version,
            "summary": self.summary,
            "module": self.module,
            "status": self.status,
            "error": self.error,
            "hooks": list(self.hooks),
            "default": self.default,
        }


def _declared_api_version(module: ModuleType) -> str | None:
    value = getattr(module, "PAPERCRAFT_API_VERSION", None)
    return None if value is None else str(value)


def _major(version: str) -> str:
    return version.split(".", 1)[0].strip()


class PluginManager:
    """Loads plugins in isolation and collects the records they register."""

    def __init__(
        self,
        *,
        only: Iterable[str] | None = None,
        strict: bool = False,
        trace: bool = False,
        stderr: TextIO | None = None,
    ) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._only = None if only is None else {canonical_name(n) for n in only}
        self._strict = strict
        self._trace = trace
        self._stderr = stderr
        self._infos: dict[str, PluginInfo] = {}
        self._records: dict[str, dict[str, Record]] = {}

    # ---------------------------------------------------------------- set-up
    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> PluginManager:
        """A manager configured by the ``PAPERCRAFT_*`` variables, with everything loaded."""
        env = os.environ if environ is None else environ
        only_value = env.get("PAPERCRAFT_PLUGINS")
        only = None if only_value is None else [n for n in only_value.split(",") if n.strip()]
        manager = cls(
            only=only,
            strict=_truthy(env.get("PAPERCRAFT_STRICT_PLUGINS")),
            trace=_truthy(env.get("PAPERCRAFT_TRACE_HOOKS")),
        )
        manager.load_defaults()
        manager.load_entry_points()
        return manager

    def _warn(self, message: str) -> None:
        print(f"papercraft: {message}", file=self._stderr or sys.stderr)

    def _fail(self, info: PluginInfo, status: Status, reason: str, exc: BaseException) -> None:
        info.status = status
        info.error = reason
        if self._strict:
            raise PluginError(f"plugin {info.name!r}: {reason}") from exc
        self._warn(f"plugin {info.name!r} skipped ({status}): {reason}")

    def load_defaults(self) -> None:
        """Register the core's own default plugins."""
        for module_name in DEFAULT_PLUGINS:
            self.add_module(
                importlib.import_module(module_name),
                name=module_name,
                version=__version__,
                summary=(sys.modules[module_name].__doc__ or "").strip().splitlines()[0],
                default=True,
            )

    def load_entry_points(self) -> None:
        """Import and register every installed plugin (filtered by ``only``)."""
        from papercraft.discovery import find_entry_points, load_entry_point

        seen: set[str] = set()
        found = find_entry_points(ENTRY_POINT_GROUP)
        for ep in sorted(found, key=lambda e: (e.dist_name, e.name)):
            key = canonical_name(ep.dist_name)
            plugin_name = key if key not in seen else f"{key}:{ep.name}"
            if self._only is not None and key not in self._only:
                continue
            seen.add(plugin_name)
            info = PluginInfo(
                name=plugin_name, version=ep.version, summary=ep.summary(), module=ep.value
            )
            self._infos[plugin_name] = info
            try:
                module = load_entry_point(ep.value)
            except BaseException as exc:  # noqa: BLE001 - any import failure isolates the plugin
                if isinstance(exc, KeyboardInterrupt):
                    raise
                self._fail(info, "error", f"import failed: {_describe(exc)}", exc)
                continue
            self._register(module, info)

    def add_module(
        self,
        module: Any,
        *,
        name: str,
        version: str = "0",
        summary: str = "",
        default: bool = False,
    ) -> PluginInfo:
        """Register an already-imported plugin object (a module or any namespace)."""
        info = PluginInfo(
            name=name,
            version=version,
            summary=summary,
            module=getattr(module, "__name__", repr(module)),
            default=default,
        )
        self._infos[name] = info
        self._register(module, info)
        return info

    def _register(self, module: Any, info: PluginInfo) -> None:
        declared = _declared_api_version(module)
        if declared is not None and _major(declared) != _major(hookspecs.API_VERSION):
            reason = (
                f"built for papercraft API {declared}, this papercraft provides "
                f"{hookspecs.API_VERSION}"
            )
            self._fail(info, "incompatible", reason, PluginError(reason))
            return
        try:
            self._pm.register(module, name=info.name)
        except Exception as exc:
            self._fail(info, "error", f"registration failed: {_describe(exc)}", exc)
            return
        info.hooks = sorted(
            caller.name for caller in self._pm.get_hookcallers(module) or []
        )
        self._records.clear()

    # --------------------------------------------------------------- queries
    def plugins(self, *, include_default: bool = True) -> list[PluginInfo]:
        """Every plugin seen, loaded or not, default plugins first."""
        return [i for i in self._infos.values() if include_default or not i.default]

    def plugin(self, name: str) -> PluginInfo:
        """The plugin called ``name`` (distribution names are matched canonically)."""
        if name in self._infos:
            return self._infos[name]
        key = canonical_name(name)
        for info in self._infos.values():
            if canonical_name(info.name) == key:
                return info
        raise UnknownNameError("plugin", name, self._infos)

    def hook_names(self) -> list[str]:
        """The names of every hook of the contract, in declaration order."""
        return [name for name in vars(hookspecs) if name.startswith("register_")]

    def hook_implementers(self, hook_name: str) -> list[str]:
        """Plugins (loaded, ok) that implement ``hook_name``."""
        caller = getattr(self._pm.hook, hook_name)
        ordered = [impl.plugin_name for impl in caller.get_hookimpls()]
        return [n for n in self._infos if n in ordered and self._infos[n].status == "ok"]

    # ----------------------------------------------------------------- calls
    def call_hook(self, hook_name: str, **kwargs: Any) -> None:
        """Call each implementation on its own; one that raises disables its plugin."""
        for info, impl in self._active_impls(hook_name):
            self._call_one(info, impl, hook_name, kwargs)

    def _active_impls(self, hook_name: str) -> Iterator[tuple[PluginInfo, pluggy.HookImpl]]:
        """(plugin, implementation) of ``hook_name`` in load order, for plugins still ok."""
        caller = getattr(self._pm.hook, hook_name)
        impls = {impl.plugin_name: impl for impl in caller.get_hookimpls()}
        for plugin_name in list(self._infos):
            impl = impls.get(plugin_name)
            info = self._infos[plugin_name]
            if impl is not None and info.status == "ok":
                yield info, impl

    def _call_one(
        self, info: PluginInfo, impl: pluggy.HookImpl, hook_name: str, kwargs: dict[str, Any]
    ) -> bool:
        started = time.perf_counter()
        try:
            impl.function(*[kwargs[arg] for arg in impl.argnames])
        except Exception as exc:
            self._fail(info, "error", f"hook {hook_name} raised {_describe(exc)}", exc)
            self._records.clear()
            return False
        finally:
            if self._trace:
                elapsed = (time.perf_counter() - started) * 1000
                self._warn(f"trace: {hook_name} -> {info.name} ({elapsed:.1f} ms)")
        return True

    def register_commands(
        self, cli: Any, snapshot: Callable[[], Any], restore: Callable[[Any], None]
    ) -> None:
        """Call ``register_commands(cli)``; a plugin that raises has its additions undone."""
        for info, impl in self._active_impls("register_commands"):
            state = snapshot()
            if not self._call_one(info, impl, "register_commands", {"cli": cli}):
                restore(state)

    def records(self, area: str) -> dict[str, Record]:
        """Name -> record for one area (``models``, ``attention``, ...), collected once."""
        if area not in AREA_HOOKS:
            raise UnknownNameError("area", area, AREA_HOOKS)
        if area not in self._records:
            self._records[area] = self._collect(area)
        return self._records[area]

    def _collect(self, area: str) -> dict[str, Record]:
        record_type = RECORD_TYPES[area]
        hook_name = AREA_HOOKS[area]
        collected: dict[str, Record] = {}
        for info, impl in self._active_impls(hook_name):
            plugin_name = info.name
            pending: list[Record] = []

            def register(record: Any, _pending: list[Record] = pending) -> None:
                if not isinstance(record, record_type):
                    raise TypeError(
                        f"{hook_name} expects {record_type.__name__}, got {type(record).__name__}"
                    )
                _pending.append(record)

            if not self._call_one(info, impl, hook_name, {"register": register}):
                continue
            for record in pending:
                if record.name in collected:
                    owner = collected[record.name].plugin
                    self._warn(
                        f"plugin {plugin_name!r}: {area} record {record.name!r} is already "
                        f"registered by {owner!r}; ignored"
                    )
                    continue
                collected[record.name] = record.replace(plugin=plugin_name)
        return collected

    def record(self, area: str, name: str) -> Record:
        """One record by name; unknown names raise :class:`UnknownNameError`."""
        records = self.records(area)
        if name in records:
            return records[name]
        kind = RECORD_TYPES[area].__name__.removesuffix("Record").lower()
        raise UnknownNameError(kind, name, records)

    def collect_all(self) -> dict[str, dict[str, Record]]:
        """Every area's records (calls every registration hook)."""
        while True:
            failed_before = sum(i.status != "ok" for i in self._infos.values())
            result = {area: self.records(area) for area in AREA_HOOKS}
            if sum(i.status != "ok" for i in self._infos.values()) == failed_before:
                return result

    def records_of(self, plugin_name: str) -> dict[str, list[Record]]:
        """The records one plugin registered, per area."""
        info = self.plugin(plugin_name)
        result: dict[str, list[Record]] = {}
        for area, records in self.collect_all().items():
            mine = [r for r in records.values() if r.plugin == info.name]
            if mine:
                result[area] = mine
        return result
