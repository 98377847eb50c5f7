"""The benchmarks ``gsm-symbolic``, ``gsm-p1``, ``gsm-p2``, ``gsm-noop`` and ``gsm-m1`` as tasks.

Instance ``i`` of every template forms instantiation set ``i`` (the paper's 50 sets of
GSM-Symbolic); the template's original values form the set ``original``. With
``-p released=PATH`` the samples are Apple's released instances instead (set = the row's
``instance``, originals from ``original_question``/``original_answer``). Accuracy is
reported per set, with its mean, standard deviation (``ddof=1``), minimum and maximum, and
the drop from the originals to the mean over sets.
"""

from __future__ import annotations

import math
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from papercraft.errors import PapercraftError
from papercraft.evaluation.task import Sample, Task, stratified_subset
from papercraft.models.base import GenerationParams
from papercraft_gsm_symbolic import __version__
from papercraft_gsm_symbolic.prompt import EXEMPLARS, build_prompt
from papercraft_gsm_symbolic.released import ReleasedRow

ORIGINAL = "original"
TOLERANCE = 1e-6
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_PARAMS = {
    "templates": "builtin, a template file or a folder (default builtin)",
    "released": "Apple's generated_data/GSM_*.jsonl: evaluate exactly its instances",
    "instances": "instances per template = instantiation sets (default 50; released: all)",
    "seed": "seed of the instances (default 0)",
    "shots": "exemplars in the prompt: 0-8 of ours (default 8), or a JSONL file of "
             "question/answer (the standard GSM8K 8-shot chain of thought)",
    "include_original": "also evaluate each template's original values (default true)",
    "max_tokens": "tokens generated per answer (default 256)",
    "max_templates": "use only the first N templates of the variant (default all)",
    "template_ids": "use only these template ids, comma-separated (default all)",
    "skip_bad": "skip bad templates instead of failing (default false)",
}


