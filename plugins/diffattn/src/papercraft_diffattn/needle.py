"""Synthetic multi-needle retrieval at byte level (the paper's section 3.3, at small scale).

A sample is ``seq_len + 1`` bytes: a haystack (a window of the docstring corpus) with N
needles ``the key of <word> is <digits>.`` inserted at random places, then R query lines
``\\nthe key of <word> is <digits>.`` for R of the N words. Loss and accuracy are taken only
on the query digits: the model has to find the needle of the asked word among N - 1
distractors that look the same and copy its digits. A query counts as correct when every
digit is the argmax of the model's next-byte distribution (with the correct earlier digits
as context, which is what greedy decoding produces when it is right).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import torch

from papercraft_diffattn.tasks import IGNORE

KEY_WORDS = (
    "apple", "bison", "cedar", "delta", "ember", "flint", "grape", "heron", "igloo", "jumbo",
    "koala", "lemon", "mango", "nylon", "olive", "panda", "quail", "raven", "salsa", "tulip",
    "umber", "viola", "whale", "xenon", "yacht", "zebra", "amber", "birch", "cobra", "dingo",
    "eagle", "fjord", "gecko", "hazel", "ivory", "jelly", "kiwi", "llama", "maple", "nectar",
    "otter", "pearl", "quartz", "rhino", "sable", "tiger", "urchin", "vapor", "walnut", "yodel",
)
"""Needle keys: distinct words, none a prefix of another."""

DEFAULT_COUNTS = (1, 2, 4)
"""Needle counts N the paper's 4K table reports (with N = 6 too)."""

PAPER_4K = {
    "source": "Ye et al. 2024, key information retrieval: multi-needle accuracy at 4K "
              "context (3B models)",
    "settings": ["N=1,R=1", "N=2,R=2", "N=4,R=2"],
    "transformer": [1.00, 0.85, 0.62],
    "diff": [1.00, 0.92, 0.84],
}
VAL_SEED = 20241007
"""Seed of the fixed validation / evaluation samples (the same for every run)."""


MARK = "#"
"""Marks the digits (rare in the corpus: a one-token cue, so N = 1 is easy and N > 1 is
about telling the needles apart by their word)."""


def needle_text(word: str, digits: str) -> str:
    """The needle sentence (also the query line without its newline)."""
    return f"the key of {word} is {MARK}{digits}."


@dataclass
class NeedleSample:
    """One sequence of ``seq_len + 1`` tokens and where its parts are.

    Positions index the token list; the model reads ``tokens[:-1]``, so position p is
    also the input position p and the digit at p is predicted at input position p - 1.
    """

    tokens: list[int]
    needles: list[dict[str, Any]] = field(default_factory=list)
    """Per needle: word, digits, start, end (the sentence's span), digits_start."""
    queries: list[dict[str, Any]] = field(default_factory=list)
    """Per query: word, digits, digits_start (position of the first answer digit)."""
    query_start: int = 0
    """Position of the first query line (its newline); the haystack ends before it."""

    def answer_positions(self) -> list[int]:
        """Positions of every query digit."""
        n = len(self.queries[0]["digits"]) if self.queries else 0
        return [q["digits_start"] + i for q in self.queries for i in range(n)]


