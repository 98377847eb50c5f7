"""Hooks keep pluggy's meaning (order, wrappers, monitoring) while each plugin stays isolated."""

from __future__ import annotations

import io
import json
import signal
import sys
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pluggy
import pytest
from typer.testing import CliRunner

from papercraft import hookimpl, hookspecs
from papercraft.cli.main import build_app
from papercraft.errors import PluginError
from papercraft.plugins import PluginManager
from papercraft.registry import ModelRecord


def plugin(*impls: Callable[..., Any], **named: Callable[..., Any]) -> SimpleNamespace:
    """A plugin object holding hook implementations (by function name, or as given)."""
    return SimpleNamespace(**{f.__name__: f for f in impls}, **named)


def model(name: str) -> ModelRecord:
    return ModelRecord(name=name, summary=name, factory="json:loads")


def manager_with(*plugins: tuple[str, Any], defaults: bool = False, **options: Any
                 ) -> tuple[PluginManager, io.StringIO]:
    stderr = io.StringIO()
    manager = PluginManager(only=[], stderr=stderr, **options)
    if defaults:
        manager.load_defaults()
    for name, obj in plugins:
        manager.add_module(obj, name=name)
    return manager, stderr


def logging_impl(log: list[str], tag: str, **opts: Any) -> SimpleNamespace:
    @hookimpl(**opts)
    def register_models(register):
        log.append(tag)
        register(model(f"m-{tag}"))

    return plugin(register_models)


# ------------------------------------------------------------------ order
def test_call_order_is_pluggys() -> None:
    specs = [("a", {}), ("b", {"tryfirst": True}), ("c", {}), ("d", {"trylast": True}),
             ("e", {})]
    ours: list[str] = []
    manager, _ = manager_with(*[(t, logging_impl(ours, t, **o)) for t, o in specs])
    manager.records("models")

    theirs: list[str] = []
    reference = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    reference.add_hookspecs(hookspecs)
    for tag, opts in specs:
        reference.register(logging_impl(theirs, tag, **opts), name=tag)
    reference.hook.register_models(register=lambda record: None)

    assert ours == theirs == ["b", "e", "c", "a", "d"]
    assert all(manager.plugin(t).status == "ok" for t, _ in specs)


# --------------------------------------------------------------- wrappers
def test_new_style_wrapper_runs_around_the_call_and_may_change_the_result() -> None:
    events: list[Any] = []

    @hookimpl(wrapper=True)
    def register_models(register):
        events.append("wrapper before")
        result = yield
        events.append(("wrapper after", list(result)))
        register(model("from-wrapper"))
        return [*result, "wrapped"]

    @hookimpl
    def plain(register):
        events.append("plain")
        return "plain result"

    manager, _ = manager_with(("wrap", plugin(register_models)),
                              ("plain", plugin(register_models=plain)))
    assert manager.call_hook("register_models", register=lambda r: None) == [
        "plain result", "wrapped"]
    assert events == ["wrapper before", "plain", ("wrapper after", ["plain result"])]
    assert manager.plugin("wrap").status == "ok"
    assert manager.records("models")["from-wrapper"].plugin == "wrap"


def test_old_style_hookwrapper_runs_around_the_call() -> None:
    events: list[Any] = []

    @hookimpl(hookwrapper=True)
    def register_models(register):
        events.append("before")
        outcome = yield
        events.append(("after", outcome.get_result()))
        outcome.force_result(["forced"])

    log: list[str] = []
    manager, _ = manager_with(("old", plugin(register_models)), ("p", logging_impl(log, "p")))
    assert manager.call_hook("register_models", register=lambda r: None) == ["forced"]
    assert events == ["before", ("after", [])] and log == ["p"]
    assert manager.plugin("old").status == "ok"


def test_a_wrapper_that_is_not_a_generator_is_refused() -> None:
    @hookimpl(wrapper=True)
    def register_models(register):
        return None

    manager, stderr = manager_with(("flat", plugin(register_models)))
    info = manager.plugin("flat")
    assert info.status == "error" and "generator" in (info.error or "")
    assert manager.records("models") == {}


@pytest.mark.parametrize(
    ("body", "message"),
    [("raise_before", "boom before"), ("raise_after", "boom after"),
     ("no_yield", "did not yield"), ("two_yields", "yielded twice")],
)
def test_a_broken_wrapper_drops_its_plugin_alone(body: str, message: str) -> None:
    @hookimpl(wrapper=True)
    def register_models(register):
        register(model("wrapper-record"))
        if body == "raise_before":
            raise RuntimeError("boom before")
        if body == "no_yield":
            return
        result = yield
        if body == "raise_after":
            raise RuntimeError("boom after")
        if body == "two_yields":
            yield
        return result

    log: list[str] = []
    manager, stderr = manager_with(("inner", logging_impl(log, "inner")),
                                   ("wrap", plugin(register_models)))
    records = manager.records("models")
    assert set(records) == {"m-inner"}  # what the wrapper registered is dropped
    assert log == ["inner"]
    assert manager.plugin("inner").status == "ok"
    wrap = manager.plugin("wrap")
    assert wrap.status == "error" and message in (wrap.error or "")
    assert "plugin 'wrap' skipped (error)" in stderr.getvalue()
    assert manager.hook_implementers("register_models") == ["inner"]


