"""Hostile templates: each is refused with one clear error or finishes within the limits.

:func:`hostile_corpus` generates the corpus (growing fractions, exponent towers, huge ranges,
many slots, deep nesting, huge strings, attribute and dunder escapes, regex traps, ...). The
main test runs every template in a child process with a short time limit, measuring wall and
CPU time, the peak of Python allocations (tracemalloc) and the process's peak RSS, with an
audit hook that records any attempt to run a program, open a socket or write a file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from papercraft_gsm_symbolic.engine import instantiate
from papercraft_gsm_symbolic.template import TemplateError, read_template

SECONDS = 1.0
"""engine.MAX_SECONDS in the child process (the limit each draw and render runs under)."""
MARKER = "HOSTILE_MARKER"


def tpl(init: list[str], answer: str = "1", conditions: tuple[str, ...] = (),
        question: str = "A question.", answer_annotated: str | None = None) -> str:
    """A template file's text."""
    text = question + "\n\n#init:\n" + "".join(f"- {line}\n" for line in init)
    if conditions:
        text += "#conditions:\n" + "".join(f"- {c}\n" for c in conditions)
    text += f"#answer: {answer}"
    annotated = answer_annotated if answer_annotated is not None else f"#### {{{answer}}}"
    return json.dumps({"question_annotated": text, "answer_annotated": annotated})


