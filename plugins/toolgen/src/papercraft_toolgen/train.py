"""The three ToolGen training stages on a causal LM, with checkpoints and resume.

Layout of an output folder::

    toolgen.json             tools in token order, base model, stages done, last model, timings
    tokenizer/               the base tokenizer with the tool tokens (written before stage 1)
    <stage>/checkpoints/     transformers Trainer checkpoints while the stage runs (kept: 1)
    <stage>/model/           the weights (and tokenizer) after the stage; the next stage starts here

A finished stage is skipped on resume; an interrupted one continues from its last checkpoint.
Full fine-tuning by default. With LoRA, adapters go on every linear layer and the tool-token
rows of the (tied) embedding train through peft's ``trainable_token_indices``; the adapters
are merged into the weights saved after each stage, so every stage folder is a plain model.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from papercraft.errors import PapercraftError
from papercraft.fileio import write_json_atomic
from papercraft_toolgen.tokens import META_FILE, add_tool_tokens, read_meta, tool_token

STAGES = ("memorize", "retrieve", "agent")
DEFAULT_STAGES = ("memorize", "retrieve")
DEFAULT_EPOCHS = {"memorize": 1.0, "retrieve": 0.5, "agent": 1.0}
"""Epochs per stage, sized from steps measured on two CPU cores (about 1.3 s per example on a
quiet machine, see the README) so that stages 1+2 take about 15 minutes; the paper trains
memorisation for 8 epochs and the other stages for 1."""


@dataclass
class TrainConfig:
    """What ``papercraft toolgen train`` runs."""

    out: Path
    base: Path
    stages: tuple[str, ...] = DEFAULT_STAGES
    epochs: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_EPOCHS))
    max_steps: int | None = None
    batch_size: int = 8
    learning_rate: float = 1e-4
    lora: bool = False
    lora_rank: int = 16
    resume: bool = False
    save_steps: int = 25
    seed: int = 0
    callbacks: list[Any] = field(default_factory=list)
    """transformers TrainerCallbacks added to every stage's Trainer."""


def parse_stages(text: str) -> tuple[str, ...]:
    """``memorize,retrieve`` -> the stages in training order; an unknown one is exit 2."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in STAGES]
    if unknown or not names:
        raise PapercraftError(f"unknown stage {unknown[0] if unknown else text!r}; "
                              f"choose from {', '.join(STAGES)}", 2)
    return tuple(stage for stage in STAGES if stage in names)


def check_out(config: TrainConfig, tools: Sequence[str]) -> dict[str, Any] | None:
    """The folder's existing description on resume (None for a fresh folder); misuse: exit 2."""
    out = config.out
    if out.exists() and not out.is_dir():
        raise PapercraftError(f"--out {out} is a file, not a folder", 2)
    if not (out / META_FILE).is_file():
        if out.is_dir() and any(out.iterdir()):
            raise PapercraftError(f"--out {out} is a non-empty folder without {META_FILE}", 2)
        return None
    if not config.resume:
        raise PapercraftError(f"--out {out} already holds a training; add --resume or "
                              "choose another folder", 2)
    meta = read_meta(out)
    if meta.get("base_model") != str(config.base):
        raise PapercraftError(f"--out {out} was trained from {meta.get('base_model')}, "
                              f"not {config.base}; choose another folder", 2)
    if list(meta["tools"]) != list(tools):
        raise PapercraftError(f"--out {out} was trained on another tool list "
                              f"({len(meta['tools'])} tools, now {len(tools)})", 2)
    if bool(meta.get("lora")) != config.lora:
        raise PapercraftError(f"--out {out} was trained {'with' if meta.get('lora') else 'without'}"
                              " --lora; resume it the same way", 2)
    return meta


def _write_meta(out: Path, meta: dict[str, Any]) -> None:
    write_json_atomic(out / META_FILE, meta)


