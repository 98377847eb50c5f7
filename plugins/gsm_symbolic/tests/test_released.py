"""``-p released=PATH``: Apple's generated_data rows evaluated as they are; bad files exit 2.

The fixtures are written here in the released format (fields id, instance, question, answer,
original_id, original_question, original_answer, canary) with our own text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from papercraft.cli.main import build_app
from papercraft.errors import PapercraftError
from papercraft.models.base import Completion, GenerationParams, Message, Model
from papercraft.testing import make_manager
from papercraft_gsm_symbolic import plugin
from papercraft_gsm_symbolic.released import final_number, read_released
from papercraft_gsm_symbolic.task import m1_task, noop_task, p1_task, symbolic_task

CANARY = "canary GUID 00000000-0000-4000-8000-000000000000"  # a made-up marker


def row(tid: int, instance: int, apples: int, eaten: int) -> dict:
    """One row in the released format: a template ``tid`` instance, with its GSM8K original."""
    left = apples - eaten
    return {
        "id": tid,
        "instance": instance,
        "question": f"Tom has {apples} apples (problem {tid}). He eats {eaten}. How many are left?",
        "answer": f"He has {apples} - {eaten} = <<{apples}-{eaten}={left}>>{left} left.\n"
                  f"#### {left:,}",
        "original_id": 100 + tid,
        "original_question": f"Ana has 10 pears (problem {tid}). She eats 3. How many are left?",
        "original_answer": "She has 10 - 3 = <<10-3=7>>7 left.\n#### 7",
        "canary": CANARY,
    }


Writer = Callable[..., Path]


@pytest.fixture
def released(tmp_path: Path) -> Writer:
    """``released(rows, name=...)`` writes a JSONL file (dicts as JSON, strings as they are)."""

    def write(rows: list, name: str = "GSM_symbolic.jsonl") -> Path:
        path = tmp_path / name
        path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n"
                                for r in rows), encoding="utf-8")
        return path

    return write


def three_by_two(released: Writer, name: str = "GSM_symbolic.jsonl") -> Path:
    rows = [row(tid, i, 2000 + 10 * tid + i, 5) for i in (1, 0) for tid in (7, 2, 5)]
    return released(rows, name)


def test_samples_are_the_file_rows(released: Writer) -> None:
    path = three_by_two(released)
    task = symbolic_task(released=str(path))
    samples = task.samples()
    assert [s.id for s in samples] == [
        "symbolic/0007/original", "symbolic/0002/original", "symbolic/0005/original",
        "symbolic/0007/0", "symbolic/0002/0", "symbolic/0005/0",
        "symbolic/0007/1", "symbolic/0002/1", "symbolic/0005/1"]
    assert [s.target for s in samples] == ["7"] * 3 + ["2065", "2015", "2045",
                                                       "2066", "2016", "2046"]
    first = samples[3]
    assert first.metadata["set"] == "0" and first.metadata["original_id"] == "107"
    assert first.prompt.startswith("As an expert problem solver")
    assert first.prompt.endswith("Q: Tom has 2070 apples (problem 7). He eats 5. How many are "
                                 "left?\nA: Let's think step by step.")
    assert "Ana has 10 pears (problem 7)" in samples[0].prompt
    config = task.config()
    assert config["released"] == str(path) and config["templates"] is None
    assert config["instances"] is None and config["seed"] is None


def test_selecting_sets_templates_and_originals(released: Writer) -> None:
    path = str(three_by_two(released))
    assert [s.id for s in symbolic_task(released=path, instances="1",
                                        include_original="false").samples()] == [
        "symbolic/0007/0", "symbolic/0002/0", "symbolic/0005/0"]
    assert [s.id for s in symbolic_task(released=path, template_ids="0005,2").samples()] == [
        "symbolic/0002/original", "symbolic/0005/original", "symbolic/0002/0",
        "symbolic/0005/0", "symbolic/0002/1", "symbolic/0005/1"]
    assert len(symbolic_task(released=path, max_templates="1").samples()) == 3
    with pytest.raises(PapercraftError, match="no id 9 in"):
        symbolic_task(released=path, template_ids="9").samples()


def test_scores_against_the_number_after_the_hashes(released: Writer) -> None:
    task = symbolic_task(released=str(three_by_two(released)))
    sample = task.samples()[3]
    assert task.score(task.parse("so 2,065 are left. The final answer is 2,065.", sample),
                      sample) == 1.0
    assert task.score(task.parse("The final answer is 2064.", sample), sample) == 0.0
    assert final_number("x\n#### 1,250.5") == "1250.5" and final_number("#### ?") is None


def test_other_variants_and_apple_file_names(released: Writer) -> None:
    p1 = three_by_two(released, "GSM_p1.jsonl")
    assert {s.metadata["variant"] for s in p1_task(released=str(p1)).samples()} == {"p1"}
    with pytest.raises(PapercraftError, match="Apple's p1 instances: evaluate it with gsm-p1, "
                       "not gsm-symbolic") as info:
        symbolic_task(released=str(p1))
    assert info.value.exit_code == 2
    symbolic = three_by_two(released)
    for factory in (noop_task, m1_task):
        with pytest.raises(PapercraftError, match="released generated data for GSM-Symbolic, "
                           "P1 and P2 only"):
            factory(released=str(symbolic))
    own = three_by_two(released, "my_noop.jsonl")  # a file of one's own in the same format
    assert noop_task(released=str(own)).samples()[0].id == "noop/0007/original"


BAD_ROWS = [
    (["{not json"], r"GSM_symbolic.jsonl:1: not valid JSON"),
    (["[1, 2]"], r":1: a line must be a JSON object, got list"),
    ([row(1, 0, 9, 2), {k: v for k, v in row(1, 1, 9, 2).items() if k not in ("answer", "id")}],
     r":2: missing field\(s\) id, answer \(a row needs id, instance"),
    ([{**row(1, 0, 9, 2), "answer": "seven"}], r":1: 'answer' must end with '#### <number>'"),
    ([{**row(1, 0, 9, 2), "original_answer": "7"}], r"'original_answer' must end with"),
    ([{**row(1, 0, 9, 2), "instance": -1}], r"'instance' must be a whole number >= 0"),
    ([{**row(1, 0, 9, 2), "question": ""}], r"'question' must be a non-empty string"),
    ([{**row(1, 0, 9, 2), "id": [1]}], r"'id' must be a number or a string"),
    ([row(1, 0, 9, 2), "", {**row(1, 0, 8, 2), "id": "0001"}],
     r":3: id 1 instance 0 again \(first on line 1\)"),
    ([""], r"holds no rows"),
]


@pytest.mark.parametrize(("rows", "message"), BAD_ROWS)
def test_bad_rows_are_one_line_exit_2(released: Writer, rows: list, message: str) -> None:
    path = released(rows)
    with pytest.raises(PapercraftError, match=message) as info:
        read_released(path)
    assert info.value.exit_code == 2 and "\n" not in str(info.value)


def test_bad_paths_and_clashing_parameters(tmp_path: Path, released: Writer) -> None:
    with pytest.raises(PapercraftError, match="no such file") as info:
        symbolic_task(released=str(tmp_path / "GSM_symbolic.jsonl"))
    assert info.value.exit_code == 2
    with pytest.raises(PapercraftError, match="is a folder"):
        symbolic_task(released=str(tmp_path))
    path = str(three_by_two(released))
    with pytest.raises(PapercraftError, match="drop -p templates, -p seed"):
        symbolic_task(released=path, templates="builtin", seed="3")
    (tmp_path / "latin1.jsonl").write_bytes(b'{"id": "\xe9"}\n')
    with pytest.raises(PapercraftError, match="not UTF-8"):
        symbolic_task(released=str(tmp_path / "latin1.jsonl")).samples()


def test_command_line_error_is_one_line(tmp_path: Path, released: Writer) -> None:
    app = build_app(make_manager(plugin))
    bad = released([{k: v for k, v in row(1, 0, 9, 2).items() if k != "original_question"}])
    for path, message in ((tmp_path / "missing.jsonl", "no such file"),
                          (bad, "missing field(s) original_question")):
        result = CliRunner().invoke(app, ["eval", "run", "gsm-symbolic", "-m", "openai:x",
                                          "-p", f"released={path}", "--out",
                                          str(tmp_path / "run")], prog_name="papercraft")
        assert result.exit_code == 2, result.output
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and message in lines[0], result.output
        assert "Traceback" not in result.output


class Reader(Model):
    """Answers the number of apples in the question minus 5 (right for every released row)."""

    model_id = "reader"

    def generate(self, conversations: Sequence[Sequence[Message]],
                 params: GenerationParams) -> list[Completion]:
        out = []
        for conversation in conversations:
            question = conversation[-1]["content"].rsplit("Q: ", 1)[1]
            apples = int(question.split()[2])
            out.append(Completion(text=f" The final answer is {apples - 5}.", model=self.model_id))
        return out


def test_runs_through_the_core_runner(tmp_path: Path, released: Writer) -> None:
    runner = pytest.importorskip("papercraft.evaluation.runner")
    path = str(three_by_two(released))
    task = symbolic_task(released=path)
    settings = runner.RunSettings(benchmark="gsm-symbolic", model="reader",
                                  params={"released": path}, concurrency=2)
    results = runner.Evaluation.prepare(task, settings, tmp_path / "run").run(Reader())
    metrics = results["task_metrics"]
    assert metrics["accuracy_by_set"] == {"0": 1.0, "1": 1.0} and metrics["sets"] == 2
    assert metrics["symbolic_accuracy"] == 1.0 and metrics["original_samples"] == 3
    assert metrics["original_accuracy"] == 0.0 and metrics["drop"] == -1.0  # 10 - 5 != 7
    assert results["n"] == 9 and results["config"]["params"]["released"] == path
