"""Run a Task against a Model into a run folder; resume an interrupted run.

The runner takes the task's samples in order (``limit`` N takes ``task.subset(N, seed)``:
the first N unless the task draws a representative subset), skips those a
resumed folder already holds, hands the rest to the model's ``generate_iter`` /
``complete_iter`` with at most ``concurrency`` prompts in flight (local models: a model that
batches continuously keeps that many rows busy) or runs them on ``concurrency`` threads, one
prompt per call (remote models), lets the task parse and score each response and appends
every finished sample to ``samples.jsonl``. A prompt the model cannot take (longer than its
context) is recorded as that sample's ``error`` (score 0) and the run goes on.
A task with its own solve step (:mod:`papercraft.evaluation.solve`) is run one sample per
call of ``task.solve`` instead (on ``concurrency`` threads for remote models), its model calls
counted into the sample's record.
``results.json`` is written when every sample is done.
"""

from __future__ import annotations

import inspect
import json
import platform
import re
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from papercraft.errors import PapercraftError
from papercraft.evaluation.metrics import summarize
from papercraft.evaluation.runfolder import RunFolder
from papercraft.evaluation.solve import CountingModel, Solution, SolveContext, Tally
from papercraft.evaluation.task import Sample, Task
from papercraft.models.base import (
    Completion,
    GenerationParams,
    Message,
    Model,
    ModelInputError,
    Outcome,
)
from papercraft.registry import BenchmarkRecord

FORMAT_VERSION = 1
IDENTITY_KEYS = ("benchmark", "params", "model", "attention", "limit", "seed", "task")
"""config.json fields a resumed run must share with the command that resumes it."""

ProgressCallback = Callable[[int, int, float], None]
"""``on_progress(done, total, score_sum)`` after every finished batch."""


@dataclass(frozen=True)
class RunSettings:
    """What ``eval run`` was asked to do."""

    benchmark: str
    model: str
    attention: str | None = None
    limit: int | None = None
    seed: int = 0
    params: dict[str, str] = field(default_factory=dict)
    concurrency: int = 1
    cache: bool = True

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 1:
            raise PapercraftError("--limit must be at least 1", 2)
        if self.concurrency < 1:
            raise PapercraftError("--concurrency must be at least 1", 2)


# ------------------------------------------------------------------ building a task
def parse_params(items: Sequence[str]) -> dict[str, str]:
    """``["n=20", "split=test"]`` -> ``{"n": "20", "split": "test"}`` (values stay strings)."""
    params: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise PapercraftError(
                f"-p expects key=value with a Python name as key, got {item!r}", 2
            )
        params[key] = value
    return params


def build_task(record: BenchmarkRecord, params: dict[str, str]) -> Task:
    """``record.load()(**params)``; a parameter the factory rejects is a one-line error."""
    factory = record.load()
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        try:
            signature.bind(**params)
        except TypeError as exc:
            accepted = [
                p.name for p in signature.parameters.values()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            ]
            raise PapercraftError(
                f"benchmark {record.name!r} does not take these parameters ({exc}); "
                f"it takes: {', '.join(accepted) or 'none'}",
                2,
            ) from exc
    try:
        task = factory(**params)
    except PapercraftError:
        raise
    except (TypeError, ValueError, KeyError) as exc:
        raise PapercraftError(
            f"benchmark {record.name!r}: invalid parameters {params}: {exc}", 2
        ) from exc
    if not isinstance(task, Task):
        raise PapercraftError(
            f"benchmark {record.name!r}: its factory returned {type(task).__name__}, not a Task"
        )
    return task


def select_samples(task: Task, limit: int | None, seed: int = 0) -> list[Sample]:
    """The task's samples, or its ``subset(limit, seed)``; ids must be unique."""
    samples = list(task.samples()) if limit is None else list(task.subset(limit, seed))[:limit]
    seen: set[str] = set()
    duplicates = sorted({s.id for s in samples if s.id in seen or seen.add(s.id)})
    if duplicates:
        raise PapercraftError(
            f"task {task.name or type(task).__name__!r} has duplicate sample ids: "
            f"{', '.join(duplicates[:5])}"
        )
    return samples


# ------------------------------------------------------------------ configuration
def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "model"