def _nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def hostile_corpus() -> dict[str, str]:
    """Name -> file text of every hostile template."""
    b19 = "(2**9500 * 2**9500)"  # 19,000 bits (a literal exponent may not pass 10,000)
    big = f"Fraction({b19} + 1, (3**5500 * 3**5500))"
    c: dict[str, str] = {
        # growing fractions and big numbers
        "fraction_growth": tpl([f"$a = {big}", "$b = a * a", "$c = b * b"], "c"),
        "fraction_growth_3_lines": tpl(["$a = Fraction(3, 7)", "$b = a ** 9999",
                                        "$c = b * b * b * b"], "c"),
        "fraction_add_chain": tpl([f"$a = {big}", "$b = a + 1/a + a*a"], "b"),
        "fraction_sum_list": tpl([f"$a = {big}", "$b = sum([a] * 99999)"], "b"),
        "fraction_min_list": tpl([f"$a = {big}", "$b = min([a] * 99999)"], "b"),
        "fraction_max_list": tpl([f"$a = {big}", "$b = max([a] * 99999)"], "b"),
        "fraction_condition_loop": tpl([f"$a = {big}", "$n = range(10**6)"], "n",
                                       ("n * a < a * a / (n + 1) - n",)),
        "fraction_helper": tpl(["$a = Fraction(2**9999 * 2**9999, 3**6000 * 3**6000)"
                                " * Fraction(5**8000, 7)"], "a"),
        "fraction_format": tpl(["$a = format_frac(Fraction((2**9500 * 2**9500) + 1, 3))"], "1"),
        "int_growth": tpl(["$a = (2**9999 * 2**9999)", "$b = a * a"], "b"),
        "int_print": tpl(["$a = (2**9500 * 2**9500)"], "a"),
        "int_division": tpl(["$a = (2**9999 * 2**9999) // 3**100 % 7**5000"], "a"),
        "tower_9_9_9": tpl(["$a = 9 ** 9 ** 9"], "a"),
        "tower_2_5": tpl(["$a = 2 ** 2 ** 2 ** 2 ** 2 ** 2"], "a"),
        "pow_product": tpl(["$a = 10 ** 10000 * 10 ** 10000"], "a"),
        "float_pow": tpl(["$a = 2.0 ** 100000"], "a"),
        "negative_pow": tpl(["$a = Fraction(1, 3) ** -100000"], "a"),
        "complex_pow": tpl(["$a = (-8) ** Fraction(1, 3)"], "a"),
        "float_overflow": tpl(["$a = 1e308 * 10", "$b = int(a)"], "b"),
        "nan": tpl(["$a = float('nan')"], "a"),
        "int_from_long_string": tpl(["$a = int('9' * 99999)"], "a"),
        "fraction_from_long_string": tpl(["$a = Fraction('1' * 99999)"], "a"),
        "round_digits": tpl(["$a = round(1.5, 10**9)"], "a"),
        "unary_big": tpl(["$a = -((2**9999 * 2**9999)) - (2**9999 * 2**9999)"], "a"),
        # huge ranges and lists
        "range_1e30_draw": tpl(["$a = range(10**30)"], "a", ("a < 0",)),
        "list_range_1e9": tpl(["a = list(range(10**9))"], "1"),
        "numbers_within_1e12": tpl(["a = numbers_within(0, 10**12)"], "1"),
        "sum_range_1e12": tpl(["$a = sum(range(10**12))"], "a"),
        "np_arange_1e9": tpl(["a = np.arange(0, 10**9)"], "1"),
        "frange_1e12": tpl(["a = frange(0, 1e12, 1)"], "1"),
        "randint_size_1e9": tpl(["a = np.random.randint(0, 10, 10**9)"], "1"),
        "sample_k_1e17": tpl(["a = sample(range(10**18), 10**17)"], "1"),
        "sample_sequential_1e17": tpl(["a = sample_sequential(range(10**18), 10**17)"], "1"),
        "shuffle_1e9": tpl(["a = shuffle_list(range(10**9))"], "1"),
        "big_int_arange": tpl([f"a = np.arange({b19}, {b19} + 99999)"], "1"),
        "big_int_within": tpl([f"a = numbers_within({b19}, {b19} + 99999)"], "1"),
        "big_int_randint": tpl([f"a = np.random.randint({b19}, 2 * {b19}, 99999)"], "1"),
        "list_repeat_1e9": tpl(["a = [1] * 10**9"], "1"),
        "many_big_lists": tpl(["a = [" + ", ".join(["[1] * 99999"] * 150) + "]"], "1"),
        "env_many_lists": tpl([f"a{i} = [list(range(99999))]" for i in range(60)], "1"),
        "nested_share": tpl(["a = [[1] * 99999]", "b = [[a] * 99999]", "c = [fix_floats(b)]"],
                             "1"),
        "nested_equal": tpl(["a = [[1] * 99999]", "b = [[a] * 99999]",
                             "$c = 1 if b == [list(a)] * 99999 else 0"], "c"),
        "nested_order": tpl(["a = [[1] * 99999]", "b = [[a] * 99999]",
                             "$c = 1 if b < [list(a)] * 99999 else 0"], "c"),
        "nested_in": tpl(["a = [[1] * 99999]", "b = [[a] * 99999]",
                          "$c = 1 if list(a) in b else 0"], "c"),
        "slow_condition": tpl(["$n = range(10**6)"], "n", ("sum(range(99999)) == -1",)),
        "never_true": tpl(["$n = range(10)"], "n", ("1 == 2",)),
        "unsatisfiable_search": tpl(["$n = range(10**9)", "$m = range(10**9)"], "n",
                                    ("n == m + 10**9",)),
        "divide_by_zero": tpl(["$a = 1 / 0"], "a"),
        # huge strings and output
        "string_1e9": tpl(["a = 'x' * 10**9"], "1"),
        "string_concat": tpl(["a = 'x' * 99999 + 'y' * 99999"], "1"),
        "question_explodes": tpl(["s = 'x' * 99999", "a = [[s] * 99999]"],
                                 question="Look: {a,x}."),
        "answer_explodes": tpl(["s = 'x' * 99999"], answer_annotated="{s}" * 900 + "\n#### {1}"),
        "answer_list_print": tpl(["a = [[[1] * 99999] * 99999]"],
                                 answer_annotated="{a}\n#### {1}"),
        "percent_format": tpl(["a = '%s%s' % ('x', 'y')"], "1"),
        # many slots and big input
        "answer_5000_slots": tpl(["$x = range(10)"], "x",
                                 answer_annotated="{x}" * 5000 + "\n#### {x}"),
        "question_2000_slots": tpl(["$x = range(10)"], "x", question="{x,1}" * 2000),
        "init_1000_lines": tpl([f"$x{i} = {i}" for i in range(1000)], "x0"),
        "file_5mb": tpl(["$x = range(10)"], "x",
                        answer_annotated="{x+x}" * 800_000 + "\n#### {x}"),
        "long_expression": tpl(["$x = " + "+".join(["1"] * 2000)], "x"),
        # deep nesting
        "deep_list_2280": tpl(["a = " + _nested(190)]
                              + [f"a = {_nested(190, 'a')}" for _ in range(11)],
                              question="Deep: {a,1}."),
        "deep_list_line_by_line": tpl(["a = [[1]]"] + ["a = [[a]]"] * 400,
                                      question="Deep: {a,1}."),
        "deep_json_200k": "[" * 200_000 + "]" * 200_000,
        "deep_json_field": '{"question_annotated": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "deep_parens": tpl(["$x = " + "(" * 500 + "1" + ")" * 500], "x"),
        "deep_unary": tpl(["$x = " + "-" * 1900 + "1"], "x"),
        "deep_not": tpl(["$x = " + "not " * 490 + "1"], "x"),
        "deep_binop_chain": tpl(["$x = " + "1" + "*1" * 990], "x"),
        "deep_ternary": tpl(["$x = " + "1 if 1 else " * 150 + "1"], "x"),
        "deep_subscript": tpl(["$x = [1]" + "[0:1]" * 300 + "[0]"], "x"),
        # escapes: attributes, dunders, code
        "dunder_import": tpl([f"a = __import__('os').system('touch {MARKER}')"], "1"),
        "dunder_class": tpl(["a = ().__class__.__bases__[0].__subclasses__()"], "1"),
        "open_file": tpl([f"a = open('{MARKER}', 'w')"], "1"),
        "eval_call": tpl([f"a = eval(\"__import__('os').system('touch {MARKER}')\")"], "1"),
        "exec_call": tpl([f"a = exec('open(\"{MARKER}\", \"w\")')"], "1"),
        "getattr_call": tpl(["a = getattr(1, 'real')"], "1"),
        "globals_call": tpl(["a = globals()"], "1"),
        "np_dict": tpl(["a = np.__dict__"], "1"),
        "np_random_class": tpl(["a = np.random.__class__"], "1"),
        "helper_globals": tpl(["a = sample.__globals__"], "1"),
        "pool_method": tpl(["a = names.__len__()"], "1"),
        "var_class": tpl(["x = 1", "a = x.__class__"], "1"),
        "str_format_method": tpl(["a = '{0.__class__}'.format(1)"], "1"),
        "lambda_call": tpl(["a = (lambda: 1)()"], "1"),
        "comprehension": tpl(["a = [x for x in range(3)]"], "1"),
        "generator": tpl(["a = sum(x for x in range(3))"], "1"),
        "fstring": tpl(["a = f'{1}'"], "1"),
        "walrus": tpl(["a = (b := 1)"], "1"),
        "keyword_arg": tpl(["a = sample(population=names)"], "1"),
        "starred_arg": tpl(["a = max(*[1, 2])"], "1"),
        "builtins_name": tpl(["a = __builtins__"], "1"),
        "private_name": tpl(["_a = 1"], "1"),
        "dunder_target": tpl(["__class__ = 1"], "1"),
        "helper_as_target": tpl(["sample = 1"], "1"),
        "subscript_call": tpl(["a = [sample][0](names)"], "1"),
        "bit_shift": tpl(["a = 1 << 100000"], "1"),
        "bit_ops": tpl(["a = ~1 | 2 & 3 ^ 4"], "1"),
        "dict_literal": tpl(["a = {1: 2}"], "1"),
        "set_literal": tpl(["a = {1, 2}"], "1"),
        "yield_expr": tpl(["a = (yield)"], "1"),
        "await_expr": tpl(["a = await x"], "1"),
        "bytes_literal": tpl(["a = b'x'"], "1"),
        "none_literal": tpl(["a = None"], "1"),
        "ellipsis": tpl(["a = ..."], "1"),
        # regex traps and malformed input
        "regex_assign": tpl(["a" + ",   a" * 40 + " !"], "1"),
        "regex_final": json.dumps({"question_annotated": "Q\n#init:\n- $x = 1\n#answer: x",
                                   "answer_annotated": "#### {" * 40_000 + "}x"}),
        "regex_braces": tpl(["$x = 1"], "x", question="{" * 50_000),
        "regex_spaces": tpl(["$x = 1"], "x", answer_annotated=" " * 90_000 + "x\n#### {x}"),
        "not_json": "{" * 10 + "not json",
        "not_utf8": "\udcff",
        "json_list": "[1, 2, 3]",
    }
    return c