def _int(name: str, value: Any, low: int, high: int | None = None) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise PapercraftError(f"parameter {name} must be a whole number, got {value!r}",
                              exit_code=2) from None
    if number < low or (high is not None and number > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise PapercraftError(f"parameter {name} must be {bound}, got {number}", exit_code=2)
    return number


def _bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise PapercraftError(f"parameter {name} must be true or false, got {value!r}", exit_code=2)


def parse_answer(response: str) -> str | None:
    """The last number of the response (commas removed), cut at a following ``Q:``."""
    text = re.split(r"\n\s*Q:", response, maxsplit=1)[0].replace(",", "")
    numbers = _NUMBER.findall(text)
    return numbers[-1] if numbers else None


def _set_of(record: dict[str, Any]) -> str | None:
    metadata = record.get("metadata")
    if isinstance(metadata, dict) and "set" in metadata:
        return str(metadata["set"])
    sample = record.get("sample")
    for key in ("id", "sample_id"):
        value = record.get(key) or (sample.get(key) if isinstance(sample, dict) else None)
        if isinstance(value, str) and "/" in value:
            return value.rsplit("/", 1)[1]
    return None


def _score(record: dict[str, Any]) -> float:
    value = record.get("score")
    try:
        return float(value) if value is not None else 0.0
    except (TypeError, ValueError):
        return 0.0


def set_accuracies(records: list[dict[str, Any]]) -> tuple[dict[str, float], list[float]]:
    """(accuracy of each instantiation set by its number, scores of the original samples)."""
    by_set: dict[str, list[float]] = defaultdict(list)
    original: list[float] = []
    for record in records:
        key = _set_of(record)
        if key is None:
            continue
        if key == ORIGINAL:
            original.append(_score(record))
        else:
            by_set[key].append(_score(record))
    order = sorted(by_set, key=lambda k: (0, int(k)) if k.isdigit() else (1, k))
    return {k: sum(by_set[k]) / len(by_set[k]) for k in order}, original


def summarize_sets(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy per set, its mean/std/min/max, the originals' accuracy and the drop.

    ``symbolic_accuracy`` is over the instantiation sets only (the runner's own
    ``accuracy`` also counts the originals).
    """
    per_set, original = set_accuracies(records)
    values = list(per_set.values())
    n = len(values)
    mean = sum(values) / n if n else None
    std = (math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else
           (0.0 if n else None))
    symbolic = [_score(r) for r in records if _set_of(r) not in (None, ORIGINAL)]
    original_accuracy = sum(original) / len(original) if original else None
    return {
        "symbolic_accuracy": sum(symbolic) / len(symbolic) if symbolic else None,
        "sets": n,
        "accuracy_by_set": per_set,
        "set_accuracy_mean": mean,
        "set_accuracy_std": std,
        "set_accuracy_min": min(values) if values else None,
        "set_accuracy_max": max(values) if values else None,
        "original_samples": len(original),
        "original_accuracy": original_accuracy,
        "drop": (original_accuracy - mean
                 if original_accuracy is not None and mean is not None else None),
    }


def sets_figure(records: list[dict[str, Any]], title: str) -> Any | None:
    """Histogram of per-set accuracy, the sets' mean and the originals' accuracy, labelled
    in a legend (a matplotlib ``Figure``); None without instantiation sets."""
    summary = summarize_sets(records)
    values = [100 * v for v in summary["accuracy_by_set"].values()]
    if not values:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(8, 3.6), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    original = summary["original_accuracy"]
    marks = values + ([100 * original] if original is not None else [])
    low, high = max(0.0, min(marks) - 5), min(100.0, max(marks) + 5)
    width = max(1.0, (high - low) / 20)
    edges = [low + (i - 0.5) * width for i in range(int((high - low) / width) + 2)]
    sets = len(values)
    axes.hist(values, bins=edges, color="#4C72B0", alpha=0.85, edgecolor="white",
              label=f"instantiation sets ({sets})")
    mean, std = 100 * summary["set_accuracy_mean"], 100 * (summary["set_accuracy_std"] or 0)
    axes.axvline(mean, color="#4C72B0", linestyle=":", linewidth=1.5,
                 label=f"mean of the sets: {mean:.1f}" + (f" ± {std:.1f}" if sets > 1 else ""))
    if original is not None:
        axes.axvline(100 * original, color="#C44E52", linestyle="--", linewidth=2,
                     label=f"original questions: {100 * original:.1f}")
        axes.annotate(f"{100 * original:.1f}", xy=(100 * original, 1), xycoords=("data",
                      "axes fraction"), xytext=(3, -3), textcoords="offset points", ha="left",
                      va="top", color="#C44E52", fontsize=8, fontweight="bold")
    axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8)  # beside the axes
    axes.set_xlim(low - width, high + width)  # no line on the frame, even at 0 or 100
    axes.set_ylim(0, axes.get_ylim()[1] * 1.12)  # the originals' value above the bars
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("accuracy per instantiation set (%)")
    axes.set_ylabel("sets")
    axes.set_title(f"{title}: mean {mean:.1f} ± {std:.1f} over {sets} sets"
                   if sets > 1 else f"{title}: {mean:.1f} on 1 set", fontsize=9)
    figure.tight_layout()
    return figure


def plot_sets(records: list[dict[str, Any]], path: Path, title: str) -> bool:
    """Histogram of per-set accuracy with a line at the originals' accuracy (PNG)."""
    figure = sets_figure(records, title)
    if figure is None:
        return False
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return True


class GSMSymbolicTask(Task):
    """One variant of GSM-Symbolic over a template set."""

    mode = "complete"
    metric = "accuracy"

    def __init__(self, variant: str, **params: Any) -> None:
        unknown = sorted(set(params) - set(_PARAMS))
        name = "gsm-symbolic" if variant == "symbolic" else f"gsm-{variant}"
        if unknown:
            known = "; ".join(f"{k}: {v}" for k, v in _PARAMS.items())
            raise PapercraftError(f"unknown parameter(s) {', '.join(unknown)} for {name}; "
                                  f"known: {known}", exit_code=2)
        self.name = name
        self.variant = variant
        self.templates_source = str(params.get("templates", "builtin"))
        self.released = self._released(params)
        self._all_sets = self.released is not None and params.get("instances") in (None, "")
        self.instances = _int("instances", params.get("instances", 50), 1, 10_000)
        self.seed = _int("seed", params.get("seed", 0), -(2**63))
        self.shots_file, self.exemplars = self._exemplars(params.get("shots", 8))
        self.shots = (len(self.exemplars) if self.shots_file is not None
                      else _int("shots", params.get("shots", 8), 0, len(EXEMPLARS)))
        self.include_original = _bool("include_original", params.get("include_original", True))
        self.max_tokens = _int("max_tokens", params.get("max_tokens", 256), 1, 100_000)
        self.skip_bad = _bool("skip_bad", params.get("skip_bad", False))
        limit = params.get("max_templates")
        self.max_templates = None if limit in (None, "") else _int("max_templates", limit, 1)
        ids = str(params.get("template_ids") or "")
        self.template_ids = tuple(i.strip() for i in ids.split(",") if i.strip())
        self._samples: list[Sample] | None = None

    def _released(self, params: dict[str, Any]) -> str | None:
        """The released file (checked to exist), or None; refuses parameters it overrides."""
        value = params.get("released")
        if value in (None, ""):
            return None
        from papercraft.cli.validate import input_file
        from papercraft_gsm_symbolic.released import OPTION, check_variant

        clash = [k for k in ("templates", "seed", "skip_bad") if params.get(k) not in (None, "")]
        if clash:
            raise PapercraftError(f"{OPTION} evaluates the file's instances as they are: drop "
                                  f"-p {', -p '.join(clash)}", exit_code=2)
        path = str(Path(str(value)).expanduser())
        input_file(path, option=OPTION.rstrip("="))
        check_variant(path, self.variant)
        return path

    @staticmethod
    def _exemplars(value: Any) -> tuple[str | None, tuple[tuple[str, str], ...]]:
        """(the shots file, its exemplars) for ``shots=FILE``; (None, ours) for a count."""
        text = str(value).strip()
        if isinstance(value, int) or text.lstrip("+-").isdigit():
            return None, EXEMPLARS
        from papercraft_gsm_symbolic.shots import read_shots

        path = str(Path(text).expanduser())
        return path, tuple(read_shots(path))

    def _build(self) -> list[Sample]:
        if self.released is not None:
            return self._build_released()
        from papercraft_gsm_symbolic.engine import instantiate, original_instance
        from papercraft_gsm_symbolic.loader import load_templates, missing_variant_message
        from papercraft_gsm_symbolic.template import TemplateError

        found = load_templates(self.templates_source)
        skipped = [str(e) for e in found.errors]
        if found.errors and not self.skip_bad:
            found.raise_first()
        templates = found.variant(self.variant)
        if self.template_ids:
            known = {t.id for t in templates}
            missing = [i for i in self.template_ids if i not in known]
            if missing:
                raise PapercraftError(
                    f"no {self.variant!r} template with id {', '.join(missing)} in "
                    f"{self.templates_source}", exit_code=2)
            templates = [t for t in templates if t.id in self.template_ids]
        templates = templates[:self.max_templates]
        if not templates:
            raise PapercraftError(missing_variant_message(self.variant, self.templates_source),
                                  exit_code=2)
        originals: list[Sample] = []
        sets: list[list[Sample]] = [[] for _ in range(self.instances)]
        for template in templates:
            try:
                made = [instantiate(template, i, self.seed) for i in range(self.instances)]
            except TemplateError as exc:
                if not self.skip_bad:
                    raise TemplateError(exc.path, f"{exc.reason} (-p skip_bad=true leaves bad "
                                        "templates out)") from None
                skipped.append(str(exc))
                continue
            for i, instance in enumerate(made):
                sets[i].append(self._sample(instance, str(i)))
            if self.include_original:
                try:
                    originals.append(self._sample(original_instance(template), ORIGINAL))
                except (ValueError, TemplateError):
                    pass
        for message in skipped:
            sys.stderr.write(f"{self.name}: skipped {message}\n")
        return originals + [s for group in sets for s in group]

    def _build_released(self) -> list[Sample]:
        """Samples of the released file: originals (one per template), then set 0, 1, ..."""
        from papercraft_gsm_symbolic.released import read_released, same_id

        assert self.released is not None
        rows = read_released(self.released)
        order: list[str] = []
        for row in rows:
            if row.id not in order:
                order.append(row.id)
        if self.template_ids:
            missing = [i for i in self.template_ids if not any(same_id(i, t) for t in order)]
            if missing:
                raise PapercraftError(f"no id {', '.join(missing)} in {self.released}",
                                      exit_code=2)
            order = [t for t in order if any(same_id(i, t) for i in self.template_ids)]
        chosen = set(order[:self.max_templates])
        rows = [r for r in rows if r.id in chosen and (self._all_sets or
                                                       r.instance < self.instances)]
        place = {t: n for n, t in enumerate(order)}
        rows.sort(key=lambda r: (r.instance, place[r.id]))
        originals: dict[str, Sample] = {}
        if self.include_original:
            for row in sorted(rows, key=lambda r: place[r.id]):
                if row.id not in originals:
                    originals[row.id] = self._released_sample(row, ORIGINAL)
        return list(originals.values()) + [self._released_sample(r, str(r.instance))
                                           for r in rows]

    def _released_sample(self, row: ReleasedRow, set_name: str) -> Sample:
        template = f"{int(row.id):04d}" if row.id.isdigit() else row.id
        original = set_name == ORIGINAL
        question = row.original_question if original else row.question
        return Sample(
            id=f"{self.variant}/{template}/{set_name}",
            prompt=build_prompt(question, self.shots, self.exemplars),
            target=row.original_target if original else row.target,
            metadata={
                "set": set_name,
                "template": template,
                "variant": self.variant,
                "original_id": row.original_id,
                "question": question,
                "released": True,
            },
        )

    def _sample(self, instance: Any, set_name: str) -> Sample:
        template = instance.template
        return Sample(
            id=f"{template.variant}/{template.id}/{set_name}",
            prompt=build_prompt(instance.question, self.shots, self.exemplars),
            target=instance.target_text,
            metadata={
                "set": set_name,
                "template": template.id,
                "variant": template.variant,
                "original_id": template.original_id,
                "question": instance.question,
            },
        )

    def samples(self) -> list[Sample]:
        """Originals first, then set 0 (every template), set 1, ..."""
        if self._samples is None:
            self._samples = self._build()
        return list(self._samples)

    def subset(self, limit: int, seed: int = 0) -> list[Sample]:
        """``--limit``: in turn from the originals and each instantiation set, templates rotated.

        ``--limit 2`` evaluates one original and one sample of set 0; ``--limit`` of at least
        1 + instances gives every set (and the originals) a sample, each from another template.
        """
        return stratified_subset(self.samples(), limit, lambda s: str(s.metadata["set"]), seed)

    def generation(self) -> GenerationParams:
        """Greedy, stop at the next ``Q:``."""
        return GenerationParams(stop=("Q:",), max_tokens=self.max_tokens)

    def parse(self, response: str, sample: Sample) -> str | None:
        """The last number of the response, commas removed."""
        return parse_answer(response)

    def score(self, parsed: str | None, sample: Sample) -> float:
        """1.0 when the number equals the target within 1e-6."""
        if parsed is None:
            return 0.0
        try:
            got, want = float(parsed), float(sample.target)
        except ValueError:
            return 0.0
        return 1.0 if abs(got - want) <= TOLERANCE * max(1.0, abs(want)) else 0.0

    def config(self) -> dict[str, Any]:
        """The parameters (and how many templates and originals they gave)."""
        return {
            "variant": self.variant,
            "templates": None if self.released is not None else self.templates_source,
            "released": self.released,
            "instances": None if self._all_sets else self.instances,
            "seed": None if self.released is not None else self.seed,
            "shots": self.shots,
            "shots_file": self.shots_file,
            "include_original": self.include_original,
            "max_tokens": self.max_tokens,
            "skip_bad": self.skip_bad,
            "max_templates": self.max_templates,
            "template_ids": list(self.template_ids),
            "plugin_version": __version__,
        }

    def aggregate(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        """Accuracy per instantiation set, mean/std/min/max, originals and the drop."""
        return summarize_sets(records)

    def empty_metrics(self, metrics: dict[str, Any]) -> list[str]:
        """The empty metrics, less those of the originals when they were left out on purpose."""
        names = super().empty_metrics(metrics)
        if not self.include_original:
            names = [n for n in names if n not in ("original_accuracy", "drop")]
        return names

    def plot(self, records: list[dict[str, Any]], path: Path) -> bool:
        """The paper's distribution figure: per-set accuracy and the originals' line."""
        return plot_sets(records, path, self.name)


def symbolic_task(**params: Any) -> GSMSymbolicTask:
    """GSM-Symbolic: the templates with new names and numbers."""
    return GSMSymbolicTask("symbolic", **params)


def p1_task(**params: Any) -> GSMSymbolicTask:
    """GSM-P1: one clause added to each problem."""
    return GSMSymbolicTask("p1", **params)


def p2_task(**params: Any) -> GSMSymbolicTask:
    """GSM-P2: two clauses added to each problem."""
    return GSMSymbolicTask("p2", **params)


def noop_task(**params: Any) -> GSMSymbolicTask:
    """GSM-NoOp: a clause that seems relevant but changes nothing."""
    return GSMSymbolicTask("noop", **params)


def m1_task(**params: Any) -> GSMSymbolicTask:
    """GSM-M1: one clause removed from each problem (our annotated templates)."""
    return GSMSymbolicTask("m1", **params)
