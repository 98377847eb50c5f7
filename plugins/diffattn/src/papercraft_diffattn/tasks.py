"""Training tasks: where batches come from.

A task hands out training batches drawn with a ``torch.Generator`` (whose state the
checkpoint saves, so a resumed run sees the same batches) and a fixed list of validation
batches. Targets use -100 where no loss is taken.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch

IGNORE = -100
"""Target value cross-entropy ignores."""


class Task(Protocol):
    """Batches for the trainer."""

    def train_batch(self, generator: torch.Generator,
                    batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs [batch, seq_len] and targets [batch, seq_len] (-100 = no loss)."""
        ...

    def val_batches(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The fixed validation batches."""
        ...


class LMTask:
    """Next-byte prediction on random windows of the stdlib-docstring corpus."""

    def __init__(self, train_tokens: torch.Tensor, val_tokens: torch.Tensor, seq_len: int,
                 batch: int, eval_batches: int) -> None:
        for name, tokens in (("training", train_tokens), ("validation", val_tokens)):
            if tokens.numel() < seq_len + 2:
                raise ValueError(
                    f"the {name} split has {tokens.numel()} tokens, fewer than seq_len + 2 "
                    f"({seq_len + 2}); raise the corpus size or lower --seq-len"
                )
        self.train_tokens = train_tokens
        self.val_tokens = val_tokens
        self.seq_len = seq_len
        self.batch = batch
        self.eval_batches = eval_batches
        self._offsets = torch.arange(seq_len + 1)

    def _windows(self, tokens: torch.Tensor,
                 starts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rows = tokens[starts[:, None] + self._offsets[None, :]]
        return rows[:, :-1].contiguous(), rows[:, 1:].contiguous()

    def train_batch(self, generator: torch.Generator,
                    batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        high = self.train_tokens.numel() - self.seq_len - 1
        starts = torch.randint(0, high, (batch,), generator=generator)
        return self._windows(self.train_tokens, starts)

    def val_batches(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        count = self.batch * self.eval_batches
        high = self.val_tokens.numel() - self.seq_len - 1
        starts = torch.linspace(0, high, count).long()
        return [self._windows(self.val_tokens, chunk) for chunk in starts.split(self.batch)]


def lm_task(seq_len: int, batch: int, eval_batches: int, corpus_bytes: int) -> LMTask:
    """The corpus task at ``seq_len`` (the corpus is gathered once and cached)."""
    from papercraft_diffattn.data import load_corpus
    from papercraft_diffattn.tokenizer import encode_documents

    corpus = load_corpus(corpus_bytes)
    train = torch.tensor(encode_documents(corpus.train), dtype=torch.long)
    val = torch.tensor(encode_documents(corpus.val), dtype=torch.long)
    return LMTask(train, val, seq_len, batch, eval_batches)


def make_task(task: str, options: dict[str, Any], seq_len: int, batch: int,
              eval_batches: int, corpus_bytes: int) -> Task:
    """The task named ``task`` ("lm" or "needle")."""
    if task == "lm":
        return lm_task(seq_len, batch, eval_batches, corpus_bytes)
    if task == "needle":
        from papercraft_diffattn.needle import NeedleTask

        return NeedleTask.from_options(options, seq_len=seq_len, batch=batch,
                                       eval_batches=eval_batches, corpus_bytes=corpus_bytes)
    raise ValueError(f"unknown task {task!r} (lm, needle)")
