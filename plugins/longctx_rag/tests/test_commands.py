"""``papercraft longctx-rag curve|negatives``: table or JSON, files, resume, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from longctx_helpers import MODELS, ScriptedPlugin
from typer.testing import CliRunner

from papercraft.cli.main import build_app
from papercraft.testing import make_manager
from papercraft_longctx_rag import plugin


def invoke(*args: str):
    app = build_app(make_manager(plugin, ScriptedPlugin()))
    return CliRunner().invoke(app, ["longctx-rag", *args], prog_name="papercraft")


def data_args(qa_files: tuple[Path, Path]) -> list[str]:
    return ["--corpus", str(qa_files[0]), "--questions", str(qa_files[1])]


def test_curve_json_files_and_resume(qa_files, home, tmp_path) -> None:
    out = tmp_path / "curve"
    args = ["curve", *data_args(qa_files), "--k", "1,3,40", "-m", "scripted-last",
            "--out", str(out), "--json"]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["study"] == "curve" and document["ks"] == [1, 3, 16]
    assert [c["series"] for c in document["cells"]] == (
        ["vanilla / bm25"] * 3 + ["reorder / bm25"] * 3)
    assert "Note: k = 40 capped to 16: the corpus has only 16 passages." in result.stderr
    assert "Paper (Jin et al. 2024, arXiv 2410.05983):" in result.stderr
    assert json.loads((out / "curve.json").read_text()) == document
    assert (out / "curve.png").read_bytes().startswith(b"\x89PNG")
    calls = len(MODELS["scripted-last"].prompts)
    assert calls == 6 * 8 - 8  # reorder at k=1 is vanilla's prompt: a cache hit
    again = invoke(*args)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["cells"] == document["cells"]
    assert len(MODELS["scripted-last"].prompts) == calls  # every cell read from its folder
    assert "finished earlier" in again.stderr


def test_curve_table(qa_files, home, tmp_path) -> None:
    result = invoke("curve", *data_args(qa_files), "--k", "1,5", "-m", "scripted-last",
                    "--out", str(tmp_path / "c"), "--limit", "4")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "curve: rag-qa accuracy ± stderr, scripted-last, 4 questions"
    assert lines[1].split() == ["strategy", "/", "retriever", "k=1", "k=5", "n"]
    assert lines[2].split()[:3] == ["vanilla", "/", "bm25"] and lines[2].split()[-1] == "4"
    assert lines[3].split()[:3] == ["reorder", "/", "bm25"]


def test_negatives(qa_files, home, tmp_path) -> None:
    out = tmp_path / "neg"
    result = invoke("negatives", *data_args(qa_files), "--k", "1,4", "-m", "scripted-first",
                    "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["settings"] == ["gold-hard", "gold-random"]
    assert {c["accuracy"] for c in document["cells"] if c["k"] == 1} == {1.0}
    assert (out / "negatives.json").is_file() and (out / "negatives.png").is_file()
    assert "hard negatives" in result.stderr


def test_unknown_retriever_is_one_line(qa_files, home, tmp_path) -> None:
    result = invoke("curve", *data_args(qa_files), "--retriever", "bm25,minilm",
                    "-m", "scripted-last", "--out", str(tmp_path / "x"))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "Error: unknown retriever 'minilm'; available: bm25"]
    assert not (tmp_path / "x").exists()


def test_bad_k_and_missing_corpus(qa_files, home, tmp_path) -> None:
    result = invoke("curve", *data_args(qa_files), "--k", "0,5", "-m", "scripted-last")
    assert result.exit_code == 2
    assert "--k values must be at least 1, got 0" in result.stderr
    result = invoke("curve", "--corpus", str(tmp_path / "nope.jsonl"), "-m", "scripted-last")
    assert result.exit_code == 2
    assert "nope.jsonl" in result.stderr and "Traceback" not in result.output


def test_a_ctxs_dataset(home, tmp_path) -> None:
    """An NQ-style file (question, answers, ctxs) instead of a corpus and a question file."""
    from longctx_helpers import passages, questions

    by_id = {p["id"]: p for p in passages()}
    rows = [{"question": q["question"], "answers": q["answers"],
             "ctxs": [{"id": pid, "title": by_id[pid]["title"], "text": by_id[pid]["text"],
                       "has_answer": pid in q["gold_ids"]}
                      for pid in (q["gold_ids"][0], q["gold_ids"][0].replace("gold", "near"))]}
            for q in questions()]
    dataset = tmp_path / "nq.jsonl"
    dataset.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = invoke("curve", "--dataset", str(dataset), "--k", "1,2,99", "-m", "scripted-first",
                    "--out", str(tmp_path / "d"), "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["ks"] == [1, 2, 16] and document["corpus_size"] == 16
    assert all(c["n"] == 8 for c in document["cells"])
    both = invoke("curve", "--dataset", str(dataset), *data_args((dataset, dataset)))
    assert both.exit_code == 2 and "either --dataset or --corpus" in both.stderr
