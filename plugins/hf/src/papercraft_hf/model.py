"""``HFModel``: a transformers causal LM behind papercraft's Model interface.

Generation is a decoding loop over a KV cache, each step picking one token per row (greedy or
a seeded draw); rows leave the batch as soon as they finish (end-of-sequence token, stop
string or token limit). By default it runs :mod:`papercraft_hf.scheduler` (continuous
batching: a queued prompt takes a finished row's place) with a
:class:`~papercraft_hf.prefix_cache.PrefixCache` (a prompt's shared prefix is not recomputed).
With both turned off (``prefix_cache=False, continuous_batching=False``) it runs static
batches: prompts sorted by length, left-padded and prefilled together.
"""

from __future__ import annotations

import inspect
import math
import os
import time
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from papercraft.errors import PapercraftError
from papercraft.models.base import (
    Completion,
    GenerationParams,
    Message,
    Model,
    ModelInputError,
    Outcome,
    PerplexityResult,
    check_cancelled,
)
from papercraft_hf.decoding import TextTracker, new_generator, pick_next
from papercraft_hf.prefix_cache import PrefixCache
from papercraft_hf.scheduler import Row, Scheduler, supported

DEFAULT_BATCH_SIZE = 8
DEFAULT_PPL_WINDOW = 2048
PREFIX_CACHE_ENV = "PAPERCRAFT_HF_PREFIX_CACHE"
CONTINUOUS_BATCHING_ENV = "PAPERCRAFT_HF_CONTINUOUS_BATCHING"
_FALSE = ("0", "false", "no", "off")
_TRUE = ("1", "true", "yes", "on")


