"""Core demo: how fast the command line starts with every installed plugin."""

from __future__ import annotations

from papercraft.hookspecs import hookimpl
from papercraft.registry import DemoRecord


@hookimpl
def register_demos(register) -> None:
    register(
        DemoRecord(
            name="startup",
            summary="Median start-up of `papercraft --help` versus `import typer, pluggy`.",
            run="papercraft.builtin.demos:run_startup_demo",
            shows="--help start-up / bare import time",
            full_command="python bench/startup.py --runs 30",
        )
    )


def run_startup_demo(ctx):
    """Time both commands a few times and report the ratio."""
    from papercraft.demos import DemoResult
    from papercraft.startup import measure_startup

    ctx.log("timing papercraft --help against import typer, pluggy")
    timing = measure_startup(runs=7)
    return DemoResult(
        figure=f"{timing.ratio:.2f}x ({timing.help_median * 1000:.0f} ms vs "
        f"{timing.baseline_median * 1000:.0f} ms)",
        value=timing.ratio,
        details={
            "help_median_s": timing.help_median,
            "baseline_median_s": timing.baseline_median,
            "runs": timing.runs,
            "goal": "ratio <= 1.5",
        },
    )
