"""The lmul tour demo with only the lmul plugin installed: the arithmetic half runs alone."""

from __future__ import annotations

from pathlib import Path

from papercraft.demos import DemoContext, DemoResult
from papercraft.plugins import PluginManager
from papercraft_lmul import demo, plugin


def lmul_only() -> PluginManager:
    """The core's plugins and lmul; no model is registered (papercraft-hf is absent)."""
    manager = PluginManager(only=[])
    manager.load_defaults()
    manager.add_module(plugin, name="papercraft-lmul")
    return manager


def test_demo_without_a_model_skips_perplexity(tmp_path: Path) -> None:
    manager = lmul_only()
    assert "smollm2" not in manager.records("models")
    messages: list[str] = []
    ctx = DemoContext(out_dir=tmp_path, log=messages.append, manager=manager)
    result = demo.run(ctx, samples=20_000)
    assert isinstance(result, DemoResult)
    errors = result.details["mean_rel_error"]
    assert set(errors) == {"lmul-3", "lmul-4", "fp8-e4m3", "fp8-e5m2"}
    assert all(0 < e < 0.1 for e in errors.values()), errors
    assert errors["lmul-4"] < errors["lmul-3"]  # one more mantissa bit, a smaller error
    reason = result.details["perplexity_skipped"]
    assert "smollm2" in reason and "papercraft-hf" in reason
    assert "perplexity" not in result.details and result.value is None
    assert result.figure.startswith("rel.err lmul-3 ") and f"ppl skipped: {reason}" in result.figure
    assert any("skipped" in m for m in messages)


def test_demo_uses_the_context_manager(tmp_path: Path) -> None:
    """A manager without the fp8 multipliers makes the demo fail: it does not build its own."""
    manager = PluginManager(only=[])
    manager.load_defaults()
    ctx = DemoContext(out_dir=tmp_path, manager=manager)
    try:
        demo.run(ctx, samples=1000)
    except KeyError as exc:
        assert "lmul-3" in str(exc)
    else:
        raise AssertionError("the demo ran without the lmul multipliers in its manager")
