"""The plugin manager: discovery, isolation, filtering and tracing.

Plugins are modules named by entry points in group ``papercraft``; the core's
own features are default plugins that use the same hooks. Hooks are called through
pluggy, so ``tryfirst``/``trylast`` order the implementations and wrappers
(``wrapper=True``, old-style ``hookwrapper=True``) run around them. Every implementation
is registered wrapped: a plugin that fails to import, raises (any exception, ``sys.exit``
and a ``KeyboardInterrupt`` of its own included; a real Ctrl-C still stops the command),
takes a core command's name, or was built for another major API version is skipped with
one line on stderr and listed with its status; everything else keeps working.
Environment variables:

``PAPERCRAFT_PLUGINS``         comma-separated distribution names to load ("" loads none)
``PAPERCRAFT_STRICT_PLUGINS``  ``1``: raise instead of skipping a broken plugin
``PAPERCRAFT_TRACE_HOOKS``     ``1``: print every hook call to stderr (pluggy's monitoring)
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import re
import signal
import sys
import threading
import time
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, TextIO

import pluggy

from papercraft import hookspecs
from papercraft._version import __version__
from papercraft.errors import PluginError, UnknownNameError
from papercraft.registry import AREA_HOOKS, RECORD_TYPES, Record

if TYPE_CHECKING:
    from papercraft.cli.groups import AppState, CommandLedger

ENTRY_POINT_GROUP = "papercraft"
DEFAULT_PLUGINS: tuple[str, ...] = (
    "papercraft.builtin.commands",
    "papercraft.builtin.demos",
    "papercraft.builtin.models",
    "papercraft.builtin.retrieval",
    "papercraft.builtin.tools",
    "papercraft.builtin.benchmarks",
)
"""Core modules loaded as plugins before any installed distribution."""

SHORT_PREFIX = "papercraft-"
"""``lmul`` names the distribution ``papercraft-lmul`` wherever a plugin name is expected."""

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


# ------------------------------------------------------------------ Ctrl-C
class _CtrlC:
    """Tells a Ctrl-C from the user apart from a ``KeyboardInterrupt`` that plugin code raised.

    While plugin code runs (imports, hook calls) a SIGINT handler notes that the signal
    arrived, then hands it to the handler it replaced (Python's raises KeyboardInterrupt).
    """

    def __init__(self) -> None:
        self._depth = 0
        self._received = False
        self._installed = False
        self._previous: Any = None

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signals reach the main thread only
        if self._depth == 0:
            self._received = False
            try:
                self._previous = signal.signal(signal.SIGINT, self._handle)
                self._installed = True
            except (ValueError, OSError, RuntimeError):
                self._installed = False
        self._depth += 1

    def __exit__(self, *exc_info: object) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        self._depth -= 1
        if self._depth == 0 and self._installed:
            if self._previous is not None:
                signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def _handle(self, signum: int, frame: Any) -> None:
        previous = self._previous
        if previous == signal.SIG_IGN:
            return
        self._received = True
        if callable(previous):
            previous(signum, frame)
        else:
            raise KeyboardInterrupt

    def is_real(self, exc: BaseException) -> bool:
        """True for the KeyboardInterrupt of a Ctrl-C that the user pressed."""
        return (
            isinstance(exc, KeyboardInterrupt)
            and self._received
            and threading.current_thread() is threading.main_thread()
        )


# -------------------------------------------------------------- hook calls
class _Call:
    """What one hook call through pluggy needs: who runs now, what each plugin registered."""

    __slots__ = ("current", "failed", "hook", "ledger", "registered", "seconds")

    def __init__(self, hook: str, ledger: CommandLedger | None = None) -> None:
        self.hook = hook
        self.ledger = ledger
        self.current: list[str] = []  # plugins whose code runs now, innermost last
        self.registered: list[tuple[str, Any]] = []  # (plugin, record) in registration order
        self.failed: list[str] = []
        self.seconds: dict[str, float] = {}


class _Isolated:
    """The hook implementations of one plugin, each wrapped (what pluggy registers)."""

    def __init__(self, name: str) -> None:
        self.papercraft_hook_opts: dict[str, dict[str, Any]] = {}
        self.papercraft_plugin = name

    def __repr__(self) -> str:
        return f"<isolated {self.papercraft_plugin}>"


class _Pluggy(pluggy.PluginManager):
    """pluggy's manager, reading an :class:`_Isolated` plugin's options without a scan."""

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        """The options of hook implementation ``name`` of ``plugin`` (None: not one)."""
        if isinstance(plugin, _Isolated):
            opts = plugin.papercraft_hook_opts.get(name)
            return None if opts is None else dict(opts)
        return super().parse_hookimpl_opts(plugin, name)


def _candidates(plugin: Any, marker: str) -> list[str]:
    """Attribute names of ``plugin`` that may be hook implementations."""
    if isinstance(plugin, ModuleType):  # only its functions can be (and cheap to check)
        return [
            name for name, value in vars(plugin).items()
            if isinstance(value, types.FunctionType) and marker in vars(value)
            or isinstance(value, types.MethodType) and marker in vars(value.__func__)
        ]
    return dir(plugin)


class _WrapperError(RuntimeError):
    """A wrapper that did not yield, or yielded twice."""


def _start(function: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    generator = function(*args, **kwargs)
    try:
        next(generator)
    except StopIteration:
        raise _WrapperError(f"wrapper {function.__name__} did not yield") from None
    return generator


def _finish(generator: Any, value: Any, name: str) -> Any:
    try:
        generator.send(value)
    except StopIteration as stop:
        return stop.value
    generator.close()
    raise _WrapperError(f"wrapper {name} yielded twice")


_MANAGER_OBSERVERS: list[Callable[[PluginManager], None]] = []


def observe_managers(callback: Callable[[PluginManager], None]) -> Callable[[], None]:
    """Call ``callback(manager)`` for each PluginManager created from now on; returns an undo.

    Test tooling uses it with :meth:`PluginManager.add_hookcall_monitoring` to check that
    every hook is called through a manager during a test session.
    """
    _MANAGER_OBSERVERS.append(callback)
    return lambda: _MANAGER_OBSERVERS.remove(callback)


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
        self._pm = _Pluggy(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._only = None if only is None else {canonical_name(n) for n in only}
        self._strict = strict
        self._stderr = stderr
        self._infos: dict[str, PluginInfo] = {}
        self._proxies: dict[str, Any] = {}
        self._records: dict[str, dict[str, Record]] = {}
        self._commands: dict[str, list[str]] | None = None
        self._threads = threading.local()  # each thread's stack of hook calls in progress
        self._ctrl_c = _CtrlC()
        self._trace_started: list[float] = []
        if trace:
            self.add_hookcall_monitoring(self._trace_before, self._trace_after)
        for observer in list(_MANAGER_OBSERVERS):
            observer(self)

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

    def add_hookcall_monitoring(
        self,
        before: Callable[[str, Sequence[pluggy.HookImpl], Mapping[str, Any]], None],
        after: Callable[[Any, str, Sequence[pluggy.HookImpl], Mapping[str, Any]], None],
    ) -> Callable[[], None]:
        """pluggy's hook-call monitoring: ``before``/``after`` run around each hook call."""
        return self._pm.add_hookcall_monitoring(before, after)

    def _warn(self, message: str) -> None:
        print(f"papercraft: {message}", file=self._stderr or sys.stderr)

    def _fail(self, info: PluginInfo, status: Status, reason: str, exc: BaseException) -> None:
        info.status = status
        info.error = reason
        if self._strict:
            raise PluginError(f"plugin {info.name!r}: {reason}") from exc
        self._warn(f"plugin {info.name!r} skipped ({status}): {reason}")

    def _wanted(self, key: str) -> bool:
        if self._only is None:
            return True
        return key in self._only or key.removeprefix(SHORT_PREFIX) in self._only

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
            if not self._wanted(key):
                continue
            seen.add(plugin_name)
            info = PluginInfo(
                name=plugin_name, version=ep.version, summary=ep.summary(), module=ep.value
            )
            self._infos[plugin_name] = info
            try:
                with self._ctrl_c:
                    module = load_entry_point(ep.value)
            except BaseException as exc:  # any import failure isolates the plugin
                if self._ctrl_c.is_real(exc):
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
            proxy = self._isolated(module, info)
            self._pm.register(proxy, name=info.name)
        except Exception as exc:
            self._fail(info, "error", f"registration failed: {_describe(exc)}", exc)
            return
        self._proxies[info.name] = proxy
        info.hooks = sorted(caller.name for caller in self._pm.get_hookcallers(proxy) or [])
        self._records.clear()
        self._commands = None

    # ------------------------------------------------------------- isolation
    def _isolated(self, plugin: Any, info: PluginInfo) -> _Isolated:
        """A namespace holding ``plugin``'s hook implementations, each wrapped by :meth:`_step`.

        pluggy registers the namespace: it reads the same options (tryfirst, trylast,
        wrapper, hookwrapper, specname) and the same argument names (``__wrapped__``).
        """
        marker = f"{hookspecs.PROJECT_NAME}_impl"
        proxy = _Isolated(info.name)
        for attr in _candidates(plugin, marker):
            opts = self._pm.parse_hookimpl_opts(plugin, attr)
            if opts is None:
                continue
            function = getattr(plugin, attr)
            wrapper = opts.get("wrapper") or opts.get("hookwrapper")
            if wrapper and not inspect.isgeneratorfunction(function):
                raise pluggy.PluginValidationError(
                    plugin, f"{attr}: a wrapper must be a generator function (yield once)"
                )
            if opts.get("hookwrapper"):
                isolated = self._old_style_wrapper(info, function)
            elif opts.get("wrapper"):
                isolated = self._new_style_wrapper(info, function)
            else:
                isolated = self._plain(info, function)
            proxy.papercraft_hook_opts[attr] = dict(opts)
            setattr(proxy, attr, isolated)
        return proxy

    def _plain(self, info: PluginInfo, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def isolated(*args: Any, **kwargs: Any) -> Any:
            ok, value = self._step(info, lambda: function(*args, **kwargs))
            return value if ok else None

        return isolated

    def _new_style_wrapper(
        self, info: PluginInfo, function: Callable[..., Any]
    ) -> Callable[..., Any]:
        @functools.wraps(function)
        def isolated(*args: Any, **kwargs: Any) -> Any:
            ok, generator = self._step(info, lambda: _start(function, args, kwargs))
            try:
                result = yield
            except BaseException:  # only a real Ctrl-C or strict mode gets here
                if ok:
                    generator.close()
                raise
            if not ok:
                return result
            ok, value = self._step(info, lambda: _finish(generator, result, function.__name__))
            return value if ok else result

        return isolated

    def _old_style_wrapper(
        self, info: PluginInfo, function: Callable[..., Any]
    ) -> Callable[..., Any]:
        @functools.wraps(function)
        def isolated(*args: Any, **kwargs: Any) -> Any:
            ok, generator = self._step(info, lambda: _start(function, args, kwargs))
            outcome = yield
            if ok:
                self._step(info, lambda: _finish(generator, outcome, function.__name__))

        return isolated

    def _calls(self) -> list[_Call]:
        """This thread's hook calls in progress, innermost last."""
        calls = getattr(self._threads, "calls", None)
        if calls is None:
            calls = self._threads.calls = []
        return calls

    def _step(self, info: PluginInfo, action: Callable[[], Any]) -> tuple[bool, Any]:
        """Run one piece of ``info``'s code in the current call: (True, value) or (False, None).

        Outside a manager's call (pluggy called directly) the code runs unguarded.
        """
        calls = self._calls()
        if not calls:
            return True, action()
        call = calls[-1]
        if info.status != "ok":
            return False, None
        ledger = call.ledger
        before: AppState | None = ledger.begin() if ledger is not None else None
        call.current.append(info.name)
        started = time.perf_counter()
        try:
            value = action()
        except BaseException as exc:  # plugin code is isolated, Ctrl-C aside
            if self._ctrl_c.is_real(exc):
                raise
            if ledger is not None:
                ledger.undo(info.name, before)
            self._hook_failed(call, info, f"hook {call.hook} raised {_describe(exc)}", exc)
            return False, None
        finally:
            call.current.pop()
            elapsed = time.perf_counter() - started
            call.seconds[info.name] = call.seconds.get(info.name, 0.0) + elapsed
        if ledger is not None and before is not None:
            problem = ledger.commit(info.name, before)
            if problem is not None:
                ledger.undo(info.name, before)
                self._hook_failed(call, info, problem, PluginError(problem))
                return False, None
        return True, value

    def _hook_failed(self, call: _Call, info: PluginInfo, reason: str, exc: BaseException) -> None:
        call.failed.append(info.name)
        self._fail(info, "error", reason, exc)

    def _invoke(self, caller: Any, kwargs: dict[str, Any], call: _Call) -> Any:
        """Call a pluggy hook caller with ``call`` as the current call; drop what failed."""
        self._calls().append(call)
        try:
            with self._ctrl_c:
                return caller(**kwargs)
        finally:
            self._calls().pop()
            for name in dict.fromkeys(call.failed):
                if self._pm.get_plugin(name) is not None:
                    self._pm.unregister(name=name)
            if call.failed:
                self._records.clear()

    # --------------------------------------------------------------- tracing
    def _trace_before(
        self, hook_name: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]
    ) -> None:
        order = [
            f"{impl.plugin_name} (wrapper)" if impl.wrapper or impl.hookwrapper
            else impl.plugin_name
            for impl in reversed(impls)  # pluggy's call order
        ]
        self._warn(f"trace: {hook_name} -> {', '.join(order) or '(no implementations)'}")
        self._trace_started.append(time.perf_counter())

    def _trace_after(
        self, outcome: Any, hook_name: str, impls: Sequence[pluggy.HookImpl],
        kwargs: Mapping[str, Any],
    ) -> None:
        elapsed = (time.perf_counter() - self._trace_started.pop()) * 1000
        calls = self._calls()
        call = calls[-1] if calls else None
        parts = []
        if call is not None:
            parts = [f"{name} {seconds * 1000:.1f} ms" for name, seconds in call.seconds.items()]
            parts += [f"{name} failed" for name in dict.fromkeys(call.failed)]
        details = f" ({', '.join(parts)})" if parts else ""
        self._warn(f"trace: {hook_name} done in {elapsed:.1f} ms{details}")

    # --------------------------------------------------------------- queries
    def plugins(self, *, include_default: bool = True) -> list[PluginInfo]:
        """Every plugin seen, loaded or not, default plugins first."""
        return [i for i in self._infos.values() if include_default or not i.default]

    def plugin(self, name: str) -> PluginInfo:
        """The plugin called ``name``: canonical distribution names match, ``lmul`` too."""
        if name in self._infos:
            return self._infos[name]
        key = canonical_name(name)
        for candidate in (key, SHORT_PREFIX + key):
            for info in self._infos.values():
                if canonical_name(info.name) == candidate:
                    return info
        raise UnknownNameError("plugin", name, self._infos)

    def hook_names(self) -> list[str]:
        """The names of every hook of the contract, in declaration order."""
        return [name for name in vars(hookspecs) if name.startswith("register_")]

    def hook_name(self, name: str) -> str:
        """The hook ``name`` means: a hook (``register_demos``) or an area (``demos``)."""
        hooks = self.hook_names()
        if name in hooks:
            return name
        if name in AREA_HOOKS:
            return AREA_HOOKS[name]
        if f"register_{name}" in hooks:
            return f"register_{name}"
        raise UnknownNameError("hook or area", name, [*hooks, *AREA_HOOKS])

    def hook_implementers(self, hook_name: str) -> list[str]:
        """Plugins (loaded, ok) that implement ``hook_name``, in load order."""
        caller = getattr(self._pm.hook, hook_name)
        ordered = {impl.plugin_name for impl in caller.get_hookimpls()}
        return [n for n in self._infos if n in ordered and self._infos[n].status == "ok"]

    # ----------------------------------------------------------------- calls
    def call_hook(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call a hook through pluggy; an implementation that raises disables its plugin alone."""
        return self._invoke(getattr(self._pm.hook, hook_name), kwargs, _Call(hook_name))

    def register_commands(self, cli: Any) -> dict[str, list[str]]:
        """Call ``register_commands(cli)``: the core's implementations first, then the plugins'.

        Each round runs through pluggy (order, wrappers). A plugin that raises, or that takes
        a name already registered (the core's above all), removes a command or replaces a
        group's callback, has its additions undone and status ``error``. Returns (and keeps,
        for :meth:`plugin_commands`) the command paths each plugin added.
        """
        from papercraft.cli.groups import CommandLedger

        core = {name for name, info in self._infos.items() if info.default}
        ledger = CommandLedger(cli, core)
        core_proxies = [p for n, p in self._proxies.items() if n in core]
        other_proxies = [p for n, p in self._proxies.items() if n not in core]
        for skipped in (other_proxies, core_proxies):
            caller = self._pm.subset_hook_caller("register_commands", skipped)
            self._invoke(caller, {"cli": cli}, _Call("register_commands", ledger=ledger))
        self._commands = {
            name: paths for name, paths in ledger.paths().items()
            if self._infos[name].status == "ok"
        }
        return dict(self._commands)

    def plugin_commands(self) -> dict[str, list[str]]:
        """Plugin -> the command paths its ``register_commands`` added (``models perplexity``).

        Those of the last app built with :meth:`register_commands`, else of a scratch app.
        """
        if self._commands is None:
            from papercraft.cli.groups import new_app

            self.register_commands(new_app())
        return dict(self._commands or {})

    def records(self, area: str) -> dict[str, Record]:
        """Name -> record for one area (``models``, ``attention``, ...), collected once."""
        if area not in AREA_HOOKS:
            raise UnknownNameError("area", area, AREA_HOOKS)
        if area not in self._records:
            self._records[area] = self._collect(area)
        return self._records[area]

    def _collect(self, area: str) -> dict[str, Record]:
        """Call the area's hook once; records of the core first, then in registration order."""
        record_type = RECORD_TYPES[area]
        hook_name = AREA_HOOKS[area]
        call = _Call(hook_name)

        def register(record: Any) -> None:
            if not isinstance(record, record_type):
                raise TypeError(
                    f"{hook_name} expects {record_type.__name__}, got {type(record).__name__}"
                )
            if not call.current:
                raise RuntimeError(f"register() of {hook_name} called after the hook returned")
            call.registered.append((call.current[-1], record))

        self._invoke(getattr(self._pm.hook, hook_name), {"register": register}, call)
        ok = [(p, r) for p, r in call.registered if self._infos[p].status == "ok"]
        ordered = [e for e in ok if self._infos[e[0]].default]
        ordered += [e for e in ok if not self._infos[e[0]].default]
        collected: dict[str, Record] = {}
        for plugin_name, record in ordered:
            self._keep(collected, area, plugin_name, record)
        return collected

    def _keep(
        self, collected: dict[str, Record], area: str, plugin_name: str, record: Record
    ) -> None:
        """First come keeps the name; a later record is kept as ``PLUGIN:NAME``."""
        owner = collected.get(record.name)
        if owner is None:
            collected[record.name] = record.replace(plugin=plugin_name)
            return
        if owner.plugin == plugin_name:
            self._warn(f"plugin {plugin_name!r} registers {area} record {record.name!r} "
                       "twice; the second is ignored")
            return
        qualified = f"{plugin_name}:{record.name}"
        try:
            alias = record.replace(name=qualified, plugin=plugin_name)
        except ValueError:
            alias = None
        if alias is None or qualified in collected:
            self._warn(f"plugin {plugin_name!r}: {area} record {record.name!r} is already "
                       f"registered by {owner.plugin!r}; ignored")
            return
        collected[qualified] = alias
        self._warn(f"plugin {plugin_name!r}: {area} record {record.name!r} is already "
                   f"registered by {owner.plugin!r}; this one is named {qualified!r}")

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