def flag(value: Any) -> bool | None:
    """A switch given as a bool or as text (``1/0``, ``true/false``, ``yes/no``, ``on/off``)."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"expected a switch (1/0, true/false, yes/no, on/off), got {value!r}")


def _switch(value: bool | None, env: str) -> bool:
    """``value``, else the environment variable ``env``, else on."""
    if value is not None:
        return value
    text = os.environ.get(env, "").strip().lower()
    return text not in _FALSE


def _end_of_sequence_ids(tokenizer: Any, model: Any) -> set[int]:
    """Token ids that end a sequence: the generation config's, the tokenizer's, <|endoftext|>."""
    ids: set[int] = set()
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for value in (configured, tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(int(v) for v in value)
    for token in ("<|endoftext|>", "<|eot_id|>", "<|im_end|>", "</s>"):
        if token in getattr(tokenizer, "all_special_tokens", ()):
            ids.add(int(tokenizer.convert_tokens_to_ids(token)))
    return ids


class HFModel(Model):
    """A loaded tokenizer + causal LM; see the module docstring for how it decodes."""

    def __init__(
        self,
        model_id: str,
        tokenizer: Any,
        model: Any,
        *,
        attention: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        load_seconds: float = 0.0,
        prefix_cache: bool | None = None,
        continuous_batching: bool | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.model_id = model_id
        self.attention = attention
        self.tokenizer = tokenizer
        self.model = model
        self.batch_size = batch_size
        self.load_seconds = load_seconds
        self.device = next(model.parameters()).device
        config = model.config.get_text_config() if hasattr(model.config, "get_text_config") \
            else model.config
        self.context_length = int(getattr(config, "max_position_embeddings", 0) or 2048)
        tokenizer.padding_side = "left"
        self._eos = _end_of_sequence_ids(tokenizer, model)
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self._pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        params = inspect.signature(model.forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        self._logits_to_keep = "logits_to_keep" in params
        splices = supported(self._new_cache())  # sliding-window caches keep the static loop
        self.prefix_cache_enabled = splices and _switch(prefix_cache, PREFIX_CACHE_ENV)
        self.continuous_batching = splices and _switch(continuous_batching,
                                                       CONTINUOUS_BATCHING_ENV)
        self.prefix_cache = PrefixCache() if self.prefix_cache_enabled else None

    # ------------------------------------------------------------ prompts
    def _chat_ids(self, messages: Sequence[Message]) -> list[int]:
        if not getattr(self.tokenizer, "chat_template", None):
            raise ModelInputError(
                f"model {self.model_id!r} has no chat template; use raw completion instead",
                code="chat_not_supported",
            )
        encoded = self.tokenizer.apply_chat_template(
            [dict(m) for m in messages], add_generation_prompt=True, return_dict=True
        )
        return list(encoded["input_ids"])

    def _text_ids(self, text: str) -> list[int]:
        ids = list(self.tokenizer(text, add_special_tokens=True)["input_ids"])
        if not ids and self.tokenizer.bos_token_id is not None:
            ids = [self.tokenizer.bos_token_id]
        if not ids:
            raise ModelInputError("cannot continue an empty prompt", param="prompt")
        return ids

    def _check_length(self, index: int, ids: Sequence[int]) -> None:
        if len(ids) >= self.context_length:
            raise ModelInputError(
                f"prompt {index} has {len(ids)} tokens; {self.model_id} reads at most "
                f"{self.context_length - 1} (context {self.context_length})",
                code="context_length_exceeded",
            )

    # --------------------------------------------------------- decoding
    def _forward(self, input_ids: torch.Tensor, mask: torch.Tensor | None,
                 positions: torch.Tensor, cache: Any) -> torch.Tensor:
        kwargs: dict[str, Any] = {self._cache_kw: cache}
        if self._logits_to_keep:
            kwargs["logits_to_keep"] = 1
        out = self.model(input_ids=input_ids, attention_mask=mask, position_ids=positions,
                         use_cache=True, **kwargs)
        return out.logits[:, -1, :]

    def _new_cache(self) -> Any:
        try:
            from papercraft_hf.kv_cache import growing_cache
        except ImportError:  # transformers before per-layer caches
            from transformers import DynamicCache

            return DynamicCache()
        return growing_cache(self.model.config)

    def _steps(self, prompts: Sequence[Sequence[int]], params: GenerationParams
               ) -> Iterator[list[Row]]:
        """Decode one batch; yields the rows after every step (finished rows keep their state).

        Before each forward pass it calls :func:`check_cancelled`, so a caller that gives up
        (the server's client left or its deadline passed) stops the loop within one token.
        """
        rows = [
            Row(TextTracker(self.tokenizer, params.stop), len(ids),
                min(params.max_tokens, self.context_length - len(ids)))
            for ids in prompts
        ]
        width = max(len(ids) for ids in prompts)
        input_ids = torch.full((len(prompts), width), self._pad, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for i, ids in enumerate(prompts):
            input_ids[i, width - len(ids):] = torch.tensor(ids, dtype=torch.long)
            mask[i, width - len(ids):] = 1
        input_ids, mask = input_ids.to(self.device), mask.to(self.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        generator = new_generator(params, self.device)
        cache = self._new_cache()
        active = list(range(len(rows)))
        # Without padding the mask is all ones: leaving it out skips building a 4-d mask
        # every step (transformers then relies on is_causal, with the same result).
        padded = bool((mask == 0).any())
        with torch.inference_mode():
            check_cancelled()
            logits = self._forward(input_ids, mask if padded else None, positions, cache)
            while True:
                next_ids = pick_next(logits, params, generator)
                keep: list[int] = []
                for j, token in enumerate(next_ids.tolist()):
                    row = rows[active[j]]
                    row.generated += 1
                    if token in self._eos:
                        row.finish_reason = "stop"
                    elif row.tracker.add(token):
                        row.finish_reason = "stop"
                    elif row.generated >= row.limit:
                        row.finish_reason = "length"
                    else:
                        keep.append(j)
                yield rows
                if not keep:
                    return
                if len(keep) < len(active):
                    index = torch.tensor(keep, device=self.device)
                    cache.batch_select_indices(index)
                    mask, positions, next_ids = mask[index], positions[index], next_ids[index]
                    active = [active[j] for j in keep]
                mask = torch.cat([mask, mask.new_ones((len(active), 1))], dim=1)
                positions = positions[:, -1:] + 1
                check_cancelled()
                logits = self._forward(next_ids[:, None], mask if padded else None, positions,
                                       cache)

    @property
    def scheduled(self) -> bool:
        """Whether generation runs the scheduler (prefix cache or continuous batching on)."""
        return self.prefix_cache_enabled or self.continuous_batching

    def _completion(self, row: Row, seconds: float, width: int) -> Completion:
        extra: dict[str, Any] = {"batch_size": width, "attention": self.attention}
        if self.scheduled:
            extra["prefix_tokens"] = row.reused_tokens
        return Completion(
            text=row.tracker.text,
            model=self.model_id,
            finish_reason=row.finish_reason or "length",
            prompt_tokens=row.prompt_tokens,
            completion_tokens=row.generated,
            seconds=seconds,
            extra=extra,
        )

    def _static(self, prompts: Sequence[Sequence[int]], params: GenerationParams,
                width: int) -> Iterator[tuple[int, Completion]]:
        """Static batches of ``width`` prompts sorted by length, each prefilled together."""
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        for start in range(0, len(order), width):
            chunk = order[start:start + width]
            started = time.perf_counter()
            rows = deque(self._steps([prompts[i] for i in chunk], params), maxlen=1)[0]
            seconds = time.perf_counter() - started
            for i, row in zip(chunk, rows, strict=True):
                yield i, self._completion(row, seconds, len(chunk))

    def _scheduled(self, prompts: Sequence[Sequence[int]], params: GenerationParams,
                   width: int) -> Iterator[tuple[int, Completion]]:
        """The scheduler's completions, each as soon as its row finishes."""
        scheduler = Scheduler(self, prompts, params, width=width, prefix_cache=self.prefix_cache,
                              refill=self.continuous_batching)
        for finished in scheduler.run():
            for i in finished:
                row = scheduler.rows[i]
                # rows decoded together at most: the width, or fewer prompts than that
                yield i, self._completion(row, row.seconds, min(width, len(prompts)))

    def _completions(self, prompts: Sequence[Sequence[int]], params: GenerationParams,
                     width: int) -> Iterator[tuple[int, Completion]]:
        if not prompts:
            return iter(())
        if self.scheduled:
            return self._scheduled(prompts, params, width)
        return self._static(prompts, params, width)

    def _run(self, prompts: Sequence[Sequence[int]], params: GenerationParams) -> list[Completion]:
        for i, ids in enumerate(prompts):
            self._check_length(i, ids)
        results: list[Completion | None] = [None] * len(prompts)
        for i, completion in self._completions(prompts, params, self.batch_size):
            results[i] = completion
        return [r for r in results if r is not None]

    def _outcomes(self, encode: Any, inputs: Sequence[Any], params: GenerationParams,
                  concurrency: int | None) -> Iterator[Outcome]:
        """Encode each input (an input the model cannot take is an error Outcome), then
        generate the rest with at most ``min(concurrency, batch_size)`` rows at a time."""
        width = min(self.batch_size, concurrency or self.batch_size)
        valid: list[int] = []
        prompts: list[list[int]] = []
        for i, item in enumerate(inputs):
            try:
                ids = encode(item)
                self._check_length(i, ids)
            except ModelInputError as exc:
                if exc.code == "chat_not_supported":
                    raise
                yield Outcome(i, error=exc)
                continue
            valid.append(i)
            prompts.append(ids)
        for j, completion in self._completions(prompts, params, width):
            yield Outcome(valid[j], completion)

    # ------------------------------------------------------ Model API
    def generate(
        self, conversations: Sequence[Sequence[Message]], params: GenerationParams
    ) -> list[Completion]:
        """Answer a batch of chat conversations (chat template, batched, left-padded)."""
        if not conversations:
            return []
        return self._run([self._chat_ids(c) for c in conversations], params)

    def complete(self, prompts: Sequence[str], params: GenerationParams) -> list[Completion]:
        """Continue raw text prompts (no chat template), batched like :meth:`generate`."""
        if not prompts:
            return []
        return self._run([self._text_ids(p) for p in prompts], params)

    def generate_iter(
        self, conversations: Sequence[Sequence[Message]], params: GenerationParams,
        *, concurrency: int | None = None,
    ) -> Iterator[Outcome]:
        """Answer conversations, each yielded as it finishes (continuous batching)."""
        return self._outcomes(self._chat_ids, conversations, params, concurrency)

    def complete_iter(
        self, prompts: Sequence[str], params: GenerationParams, *, concurrency: int | None = None
    ) -> Iterator[Outcome]:
        """Continue raw prompts, each yielded as it finishes (continuous batching)."""
        return self._outcomes(self._text_ids, prompts, params, concurrency)

    def _row_states(self, ids: list[int], params: GenerationParams) -> Iterator[Row]:
        """The single row of ``ids`` after every step."""
        if not self.scheduled:
            for rows in self._steps([ids], params):
                yield rows[0]
            return
        scheduler = Scheduler(self, [ids], params, width=1, prefix_cache=self.prefix_cache)
        for _ in scheduler.run():
            yield scheduler.rows[0]

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        """Yield the answer in pieces as it is generated."""
        ids = self._chat_ids(messages)
        self._check_length(0, ids)
        emitted = ""
        for row in self._row_states(ids, params):
            text = row.tracker.ready(final=row.done)
            if len(text) > len(emitted) and text.startswith(emitted):
                yield text[len(emitted):]
                emitted = text

    def perplexity(self, text: str, *, window: int | None = None, stride: int | None = None
                   ) -> PerplexityResult:
        """Mean token NLL and perplexity of ``text``; sliding windows beyond ``window`` tokens.

        Each window after the first re-reads ``window - stride`` tokens of context and scores
        only the ``stride`` new ones, so every token but the first is scored exactly once.
        """
        started = time.perf_counter()
        ids = list(self.tokenizer(text, add_special_tokens=True)["input_ids"])
        if len(ids) < 2:
            raise PapercraftError("the text is too short to score (it needs at least 2 tokens)")
        window = min(window or DEFAULT_PPL_WINDOW, self.context_length)
        stride = min(stride or max(1, window // 2), window)
        if window < 2:
            raise PapercraftError("the perplexity window must be at least 2 tokens")
        tokens = torch.tensor(ids, dtype=torch.long, device=self.device)
        total, scored, scored_until, begin = 0.0, 0, 1, 0
        with torch.inference_mode():
            while scored_until < len(ids):
                end = min(begin + window, len(ids))
                logits = self.model(input_ids=tokens[None, begin:end], use_cache=False).logits[0]
                first = scored_until - begin  # index in the window of the first new target
                predicted = logits[first - 1:end - begin - 1].float()
                targets = tokens[scored_until:end]
                total += torch.nn.functional.cross_entropy(
                    predicted, targets, reduction="sum").item()
                scored += end - scored_until
                scored_until = end
                begin = max(0, end - window + stride) if end < len(ids) else end
                begin = min(begin, scored_until - 1)
        nll = total / scored
        return PerplexityResult(
            nll=nll,
            tokens=scored,
            perplexity=math.exp(nll),
            model=self.model_id,
            attention=self.attention,
            seconds=time.perf_counter() - started,
        )

    def close(self) -> None:
        """Drop the weights and the prefix cache."""
        if self.prefix_cache is not None:
            self.prefix_cache.clear()
        self.model = None
        self.tokenizer = None
