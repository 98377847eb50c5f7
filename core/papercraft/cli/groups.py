"""Helpers for plugins that add commands: fast plain-help sub-apps and area groups."""

from __future__ import annotations

from typing import Any

import typer
from typer.models import DefaultPlaceholder


def new_app(help: str | None = None, **kwargs: Any) -> typer.Typer:
    """A typer app with papercraft's defaults (plain help, no completion, no locals)."""
    kwargs.setdefault("rich_markup_mode", None)
    kwargs.setdefault("add_completion", False)
    kwargs.setdefault("no_args_is_help", True)
    kwargs.setdefault("pretty_exceptions_show_locals", False)
    return typer.Typer(help=help, **kwargs)


def group(cli: typer.Typer, name: str, help: str | None = None) -> typer.Typer:
    """The sub-app ``name`` of ``cli`` (``models``, ``attention``...), created if missing."""
    for info in cli.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    sub = new_app(help=help)
    cli.add_typer(sub, name=name, help=help)
    return sub


LAZY_REF = "_papercraft_lazy_ref"


def lazy_group(cli: typer.Typer, name: str, help: str, ref: str) -> None:
    """Add sub-app ``name`` whose commands are built only when it is used.

    ``ref`` is a ``"module:attr"`` reference to a function that fills a typer app
    (``fill(app)``). ``papercraft --help`` then shows the group without importing the
    module that defines its commands.
    """
    placeholder = new_app(help=help)
    setattr(placeholder, LAZY_REF, ref)
    cli.add_typer(placeholder, name=name, help=help)


def resolve_lazy(app: typer.Typer) -> typer.Typer:
    """Fill a lazy placeholder (see :func:`lazy_group`) once; other apps are returned as is."""
    ref = getattr(app, LAZY_REF, None)
    if ref is not None:
        from papercraft.registry import load_ref

        load_ref(ref)(app)
        delattr(app, LAZY_REF)
    return app


# ------------------------------------------------------------- the app tree
AppState = list[tuple[typer.Typer, list[Any], list[Any], Any]]
"""(app, its registered commands, its registered groups, its callback) for every app of a tree."""


def app_tree(cli: typer.Typer) -> list[typer.Typer]:
    """``cli`` and every sub-app below it, depth first (each app once)."""
    found: dict[int, typer.Typer] = {}

    def visit(app: typer.Typer) -> None:
        if id(app) not in found:
            found[id(app)] = app
            for info in app.registered_groups:
                if info.typer_instance is not None:
                    visit(info.typer_instance)

    visit(cli)
    return list(found.values())


def snapshot(cli: typer.Typer) -> AppState:
    """The commands, groups and callback of ``cli`` and every sub-app, for :func:`restore`."""
    return [
        (app, list(app.registered_commands), list(app.registered_groups), app.registered_callback)
        for app in app_tree(cli)
    ]


def restore(state: AppState) -> None:
    """Put every app of a :func:`snapshot` back as it was (later additions are dropped)."""
    for app, commands, groups, callback in state:
        app.registered_commands[:] = commands
        app.registered_groups[:] = groups
        app.registered_callback = callback


def _given(value: Any) -> Any:
    return value.value if isinstance(value, DefaultPlaceholder) else value


def _group_name(entry: Any) -> str | None:
    sub = entry.typer_instance
    for value in (entry.name, getattr(sub.registered_callback, "name", None), sub.info.name):
        if _given(value):
            return str(_given(value))
    return None


def entry_names(entry: Any) -> list[str]:
    """The names a registered command or group (typer's CommandInfo / TyperInfo) adds.

    A command is named by ``name`` or its function; a group by ``add_typer(name=...)``, its
    callback's or its app's name; a group without any name adds its commands to its parent.
    """
    if getattr(entry, "typer_instance", None) is None:  # a command
        name = _given(entry.name)
        if name:
            return [str(name)]
        return [getattr(entry.callback, "__name__", "?").lower().replace("_", "-")]
    name = _group_name(entry)
    if name is not None:
        return [name]
    sub = entry.typer_instance
    return [n for e in [*sub.registered_commands, *sub.registered_groups] for n in entry_names(e)]


