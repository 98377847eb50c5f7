"""Training: checkpoints and toolgen.json per stage, resume, LoRA, and the command's user errors.

Every run is bound by ``--max-steps`` on a tiny random Llama; the stdlib toolset is real.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from papercraft.errors import PapercraftError
from papercraft_toolgen import data
from papercraft_toolgen.queries import stdlib_tools
from papercraft_toolgen.tokens import META_FILE, load_toolgen, name_words, read_meta
from papercraft_toolgen.train import TrainConfig, parse_stages, train


class _Interrupt(Exception):
    pass


def _stop_after_first_save():
    from transformers import TrainerCallback

    class Stop(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            raise _Interrupt

    return Stop()


@pytest.fixture(scope="module")
def tools() -> list:
    return stdlib_tools()[:24]


def _memorize_data(tools: list):
    def stage_data(stage: str, tokenizer) -> list:
        return [data.encode(m, tokenizer, 512) for m in data.memorize_examples(tools)]

    return stage_data


def _config(out: Path, base: Path, **options) -> TrainConfig:
    return TrainConfig(out=out, base=base, stages=("memorize",), batch_size=4, **options)


def test_train_cli_writes_stages_and_resume_skips_them(cli, tiny_base: Path,
                                                       tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["toolgen", "train", "--out", str(out), "--base", str(tiny_base),
            "--max-steps", "2", "--batch-size", "4", "--max-length", "512"]
    first = cli(args + ["--stages", "memorize"], include_installed=True)
    assert first.exit_code == 0, first.output
    meta = read_meta(out)
    assert meta["stages"] == ["memorize"] and meta["model"] == "memorize/model"
    assert meta["base_model"] == str(tiny_base) and len(meta["tools"]) >= 200
    assert meta["log"]["memorize"]["steps"] == 2
    assert (out / "memorize" / "model" / "config.json").is_file()
    stamp = (out / "memorize" / "model" / "model.safetensors").stat().st_mtime_ns
    second = cli(args + ["--stages", "memorize,retrieve", "--resume"], include_installed=True)
    assert second.exit_code == 0, second.output
    assert "memorize: finished earlier, skipped" in second.stderr
    meta = read_meta(out)
    assert meta["stages"] == ["memorize", "retrieve"] and meta["model"] == "retrieve/model"
    assert (out / "memorize" / "model" / "model.safetensors").stat().st_mtime_ns == stamp
    model, tokenizer, ids = load_toolgen(out)
    assert len(ids) == len(meta["tools"]) and len(set(ids.values())) == len(ids)
    assert model.get_input_embeddings().weight.shape[0] == len(tokenizer)


def test_interrupted_stage_resumes_from_its_checkpoint(tools: list, tiny_base: Path,
                                                       tmp_path: Path) -> None:
    out = tmp_path / "run"
    names = [t.name for t in tools]
    with pytest.raises(_Interrupt):
        train(_config(out, tiny_base, max_steps=3, save_steps=1,
                      callbacks=[_stop_after_first_save()]), names, _memorize_data(tools))
    assert (out / "memorize" / "checkpoints" / "checkpoint-1").is_dir()
    assert json.loads((out / META_FILE).read_text())["stages"] == []
    meta = train(_config(out, tiny_base, max_steps=3, resume=True), names,
                 _memorize_data(tools))
    assert meta["stages"] == ["memorize"]
    assert meta["log"]["memorize"]["resumed_from"] == "checkpoint-1"
    assert not (out / "memorize" / "checkpoints").exists()  # removed once the stage is saved


def test_lora_trains_the_tool_rows_and_saves_a_merged_model(tools: list, tiny_base: Path,
                                                           tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    names = [t.name for t in tools]
    meta = train(_config(tmp_path / "run", tiny_base, max_steps=2, lora=True,
                         learning_rate=1e-2), names, _memorize_data(tools))
    assert meta["lora"] is True
    model, tokenizer, ids = load_toolgen(tmp_path / "run")
    base = AutoModelForCausalLM.from_pretrained(tiny_base)
    rows = model.get_input_embeddings().weight
    old = base.get_input_embeddings().weight
    assert not any(k.startswith("base_model") for k in model.state_dict())  # merged, plain
    torch.testing.assert_close(rows[: old.shape[0]], old)  # only the tool rows moved
    heads = model.get_output_embeddings().weight
    torch.testing.assert_close(heads[: old.shape[0]], base.get_output_embeddings().weight)
    for trained, start, least in ((rows, old, 1), (heads, base.get_output_embeddings().weight,
                                                    len(names))):
        moved = 0  # input rows move for tools in the batches, output rows for every tool
        for name in names:
            pieces = tokenizer(name_words(name), add_special_tokens=False)["input_ids"]
            moved += not torch.allclose(trained[ids[name]], start[pieces].mean(dim=0))
        assert moved >= least
    assert not torch.equal(model.model.layers[0].mlp.up_proj.weight,
                           base.model.layers[0].mlp.up_proj.weight)


def test_parse_stages() -> None:
    assert parse_stages("retrieve, memorize") == ("memorize", "retrieve")
    with pytest.raises(PapercraftError, match="unknown stage 'recall'"):
        parse_stages("memorize,recall")


def test_user_errors_exit_2_with_one_line(cli, tiny_base: Path, tmp_path: Path) -> None:
    base = ["toolgen", "train", "--base", str(tiny_base), "--max-steps", "1",
            "--max-length", "512"]
    bad_stage = cli(base + ["--out", str(tmp_path / "a"), "--stages", "memorise"],
                    include_installed=True)
    assert bad_stage.exit_code == 2 and "unknown stage 'memorise'" in bad_stage.stderr
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    as_file = cli(base + ["--out", str(a_file)], include_installed=True)
    assert as_file.exit_code == 2 and "is a file" in as_file.stderr
    out = tmp_path / "run"
    (out).mkdir()
    (out / META_FILE).write_text(json.dumps({"tools": [], "base_model": "/elsewhere/model",
                                             "stages": [], "model": None}))
    other = cli(base + ["--out", str(out), "--resume"], include_installed=True)
    assert other.exit_code == 2 and "was trained from /elsewhere/model" in other.stderr
    again = cli(base + ["--out", str(out)], include_installed=True)
    assert again.exit_code == 2 and "add --resume" in again.stderr
    for result in (bad_stage, as_file, other, again):
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_encode_labels_only_the_assistant_turns(tiny_base: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_base)
    tokenizer.add_tokens(["<<math.gcd>>"], special_tokens=True)
    messages = data.prompt_messages("gcd of 12 and 18?") + [
        {"role": "assistant", "content": data.action_text("math.gcd", {"a": 12, "b": 18})},
        {"role": "tool", "content": data.observation_text(6)},
        {"role": "assistant", "content": data.answer_text(6)},
    ]
    row = data.encode(messages, tokenizer, 4096)
    assert len(row["input_ids"]) == len(row["labels"])
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    assert tokenizer.decode(row["input_ids"]) == full
    labelled = tokenizer.decode([t for t, lab in zip(row["input_ids"], row["labels"], strict=True)
                                 if lab != -100])
    assert labelled == (data.action_text("math.gcd", {"a": 12, "b": 18}) + "<|im_end|>\n"
                        + data.answer_text(6) + "<|im_end|>\n")
    assert "<<math.gcd>>" in labelled and "Result: 6" not in labelled


def test_agent_trajectories_run_the_real_tools() -> None:
    from papercraft.tools.execute import ToolExecutor

    chosen = [t for t in stdlib_tools() if t.name in ("math.gcd", "statistics.mean")]
    with ToolExecutor() as executor:
        examples = data.agent_examples(chosen, executor)
    assert len(examples) == 2
    gcd = next(e for e in examples if "<<math.gcd>>" in e[2]["content"])
    assert [m["role"] for m in gcd] == ["system", "user", "assistant", "tool", "assistant"]
    assert gcd[1]["content"].endswith("with a = 12, b = 18.")
    assert gcd[3]["content"] == "Result: 6" and gcd[4]["content"].endswith("Answer: 6")


def test_lora_on_tied_embeddings_moves_only_the_tool_rows(tools: list, tiny_base: Path,
                                                          tmp_path: Path) -> None:
    from transformers import AutoConfig, AutoTokenizer, LlamaForCausalLM

    config = AutoConfig.from_pretrained(tiny_base)
    config.tie_word_embeddings = True  # as SmolLM2
    torch.manual_seed(0)
    base = LlamaForCausalLM(config)
    base.save_pretrained(tmp_path / "tied")
    AutoTokenizer.from_pretrained(tiny_base).save_pretrained(tmp_path / "tied")
    names = [t.name for t in tools[:16]]
    train(TrainConfig(out=tmp_path / "run", base=tmp_path / "tied", stages=("memorize",),
                      batch_size=16, max_steps=2, lora=True, learning_rate=1e-2),
          names, _memorize_data(tools[:16]))
    model, tokenizer, ids = load_toolgen(tmp_path / "run")
    rows, old = model.get_input_embeddings().weight, base.get_input_embeddings().weight
    assert model.get_output_embeddings().weight.data_ptr() == rows.data_ptr()
    torch.testing.assert_close(rows[: old.shape[0]], old)
    for name in names:  # every tool was in the single 16-example batch
        pieces = tokenizer(name_words(name), add_special_tokens=False)["input_ids"]
        assert not torch.allclose(rows[ids[name]], old[pieces].mean(dim=0))