def default_run_dir(benchmark: str, model: str) -> Path:
    """``PAPERCRAFT_HOME/runs/<bench>-<model>-<YYYYmmdd-HHMMSS>`` (a suffix when taken)."""
    from papercraft.paths import subdir

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = subdir("runs") / f"{_safe(benchmark)}-{_safe(model)}-{stamp}"
    path, number = base, 1
    while path.exists():
        number += 1
        path = base.with_name(f"{base.name}-{number}")
    return path


def environment(manager: Any | None = None) -> dict[str, Any]:
    """Versions of papercraft, its plugins, key packages (if installed) and Python."""
    from importlib import metadata

    from papercraft._version import __version__

    packages: dict[str, str] = {}
    for name in ("torch", "transformers", "numpy"):
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    plugins = (
        {info.name: info.version for info in manager.plugins(include_default=False)}
        if manager is not None
        else {}
    )
    return {
        "papercraft": __version__,
        "plugins": plugins,
        "packages": packages,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def generation_params(task: Task, seed: int) -> GenerationParams:
    """The task's decoding settings with the run's seed."""
    return replace(task.generation(), seed=seed)


def make_config(
    task: Task, settings: RunSettings, total: int, *, record: BenchmarkRecord | None = None,
    manager: Any | None = None, executor: str = "batch",
) -> dict[str, Any]:
    """The content of ``config.json``."""
    params = generation_params(task, settings.seed)
    generation = asdict(params)
    generation["stop"] = list(params.stop)
    return _jsonable({
        "format": FORMAT_VERSION,
        "benchmark": settings.benchmark,
        "benchmark_plugin": record.plugin if record is not None else "",
        "task": task.config(),
        "task_name": task.name,
        "mode": task.mode,
        "metric": task.metric,
        "generation": generation,
        "model": settings.model,
        "attention": settings.attention,
        "limit": settings.limit,
        "seed": settings.seed,
        "params": dict(settings.params),
        "concurrency": settings.concurrency,
        "executor": executor,
        "cache": settings.cache,
        "total": total,
        "versions": environment(manager),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })


def check_same_run(stored: dict[str, Any], config: dict[str, Any], path: Path) -> None:
    """Refuse to resume a folder made by a different command (one line, exit 2)."""
    different = [k for k in IDENTITY_KEYS if stored.get(k) != config.get(k)]
    if not different:
        return
    detail = "; ".join(
        f"{k}: folder has {json.dumps(stored.get(k))}, this command {json.dumps(config.get(k))}"
        for k in different
    )
    raise PapercraftError(
        f"cannot resume {path}: it is a run of another configuration ({detail}); "
        "repeat the original options or choose another --out",
        2,
    )


def _check_same_samples(done: Sequence[dict[str, Any]], samples: Sequence[Sample],
                        path: Path) -> None:
    """Refuse to resume a folder holding samples this run would not evaluate."""
    wanted = {s.id for s in samples}
    foreign = sorted({str(r.get("id")) for r in done} - wanted)
    if foreign:
        raise PapercraftError(
            f"cannot resume {path}: it holds {len(foreign)} sample(s) this run would not "
            f"evaluate (e.g. {foreign[0]!r}); the task's samples or its --limit subset "
            "changed since the run started; start a new run with another --out",
            2,
        )


# ------------------------------------------------------------------ one evaluation
def _messages(prompt: str | Sequence[Message]) -> list[Message]:
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [dict(m) for m in prompt]


def _call(model: Model, task: Task, samples: Sequence[Sample],
          params: GenerationParams) -> list[Completion]:
    prompts = _prompts(task, samples)
    if task.mode == "chat":
        completions = model.generate(prompts, params)
    else:
        completions = model.complete(prompts, params)
    if len(completions) != len(samples):
        raise PapercraftError(
            f"model {model.model_id!r} returned {len(completions)} completions "
            f"for {len(samples)} prompts"
        )
    return completions


def _prompts(task: Task, samples: Sequence[Sample]) -> list[Any]:
    """The model inputs of ``samples``: message lists (chat tasks) or strings."""
    if task.mode == "chat":
        return [_messages(s.prompt) for s in samples]
    for sample in samples:
        if not isinstance(sample.prompt, str):
            raise PapercraftError(
                f"sample {sample.id!r} has a message list but the task's mode is "
                "'complete'; use mode = 'chat'"
            )
    return [s.prompt for s in samples]


def _call_iter(model: Model, task: Task, samples: Sequence[Sample], params: GenerationParams,
               concurrency: int) -> Iterator[Outcome]:
    """The model's outcomes for ``samples`` as they finish, each exactly once."""
    prompts = _prompts(task, samples)
    if task.mode == "chat":
        outcomes = model.generate_iter(prompts, params, concurrency=concurrency)
    else:
        outcomes = model.complete_iter(prompts, params, concurrency=concurrency)
    seen: set[int] = set()
    for outcome in outcomes:
        if not 0 <= outcome.index < len(samples) or outcome.index in seen:
            raise PapercraftError(
                f"model {model.model_id!r} returned an answer for input {outcome.index} "
                f"of {len(samples)} twice or out of range"
            )
        seen.add(outcome.index)
        yield outcome
    if len(seen) != len(samples):
        raise PapercraftError(
            f"model {model.model_id!r} returned {len(seen)} completions "
            f"for {len(samples)} prompts"
        )


def error_record(index: int, sample: Sample, error: ModelInputError) -> dict[str, Any]:
    """The ``samples.jsonl`` row of a sample the model could not take (score 0)."""
    return {
        "index": index,
        "id": sample.id,
        "prompt": sample.prompt if isinstance(sample.prompt, str) else _messages(sample.prompt),
        "response": "",
        "parsed": None,
        "target": sample.target,
        "score": 0.0,
        "metadata": sample.metadata,
        "finish_reason": "error",
        "error": str(error),
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "seconds": 0.0,
        "cached": False,
    }


def sample_record(task: Task, index: int, sample: Sample, completion: Completion) -> dict[str, Any]:
    """One row of ``samples.jsonl``."""
    parsed = task.parse(completion.text, sample)
    score = float(task.score(parsed, sample))
    return {
        "index": index,
        "id": sample.id,
        "prompt": sample.prompt if isinstance(sample.prompt, str) else _messages(sample.prompt),
        "response": completion.text,
        "parsed": parsed,
        "target": sample.target,
        "score": score,
        "metadata": sample.metadata,
        "finish_reason": completion.finish_reason,
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "seconds": round(float(completion.seconds), 6),
        "cached": bool(completion.cached),
    }


def solution_record(task: Task, index: int, sample: Sample, solution: Solution,
                    tally: Tally) -> dict[str, Any]:
    """The ``samples.jsonl`` row of a sample a task's solve step answered."""
    parsed = task.parse(solution.response, sample)
    score = float(task.score(parsed, sample))
    seconds = solution.seconds if solution.seconds is not None else tally.seconds
    record = {
        "index": index,
        "id": sample.id,
        "prompt": sample.prompt if isinstance(sample.prompt, str) else _messages(sample.prompt),
        "response": solution.response,
        "parsed": parsed,
        "target": sample.target,
        "score": score,
        "metadata": sample.metadata,
        "finish_reason": solution.finish_reason,
        "calls": solution.calls if solution.calls is not None else tally.calls,
        "prompt_tokens": (solution.prompt_tokens if solution.prompt_tokens is not None
                          else tally.prompt_tokens),
        "completion_tokens": (solution.completion_tokens
                              if solution.completion_tokens is not None
                              else tally.completion_tokens),
        "seconds": round(float(seconds), 6),
        "cached": tally.calls > 0 and tally.cached >= tally.calls,
    }
    if solution.extra:
        record["extra"] = _jsonable(solution.extra)
    return record


def _ordered(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(records, key=lambda r: (r.get("index", float("inf")), str(r.get("id"))))


def compute_results(
    records: Sequence[dict[str, Any]],
    config: dict[str, Any],
    task: Task | None = None,
    *,
    wall_seconds: float | None = None,
) -> dict[str, Any]:
    """Metrics of the records (sorted by sample index), the config and timing totals."""
    ordered = _ordered(records)
    scores = [float(r["score"]) for r in ordered]
    total = int(config.get("total") or len(ordered))
    metrics = summarize(scores, name=str(config.get("metric", "accuracy")),
                        seed=int(config.get("seed") or 0))
    task_metrics = _jsonable(task.aggregate(list(ordered))) if task is not None and ordered else {}
    completion_tokens = sum(int(r.get("completion_tokens") or 0) for r in ordered)
    timing: dict[str, Any] = {
        "prompt_tokens": sum(int(r.get("prompt_tokens") or 0) for r in ordered),
        "completion_tokens": completion_tokens,
        "cached": sum(1 for r in ordered if r.get("cached")),
        "model_calls": sum(int(r.get("calls", 0 if r.get("error") else 1)) for r in ordered),
        "model_seconds": round(sum(float(r.get("seconds") or 0) for r in ordered), 3),
    }
    if wall_seconds is not None:
        timing["wall_seconds"] = round(wall_seconds, 3)
        timing["completion_tokens_per_second"] = (
            round(completion_tokens / wall_seconds, 2) if wall_seconds > 0 else None
        )
    return {
        "benchmark": config.get("benchmark"),
        "model": config.get("model"),
        "attention": config.get("attention"),
        "status": "complete" if len(ordered) >= total else "partial",
        "n": len(ordered),
        "total": total,
        "errors": sum(1 for r in ordered if r.get("error")),
        "metrics": metrics,
        "task_metrics": task_metrics,
        "timing": timing,
        "config": config,
    }


def _check_folder(folder: RunFolder, resume: bool) -> None:
    """Refuse a folder that is neither a run to resume nor empty (one line, exit 2)."""
    if (resume and folder.is_run()) or folder.is_empty():
        return
    if folder.is_run():
        raise PapercraftError(
            f"run folder {folder.path} already exists and is not empty; add --resume to "
            "continue it or choose another --out",
            2,
        )
    if resume:
        raise PapercraftError(
            f"cannot resume {folder.path}: it is not empty and holds no config.json (not a run "
            "folder); choose another --out",
            2,
        )
    raise PapercraftError(
        f"run folder {folder.path} is not empty and holds no config.json, so it is no run that "
        "--resume could continue; choose another --out",
        2,
    )


class Evaluation:
    """A prepared run: the folder checked, finished samples read, the rest pending."""

    def __init__(self, task: Task, settings: RunSettings, folder: RunFolder,
                 config: dict[str, Any], samples: list[Sample], done: list[dict[str, Any]],
                 *, resumed: bool, manager: Any | None = None) -> None:
        self.task = task
        self.manager = manager
        self.settings = settings
        self.folder = folder
        self.config = config
        self.samples = samples
        self.done = done
        self.resumed = resumed
        finished = {str(r.get("id")) for r in done}
        self.pending = [(i, s) for i, s in enumerate(samples) if s.id not in finished]

    @classmethod
    def prepare(cls, task: Task, settings: RunSettings, path: str | Path, *, resume: bool = False,
                record: BenchmarkRecord | None = None, manager: Any | None = None,
                executor: str = "batch") -> Evaluation:
        """Check the folder (nothing is written when the check fails) and read what is done.

        Without ``resume`` the folder must be missing or empty. With ``resume`` a folder with a
        ``config.json`` must name the same benchmark, params, model, attention, limit, seed and
        task config; its truncated last sample line, if any, is then cut off. The folder's lock
        is taken here (a folder another live process runs into is refused, naming it) and held
        until :meth:`run` ends or :meth:`close`; temporary files a killed run left are removed.
        """
        folder = RunFolder(path)
        samples = select_samples(task, settings.limit, settings.seed)
        config = make_config(task, settings, len(samples), record=record, manager=manager,
                             executor=executor)
        if folder.path.exists() and not folder.path.is_dir():
            raise PapercraftError(f"{folder.path} exists and is not a folder", 2)
        _check_folder(folder, resume)  # before locking: a refused folder gets no lock file
        folder.lock()
        try:
            _check_folder(folder, resume)  # again: another process may have changed it
            folder.remove_leftovers()
            done: list[dict[str, Any]] = []
            resumed = False
            if resume and folder.is_run():
                stored = folder.read_config()
                check_same_run(stored, config, folder.path)
                done = folder.read_records(repair=True)
                _check_same_samples(done, samples, folder.path)
                config = stored
                resumed = True
        except BaseException:
            folder.unlock()
            raise
        return cls(task, settings, folder, config, samples, done, resumed=resumed,
                   manager=manager)

    def close(self) -> None:
        """Release the run folder (its lock) without running."""
        self.folder.close()

    @property
    def total(self) -> int:
        """Number of samples of the run."""
        return len(self.samples)

    def run(self, model: Model, *, threads: bool = False,
            on_progress: ProgressCallback | None = None) -> dict[str, Any]:
        """Evaluate the pending samples, append them, then write and return ``results.json``.

        The folder stays locked until ``results.json`` is written; a failed write into it (a
        full disk) raises :class:`~papercraft.evaluation.runfolder.RunFolderWriteError`.
        """
        started = time.perf_counter()
        self.folder.lock()  # held since prepare(); taken again if close() released it
        try:
            if not self.resumed:
                self.folder.write_config(self.config)
            params = generation_params(self.task, self.settings.seed)
            score_sum = sum(float(r["score"]) for r in self.done)
            count = len(self.done)
            if on_progress is not None:
                on_progress(count, self.total, score_sum)
            for batch in self._batches(model, params, threads):
                self.folder.append(batch)
                self.done.extend(batch)
                count += len(batch)
                score_sum += sum(r["score"] for r in batch)
                if on_progress is not None:
                    on_progress(count, self.total, score_sum)
            results = compute_results(self.done, self.config, self.task,
                                      wall_seconds=time.perf_counter() - started)
            results["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            self.folder.write_results(results)
        finally:
            self.folder.close()
        return results

    def _batches(self, model: Model, params: GenerationParams, threads: bool):
        size = self.settings.concurrency
        if self.task.has_pipeline():
            yield from self._solved(model, params, size if threads else 1)
            return
        if not threads:
            samples = [s for _, s in self.pending]
            for outcome in _call_iter(model, self.task, samples, params, size):
                index, sample = self.pending[outcome.index]
                if outcome.error is not None:
                    yield [error_record(index, sample, outcome.error)]
                elif outcome.completion is not None:
                    yield [sample_record(self.task, index, sample, outcome.completion)]
            return
        yield from self._pooled(
            lambda index, sample: _call(model, self.task, [sample], params)[0],
            lambda index, sample, completion: sample_record(self.task, index, sample,
                                                            completion),
            size, "papercraft-eval")

    def _pooled(self, work: Callable[[int, Sample], Any],
                finish: Callable[[int, Sample, Any], dict[str, Any]], workers: int,
                prefix: str) -> Iterator[list[dict[str, Any]]]:
        """Records of the pending samples: ``work`` on ``workers`` threads, ``finish`` here.

        Yields the records of each set of finished futures. A ModelInputError is that sample's
        error record; any other exception stops submitting, and is raised once the samples
        already finished have been yielded.
        """
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=prefix)
        try:
            queue = iter(self.pending)
            running: dict[Future[Any], tuple[int, Sample]] = {}

            def submit() -> None:
                for index, sample in queue:
                    running[pool.submit(work, index, sample)] = (index, sample)
                    return

            for _ in range(workers):
                submit()
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                batch, failure = [], None
                for future in finished:
                    index, sample = running.pop(future)
                    error = future.exception()
                    if isinstance(error, ModelInputError):
                        batch.append(error_record(index, sample, error))
                        if failure is None:
                            submit()
                        continue
                    if error is not None:
                        failure = failure or error
                        continue
                    batch.append(finish(index, sample, future.result()))
                    if failure is None:
                        submit()
                if batch:
                    yield batch
                if failure is not None:
                    raise failure
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _solve_one(self, model: Model, params: GenerationParams, index: int,
                   sample: Sample) -> dict[str, Any]:
        counted = CountingModel(model)
        ctx = SolveContext(counted, params, seed=self.settings.seed, manager=self.manager)
        try:
            solution = self.task.solve(sample, ctx)
        except ModelInputError as exc:
            return error_record(index, sample, exc)
        return solution_record(self.task, index, sample, solution, counted.tally)

    def _solved(self, model: Model, params: GenerationParams, workers: int):
        """Records of the pending samples through the task's solve step, as they finish."""
        if workers <= 1:
            for index, sample in self.pending:
                yield [self._solve_one(model, params, index, sample)]
            return
        yield from self._pooled(
            lambda index, sample: self._solve_one(model, params, index, sample),
            lambda index, sample, record: record,
            workers, "papercraft-solve")