def test_a_raising_implementation_inside_a_wrapper_drops_its_plugin_alone() -> None:
    seen: list[Any] = []

    @hookimpl(wrapper=True)
    def register_models(register):
        result = yield
        seen.append(result)
        return result

    @hookimpl
    def raising(register):
        register(model("half"))
        raise ValueError("bad plugin")

    log: list[str] = []
    manager, _ = manager_with(("good", logging_impl(log, "good")),
                              ("bad", plugin(register_models=raising)),
                              ("wrap", plugin(register_models)))
    assert set(manager.records("models")) == {"m-good"}
    assert seen == [[]]
    assert [manager.plugin(n).status for n in ("good", "bad", "wrap")] == ["ok", "error", "ok"]
    assert "ValueError: bad plugin" in (manager.plugin("bad").error or "")


def test_strict_mode_raises_for_a_broken_wrapper() -> None:
    @hookimpl(wrapper=True)
    def register_models(register):
        yield
        raise RuntimeError("strict boom")

    manager, _ = manager_with(("wrap", plugin(register_models)), strict=True)
    with pytest.raises(PluginError, match="strict boom"):
        manager.records("models")


# ------------------------------------------------------ BaseException and Ctrl-C
@pytest.mark.parametrize(
    "exc", [SystemExit(3), KeyboardInterrupt(), GeneratorExit()], ids=lambda e: type(e).__name__
)
def test_base_exceptions_of_a_plugin_are_isolated(exc: BaseException) -> None:
    @hookimpl
    def register_models(register):
        raise exc

    log: list[str] = []
    manager, _ = manager_with(("other", logging_impl(log, "other")),
                              ("exits", plugin(register_models)))
    assert set(manager.records("models")) == {"m-other"}
    assert manager.plugin("exits").status == "error"
    assert type(exc).__name__ in (manager.plugin("exits").error or "")


@pytest.mark.skipif(not hasattr(signal, "raise_signal"), reason="needs signal.raise_signal")
def test_a_real_ctrl_c_still_stops_the_call() -> None:
    @hookimpl
    def register_models(register):
        signal.raise_signal(signal.SIGINT)
        for _ in range(500):  # the handler runs between bytecodes
            time.sleep(0.002)

    handler = signal.getsignal(signal.SIGINT)
    manager, _ = manager_with(("slow", plugin(register_models)))
    with pytest.raises(KeyboardInterrupt):
        manager.records("models")
    assert signal.getsignal(signal.SIGINT) is handler


def test_a_keyboard_interrupt_raised_in_a_worker_thread_is_isolated() -> None:
    import threading

    @hookimpl
    def register_models(register):
        raise KeyboardInterrupt

    log: list[str] = []
    manager, _ = manager_with(("other", logging_impl(log, "other")),
                              ("raises", plugin(register_models)))
    found: list[Any] = []
    worker = threading.Thread(target=lambda: found.append(manager.records("models")))
    worker.start()
    worker.join(30)
    assert found and set(found[0]) == {"m-other"}
    assert manager.plugin("raises").status == "error"


