"""The ``longctx-rag`` demo: a small curve on SmolLM2 with BM25 (k = 1, 5, 10, vanilla/reorder).

8 shipped questions (every category represented) x 3 values of k x 2 strategies, each cell a
``rag-qa`` run folder under the demo's folder, answered greedily in at most 48 tokens. At k = 1
both strategies show the same prompt, so the second is a cache hit. The full curve is
``full_command``.
"""

from __future__ import annotations

from typing import Any

from papercraft.demos import DemoContext, DemoResult

MODEL = "smollm2"
KS = (1, 5, 10)
STRATEGIES = ("vanilla", "reorder")
LIMIT = 8


def _figure(document: dict[str, Any]) -> str:
    """``vanilla 0.42/0.50/0.33, reorder 0.42/0.58/0.42 at k=1/5/10``."""
    ks = document["ks"]
    parts = []
    for strategy in STRATEGIES:
        by_k = {c["k"]: c["accuracy"] for c in document["cells"] if c["strategy"] == strategy}
        parts.append(f"{strategy} " + "/".join(
            "n/a" if by_k.get(k) is None else f"{by_k[k]:.2f}" for k in ks))
    return ", ".join(parts) + f" at k={'/'.join(str(k) for k in ks)}"


def run(ctx: DemoContext) -> DemoResult:
    """Run the demo-sized curve and report accuracy per k for both strategies."""
    from papercraft.models.cached import CachedModel
    from papercraft.models.resolve import open_model
    from papercraft_longctx_rag.study import make_plan, run_study, series_table

    plan = make_plan(ctx.manager, "curve", retrievers=["bm25"], ks=list(KS),
                     strategies=list(STRATEGIES), settings=["clean"], model=MODEL,
                     out=ctx.out_dir, limit=LIMIT)
    model = CachedModel(open_model(ctx.manager, MODEL))
    try:
        ctx.log(f"{len(plan.cells)} cells x {LIMIT} questions on {MODEL} (bm25)")
        document = run_study(plan, model, ctx.manager, log=ctx.log)
    finally:
        model.close()
    columns, rows = series_table(document)
    reorder_at_max = next(c["accuracy"] for c in document["cells"]
                          if c["strategy"] == "reorder" and c["k"] == max(document["ks"]))
    return DemoResult(
        figure=_figure(document),
        value=reorder_at_max,
        details={"model": MODEL, "questions": LIMIT, "columns": columns, "rows": rows,
                 "cells": document["cells"]},
        files=[str(ctx.out_dir / "curve.json"), str(ctx.out_dir / "curve.png")],
    )