def test_corpus_is_large_and_varied() -> None:
    corpus = hostile_corpus()
    assert len(corpus) >= 73
    assert sum(1 for text in corpus.values() if len(text) > 200_000) >= 3  # big inputs


_WORKER = r"""
import json, os, resource, sys, time, tracemalloc, traceback
from pathlib import Path
events = []
def audit(event, args):
    if event in ("os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn",
                 "os.fork", "socket.connect", "ctypes.dlopen", "os.remove", "shutil.rmtree"):
        events.append(event)
    elif event == "open" and args and "HOSTILE_MARKER" in str(args[0]):
        events.append("open " + str(args[0]))
sys.addaudithook(audit)
def peak_rss_mib():
    # VmHWM belongs to this process's own memory map; ru_maxrss would carry over the peak of
    # the parent that forked us (a pytest process with torch loaded).
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
from papercraft.errors import PapercraftError
from papercraft_gsm_symbolic import engine
from papercraft_gsm_symbolic.template import read_template
engine.MAX_SECONDS = float(sys.argv[2])
tracemalloc.start()
for path in sorted(Path(sys.argv[1]).iterdir()):
    tracemalloc.reset_peak()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    start = time.monotonic()
    outcome = "ok"
    try:
        template = read_template(path)
        for i in range(2):
            engine.instantiate(template, i, seed=0)
        try:
            engine.original_instance(template)
        except ValueError:
            pass
    except PapercraftError as exc:
        outcome = "refused: " + str(exc).splitlines()[0][:300]
        assert len(str(exc).splitlines()) == 1, str(exc)[:2000]
    except BaseException:
        outcome = "CRASH: " + traceback.format_exc()[-2000:]
    after = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "name": path.stem, "outcome": outcome, "wall": time.monotonic() - start,
        "cpu": after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime,
        "peak_mib": tracemalloc.get_traced_memory()[1] / 2**20,
        "maxrss_mib": peak_rss_mib(), "events": events[:],
    }), flush=True)
"""


