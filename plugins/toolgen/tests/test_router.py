"""The toolgen router: tolerant argument parsing, and the agent loop on a tiny untrained model."""

from __future__ import annotations

from pathlib import Path

import pytest

from papercraft.errors import PapercraftError
from papercraft.models.base import GenerationParams
from papercraft.testing import make_manager
from papercraft.tools.agent import TrajectoryEntry, run_agent
from papercraft.tools.base import ListToolset, Tool, ToolResult
from papercraft.tools.execute import ToolExecutor
from papercraft.tools.resolve import load_router
from papercraft_toolgen import plugin
from papercraft_toolgen.router import ToolGenRouter, parse_arguments
from papercraft_toolgen.testing import save_tiny_toolgen

_DATA = {"type": "object", "properties": {"data": {"type": "array", "items": {"type": "number"},
                                                   "minItems": 1}},
         "required": ["data"]}
TOOLS = [
    Tool("statistics.mean", "Arithmetic mean of numbers.", _DATA, "statistics:mean",
         {"data": [1, 2, 3]}),
    Tool("statistics.median", "Median of numbers.", _DATA, "statistics:median",
         {"data": [1, 2, 3]}),
    Tool("calendar.isleap", "Whether a year is a leap year.",
         {"type": "object", "properties": {"year": {"type": "integer"}}, "required": ["year"]},
         "calendar:isleap", {"year": 2024}),
]
TOOLSET = ListToolset("mini", TOOLS, modules=("statistics", "calendar"))
PARAMS = GenerationParams(max_tokens=24)


@pytest.mark.parametrize(("text", "expected"), [
    ('{"data": [1, 2]}', {"data": [1, 2]}),
    ('sure: {"year": 2024} done', {"year": 2024}),
    ("{'year': 2024,}", {"year": 2024}),
    ('[1] {broken {"a": 1}', {"a": 1}),
    ("no json here", None),
    ("[1, 2]", None),
])
def test_parse_arguments(text: str, expected: dict | None) -> None:
    assert parse_arguments(text) == expected


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # the model knows one tool the toolset lacks: the router must never pick it
    names = [t.name for t in TOOLS] + ["os.remove"]
    return save_tiny_toolgen(tmp_path_factory.mktemp("toolgen"), names, initializer_range=0.5)


def test_agent_loop_never_crashes_and_picks_real_tools(model_dir: Path) -> None:
    router = ToolGenRouter(model_dir)
    with ToolExecutor() as executor:
        trajectory = run_agent("What is the mean of 2, 4 and 9?", router, None, executor,
                               TOOLSET, PARAMS, max_steps=3)
    assert trajectory.stop_reason in ("answered", "max_steps", "no_tool_call")
    kinds = [entry.step.kind for entry in trajectory.entries]
    assert trajectory.garbage == kinds.count("garbage")
    assert trajectory.calls == kinds.count("call")
    for entry in trajectory.entries:
        assert entry.step.raw.startswith("Thought:")
        if entry.step.kind == "garbage":
            assert entry.step.error
    # every tool it named (in a call or in garbage raw text) is one of the toolset's
    named = [t for t in ("statistics.mean", "statistics.median", "calendar.isleap", "os.remove")
             if any(f"<<{t}>>" in entry.step.raw for entry in trajectory.entries)]
    assert named and "os.remove" not in named


def test_after_a_result_it_answers_or_acts(model_dir: Path) -> None:
    router = ToolGenRouter(model_dir)
    router.bind(TOOLSET)
    from papercraft.tools.agent import Step

    step = Step(thought="I should use statistics.mean.", tool="statistics.mean",
                arguments={"data": [2, 4, 9]}, raw="")
    history = [TrajectoryEntry(step, ToolResult("statistics.mean", {"data": [2, 4, 9]}, True,
                                                5.0, None, 0.01))]
    following = router.next_step("What is the mean of 2, 4 and 9?", history, None, PARAMS)
    assert following.kind in ("answer", "call", "garbage")
    if following.tool is not None:
        assert following.tool in {t.name for t in TOOLS}


def test_registered_router_needs_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          model_dir: Path) -> None:
    monkeypatch.setenv("PAPERCRAFT_HOME", str(tmp_path / "home"))
    manager = make_manager(plugin)
    with pytest.raises(PapercraftError, match="model_dir"):
        load_router(manager, "toolgen")
    with pytest.raises(PapercraftError):
        load_router(manager, "toolgen", model_dir=str(tmp_path / "missing"))
    assert isinstance(load_router(manager, "toolgen", model_dir=str(model_dir)), ToolGenRouter)


def test_toolset_without_model_tools(model_dir: Path) -> None:
    other = ListToolset("other", [Tool("x.y", "d", {"type": "object"}, "x:y", {})])
    with pytest.raises(PapercraftError, match="knows none"):
        ToolGenRouter(model_dir).bind(other)
