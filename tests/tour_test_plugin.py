"""A test plugin whose demos look at their context and write a figure, used by test_tour."""

from __future__ import annotations

from papercraft import hookimpl
from papercraft.demos import DemoContext, DemoResult
from papercraft.registry import DemoRecord

PAPERCRAFT_API_VERSION = "1.0"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@hookimpl
def register_demos(register) -> None:
    register(DemoRecord(name="t-context", summary="c", run="tour_test_plugin:context_demo",
                        shows="its context"))
    register(DemoRecord(name="t-figures", summary="f", run="tour_test_plugin:figures_demo",
                        shows="a | b"))


def context_demo(ctx: DemoContext) -> DemoResult:
    """Report which plugin manager the demo was handed and what it holds."""
    demos = sorted(ctx.manager.records("demos"))
    return DemoResult(figure=f"{len(demos)} demos",
                      details={"manager_id": id(ctx.manager), "demos": demos})


def figures_demo(ctx: DemoContext) -> DemoResult:
    """Write a PNG and a text file; also name a PNG that was never written."""
    (ctx.out_dir / "curve.png").write_bytes(PNG_SIGNATURE)
    (ctx.out_dir / "sub").mkdir()
    (ctx.out_dir / "sub" / "bars.PNG").write_bytes(PNG_SIGNATURE)
    (ctx.out_dir / "notes.txt").write_text("notes")
    return DemoResult(
        figure="x | y",
        files=[str(ctx.out_dir / "curve.png"), "sub/bars.PNG", "notes.txt", "missing.png"],
    )
