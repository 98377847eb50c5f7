"""The ``toolgen`` demo: tool tokens on SmolLM2, constrained retrieval, one agent answer.

1. Pre-training check: every stdlib tool gets one token on SmolLM2-135M; ``<<math.gcd>>``
   encodes to a single id whose embedding is the mean of the subword embeddings of
   ``math gcd``.
2. Constrained retrieval with that UNTRAINED model: beam search under the tool trie returns
   five distinct tools, each an existing one, where unconstrained greedy decoding does not
   produce a tool token at all.
3. One agent answer: the in-context router (BM25 picks the tools shown to the model) runs
   SmolLM2 through :func:`papercraft.tools.agent.run_agent` over the stdlib toolset.
4. When a trained ToolGen folder exists at ``PAPERCRAFT_HOME/toolgen/default``, its retrieval
   for the same query.
"""

from __future__ import annotations

from typing import Any

from papercraft.demos import DemoContext, DemoResult

MODEL = "smollm2"
QUERY = "What is the greatest common divisor of 84 and 36?"
QUESTION = "What is the greatest common divisor of 462 and 1071?"
K = 5
MAX_STEPS = 3


def _token_check(model: Any, tokenizer: Any, ids: dict[str, int]) -> dict[str, Any]:
    """One id for ``<<math.gcd>>`` and its embedding equal to the mean of its name's pieces."""
    import torch

    from papercraft_toolgen.tokens import name_words, tool_token

    name = "math.gcd" if "math.gcd" in ids else next(iter(ids))
    encoded = tokenizer(tool_token(name), add_special_tokens=False)["input_ids"]
    pieces = tokenizer(name_words(name), add_special_tokens=False)["input_ids"]
    weights = model.get_input_embeddings().weight.detach()
    mean = weights[torch.tensor(pieces)].mean(dim=0)
    gap = float((weights[ids[name]] - mean).abs().max())
    return {"tool": name, "token": tool_token(name), "ids": encoded, "pieces": len(pieces),
            "one_id": encoded == [ids[name]], "mean_init_max_abs_gap": gap,
            "tokens_added": len(ids)}


def _greedy_is_tool(model: Any, tokenizer: Any, query: str, ids: dict[str, int]) -> bool:
    import torch

    from papercraft_toolgen.retrieve import prompt_ids

    with torch.no_grad():
        logits = model(torch.tensor([prompt_ids(tokenizer, query)])).logits[0, -1]
    return int(logits.argmax()) in set(ids.values())


def _agent_answer(ctx: DemoContext) -> dict[str, Any]:
    from papercraft.models.base import GenerationParams
    from papercraft.models.resolve import open_model
    from papercraft.tools.agent import run_agent
    from papercraft.tools.execute import ToolExecutor
    from papercraft.tools.resolve import load_router, load_toolset

    model = open_model(ctx.manager, MODEL)
    try:
        with ToolExecutor() as executor:
            trajectory = run_agent(QUESTION, load_router(ctx.manager, "in-context"), model,
                                   executor, load_toolset(ctx.manager, "stdlib"),
                                   GenerationParams(max_tokens=128, temperature=0.0),
                                   max_steps=MAX_STEPS)
    finally:
        model.close()
    tools = [e.step.tool for e in trajectory.entries if e.step.tool]
    return {"question": QUESTION, "answer": trajectory.answer, "tools": tools,
            "stop_reason": trajectory.stop_reason, "calls": trajectory.calls,
            "garbage": trajectory.garbage}


def _trained(query: str) -> list[str] | None:
    from papercraft.paths import home
    from papercraft_toolgen.retrieve import retrieve_tools
    from papercraft_toolgen.tokens import META_FILE

    folder = home() / "toolgen" / "default"
    if not (folder / META_FILE).is_file():
        return None
    return retrieve_tools(folder, query, K)


def run(ctx: DemoContext) -> DemoResult:
    """Token check, untrained constrained retrieval, one in-context agent answer."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from papercraft.tools.resolve import load_toolset
    from papercraft_hf.loading import quiet_transformers, smollm2_dir
    from papercraft_toolgen.retrieve import ToolGenRetriever
    from papercraft_toolgen.tokens import add_tool_tokens

    tools = load_toolset(ctx.manager, "stdlib").tools()
    folder = smollm2_dir()
    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype="float32")
    model.eval()
    ids = add_tool_tokens(model, tokenizer, tools)
    check = _token_check(model, tokenizer, ids)
    ctx.log(f"{check['tokens_added']} tool tokens; {check['token']} -> {check['ids']}, "
            f"mean-init gap {check['mean_init_max_abs_gap']:.1e}")
    hits = ToolGenRetriever(model, tokenizer, ids).search(QUERY, K)
    names = [hit.name for hit in hits]
    real = sum(1 for name in names if name in ids)
    greedy_tool = _greedy_is_tool(model, tokenizer, QUERY, ids)
    ctx.log(f"untrained top-{K}: {', '.join(names)} ({real}/{K} real tools)")
    del model
    agent = _agent_answer(ctx)
    ctx.log(f"in-context agent: {agent['tools']} -> {agent['answer']!r} ({agent['stop_reason']})")
    trained = _trained(QUERY)
    if trained is not None:
        ctx.log(f"trained ToolGen top-{K}: {', '.join(trained)}")
    figure = (f"1 id for {check['token']}, mean init ok={check['mean_init_max_abs_gap'] < 1e-5}; "
              f"untrained top-{K}: {real}/{K} real tools; agent: {agent['answer']!r}")
    return DemoResult(
        figure=figure,
        value=real / K,
        details={"token_check": check, "query": QUERY, "untrained_top_k": names,
                 "untrained_greedy_is_tool": greedy_tool, "agent": agent,
                 "trained_top_k": trained},
    )