def _start_model(config: TrainConfig, meta: dict[str, Any], names: Sequence[str]) -> Any:
    """The model a stage starts from: the last finished stage, or the base with tool tokens."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if meta.get("model"):
        return AutoModelForCausalLM.from_pretrained(config.out / meta["model"], dtype="float32")
    model = AutoModelForCausalLM.from_pretrained(config.base, dtype="float32")
    tokenizer = AutoTokenizer.from_pretrained(config.base)
    add_tool_tokens(model, tokenizer, names)
    return model


def _lora(model: Any, config: TrainConfig, token_ids: list[int]) -> Any:
    from peft import LoraConfig, get_peft_model

    rows = {"embed_tokens": token_ids}
    output = model.get_output_embeddings()
    if output.weight.data_ptr() != model.get_input_embeddings().weight.data_ptr():
        rows["lm_head"] = token_ids  # untied: the output rows of the tool tokens train too
    lora = LoraConfig(r=config.lora_rank, lora_alpha=2 * config.lora_rank, lora_dropout=0.0,
                      target_modules="all-linear", task_type="CAUSAL_LM",
                      trainable_token_indices=rows)
    return get_peft_model(model, lora)


def _steps(config: TrainConfig, stage: str, examples: int) -> int:
    if config.max_steps is not None:
        return config.max_steps
    return max(1, math.ceil(examples / config.batch_size * config.epochs[stage]))


def _arguments(config: TrainConfig, stage: str, steps: int) -> Any:
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(config.out / stage / "checkpoints"), max_steps=steps,
        per_device_train_batch_size=config.batch_size, learning_rate=config.learning_rate,
        lr_scheduler_type="cosine", warmup_steps=max(1, steps // 20), weight_decay=0.0,
        logging_steps=max(1, min(10, steps // 10)), save_strategy="steps",
        save_steps=min(config.save_steps, steps), save_total_limit=1, save_only_model=False,
        report_to=[], use_cpu=True, dataloader_num_workers=0, remove_unused_columns=False,
        seed=config.seed, data_seed=config.seed, disable_tqdm=False,
    )


def _last_checkpoint(folder: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(folder)) if folder.is_dir() else None


def run_stage(config: TrainConfig, stage: str, examples: list[Any], meta: dict[str, Any],
              tokenizer: Any) -> dict[str, Any]:
    """Train one stage on encoded ``examples`` and save its model; returns the stage's log."""
    from transformers import DataCollatorForSeq2Seq, Trainer

    names = meta["tools"]
    model = _start_model(config, meta, names)
    if config.lora:
        rows = [tokenizer.convert_tokens_to_ids(tool_token(name)) for name in names]
        model = _lora(model, config, rows)
    steps = _steps(config, stage, len(examples))
    collator = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100)
    trainer = Trainer(model=model, args=_arguments(config, stage, steps), train_dataset=examples,
                      data_collator=collator, callbacks=list(config.callbacks))
    checkpoint = _last_checkpoint(config.out / stage / "checkpoints")
    started = time.monotonic()
    result = trainer.train(resume_from_checkpoint=checkpoint)
    seconds = time.monotonic() - started
    final = trainer.model.merge_and_unload() if config.lora else trainer.model
    target = config.out / stage / "model"
    if target.exists():
        shutil.rmtree(target)
    final.save_pretrained(target)
    tokenizer.save_pretrained(target)
    shutil.rmtree(config.out / stage / "checkpoints", ignore_errors=True)
    return {"steps": steps, "examples": len(examples), "seconds": round(seconds, 1),
            "seconds_per_step": round(seconds / max(1, steps), 3),
            "train_loss": round(float(result.training_loss), 4),
            "resumed_from": Path(checkpoint).name if checkpoint else None}


StageData = Callable[[str, Any], list[Any]]
"""``(stage, tokenizer) -> encoded examples`` of a stage."""


def train(config: TrainConfig, tools: Sequence[str], stage_data: StageData,
          log: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the configured stages in order, skipping finished ones; returns ``toolgen.json``."""
    import torch
    from transformers import AutoConfig, AutoTokenizer

    meta = check_out(config, tools)
    config.out.mkdir(parents=True, exist_ok=True)
    if meta is None:
        tokenizer = AutoTokenizer.from_pretrained(config.base)
        # the tokens only: the model gets them again (same order, same ids) in _start_model
        tokenizer.add_tokens([tool_token(name) for name in tools], special_tokens=True)
        tokenizer.save_pretrained(config.out / "tokenizer")
        meta = {"format": 1, "base_model": str(config.base), "tools": list(tools),
                "stages": [], "model": None, "lora": config.lora,
                "model_type": AutoConfig.from_pretrained(config.base).model_type,
                "prompt": "chat: system + user (papercraft_toolgen.data.prompt_messages)",
                "log": {}}
        _write_meta(config.out, meta)
    tokenizer = AutoTokenizer.from_pretrained(config.out / "tokenizer")
    torch.manual_seed(config.seed)
    for stage in config.stages:
        if stage in meta["stages"]:
            log(f"{stage}: finished earlier, skipped")
            continue
        examples = stage_data(stage, tokenizer)
        if not examples:
            raise PapercraftError(f"stage {stage}: no training examples", 2)
        log(f"{stage}: {len(examples)} examples")
        entry = run_stage(config, stage, examples, meta, tokenizer)
        meta["stages"].append(stage)
        meta["model"] = f"{stage}/model"
        meta["log"][stage] = entry
        _write_meta(config.out, meta)
        log(f"{stage}: {entry['steps']} steps in {entry['seconds']} s "
            f"(loss {entry['train_loss']})")
    return meta
