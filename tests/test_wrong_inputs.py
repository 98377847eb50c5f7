"""Every user mistake is one line on stderr and exit status 2, never a traceback.

A table of wrong inputs across all commands (core and every installed plugin), each run
in-process on the app built from all installed plugins, plus a few environment-variable
cases as subprocesses. Each must fail at validation: nothing loads a model or trains.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from papercraft.cli.main import build_app
from papercraft.cli.records_cmd import AREA_GROUPS
from papercraft.plugins import PluginManager

# {file}: an existing text file, {empty}: an empty file, {dir}: an empty folder,
# {missing}: a path that does not exist (and must still not exist afterwards).
CASES: list[tuple[str, ...]] = [
    # the root, unknown commands and options
    ("--bogus",),
    ("nocmd",),
    ("models", "nocmd"),
    ("models", "cache", "nocmd"),
    ("diffattn", "nocmd"),
    ("hooks", "--bogus"),
    ("hooks", "extra"),
    *[(group, "list", "--jsn") for group in AREA_GROUPS],
    *[(group, "list", "extra") for group in AREA_GROUPS],
    # plugins
    ("plugins", "show"),
    ("plugins", "show", "nope"),
    ("plugins", "list", "--hook", "nope"),
    ("plugins", "list", "--hook"),
    ("plugins", "install"),
    ("plugins", "install", "{missing}"),
    ("plugins", "install", "-e", "{missing}"),
    ("plugins", "install", "{missing}.whl"),
    ("plugins", "uninstall"),
    ("plugins", "new"),
    ("plugins", "new", "x", "-o", "{file}"),
    ("plugins", "new", "x", "--template", "{missing}"),
    ("plugins", "new", "x", "--hooks", "nope", "-o", "{missing}"),
    # arith
    ("arith", "mul", "1"),
    ("arith", "mul", "x", "2"),
    ("arith", "mul", "1", "2", "-m", "nope"),
    ("arith", "mul", "1", "2", "-k", "99"),
    ("arith", "mul", "1", "2", "-k", "x"),
    ("arith", "error", "--bits", "99"),
    ("arith", "error", "--bits", "x"),
    ("arith", "error", "--bits", "9..3"),
    ("arith", "error", "--dist", "nope"),
    ("arith", "error", "--n", "0"),
    ("arith", "error", "--n", "-5"),
    ("arith", "error", "--n", "x"),
    ("arith", "error", "--plot", "{dir}"),
    ("arith", "error", "--plot", "{missing}/x.png"),
    ("arith", "error", "--plot", "{dir}/x.xyz"),
    ("arith", "error", "--plot", "{dir}/noext"),
    ("arith", "error", "--plot", "{file}/x.png"),
    ("arith", "bench", "--n", "0"),
    ("arith", "bench", "--size", "0"),
    ("arith", "bench", "--repeats", "0"),
    ("arith", "energy", "--shape", "0", "1", "1"),
    ("arith", "energy", "--shape", "1", "1"),
    ("arith", "energy", "--shape", "a", "b", "c"),
    # attention
    ("attention", "bench", "--n", "0"),
    ("attention", "bench", "--heads", "0"),
    ("attention", "bench", "--dim", "0"),
    ("attention", "bench", "--batch", "0"),
    ("attention", "bench", "--repeats", "0"),
    ("attention", "bench", "-k", "nope"),
    # rag
    ("rag", "index", "{missing}"),
    ("rag", "index", "{empty}"),
    ("rag", "index", "{dir}"),
    ("rag", "index", "{file}"),
    ("rag", "index", "{file}", "--retriever", "nope"),
    ("rag", "search", "capital", "-k", "0"),
    ("rag", "search", "capital", "-k", "-3"),
    ("rag", "search", "   "),
    ("rag", "search", "capital", "--retriever", "nope"),
    ("rag", "search", "capital", "--corpus", "{missing}"),
    ("rag", "ask", ""),
    ("rag", "ask", "Where?", "--strategy", "nope"),
    ("rag", "ask", "Where?", "-k", "0"),
    ("rag", "ask", "Where?", "-m", "nope"),
    ("rag", "ask", "Where?", "-p", "t"),
    ("rag", "ask", "Where?", "--strategy", "vanilla", "-p", "t=3"),
    ("eval", "run", "rag-qa", "-p", "setting=nope"),
    ("eval", "run", "rag-qa", "-p", "k=0"),
    ("eval", "run", "rag-qa", "-p", "strategy=nope"),
    ("eval", "run", "rag-qa", "-p", "retriever=nope"),
    # tools
    ("tools", "show"),
    ("tools", "show", "nope"),
    ("tools", "call"),
    ("tools", "call", "no.such.tool"),
    ("tools", "call", "no.such.tool", "--args", "{{bad"),
    ("tools", "call", "no.such.tool", "--args", "[1]"),
    ("tools", "call", "no.such.tool", "--timeout", "0"),
    ("tools", "ask", ""),
    ("tools", "ask", "What is 2 + 3?", "--router", "nope"),
    ("tools", "ask", "What is 2 + 3?", "--toolset", "nope"),
    ("tools", "ask", "What is 2 + 3?", "--max-steps", "0"),
    ("tools", "ask", "What is 2 + 3?", "-p", "t"),
    ("tools", "ask", "What is 2 + 3?", "-p", "top_k=0"),
    ("tools", "ask", "What is 2 + 3?", "-p", "depth=3"),
    ("tools", "ask", "What is 2 + 3?", "-m", "nope"),
    ("tools", "ask", "What is 2 + 3?", "--timeout", "-1"),
    # eval
    ("eval", "run"),
    ("eval", "run", "nope"),
    ("eval", "run", "gsm-symbolic", "-m", "nope"),
    ("eval", "run", "gsm-symbolic", "-m", "hf:{missing}"),
    ("eval", "run", "gsm-symbolic", "-m", "openai:x", "--out", "{file}"),
    ("eval", "run", "gsm-symbolic", "-m", "openai:x", "--out", "{missing}/run"),
    ("eval", "run", "gsm-symbolic", "--limit", "0"),
    ("eval", "run", "gsm-symbolic", "--concurrency", "0"),
    ("eval", "run", "gsm-symbolic", "-p", "foo"),
    ("eval", "run", "gsm-symbolic", "-m", "openai:x", "-p", "foo=1"),
    ("eval", "run", "gsm-symbolic", "-m", "openai:x", "--resume"),
    ("eval", "run", "gsm-symbolic", "-m", "openai:x", "--attention", "nope"),
    ("eval", "report"),
    ("eval", "report", "{missing}"),
    ("eval", "report", "{file}"),
    ("eval", "report", "{dir}"),
    ("eval", "report", "{dir}", "--plot", "{dir}/x.xyz"),
    ("eval", "report", "{dir}", "--plot", "{dir}"),
    ("eval", "report", "{dir}", "--plot", "{missing}/x.png"),
    # prompt and models
    ("prompt",),
    ("prompt", " "),
    ("prompt", "hi", "-m", "nope"),
    ("prompt", "hi", "-m", "hf:{missing}"),
    ("prompt", "hi", "-m", "hf:"),
    ("prompt", "hi", "--max-tokens", "0"),
    ("prompt", "hi", "--temperature", "-1"),
    ("prompt", "hi", "--top-p", "2"),
    ("prompt", "hi", "--top-k", "-1"),
    ("prompt", "hi", "--attention", "nope"),
    ("prompt", "hi", "-m", "smollm2", "--base-url", "http://localhost:1"),
    ("models", "serve", "--port", "70000"),
    ("models", "serve", "--max-tokens-cap", "0"),
    ("models", "serve", "--log-level", "loud"),
    ("models", "perplexity", "{missing}"),
    ("models", "perplexity", "{empty}"),
    ("models", "perplexity", "{dir}"),
    ("models", "perplexity", "-m", "nope"),
    ("models", "perplexity", "-m", "hf:{missing}"),
    ("models", "perplexity", "--window", "1"),
    ("models", "perplexity", "--attention", "nope"),
    # tour
    ("tour", "--only", "nope"),
    ("tour", "--out", "{file}"),
    ("tour", "--out", "{missing}/deeper"),
    # diffattn: ranges and folders, all refused before torch trains anything
    ("diffattn", "train", "--eval-every", "0"),
    ("diffattn", "train", "--warmup", "-5"),
    ("diffattn", "train", "--stop-at", "5", "--steps", "2"),
    ("diffattn", "train", "--stop-at", "0"),
    ("diffattn", "train", "--steps", "0"),
    ("diffattn", "train", "--out", "{file}"),
    ("diffattn", "train", "--out", "{missing}/run"),
    ("diffattn", "train", "--resume", "--out", "{missing}"),
    ("diffattn", "train", "--arch", "nope"),
    ("diffattn", "train", "--d-model", "0"),
    ("diffattn", "train", "--heads", "3"),
    ("diffattn", "train", "--lr", "-1"),
    ("diffattn", "train", "--threads", "-1"),
    ("diffattn", "train", "--eval-batches", "0"),
    ("diffattn", "compare", "--out", "{file}"),
    ("diffattn", "compare", "--seeds", "0"),
    ("diffattn", "compare", "--seeds", "2"),
    ("diffattn", "compare", "--eval-every", "0"),
    ("diffattn", "compare", "--warmup", "5000"),
    ("diffattn", "needle", "--out", "{file}"),
    ("diffattn", "needle", "--counts", "x"),
    ("diffattn", "needle", "--counts", "0"),
    ("diffattn", "needle", "--queries", "0"),
    ("diffattn", "needle", "--steps", "0"),
    ("diffattn", "attention-mass", "--layer", "nope"),
    ("diffattn", "attention-mass", "--out", "{file}"),
    ("diffattn", "attention-mass", "--needles", "0"),
    ("diffattn", "outliers", "{missing}"),
    ("diffattn", "outliers", "--batches", "0"),
    ("diffattn", "outliers", "--out", "{file}"),
    # gsm-symbolic
    ("gsm-symbolic", "generate", "{missing}"),
    ("gsm-symbolic", "generate", "{dir}"),
    ("gsm-symbolic", "generate", "--out", "{dir}"),
    ("gsm-symbolic", "generate", "--out", "{file}/x.jsonl"),
    ("gsm-symbolic", "generate", "--variant", "nope"),
    ("gsm-symbolic", "generate", "--n", "0"),
    ("gsm-symbolic", "check", "{missing}"),
    ("gsm-symbolic", "check", "--instances", "0"),
]

ENV_CASES: list[tuple[tuple[str, ...], dict[str, str]]] = [
    (("models", "cache", "stats"), {"PAPERCRAFT_HOME": "{file}"}),
    (("models", "cache", "stats"), {"PAPERCRAFT_HOME": "{file}/home"}),
    (("tour", "--only", "startup"), {"PAPERCRAFT_HOME": "{file}"}),
]
"""In-process cases that need an environment variable."""

SUBPROCESS_CASES: list[tuple[tuple[str, ...], dict[str, str]]] = [
    (("plugins", "list"), {"PAPERCRAFT_PLUGINS": "nope"}),
    (("hooks",), {"PAPERCRAFT_PLUGINS": "lmul,nope"}),
    (("models", "cache", "stats"), {"PAPERCRAFT_HOME": "{file}"}),
    (("models", "list", "--bogus"), {}),
]
"""Cases that need the real entry point (``PAPERCRAFT_PLUGINS`` is read before the app)."""


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The paths the placeholders name."""
    root = tmp_path_factory.mktemp("wrong-inputs")
    (root / "file.txt").write_text("some text\n")
    (root / "empty.txt").write_text("")
    (root / "folder").mkdir()
    (root / "home").mkdir()
    return {"file": root / "file.txt", "empty": root / "empty.txt", "dir": root / "folder",
            "missing": root / "missing", "home": root / "home"}