def run_corpus(folder: Path, corpus: dict[str, str]) -> list[dict]:
    """Write the corpus to ``folder`` and run it in a child process; one result per file."""
    for name, text in corpus.items():
        (folder / f"{name}.json").write_text(text, encoding="utf-8", errors="surrogateescape")
    proc = subprocess.run([sys.executable, "-c", _WORKER, str(folder), str(SECONDS)],
                          capture_output=True, text=True, cwd=folder, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [json.loads(line) for line in proc.stdout.splitlines()]


@pytest.mark.slow
def test_every_hostile_template_is_refused_or_bounded(tmp_path: Path) -> None:
    corpus = hostile_corpus()
    folder = tmp_path / "corpus"
    folder.mkdir()
    results = run_corpus(folder, corpus)
    assert sorted(r["name"] for r in results) == sorted(corpus)
    crashes = [f"{r['name']}: {r['outcome']}" for r in results if r["outcome"].startswith("CRASH")]
    assert not crashes, "\n".join(crashes)
    # 2 instances and the original: 3 draws + 3 renders, each under SECONDS, plus slack. CPU
    # time is the bound (the template burned CPU past its limit); wall time only
    # catches a hang, generously, since a loaded machine stretches it.
    slow = [(r["name"], round(r["cpu"], 2)) for r in results if r["cpu"] > 9 * SECONDS + 3]
    assert not slow
    hung = [(r["name"], round(r["wall"], 2)) for r in results if r["wall"] > 60]
    assert not hung
    heavy = [(r["name"], round(r["peak_mib"])) for r in results if r["peak_mib"] > 256]
    assert not heavy
    assert max(r["maxrss_mib"] for r in results) < 768
    assert not any(r["events"] for r in results)
    assert not list(folder.glob(f"*{MARKER}*")) and not (folder / MARKER).exists()
    worst_time = max(results, key=lambda r: r["wall"])
    worst_mem = max(results, key=lambda r: r["peak_mib"])
    refused = sum(r["outcome"].startswith("refused") for r in results)
    sys.stderr.write(f"\n{len(results)} hostile templates, {refused} refused; worst time "
                     f"{worst_time['wall']:.2f} s ({worst_time['name']}), worst peak "
                     f"{worst_mem['peak_mib']:.1f} MiB ({worst_mem['name']}), max RSS "
                     f"{max(r['maxrss_mib'] for r in results):.0f} MiB\n")


Write = Callable[..., Path]


def _refused(path: Path, *words: str, seconds: float = 3.0) -> str:
    # CPU seconds of this process: what a runaway template burns, whatever else the machine does
    start = time.process_time()
    with pytest.raises(TemplateError) as info:
        template = read_template(path)
        for i in range(2):
            instantiate(template, i)
    assert time.process_time() - start < seconds
    message = str(info.value)
    assert len(message.splitlines()) == 1
    for word in words:
        assert word in message
    return message


def test_growing_fractions_are_refused_at_once(tmp_path: Path) -> None:
    corpus = hostile_corpus()
    for name in ("fraction_growth", "fraction_growth_3_lines", "fraction_add_chain"):
        path = tmp_path / f"{name}.json"
        path.write_text(corpus[name], encoding="utf-8")
        _refused(path, "20000 bits", seconds=1.0)


def test_time_limit_holds_inside_one_evaluation(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from papercraft_gsm_symbolic import engine

    monkeypatch.setattr(engine, "MAX_SECONDS", 0.5)
    corpus = hostile_corpus()
    for name in ("fraction_min_list", "nested_equal"):  # one expression: seconds of C work
        path = tmp_path / f"{name}.json"
        path.write_text(corpus[name], encoding="utf-8")
        _refused(path, "0.5 s time limit", seconds=2.5)


def test_many_answer_slots_and_big_files_are_refused(tmp_path: Path) -> None:
    corpus = hostile_corpus()
    for name, words in (("answer_5000_slots", ["more than 1000"]),
                        ("file_5mb", ["larger than 256 KiB"]),
                        ("answer_explodes", ["too long to print"]),
                        ("question_explodes", ["too long to print"]),
                        ("env_many_lists", ["MiB per instance"]),
                        ("many_big_lists", ["would build more than 32 MiB"])):
        path = tmp_path / f"{name}.json"
        path.write_text(corpus[name], encoding="utf-8")
        _refused(path, *words)


def test_deep_nesting_is_one_clear_error(tmp_path: Path) -> None:
    corpus = hostile_corpus()
    for name, word in (("deep_list_2280", "nested deeper than 32"),
                       ("deep_list_line_by_line", "nested deeper than 32"),
                       ("deep_json_200k", "larger than 256 KiB"),
                       ("deep_json_field", "nested too deeply"),
                       ("deep_binop_chain", "too deeply nested")):
        path = tmp_path / f"{name}.json"
        path.write_text(corpus[name], encoding="utf-8")
        _refused(path, word)


def test_patterns_run_in_linear_time(tmp_path: Path) -> None:
    corpus = hostile_corpus()
    for name in ("regex_assign", "regex_final", "regex_braces"):
        path = tmp_path / f"{name}.json"
        path.write_text(corpus[name], encoding="utf-8")
        _refused(path, seconds=1.0)
    path = tmp_path / "regex_spaces.json"
    path.write_text(corpus["regex_spaces"], encoding="utf-8")
    start = time.process_time()
    assert instantiate(read_template(path), 0).target == 1
    assert time.process_time() - start < 1.0


def test_check_command_lists_hostile_templates_without_a_traceback(tmp_path: Path) -> None:
    corpus = hostile_corpus()
    for name in ("deep_json_200k", "fraction_growth", "dunder_import", "deep_list_2280"):
        (tmp_path / f"{name}.json").write_text(corpus[name], encoding="utf-8")
    exe = Path(sys.executable).with_name("papercraft")
    if not exe.exists():
        pytest.skip("the papercraft command is not installed")
    proc = subprocess.run([str(exe), "gsm-symbolic", "check", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "0 OK, 4 bad" in proc.stdout