def test_sys_exit_in_a_hook_leaves_the_listing_commands_working() -> None:
    @hookimpl
    def register_models(register):
        sys.exit(0)

    manager, _ = manager_with(("exits", plugin(register_models)), defaults=True)
    app = build_app(manager)
    for args in (["plugins", "list", "--json"], ["hooks", "--json"], ["models", "list", "--json"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
        assert json.loads(result.stdout)
    rows = json.loads(CliRunner().invoke(app, ["plugins", "list", "--json"]).stdout)
    assert {r["name"]: r["status"] for r in rows} == {"exits": "error"}


# ------------------------------------------------------------- precedence
def test_core_records_keep_their_names() -> None:
    @hookimpl(tryfirst=True)
    def register_models(register):
        register(model("openai"))

    manager, stderr = manager_with(("usurper", plugin(register_models)), defaults=True)
    records = manager.records("models")
    assert records["openai"].plugin == "papercraft.builtin.models"
    assert records["usurper:openai"].plugin == "usurper"
    assert manager.record("models", "usurper:openai").factory == "json:loads"
    assert ("plugin 'usurper': models record 'openai' is already registered by "
            "'papercraft.builtin.models'") in stderr.getvalue()


def test_the_first_registered_keeps_a_name_and_the_warning_names_the_newcomer() -> None:
    def same(**opts: Any) -> SimpleNamespace:
        @hookimpl(**opts)
        def register_models(register):
            register(model("same"))

        return plugin(register_models)

    # pluggy calls the plugin registered last first
    manager, stderr = manager_with(("first", same()), ("second", same()))
    records = manager.records("models")
    assert records["same"].plugin == "second" and records["first:same"].plugin == "first"
    assert "plugin 'first': models record 'same' is already registered by 'second'" in (
        stderr.getvalue())
    # tryfirst claims the name
    manager, _ = manager_with(("first", same(tryfirst=True)), ("second", same()))
    assert manager.records("models")["same"].plugin == "first"


# ------------------------------------------------------------------ trace
def test_trace_uses_pluggys_monitoring_and_shows_the_call_order() -> None:
    @hookimpl(wrapper=True)
    def register_models(register):
        return (yield)

    log: list[str] = []
    manager, stderr = manager_with(("a", logging_impl(log, "a")), ("b", logging_impl(log, "b")),
                                   ("w", plugin(register_models)), trace=True)
    manager.records("models")
    lines = stderr.getvalue().splitlines()
    assert "papercraft: trace: register_models -> w (wrapper), b, a" in lines
    done = [ln for ln in lines if ln.startswith("papercraft: trace: register_models done in")]
    assert len(done) == 1 and "a " in done[0] and "b " in done[0]


def test_monitoring_sees_every_call() -> None:
    calls: list[tuple[str, list[str]]] = []
    manager, _ = manager_with(("a", logging_impl([], "a")))
    undo = manager.add_hookcall_monitoring(
        lambda name, impls, kwargs: calls.append((name, [i.plugin_name for i in impls])),
        lambda outcome, name, impls, kwargs: None,
    )
    manager.records("models")
    undo()
    manager.records("attention")
    assert calls == [("register_models", ["a"])]


# --------------------------------------------------------------- commands
def commands_plugin(fill: Callable[[Any], None]) -> SimpleNamespace:
    @hookimpl
    def register_commands(cli):
        fill(cli)

    return plugin(register_commands)


def add_group(name: str) -> Callable[[Any], None]:
    from papercraft.cli.groups import new_app

    def fill(cli: Any) -> None:
        sub = new_app(help="usurper")

        @sub.command("list")
        def usurped() -> None:
            print("usurped")

        cli.add_typer(sub, name=name)

    return fill


def add_command(path: str) -> Callable[[Any], None]:
    from papercraft.cli.groups import group

    def fill(cli: Any) -> None:
        *groups, name = path.split()
        target = cli
        for g in groups:
            target = group(target, g)

        @target.command(name)
        def command() -> None:
            print(f"plugin {path}")

    return fill


def replace_root_callback(cli: Any) -> None:
    @cli.callback()
    def root() -> None:
        pass


@pytest.mark.parametrize(
    ("fill", "message"),
    [
        (add_group("plugins"), "command 'plugins' is taken by the core"),
        (add_group("models"), "command 'models' is taken by the core"),
        (add_command("hooks"), "command 'hooks' is taken by the core"),
        (add_command("models list"), "command 'models list' is taken by the core"),
        (add_command("models serve"), "command 'models serve' is taken by the core"),
        (replace_root_callback, "replaces the callback of 'papercraft'"),
    ],
    ids=["plugins-group", "models-group", "hooks", "models-list", "models-serve", "callback"],
)
def test_a_plugin_cannot_shadow_a_core_command(fill: Callable[[Any], None], message: str
                                               ) -> None:
    manager, stderr = manager_with(("usurper", commands_plugin(fill)),
                                   ("fine", commands_plugin(add_command("models perplexity"))),
                                   defaults=True)
    app = build_app(manager)
    info = manager.plugin("usurper")
    assert info.status == "error" and message in (info.error or ""), info.error
    assert "core commands win" in (info.error or "") or "callback" in (info.error or "")
    rows = json.loads(CliRunner().invoke(app, ["plugins", "list", "--json"]).stdout)
    assert {r["name"]: r["status"] for r in rows} == {"usurper": "error", "fine": "ok"}
    for args in (["models", "list", "--json"], ["hooks", "--json"], ["models", "serve", "--help"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0 and "usurped" not in result.output, (args, result.output)
    assert "plugin models perplexity" in CliRunner().invoke(app, ["models", "perplexity"]).stdout
    assert manager.plugin_commands()["fine"] == ["models perplexity"]
    assert "usurper" not in manager.plugin_commands()


def test_between_plugins_the_first_registered_command_wins() -> None:
    manager, _ = manager_with(("first", commands_plugin(add_command("shared"))),
                              ("second", commands_plugin(add_command("shared"))))
    result = CliRunner().invoke(build_app(manager), ["shared"])
    assert result.stdout == "plugin shared\n"
    assert manager.plugin("second").status == "ok"  # called first (pluggy: last registered)
    assert "taken by plugin 'second'" in (manager.plugin("first").error or "")


def test_a_failing_wrapper_has_its_commands_undone_and_others_kept() -> None:
    @hookimpl(wrapper=True)
    def register_commands(cli):
        add_command("from-wrapper")(cli)
        yield
        raise RuntimeError("teardown boom")

    manager, _ = manager_with(("inner", commands_plugin(add_command("from-inner"))),
                              ("wrap", plugin(register_commands)))
    app = build_app(manager)
    assert CliRunner().invoke(app, ["from-inner"]).exit_code == 0
    assert CliRunner().invoke(app, ["from-wrapper"]).exit_code == 2
    assert manager.plugin("wrap").status == "error"
    assert manager.plugin_commands() == {"inner": ["from-inner"]}


def test_plugin_commands_are_the_paths_each_plugin_added() -> None:
    from papercraft.cli.groups import lazy_group

    def fill(cli: Any) -> None:
        add_command("arith energy")(cli)
        add_command("own-tool run")(cli)
        lazy_group(cli, "lazy-one", "A lazy group.", "json:loads")

    manager, _ = manager_with(("mine", commands_plugin(fill)), defaults=True)
    commands = manager.plugin_commands()  # no app built yet: a scratch app
    assert commands["mine"] == ["arith energy", "lazy-one", "own-tool"]
    core = set(commands["papercraft.builtin.commands"])
    assert {"plugins", "hooks", "tour", "arith", "eval", "demos", "models"} <= core
    assert "arith energy" not in core
    assert commands["papercraft.builtin.models"] == ["models cache", "models serve", "prompt"]
    assert "papercraft.builtin.demos" not in commands  # no register_commands

    app = build_app(manager, lazy=True)  # the lazy group stays unresolved
    shown = json.loads(CliRunner().invoke(app, ["plugins", "show", "mine", "--json"]).stdout)
    assert shown["commands"] == ["arith energy", "lazy-one", "own-tool"]
    demos = CliRunner().invoke(app, ["plugins", "show", "papercraft.builtin.demos", "--json"])
    assert json.loads(demos.stdout)["commands"] == []


# ------------------------------------------------------------------ names
def test_short_plugin_names_and_area_hook_filters() -> None:
    manager, _ = manager_with(("papercraft-short", logging_impl([], "s")), defaults=True)
    assert manager.plugin("short").name == "papercraft-short"
    assert manager.plugin("Papercraft_Short").name == "papercraft-short"
    app = build_app(manager)
    shown = CliRunner().invoke(app, ["plugins", "show", "short", "--json"])
    assert json.loads(shown.stdout)["name"] == "papercraft-short"
    for value in ("register_models", "models"):
        rows = json.loads(CliRunner().invoke(app, ["plugins", "list", "--json", "--hook",
                                                   value]).stdout)
        assert [r["name"] for r in rows] == ["papercraft-short"], value
    for value in ("demos", "register_demos"):
        result = CliRunner().invoke(app, ["plugins", "list", "--json", "--all", "--hook", value])
        assert [r["name"] for r in json.loads(result.stdout)] == ["papercraft.builtin.demos"]
    arith = CliRunner().invoke(app, ["plugins", "list", "--json", "--hook", "arith"])
    assert arith.exit_code == 0 and json.loads(arith.stdout) == []
    unknown = CliRunner().invoke(app, ["plugins", "list", "--hook", "nothing"])
    assert unknown.exit_code == 2 and "register_demos" in unknown.stderr


def test_only_accepts_short_names() -> None:
    manager = PluginManager.from_env({"PAPERCRAFT_PLUGINS": "tui"})
    names = [i.name for i in manager.plugins(include_default=False)]
    if not names:
        pytest.skip("papercraft-tui is not installed")
    assert names == ["papercraft-tui"]


def test_uninstall_takes_short_names() -> None:
    from papercraft.cli.plugins_cmd import _distribution

    manager, _ = manager_with(("papercraft-short", logging_impl([], "s")),
                              ("papercraft-two:second", logging_impl([], "t")), defaults=True)
    assert _distribution(manager, "short") == "papercraft-short"
    assert _distribution(manager, "papercraft-two:second") == "papercraft-two"
    assert _distribution(manager, "not-a-plugin") == "not-a-plugin"
    assert _distribution(manager, "papercraft.builtin.demos") == "papercraft.builtin.demos"
