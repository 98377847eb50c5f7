"""``papercraft diffattn ...``: train, compare, needle, attention-mass, outliers.

Heavy imports (torch, matplotlib) happen inside the commands. User mistakes (bad options,
a missing run folder, a run folder holding another config) are PapercraftErrors: one line
on stderr and a non-zero exit code.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any, NamedTuple, get_type_hints

import typer

from papercraft.cli.validate import in_range, output_dir
from papercraft.errors import PapercraftError

# Defaults shared by the commands (compare and outliers share runs, needle and
# attention-mass share runs: the same defaults make the second command reuse them).
LM_DEFAULTS = {"steps": 1000, "d_model": 64, "layers": 4, "heads": 4, "seq_len": 128,
               "batch": 16, "lr": 3e-3}
NEEDLE_DEFAULTS = {"steps": 1000, "d_model": 64, "layers": 2, "heads": 4, "seq_len": 192,
                   "batch": 16, "lr": 3e-3}
TRAIN_DEFAULTS = {"steps": 1000, "d_model": 128, "layers": 4, "heads": 4, "seq_len": 128,
                  "batch": 16, "lr": 2e-3}


# -- option groups: each defined once, expanded into the commands that take them -------------


class Flag(NamedTuple):
    """How one field of an option group appears on the command line."""

    flag: str
    help: str
    hidden: bool = False


@dataclass(frozen=True)
class Shape:
    """The model-shape options of every training command (``TrainConfig`` fields)."""

    d_model: int
    layers: int
    heads: int
    seq_len: int
    batch: int
    lr: float


SHAPE_FLAGS = {
    "d_model": Flag("--d-model", "Model width."),
    "layers": Flag("--layers", "Blocks."),
    "heads": Flag("--heads", "Transformer heads (Diff uses half as many)."),
    "seq_len": Flag("--seq-len", "Context length in bytes."),
    "batch": Flag("--batch", "Sequences per step."),
    "lr": Flag("--lr", "Peak learning rate (AdamW, warmup + cosine decay)."),
}


@dataclass(frozen=True)
class Runtime:
    """How a command runs: torch threads, corpus cap, progress bars."""

    threads: int = 1
    corpus_bytes: int = 4_000_000
    no_progress: bool = False


RUNTIME_FLAGS = {
    "threads": Flag("--threads", "Torch threads (0: torch's default)."),
    "corpus_bytes": Flag("--corpus-bytes", "Cap on the corpus size.", hidden=True),
    "no_progress": Flag("--no-progress", "No progress bars."),
}


def _options(group: type, flags: dict[str, Flag],
             defaults: dict[str, Any] | None = None) -> Callable[[Callable[..., None]], Any]:
    """Expand a command's parameter annotated ``group`` into one typer option per field.

    The command receives a single ``group(...)`` value; typer shows the options with the
    ``flags`` and the ``defaults`` (else the dataclass's own defaults).
    """
    kinds = get_type_hints(group)
    given = {f.name: f.default for f in fields(group) if f.default is not MISSING}
    given |= defaults or {}

    def decorate(func: Callable[..., None]) -> Callable[..., None]:
        signature = inspect.signature(func, eval_str=True)
        [name] = [p.name for p in signature.parameters.values() if p.annotation is group]
        options = [
            inspect.Parameter(
                key, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=kinds[key],
                default=typer.Option(given[key], flag.flag, help=flag.help, hidden=flag.hidden),
            )
            for key, flag in flags.items()
        ]
        params = [new for old in signature.parameters.values()
                  for new in (options if old.name == name else [old])]

        @functools.wraps(func)
        def command(**values: Any) -> None:
            values[name] = group(**{key: values.pop(key) for key in flags})
            func(**values)

        command.__signature__ = signature.replace(parameters=params)
        command.__annotations__ = {p.name: p.annotation for p in params}
        return command

    return decorate


def _echo(message: str) -> None:
    typer.echo(message, err=True)


@contextmanager
def _user_errors() -> Iterator[None]:
    """ValueError (bad sizes, options) -> PapercraftError."""
    try:
        yield
    except PapercraftError:
        raise
    except (ValueError, FileNotFoundError) as exc:
        raise PapercraftError(str(exc), exit_code=2) from None


def _set_threads(threads: int) -> None:
    import torch

    if threads < 0:
        raise PapercraftError(f"--threads must be >= 0, got {threads}", exit_code=2)
    if threads:
        torch.set_num_threads(threads)


def _config(arch: str, task: str, task_options: dict[str, Any], steps: int, seed: int,
            shape: Shape, warmup: int, eval_every: int, eval_batches: int,
            corpus_bytes: int):
    from papercraft_diffattn.train import TrainConfig

    if arch not in ("transformer", "diff"):
        raise PapercraftError(f"unknown --arch {arch!r}; choose transformer or diff",
                              exit_code=2)
    with _user_errors():
        return TrainConfig(
            arch=arch, task=task, task_options=task_options, steps=steps, seed=seed,
            **asdict(shape), warmup=warmup, eval_every=eval_every, eval_batches=eval_batches,
            corpus_bytes=corpus_bytes,
        ).resolved()


def _param_line(config: Any) -> str:
    from papercraft_diffattn.lm import parameter_counts

    counts = parameter_counts(config.lm_config())
    t, d = counts["transformer"], counts["diff"]
    return (f"parameters: Transformer {t:,} ({config.heads} heads), Diff {d:,} "
            f"({config.heads // 2} differential heads; +{d - t} from lambda and sub-layer norm,"
            f" {100 * (d - t) / t:+.3f}%)")


def _print(data: dict[str, Any], as_json: bool, rows: list[list[Any]], columns: list[str],
           title: str) -> None:
    from papercraft.cli.output import print_json, print_table

    if as_json:
        print_json(data)
    else:
        print_table(rows, columns, title=title)


WARMUP = typer.Option(-1, "--warmup", callback=in_range(0, also=[-1]),
                      help="Warmup steps (-1: min(100, steps/10)).")
EVAL_BATCHES = typer.Option(8, "--eval-batches", min=1, help="Validation batches per eval.")


KERNEL = typer.Option(
    None, "--kernel",
    help="Run the Diff layers' evaluations through a registered kernel: diff (C), diff-numba "
    "or diff-torch (default: the layer's torch path; training steps always use it).")


def _check_kernel(kernel: str | None) -> None:
    from papercraft_diffattn.kernels import LAYER_KERNELS

    if kernel is not None and kernel not in LAYER_KERNELS:
        raise PapercraftError(f"unknown --kernel {kernel!r}; choose from "
                              f"{', '.join(LAYER_KERNELS)}", exit_code=2)


def _check_warmup(warmup: int, steps: int) -> None:
    if warmup > steps:
        raise PapercraftError(f"--warmup {warmup} is beyond --steps {steps}", exit_code=2)


def _seed_list(seeds: int, first_seed: int) -> list[int]:
    if seeds < 1:
        raise PapercraftError(f"--seeds must be positive, got {seeds}", exit_code=2)
    return list(range(first_seed, first_seed + seeds))


def _counts(text: str, option: str = "--counts") -> list[int]:
    try:
        counts = [int(c) for c in text.split(",") if c.strip()]
    except ValueError:
        raise PapercraftError(f"{option} must be comma-separated integers, got {text!r}",
                              exit_code=2) from None
    if not counts or min(counts) < 1:
        raise PapercraftError(f"{option} must be positive integers, got {text!r}", exit_code=2)
    return counts


def _command_line(name: str, **options: Any) -> str:
    parts = [f"papercraft diffattn {name}"]
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            if value:
                parts.append(flag)
        elif value is not None:
            parts.append(f"{flag} {value}")
    return " ".join(parts)


# -- train -----------------------------------------------------------------------------------


@_options(Shape, SHAPE_FLAGS, TRAIN_DEFAULTS)
@_options(Runtime, RUNTIME_FLAGS)
def train_command(
    arch: str = typer.Option("transformer", "--arch", help="transformer or diff."),
    steps: int = typer.Option(TRAIN_DEFAULTS["steps"], "--steps", help="Optimizer steps."),
    seed: int = typer.Option(0, "--seed", help="Seed of the initialisation and of the batches."),
    shape: Shape = ...,
    warmup: int = WARMUP,
    eval_every: int = typer.Option(-1, "--eval-every", callback=in_range(1, also=[-1]),
                                   help="Evaluate and checkpoint every K steps (-1: steps/10)."),
    eval_batches: int = EVAL_BATCHES,
    out: Path | None = typer.Option(None, "--out",
                                    help="Run folder (default diffattn-runs/ARCH-seedS)."),
    resume: bool = typer.Option(False, "--resume",
                                help="Continue the run in --out from its checkpoint."),
    stop_at: int | None = typer.Option(None, "--stop-at",
                                       help="Stop after this step, with a checkpoint."),
    runtime: Runtime = ...,
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Train a byte-level LM (Transformer or Diff) on stdlib docstrings."""
    if stop_at is not None and stop_at < 1:
        raise PapercraftError(f"--stop-at must be a step >= 1, got {stop_at}", exit_code=2)
    if stop_at is not None and stop_at > steps:
        raise PapercraftError(f"--stop-at {stop_at} is beyond --steps {steps}", exit_code=2)
    _check_warmup(warmup, steps)
    if out is not None and resume and not out.is_dir():
        raise PapercraftError(f"nothing to resume: no run folder {out}", exit_code=2)
    if out is not None and not resume:
        output_dir(out, option="--out")
    config = _config(arch, "lm", {}, steps, seed, shape, warmup, eval_every, eval_batches,
                     runtime.corpus_bytes)
    _set_threads(runtime.threads)
    from papercraft_diffattn.train import train_run

    run_dir = out or Path("diffattn-runs") / f"{arch}-seed{seed}"
    _echo(_param_line(config))
    with _user_errors():
        summary = train_run(config, run_dir, mode="resume" if resume else "new",
                            stop_at=stop_at, progress=not runtime.no_progress, log=_echo)
    summary["run_dir"] = str(run_dir)
    keys = ("arch", "seed", "step", "steps", "finished", "params", "final_val_loss",
            "best_val_loss", "final_train_loss", "seconds", "run_dir")
    _print(summary, as_json, [[k, summary[k]] for k in keys], ["field", "value"],
           f"{arch} run")


# -- compare ---------------------------------------------------------------------------------


@_options(Shape, SHAPE_FLAGS, LM_DEFAULTS)
@_options(Runtime, RUNTIME_FLAGS)
def compare_command(
    steps: int = typer.Option(LM_DEFAULTS["steps"], "--steps", help="Optimizer steps per run."),
    seeds: int = typer.Option(3, "--seeds", help="Seeds per architecture (at least 3)."),
    first_seed: int = typer.Option(0, "--first-seed", help="Seeds are S, S+1, ..."),
    shape: Shape = ...,
    warmup: int = WARMUP,
    eval_every: int = typer.Option(-1, "--eval-every", callback=in_range(1, also=[-1]),
                                   help="Evaluate every K steps (-1: N/10)."),
    eval_batches: int = EVAL_BATCHES,
    out: Path = typer.Option(Path("diffattn-compare"), "--out", help="Output folder."),
    runtime: Runtime = ...,
    kernel: str | None = KERNEL,
    as_json: bool = typer.Option(False, "--json", help="Print report.json."),
) -> None:
    """Train Transformer and Diff with the same data, budget and seeds; report mean ± std."""
    seed_list = _seed_list(seeds, first_seed)
    _check_warmup(warmup, steps)
    _check_kernel(kernel)
    output_dir(out, option="--out")
    from papercraft_diffattn.compare import check_seeds, headline, run_compare

    check_seeds(seed_list)
    base = _config("transformer", "lm", {}, steps, first_seed, shape, warmup, eval_every,
                   eval_batches, runtime.corpus_bytes)
    _set_threads(runtime.threads)
    _echo(_param_line(base))
    command = _command_line("compare", steps=steps, seeds=seeds, **asdict(shape), out=out,
                            kernel=kernel)
    from papercraft_diffattn.kernels import use_kernel

    with _user_errors(), use_kernel(kernel):
        report = run_compare(base, seed_list, out, progress=not runtime.no_progress, log=_echo,
                             command=command)
    _echo(headline(report))
    a = report["archs"]
    rows = [[arch, a[arch]["params"], f"{a[arch]['val_loss']['mean']:.4f}",
             f"{a[arch]['val_loss']['std']:.4f}",
             " ".join(f"{v:.4f}" for v in a[arch]["val_loss_per_seed"].values())]
            for arch in ("transformer", "diff")]
    _print(report, as_json, rows, ["arch", "params", "val loss mean", "std", "per seed"],
           f"compare: {out}/report.md")


# -- needle / attention-mass ----------------------------------------------------------------


def _needle_base(steps: int, first_seed: int, shape: Shape, counts: list[int], queries: int,
                 corpus_bytes: int):
    config = _config("transformer", "needle", {"counts": counts, "queries": queries,
                                               "digits": 4},
                     steps, first_seed, shape, -1, -1, 4, corpus_bytes)
    from papercraft_diffattn.needle import NeedleTask

    with _user_errors():  # validates seq_len against the needle counts, without data
        import torch

        dummy = torch.zeros(shape.seq_len + 2, dtype=torch.long)
        NeedleTask(dummy, dummy, shape.seq_len, counts=tuple(counts), queries=queries)
    return config


@_options(Shape, SHAPE_FLAGS, NEEDLE_DEFAULTS)
@_options(Runtime, RUNTIME_FLAGS)
def needle_command(
    steps: int = typer.Option(NEEDLE_DEFAULTS["steps"], "--steps", help="Training steps per run."),
    seeds: int = typer.Option(3, "--seeds", help="Seeds per architecture."),
    first_seed: int = typer.Option(0, "--first-seed", help="Seeds are S, S+1, ..."),
    counts: str = typer.Option("1,2,4", "--counts",
                               help="Needle counts N (trained mixed, evaluated each)."),
    queries: int = typer.Option(2, "--queries", help="Queries R per sample (R = min(N, queries))."),
    eval_samples: int = typer.Option(200, "--eval-samples", help="Evaluation samples per N."),
    shape: Shape = ...,
    out: Path = typer.Option(Path("diffattn-needle"), "--out", help="Output folder."),
    runtime: Runtime = ...,
    kernel: str | None = KERNEL,
    as_json: bool = typer.Option(False, "--json", help="Print needle.json."),
) -> None:
    """Multi-needle retrieval: train both archs on a byte-level needle task, accuracy per N."""
    seed_list = _seed_list(seeds, first_seed)
    count_list = _counts(counts)
    _check_kernel(kernel)
    if queries < 1 or eval_samples < 1:
        raise PapercraftError("--queries and --eval-samples must be positive", exit_code=2)
    output_dir(out, option="--out")
    base = _needle_base(steps, first_seed, shape, count_list, queries, runtime.corpus_bytes)
    _set_threads(runtime.threads)
    from papercraft_diffattn.diagnostics import needle_headline, run_needle
    from papercraft_diffattn.report import fmt_pm

    _echo(_param_line(base))
    with _user_errors():
        report = run_needle(base, seed_list, out, eval_counts=count_list, queries=queries,
                            eval_samples=eval_samples, progress=not runtime.no_progress, log=_echo,
                            kernel=kernel)
    _echo(needle_headline(report))
    rows = []
    for arch in ("transformer", "diff"):
        acc = report["archs"][arch]["accuracy"]
        rows.append([arch, *(fmt_pm(acc[s], 2) for s in report["settings"])])
        rows.append([f"{arch} (paper 4K)",
                     *("" if v is None else f"{v:.2f}" for v in report["paper"][arch])])
    _print(report, as_json, rows, ["arch", *report["settings"]], f"needle: {out}/needle.md")


@_options(Shape, SHAPE_FLAGS, NEEDLE_DEFAULTS)
@_options(Runtime, RUNTIME_FLAGS)
def attention_mass_command(
    needles: str = typer.Option("1,2,4", "--needles",
                                help="Needle counts N of the evaluation samples."),
    layer: str = typer.Option("last", "--layer", help="Summary in the figure: last or all (mean)."),
    eval_samples: int = typer.Option(100, "--eval-samples", help="Evaluation samples per N."),
    steps: int = typer.Option(NEEDLE_DEFAULTS["steps"], "--steps", help="Training steps per run."),
    seeds: int = typer.Option(3, "--seeds", help="Seeds per architecture."),
    first_seed: int = typer.Option(0, "--first-seed", help="Seeds are S, S+1, ..."),
    counts: str = typer.Option("1,2,4", "--counts", help="Needle counts the runs train on."),
    queries: int = typer.Option(2, "--queries", help="Queries R per sample (R = min(N, queries))."),
    shape: Shape = ...,
    out: Path = typer.Option(Path("diffattn-needle"), "--out",
                             help="Output folder (the needle command's runs are reused)."),
    runtime: Runtime = ...,
    as_json: bool = typer.Option(False, "--json", help="Print attention_mass.json."),
) -> None:
    """Share of attention on the answer needle vs noise, from the answer position."""
    seed_list = _seed_list(seeds, first_seed)
    count_list = _counts(counts)
    needle_list = _counts(needles, "--needles")
    if layer not in ("last", "all"):
        raise PapercraftError(f"--layer must be last or all, got {layer!r}", exit_code=2)
    if eval_samples < 1:
        raise PapercraftError("--eval-samples must be positive", exit_code=2)
    output_dir(out, option="--out")
    base = _needle_base(steps, first_seed, shape, count_list, queries, runtime.corpus_bytes)
    if max(needle_list) > max(count_list):
        _echo(f"warning: the runs train on N <= {max(count_list)}; evaluating "
              f"N = {max(needle_list)}")
    _set_threads(runtime.threads)
    from papercraft_diffattn.diagnostics import attention_headline, run_attention_mass

    with _user_errors():
        report = run_attention_mass(base, seed_list, out, needles=needle_list, queries=queries,
                                    eval_samples=eval_samples, layer=layer,
                                    progress=not runtime.no_progress, log=_echo)
    _echo(attention_headline(report))
    rows = []
    for setting in report["settings"]:
        for arch in ("transformer", "diff"):
            for name in ("last layer", "all layers"):
                st = report["archs"][arch][setting][name]
                rows.append([setting, arch, name, *(f"{st[k]['mean']:.3f}" for k in
                                                    ("answer_share", "distractors_share",
                                                     "noise_share", "other_share"))])
    _print(report, as_json, rows, ["setting", "arch", "layers", "answer", "other needles",
                                   "noise", "query lines"],
           f"attention mass: {out}/attention_mass.md")


# -- outliers --------------------------------------------------------------------------------


@_options(Shape, SHAPE_FLAGS, LM_DEFAULTS)
@_options(Runtime, RUNTIME_FLAGS)
def outliers_command(
    run_dirs: list[Path] | None = typer.Argument(
        None, help="Run folders, or folders with runs/ (e.g. a compare --out). "
        "None: train (or reuse) the compare runs in --out."),
    batches: int = typer.Option(4, "--batches", help="Validation batches per run."),
    steps: int = typer.Option(LM_DEFAULTS["steps"], "--steps",
                              help="Training steps (no run folders)."),
    seeds: int = typer.Option(3, "--seeds", help="Seeds per architecture (no run folders)."),
    first_seed: int = typer.Option(0, "--first-seed", help="Seeds are S, S+1, ..."),
    shape: Shape = ...,
    out: Path = typer.Option(Path("diffattn-compare"), "--out", help="Output folder."),
    runtime: Runtime = ...,
    as_json: bool = typer.Option(False, "--json", help="Print outliers.json."),
) -> None:
    """Top activations vs median of |attention logits| and |hidden states| per arch."""
    if batches < 1:
        raise PapercraftError(f"--batches must be positive, got {batches}", exit_code=2)
    output_dir(out, option="--out")
    base = None
    seed_list: list[int] = []
    if not run_dirs:
        seed_list = _seed_list(seeds, first_seed)
        base = _config("transformer", "lm", {}, steps, first_seed, shape, -1, -1, 8,
                       runtime.corpus_bytes)
    _set_threads(runtime.threads)
    from papercraft_diffattn.diagnostics import outliers_headline, run_outliers

    with _user_errors():
        report = run_outliers(run_dirs or [], out, base=base, seeds=seed_list, batches=batches,
                              progress=not runtime.no_progress, log=_echo)
    _echo(outliers_headline(report))
    rows = []
    for run in report["runs"]:
        lg, hs = run["attention_logits"], run["hidden_states"]
        rows.append([run["arch"], run["seed"], f"{lg['top1']:.2f}", f"{lg['median']:.3f}",
                     f"{hs['top1']:.2f}", f"{hs['median']:.3f}", run["run_dir"]])
    _print(report, as_json, rows, ["arch", "seed", "logit top-1", "logit median",
                                   "hidden top-1", "hidden median", "run"],
           f"outliers: {out}/outliers.md")


COMMANDS: dict[str, Callable[..., None]] = {
    "train": train_command,
    "compare": compare_command,
    "needle": needle_command,
    "attention-mass": attention_mass_command,
    "outliers": outliers_command,
}


def fill_app(app: typer.Typer) -> None:
    """Add the ``diffattn`` commands to ``app`` (the lazy sub-app the plugin registers)."""
    for name, func in COMMANDS.items():
        app.command(name)(func)