def app_paths(cli: typer.Typer) -> dict[int, str]:
    """id(app) -> its command path: ``""`` for the root, ``"models"``, ``"models cache"``..."""
    found: dict[int, str] = {}

    def visit(app: typer.Typer, path: str) -> None:
        if id(app) in found:
            return
        found[id(app)] = path
        for info in app.registered_groups:
            if info.typer_instance is not None:
                name = _group_name(info)
                visit(info.typer_instance, f"{path} {name}".strip() if name is not None else path)

    visit(cli, "")
    return found


class CommandLedger:
    """Who added which command to an app tree, one plugin's step at a time.

    :meth:`commit` records what a plugin added since :meth:`begin` (``models perplexity``,
    ``diffattn``) and refuses a step that takes a name already registered by someone else,
    removes a command or replaces a group's callback; :meth:`undo` removes a plugin's additions.
    The first to register a name keeps it; ``core`` names the plugins whose names always win
    (they are called first).
    """

    def __init__(self, cli: typer.Typer, core: set[str] | frozenset[str] = frozenset()) -> None:
        self._cli = cli
        self._core = core
        self._owners: dict[tuple[int, str], str] = {}
        self._apps: dict[int, str] = {}
        self._added: dict[str, list[tuple[typer.Typer, Any, list[str]]]] = {}

    def begin(self) -> AppState:
        """The state before a plugin's step."""
        return snapshot(self._cli)

    def _owner(self, owner: str | None) -> str:
        if owner is None:
            return "papercraft"
        return f"the core ({owner})" if owner in self._core else f"plugin {owner!r}"

    def commit(self, plugin: str, before: AppState) -> str | None:
        """Record ``plugin``'s additions since ``before``; the reason when the step is refused."""
        paths: dict[int, str] | None = None
        problems: list[str] = []
        added: list[tuple[typer.Typer, Any, list[str]]] = []
        for app, commands, groups, callback in before:
            old = [*commands, *groups]
            new = [*app.registered_commands, *app.registered_groups]
            same = len(old) == len(new) and all(a is b for a, b in zip(old, new, strict=True))
            if same and app.registered_callback is callback:
                continue
            paths = paths if paths is not None else app_paths(self._cli)
            prefix = paths.get(id(app), "")
            old_ids = {id(entry) for entry in old}
            new_ids = {id(entry) for entry in new}
            for entry in old:
                if id(entry) not in new_ids:
                    names = ", ".join(f"{prefix} {n}".strip() for n in entry_names(entry))
                    problems.append(f"removes the command {names!r}")
            fresh = [entry for entry in new if id(entry) not in old_ids]
            taken = {name for entry in old for name in entry_names(entry)} if fresh else set()
            for entry in fresh:
                names = entry_names(entry)
                clashes = [n for n in names if n in taken and self._owner_of(app, n) != plugin]
                for name in clashes:
                    owner = self._owner_of(app, name)
                    problems.append(
                        f"command {f'{prefix} {name}'.strip()!r} is taken by {self._owner(owner)}"
                        + ("; core commands win" if owner in self._core else "")
                    )
                if not clashes:
                    added.append((app, entry, [f"{prefix} {n}".strip() for n in names]))
            if app.registered_callback is not callback and self._apps.get(id(app)) != plugin:
                problems.append(f"replaces the callback of {prefix or 'papercraft'!r}")
        if problems:
            return "; ".join(dict.fromkeys(problems))
        mine = self._added.setdefault(plugin, [])
        for app, entry, entry_paths in added:
            for name in entry_names(entry):
                self._owners[(id(app), name)] = plugin
            if getattr(entry, "typer_instance", None) is not None:
                for sub in app_tree(entry.typer_instance):
                    self._apps.setdefault(id(sub), plugin)
            mine.append((app, entry, entry_paths))
        return None

    def _owner_of(self, app: typer.Typer, name: str) -> str | None:
        return self._owners.get((id(app), name), self._apps.get(id(app)))

    def undo(self, plugin: str, before: AppState | None = None) -> None:
        """Restore ``before`` (a refused step) and remove what ``plugin`` added earlier."""
        if before is not None:
            restore(before)
        for app, entry, _ in self._added.pop(plugin, []):
            for entries in (app.registered_commands, app.registered_groups):
                entries[:] = [e for e in entries if e is not entry]
            for name in entry_names(entry):
                self._owners.pop((id(app), name), None)

    def paths(self) -> dict[str, list[str]]:
        """Plugin -> the command paths it added, sorted (a new group counts as one path)."""
        return {
            plugin: sorted({path for _, _, paths in added for path in paths})
            for plugin, added in self._added.items()
        }