@pytest.fixture(scope="module")
def app() -> Any:
    """The app with every installed plugin (as ``papercraft`` itself builds it)."""
    return build_app(PluginManager.from_env({}))


def fill(words: tuple[str, ...], places: dict[str, Path]) -> list[str]:
    return [w.format(**{k: str(v) for k, v in places.items()}) for w in words]


def check_one_error_line(code: int, stdout: str, stderr: str) -> None:
    assert "Traceback" not in stdout + stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 2, stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: "), stderr


def assert_untouched(places: dict[str, Path]) -> None:
    assert not places["missing"].exists()  # nothing created for a path that did not exist
    assert sorted(p.name for p in places["dir"].iterdir()) == []
    assert places["file"].read_text() == "some text\n"


def test_the_table_is_large_enough() -> None:
    assert len(CASES) + len(ENV_CASES) + len(SUBPROCESS_CASES) >= 100


@pytest.mark.parametrize("words", CASES, ids=" ".join)
def test_wrong_input_is_one_line_exit_2(app: Any, places: dict[str, Path],
                                        words: tuple[str, ...]) -> None:
    env = {"PAPERCRAFT_HOME": str(places["home"]), "PAPERCRAFT_MODEL": None,
           "PAPERCRAFT_DEBUG": None}
    result = CliRunner().invoke(app, fill(words, places), env=env)
    check_one_error_line(result.exit_code, result.stdout, result.stderr)
    assert_untouched(places)


