"""Training runs: AdamW, warmup + cosine schedule, evaluation, curves, exact resume.

A run folder holds ``config.json`` (the run's full configuration), ``curve.jsonl`` (one JSON
object per step: step, train_loss, lr, seconds, and val_loss at evaluation steps),
``checkpoint.pt`` (model, optimizer, step, RNG states, config; replaced atomically by
:mod:`papercraft.fileio`) and, once finished, ``result.json``. ``train_run(..., mode="resume")``
continues from the checkpoint and reproduces the uninterrupted run: the data generator and
RNG states are restored and the curve is cut back to the checkpoint's step. Ctrl-C finishes
the current step, saves a checkpoint and raises :class:`TrainingInterrupted`.
"""

from __future__ import annotations

import json
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from papercraft.errors import PapercraftError
from papercraft.fileio import atomic_path, write_json_atomic, write_jsonl_atomic

CONFIG_FILE = "config.json"
CURVE_FILE = "curve.jsonl"
CHECKPOINT_FILE = "checkpoint.pt"
RESULT_FILE = "result.json"
CHECKPOINT_FORMAT = 1


class RunError(PapercraftError):
    """A run folder that cannot be used as asked (mismatch, nothing to resume...)."""

    exit_code = 2


class TrainingInterrupted(PapercraftError):
    """Ctrl-C: the run stopped after a checkpoint and can be resumed."""

    exit_code = 130


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a run (the run folder stores it as config.json)."""

    arch: str = "transformer"
    task: str = "lm"
    task_options: dict[str, Any] = field(default_factory=dict)
    steps: int = 1000
    seed: int = 0
    d_model: int = 128
    layers: int = 4
    heads: int = 4
    seq_len: int = 128
    batch: int = 16
    lr: float = 2e-3
    warmup: int = -1
    """Linear warmup steps; -1: min(100, steps // 10)."""
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0
    eval_every: int = -1
    """Evaluate every this many steps and at the end; -1: steps // 10."""
    eval_batches: int = 8
    ckpt_every: int = -1
    """Checkpoint every this many steps and at the end; -1: same as eval_every."""
    mlp: str = "swiglu"
    tie_embeddings: bool = True
    corpus_bytes: int = 4_000_000

    def resolved(self) -> TrainConfig:
        """A copy with the automatic (-1) fields filled in, validated."""
        for name in ("steps", "d_model", "layers", "heads", "seq_len", "batch",
                     "eval_batches", "corpus_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        warmup = self.warmup if self.warmup >= 0 else min(100, self.steps // 10)
        eval_every = self.eval_every if self.eval_every > 0 else max(1, self.steps // 10)
        ckpt_every = self.ckpt_every if self.ckpt_every > 0 else eval_every
        resolved = replace(self, warmup=warmup, eval_every=eval_every, ckpt_every=ckpt_every)
        resolved.lm_config()  # validates arch / sizes
        return resolved

    def lm_config(self):  # LMConfig, imported lazily (torch)
        """The model shape."""
        from papercraft_diffattn.lm import LMConfig

        return LMConfig(
            arch=self.arch, d_model=self.d_model, layers=self.layers, heads=self.heads,
            seq_len=self.seq_len, mlp=self.mlp, tie_embeddings=self.tie_embeddings,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (JSON round trip, so lists not tuples)."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict` (unknown keys are an error)."""
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown config fields: {', '.join(sorted(unknown))}")
        return cls(**data)


def lr_at(step: int, config: TrainConfig) -> float:
    """Learning rate for 0-based ``step``: linear warmup, then cosine to lr * min_lr_ratio."""
    if config.warmup > 0 and step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    span = max(1, config.steps - config.warmup)
    progress = min(1.0, (step - config.warmup) / span)
    floor = config.lr * config.min_lr_ratio
    return floor + (config.lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def config_diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``key: old -> new`` for every field that differs."""
    keys = sorted(set(old) | set(new))
    return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys if old.get(k) != new.get(k)]


def read_curve(run_dir: Path) -> list[dict[str, Any]]:
    """The curve records of a run (a torn last line is ignored)."""
    path = Path(run_dir) / CURVE_FILE
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            break
    return records


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    import torch

    with atomic_path(path) as temp:
        torch.save(state, temp)


def load_checkpoint(run_dir: Path) -> dict[str, Any]:
    """The checkpoint of a run folder (RunError when there is none)."""
    import torch

    path = Path(run_dir) / CHECKPOINT_FILE
    if not path.exists():
        raise RunError(f"no checkpoint in {run_dir}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged file is a user-facing error
        raise RunError(f"cannot read {path}: {type(exc).__name__}: {exc}") from None


def load_model(run_dir: Path):  # (DecoderLM, TrainConfig)
    """The trained model of a run folder (eval mode) and its config."""
    from papercraft_diffattn.lm import DecoderLM

    state = load_checkpoint(run_dir)
    config = TrainConfig.from_dict(state["config"])
    model = DecoderLM(config.lm_config())
    model.load_state_dict(state["model"])
    model.eval()
    return model, config


def read_result(run_dir: Path) -> dict[str, Any] | None:
    """``result.json`` of a finished run, or None."""
    path = Path(run_dir) / RESULT_FILE
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


@contextmanager
def _sigint_flag() -> Iterator[dict[str, bool]]:
    """While active, the first Ctrl-C sets flag["stop"]; a second one interrupts at once."""
    flag = {"stop": False}
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        flag["stop"] = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        restore = previous if previous is not None else signal.default_int_handler
        signal.signal(signal.SIGINT, restore)


class _Progress:
    """A rich progress bar on stderr, or nothing."""

    def __init__(self, enabled: bool, total: int, completed: int, description: str) -> None:
        self.bar = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=Console(stderr=True), transient=False,
        )
        self.task = self.bar.add_task(description, total=total, completed=completed, info="")

    def __enter__(self) -> _Progress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def update(self, completed: int, info: str) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=completed, info=info)


def evaluate(model: Any, batches: list[tuple[Any, Any]]) -> float:
    """Mean cross-entropy (nats per target token) over ``batches``."""
    import torch
    import torch.nn.functional as F

    from papercraft_diffattn.tasks import IGNORE

    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for x, y in batches:
            logits = model(x)
            loss = F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=IGNORE,
                                   reduction="sum")
            total += float(loss)
            count += int((y != IGNORE).sum())
    model.train(was_training)
    return total / max(count, 1)


def _param_groups(model: Any, weight_decay: float) -> list[dict[str, Any]]:
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim < 2]
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def prepare_run_dir(run_dir: Path, config: TrainConfig, mode: str) -> dict[str, Any] | None:
    """Check ``run_dir`` against ``config``; return the checkpoint to resume from, if any.

    ``mode``: "new" (the folder must not hold a run), "resume" (it must hold a checkpoint
    of the same config) or "auto" (resume when there is a checkpoint, else start).
    """
    run_dir = Path(run_dir)
    config_path = run_dir / CONFIG_FILE
    wanted = config.to_dict()
    if config_path.exists():
        try:
            existing = json.loads(config_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise RunError(f"{config_path} is not valid JSON: {exc}") from None
        if existing != wanted:
            changes = "; ".join(config_diff(existing, wanted))
            raise RunError(
                f"{run_dir} holds a run with another config ({changes}); "
                "use another --out or the same options"
            )
    has_checkpoint = (run_dir / CHECKPOINT_FILE).exists()
    if mode == "resume" and not has_checkpoint:
        raise RunError(f"nothing to resume: no {CHECKPOINT_FILE} in {run_dir}")
    if mode == "new" and has_checkpoint:
        if (run_dir / RESULT_FILE).exists():
            return load_checkpoint(run_dir)  # finished with the same config: nothing to do
        raise RunError(f"{run_dir} already holds a run; pass --resume to continue it")
    run_dir.mkdir(parents=True, exist_ok=True)
    if not config_path.exists():
        write_json_atomic(config_path, wanted)
    return load_checkpoint(run_dir) if has_checkpoint else None


def train_run(
    config: TrainConfig,
    run_dir: Path,
    *,
    mode: str = "new",
    stop_at: int | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    on_step: Callable[[int, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train (or continue) the run in ``run_dir``; return its summary.

    The summary is ``result.json`` once the run is finished; a run stopped by ``stop_at``
    (stop after that step, with a checkpoint) returns it with ``finished: false``.
    """
    import torch
    import torch.nn.functional as F

    from papercraft_diffattn.lm import DecoderLM, count_parameters
    from papercraft_diffattn.tasks import IGNORE, make_task

    if mode not in ("new", "resume", "auto"):
        raise ValueError(f"mode must be new, resume or auto, got {mode!r}")
    if stop_at is not None and stop_at < 1:
        raise ValueError(f"stop_at must be a positive step, got {stop_at}")
    config = config.resolved()
    run_dir = Path(run_dir)
    log = log or (lambda message: None)
    state = prepare_run_dir(run_dir, config, mode)
    if state is not None and state.get("format") != CHECKPOINT_FORMAT:
        raise RunError(f"{run_dir / CHECKPOINT_FILE} has an unknown format")
    finished = read_result(run_dir)
    if finished is not None and state is not None and state["step"] >= config.steps:
        return finished

    task = make_task(config.task, config.task_options, config.seq_len, config.batch,
                     config.eval_batches, config.corpus_bytes)
    torch.manual_seed(config.seed)
    model = DecoderLM(config.lm_config())
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.AdamW(
        _param_groups(model, config.weight_decay), lr=config.lr,
        betas=(config.beta1, config.beta2),
    )
    params = count_parameters(model)
    start, seconds_before = 0, 0.0
    curve_path = run_dir / CURVE_FILE
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"]["torch"])
        generator.set_state(state["rng"]["data"])
        start, seconds_before = int(state["step"]), float(state["seconds"])
        write_jsonl_atomic(curve_path, [r for r in read_curve(run_dir) if r["step"] <= start])
        log(f"resuming {run_dir} at step {start}/{config.steps}")
    else:
        curve_path.unlink(missing_ok=True)
    val_batches = task.val_batches()
    end = config.steps if stop_at is None else max(start, min(config.steps, stop_at))

    def checkpoint(step: int, seconds: float) -> None:
        _save_checkpoint(run_dir / CHECKPOINT_FILE, {
            "format": CHECKPOINT_FORMAT, "step": step, "seconds": seconds,
            "config": config.to_dict(), "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "data": generator.get_state()},
        })

    t0 = time.monotonic()
    last_val = next((r["val_loss"] for r in reversed(read_curve(run_dir)) if "val_loss" in r),
                    None)
    step = start
    model.train()
    description = f"{config.arch} seed {config.seed}"
    with _sigint_flag() as flag, _Progress(progress, config.steps, start, description) as bar, \
            open(curve_path, "a", encoding="utf-8") as curve:
        while step < end:
            lr = lr_at(step, config)
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = task.train_batch(generator, config.batch)
            logits = model(x)
            loss = F.cross_entropy(logits.flatten(0, 1), y.flatten(), ignore_index=IGNORE)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            step += 1
            seconds = seconds_before + time.monotonic() - t0
            record: dict[str, Any] = {"step": step, "train_loss": loss.item(), "lr": lr}
            if step % config.eval_every == 0 or step == config.steps:
                last_val = evaluate(model, val_batches)
                record["val_loss"] = last_val
            record["seconds"] = round(seconds, 3)
            curve.write(json.dumps(record) + "\n")
            curve.flush()
            if "val_loss" in record:
                log(f"{description}: step {step}/{config.steps} train {record['train_loss']:.4f}"
                    f" val {last_val:.4f}")
            info = f"loss {record['train_loss']:.3f}" + (
                f" val {last_val:.3f}" if last_val is not None else "")
            bar.update(step, info)
            if on_step is not None:
                on_step(step, record)
            stopping = flag["stop"] or step == end
            if step % config.ckpt_every == 0 or stopping:
                curve.flush()
                checkpoint(step, seconds)
            if flag["stop"] and step < config.steps:
                raise TrainingInterrupted(
                    f"interrupted at step {step}/{config.steps}; checkpoint saved in {run_dir} "
                    "(continue with --resume)"
                )
    seconds = seconds_before + time.monotonic() - t0
    records = read_curve(run_dir)
    val_losses = [r["val_loss"] for r in records if "val_loss" in r]
    summary = {
        "arch": config.arch,
        "seed": config.seed,
        "task": config.task,
        "steps": config.steps,
        "step": step,
        "finished": step >= config.steps,
        "params": params,
        "final_val_loss": val_losses[-1] if val_losses else None,
        "best_val_loss": min(val_losses) if val_losses else None,
        "final_train_loss": records[-1]["train_loss"] if records else None,
        "seconds": round(seconds, 3),
        "tokens_seen": step * config.batch * config.seq_len,
        "config": config.to_dict(),
    }
    if summary["finished"]:
        write_json_atomic(run_dir / RESULT_FILE, summary)
    return summary