class NeedleTask:
    """Multi-needle retrieval samples drawn from a haystack token stream."""

    def __init__(
        self,
        train_haystack: torch.Tensor,
        val_haystack: torch.Tensor,
        seq_len: int,
        batch: int = 16,
        eval_batches: int = 4,
        counts: tuple[int, ...] = DEFAULT_COUNTS,
        queries: int = 2,
        digits: int = 4,
    ) -> None:
        counts = tuple(int(c) for c in counts)
        if not counts or min(counts) < 1 or max(counts) > len(KEY_WORDS):
            raise ValueError(f"needle counts must be in 1..{len(KEY_WORDS)}, got {counts}")
        if queries < 1 or digits < 1:
            raise ValueError("queries and digits must be positive")
        self.train_haystack = train_haystack
        self.val_haystack = val_haystack
        self.seq_len = seq_len
        self.batch = batch
        self.eval_batches = eval_batches
        self.counts = counts
        self.queries = queries
        self.digits = digits
        longest = max(len(w) for w in KEY_WORDS)
        worst = max(counts)
        need = worst * (len(needle_text("x" * longest, "0" * digits)) + 2)
        need += min(worst, queries) * (len(needle_text("x" * longest, "0" * digits)) + 1) + 8
        if seq_len + 1 < need:
            raise ValueError(
                f"seq_len {seq_len} is too short for {worst} needles and "
                f"{min(worst, queries)} queries (needs at least {need})"
            )
        for name, hay in (("training", train_haystack), ("validation", val_haystack)):
            if hay.numel() < seq_len + 2:
                raise ValueError(f"the {name} haystack has fewer than seq_len + 2 tokens")

    @classmethod
    def from_options(cls, options: dict[str, Any], *, seq_len: int, batch: int,
                     eval_batches: int, corpus_bytes: int) -> NeedleTask:
        """The task with haystacks from the stdlib-docstring corpus."""
        from papercraft_diffattn.data import load_corpus
        from papercraft_diffattn.tokenizer import encode_documents

        corpus = load_corpus(corpus_bytes)
        train = torch.tensor(encode_documents(corpus.train), dtype=torch.long)
        val = torch.tensor(encode_documents(corpus.val), dtype=torch.long)
        train[train > 255] = ord("\n")  # end-of-document tokens read as newlines
        val[val > 255] = ord("\n")
        return cls(
            train, val, seq_len, batch, eval_batches,
            counts=tuple(options.get("counts", DEFAULT_COUNTS)),
            queries=int(options.get("queries", 2)),
            digits=int(options.get("digits", 4)),
        )

    def sample(self, rng: random.Random, n_needles: int, n_queries: int | None = None,
               split: str = "train") -> NeedleSample:
        """One sample with ``n_needles`` needles and min(N, R) queries."""
        r = min(n_needles, self.queries if n_queries is None else n_queries)
        words = rng.sample(KEY_WORDS, n_needles)
        values = ["".join(rng.choice("0123456789") for _ in range(self.digits))
                  for _ in words]
        asked = rng.sample(range(n_needles), r)
        needles = [list((" " + needle_text(w, v) + " ").encode())
                   for w, v in zip(words, values, strict=True)]
        query_lines = [list(("\n" + needle_text(words[i], values[i])).encode()) for i in asked]
        total = self.seq_len + 1
        hay_len = total - sum(map(len, needles)) - sum(map(len, query_lines))
        if hay_len < 0:
            raise ValueError(f"seq_len {self.seq_len} is too short for {n_needles} needles")
        hay = self.train_haystack if split == "train" else self.val_haystack
        start = rng.randrange(0, hay.numel() - hay_len + 1)
        haystack = hay[start : start + hay_len].tolist()
        cuts = sorted(rng.randint(0, hay_len) for _ in words)
        tokens: list[int] = []
        placed: list[dict[str, Any]] = []
        prev = 0
        for cut, i in zip(cuts, rng.sample(range(n_needles), n_needles), strict=True):
            tokens.extend(haystack[prev:cut])
            prev = cut
            begin = len(tokens) + 1  # after the leading space
            tokens.extend(needles[i])
            end = len(tokens) - 1  # before the trailing space
            placed.append({
                "word": words[i], "digits": values[i], "start": begin, "end": end,
                "digits_start": end - 1 - self.digits,
            })
        tokens.extend(haystack[prev:])
        query_start = len(tokens)
        asked_queries = []
        for line, i in zip(query_lines, asked, strict=True):
            tokens.extend(line)
            asked_queries.append({
                "word": words[i], "digits": values[i],
                "digits_start": len(tokens) - 1 - self.digits,
            })
        placed.sort(key=lambda p: p["start"])
        return NeedleSample(tokens=tokens, needles=placed, queries=asked_queries,
                            query_start=query_start)

    def batch_from(self, samples: list[NeedleSample]) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs and targets (-100 except at query digits) for ``samples``."""
        seqs = torch.tensor([s.tokens for s in samples], dtype=torch.long)
        x = seqs[:, :-1].contiguous()
        y = torch.full_like(x, IGNORE)
        for row, s in enumerate(samples):
            for p in s.answer_positions():
                y[row, p - 1] = seqs[row, p]
        return x, y

    def train_batch(self, generator: torch.Generator,
                    batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        rng = random.Random(seed)
        samples = [self.sample(rng, rng.choice(self.counts)) for _ in range(batch)]
        return self.batch_from(samples)

    def eval_samples(self, n_needles: int, count: int, n_queries: int | None = None,
                     seed: int = VAL_SEED) -> list[NeedleSample]:
        """``count`` fixed validation samples with ``n_needles`` needles."""
        rng = random.Random(f"{seed}-{n_needles}-{n_queries}")
        return [self.sample(rng, n_needles, n_queries, split="val") for _ in range(count)]

    def val_batches(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        rng = random.Random(VAL_SEED)
        out = []
        for b in range(self.eval_batches):
            samples = [self.sample(rng, self.counts[(b * self.batch + i) % len(self.counts)],
                                   split="val") for i in range(self.batch)]
            out.append(self.batch_from(samples))
        return out


def retrieval_accuracy(model: Any, task: NeedleTask, samples: list[NeedleSample],
                       batch: int = 32) -> dict[str, float]:
    """Exact-match accuracy over queries (all digits right) and per-digit accuracy."""
    exact = digits_right = queries = digits_total = 0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for i in range(0, len(samples), batch):
            chunk = samples[i : i + batch]
            x, y = task.batch_from(chunk)
            pred = model(x).argmax(-1)
            for row, s in enumerate(chunk):
                for q in s.queries:
                    pos = [q["digits_start"] + k - 1 for k in range(len(q["digits"]))]
                    ok = pred[row, pos] == y[row, pos]
                    exact += int(ok.all())
                    digits_right += int(ok.sum())
                    queries += 1
                    digits_total += len(pos)
    model.train(was_training)
    return {
        "accuracy": exact / max(queries, 1),
        "digit_accuracy": digits_right / max(digits_total, 1),
        "queries": queries,
    }


def attention_mass(model: Any, task: NeedleTask, samples: list[NeedleSample],
                   batch: int = 16) -> list[dict[str, float]]:
    """Per layer: where the position predicting a query's first digit attends, split into
    the queried needle (answer: the inserted bytes, the sentence with a space on each side),
    the other needles (distractors), the haystack (noise) and the rest (the query lines),
    averaged over samples and queries.

    ``*_share``: the part's share of the row's absolute attention, sum |w| over the part /
    sum |w| over the row, averaged over heads (for the Transformer, w >= 0 and this is the
    plain share of the softmax; for Diff, w = softmax1 - lambda * softmax2 can be negative
    and its rows sum to 1 - lambda, so the absolute mass is the scale-free measure).
    The signed sums (averaged over heads) are kept as ``answer``, ``noise``..., ``total``.
    """
    parts_names = ("answer", "distractors", "noise", "other")
    sums: list[dict[str, float]] = []
    count = 0
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for i in range(0, len(samples), batch):
            chunk = samples[i : i + batch]
            x, _ = task.batch_from(chunk)
            _, details = model(x, return_details=True)
            layers = details["attention"]
            if not sums:
                sums = [{} for _ in layers]
            n = x.shape[1]
            for row, s in enumerate(chunk):
                # a needle's span is everything inserted: the sentence and the space on
                # each side (trained models often read a needle through its trailing space)
                needle_mask = torch.zeros(n, dtype=torch.bool)
                for nd in s.needles:
                    needle_mask[nd["start"] - 1 : nd["end"] + 1] = True
                hay_mask = ~needle_mask
                hay_mask[s.query_start :] = False
                for q in s.queries:
                    qpos = q["digits_start"] - 1
                    answer = next(nd for nd in s.needles if nd["word"] == q["word"])
                    answer_mask = torch.zeros(n, dtype=torch.bool)
                    answer_mask[answer["start"] - 1 : answer["end"] + 1] = True
                    masks = {
                        "answer": answer_mask,
                        "distractors": needle_mask & ~answer_mask,
                        "noise": hay_mask,
                    }
                    masks["other"] = ~(answer_mask | needle_mask | hay_mask)
                    for li, layer in enumerate(layers):
                        w = layer["weights"][row, :, qpos, :].float()  # [heads, n]
                        signed, absolute = w.mean(0), w.abs()
                        abs_total = absolute.sum(-1).clamp_min(1e-12)  # [heads]
                        acc = sums[li]
                        for name, mask in masks.items():
                            acc[name] = acc.get(name, 0.0) + float(signed[mask].sum())
                            share = (absolute[:, mask].sum(-1) / abs_total).mean()
                            acc[f"{name}_share"] = acc.get(f"{name}_share", 0.0) + float(share)
                        acc["total"] = acc.get("total", 0.0) + float(signed.sum())
                    count += 1
    model.train(was_training)
    keys = (*parts_names, "total", *(f"{k}_share" for k in parts_names))
    return [{"layer": li, **{k: layer_sums.get(k, 0.0) / max(count, 1) for k in keys}}
            for li, layer_sums in enumerate(sums)]