@pytest.mark.parametrize(("words", "env"), ENV_CASES, ids=lambda v: " ".join(v)
                         if isinstance(v, tuple) else ",".join(v))
def test_wrong_environment_is_one_line_exit_2(app: Any, places: dict[str, Path],
                                              words: tuple[str, ...],
                                              env: dict[str, str]) -> None:
    filled = {k: fill((v,), places)[0] for k, v in env.items()}
    result = CliRunner().invoke(app, fill(words, places), env=filled)
    check_one_error_line(result.exit_code, result.stdout, result.stderr)
    assert_untouched(places)


@pytest.mark.parametrize(("words", "env"), SUBPROCESS_CASES, ids=lambda v: " ".join(v)
                         if isinstance(v, tuple) else ",".join(v))
def test_wrong_input_as_subprocess(places: dict[str, Path], words: tuple[str, ...],
                                   env: dict[str, str]) -> None:
    environ = {**os.environ, "PAPERCRAFT_HOME": str(places["home"])}
    environ.pop("PAPERCRAFT_PLUGINS", None)
    environ.update({k: fill((v,), places)[0] for k, v in env.items()})
    result = subprocess.run([sys.executable, "-m", "papercraft", *fill(words, places)],
                            capture_output=True, text=True, env=environ, timeout=120)
    check_one_error_line(result.returncode, result.stdout, result.stderr)
    assert_untouched(places)


