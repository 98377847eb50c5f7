"""The paper's prompt: its opening line, then the shots (ours or ``-p shots=FILE``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from papercraft.errors import PapercraftError
from papercraft_gsm_symbolic.prompt import INTRO, build_prompt
from papercraft_gsm_symbolic.shots import exemplar_answer, read_shots
from papercraft_gsm_symbolic.task import symbolic_task

SHOTS = [  # GSM8K's format (calculator notes, '#### N'), our own text
    {"question": "A box holds 4 rows of 3 eggs. How many eggs are in the box?",
     "answer": "There are 4 * 3 = <<4*3=12>>12 eggs.\n#### 12"},
    {"question": "Mia had 9 stickers and gave away 4. How many does she have?",
     "answer": "Let's think step by step. She has 9 - 4 = 5 stickers left. The answer is 5."},
]


def write(tmp_path: Path, rows: list, name: str = "shots.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def test_the_paper_prompt_layout() -> None:
    prompt = build_prompt("How many?", 1, [("Q one?", "It is 2. The final answer is 2.")])
    assert prompt == (f"{INTRO}\n\nQ: Q one?\nA: Let's think step by step. It is 2. The final "
                      "answer is 2.\n\nQ: How many?\nA: Let's think step by step.")
    assert INTRO == ("As an expert problem solver, solve step by step the following "
                     "mathematical questions.")


@pytest.mark.parametrize(
    ("answer", "converted"),
    [
        ("There are 4 * 3 = <<4*3=12>>12 eggs.\nSo 12.\n#### 12",
         "There are 4 * 3 = 12 eggs. So 12. The final answer is 12."),
        ("It costs 1,200 dollars.\n#### 1,200",
         "It costs 1,200 dollars. The final answer is 1200."),
        ("So 6 - 2 = 4. The answer is 4.", "So 6 - 2 = 4. The answer is 4. The final answer is 4."),
        ("Let's think step by step. 2 + 2 = 4. The final answer is 4.",
         "2 + 2 = 4. The final answer is 4."),
    ],
)
def test_exemplar_answers_end_the_papers_way(answer: str, converted: str) -> None:
    assert exemplar_answer(answer) == converted


def test_shots_file_in_the_task(tmp_path: Path) -> None:
    path = write(tmp_path, SHOTS)
    task = symbolic_task(instances="1", max_templates="1", shots=str(path))
    prompt = task.samples()[1].prompt
    assert prompt.startswith(f"{INTRO}\n\nQ: A box holds 4 rows of 3 eggs.")
    assert ("A: Let's think step by step. There are 4 * 3 = 12 eggs. The final answer is 12."
            in prompt)
    assert "She has 9 - 4 = 5 stickers left. The answer is 5. The final answer is 5." in prompt
    assert prompt.count("Q: ") == 3 and prompt.count("Let's think step by step.") == 3
    assert "A baker fills" not in prompt  # ours are not used
    assert task.config()["shots"] == 2 and task.config()["shots_file"] == str(path)
    assert read_shots(path)[0][0] == SHOTS[0]["question"]
    assert symbolic_task(instances="1", max_templates="1").config()["shots_file"] is None


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"question": "How many?"}], r"shots.jsonl:1: missing field\(s\) answer"),
        ([SHOTS[0], {"question": "How many?", "answer": "none at all"}],
         r"shots.jsonl:2: the answer has no number"),
        ([{"question": "How many?", "answer": "x\n#### many"}], r"no number after '####'"),
        ([{"question": "", "answer": "#### 1"}], r"'question' must be a non-empty string"),
        (["{oops"], r"shots.jsonl:1: not valid JSON"),
        ([], r"holds no rows"),
    ],
)
def test_bad_shots_files(tmp_path: Path, rows: list, message: str) -> None:
    path = write(tmp_path, rows)
    with pytest.raises(PapercraftError, match=message) as info:
        symbolic_task(shots=str(path))
    assert info.value.exit_code == 2
    with pytest.raises(PapercraftError, match="no such file"):
        symbolic_task(shots=str(tmp_path / "missing.jsonl"))