def test_a_usage_error_names_the_command_help(app: Any) -> None:
    result = CliRunner().invoke(app, ["arith", "bench", "--n", "0"], prog_name="papercraft")
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("(see 'papercraft arith bench --help')")
    assert "--n" in result.stderr


def test_a_bug_is_one_line_exit_1_and_debug_shows_the_traceback() -> None:
    from papercraft.cli.groups import new_app
    from papercraft.cli.main import PapercraftGroup

    buggy = new_app(cls=PapercraftGroup)

    @buggy.command("boom")
    def boom() -> None:
        raise ZeroDivisionError("division by zero")

    @buggy.command("other")
    def other() -> None:
        """A second command keeps ``boom`` a subcommand."""

    hidden = CliRunner().invoke(buggy, ["boom"], env={"PAPERCRAFT_DEBUG": None})
    assert hidden.exit_code == 1 and "Traceback" not in hidden.stderr
    assert hidden.stderr.strip().splitlines() == [
        "Error: internal error: ZeroDivisionError: division by zero "
        "(set PAPERCRAFT_DEBUG=1 for the traceback)"]
    shown = CliRunner().invoke(buggy, ["boom"], env={"PAPERCRAFT_DEBUG": "1"})
    assert isinstance(shown.exception, ZeroDivisionError)


def test_an_os_error_on_a_user_path_is_one_line_exit_2(places: dict[str, Path]) -> None:
    from papercraft.cli.groups import new_app
    from papercraft.cli.main import PapercraftGroup

    app = new_app(cls=PapercraftGroup)

    @app.command("write")
    def write(path: Path) -> None:
        path.mkdir()  # the raw OSError a command forgot to check

    @app.command("other")
    def other() -> None:
        """A second command keeps ``write`` a subcommand."""

    result = CliRunner().invoke(app, ["write", str(places["file"])])
    check_one_error_line(result.exit_code, result.stdout, result.stderr)
    assert str(places["file"]) in result.stderr
