"""A restricted evaluator for template expressions, built on :mod:`ast`.

Templates are data: an expression is parsed with ``ast.parse(mode="eval")``, every node is
checked against a whitelist, and the tree is turned into nested Python closures that do
exactly what the whitelist allows. Nothing is ever passed to ``eval``/``exec``.

Allowed: number, string and boolean literals; lists and tuples; names bound by ``#init``;
the named pools; ``+ - * / // % **``; unary ``- + not``; comparisons (chains included,
``in``/``not in``); ``and``/``or``; ``a if c else b``; indexing and slicing; calls of the
whitelisted helpers by name (``np.arange`` and ``np.random.randint`` are the only dotted
names, mapped explicitly). Refused when the expression is read: any other attribute access,
names starting with ``_`` (dunders), keyword or starred arguments, lambdas, comprehensions,
f-strings, walrus, bit operations. Refused when evaluated: ``**`` results over
:data:`MAX_INT_BITS` bits, exponents over :data:`MAX_EXPONENT`, sequences longer than
:data:`MAX_SEQUENCE`, ``%`` on strings (printf formatting).

Limits hold *during* an evaluation: every operand and result of arithmetic is an integer or
fraction of at most :data:`MAX_INT_BITS` bits (checked before each operation, so no single
C-level big-number operation can run long); each evaluation may allocate at most
:data:`MAX_EVAL_BYTES` in lists and strings; and the deadline of :func:`time_limit` (else
:data:`DEFAULT_SECONDS`) is checked at every operation, call and inside the helpers' loops.
Sequences are compared element by element in Python (never one long C-level comparison).
"""

from __future__ import annotations

import ast
import operator
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from papercraft_gsm_symbolic.values import TooLarge, Worded, number

MAX_SOURCE = 2_000
"""Longest expression read (characters)."""
MAX_SEQUENCE = 100_000
"""Longest list, tuple or string an expression may build."""
MAX_INT_BITS = 20_000
"""Largest integer (in bits) that ``**`` or ``*`` may produce."""
MAX_EXPONENT = 10_000
"""Largest ``|exponent|`` for ``**`` (unless the base is 0, 1 or -1)."""
MAX_EVAL_BYTES = 32 * 2**20
"""Bytes of lists and strings one evaluation of an expression may build."""
DEFAULT_SECONDS = 60.0
"""Time limit of one evaluation when no :func:`time_limit` is in force."""

RNG_KEY = " rng"
"""Key of the random generator in an evaluation environment (no template name can clash)."""

Env = dict[str, Any]
Closure = Callable[[Env], Any]


class ExpressionError(Exception):
    """An expression the engine refuses, or one that misuses a value (a template bug)."""


class LimitError(ExpressionError):
    """An expression that would build something too large (refused while evaluating)."""


class TimeLimitError(LimitError):
    """An evaluation that ran past its deadline."""


class ArithmeticProblem(ExpressionError):
    """Division by zero, overflow, an empty range to sample from: the values, not the text.

    While sampling, a condition that raises this counts as not met.
    """


# ------------------------------------------------------------------- budget
@dataclass
class _Budget:
    deadline: float
    seconds: float
    bytes_left: int


_DEADLINE: ContextVar[tuple[float, float] | None] = ContextVar("gsm_deadline", default=None)
_BUDGET: ContextVar[_Budget | None] = ContextVar("gsm_budget", default=None)


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Evaluations inside stop with :class:`TimeLimitError` ``seconds`` from now (nests)."""
    deadline = time.monotonic() + seconds
    outer = _DEADLINE.get()
    if outer is not None and outer[0] < deadline:
        deadline, seconds = outer
    token = _DEADLINE.set((deadline, seconds))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _new_budget() -> _Budget:
    limit = _DEADLINE.get()
    if limit is None:
        limit = (time.monotonic() + DEFAULT_SECONDS, DEFAULT_SECONDS)
    return _Budget(limit[0], limit[1], MAX_EVAL_BYTES)


def tick() -> None:
    """Raise :class:`TimeLimitError` when the current evaluation is past its deadline."""
    budget = _BUDGET.get()
    if budget is not None and time.monotonic() > budget.deadline:
        raise TimeLimitError(f"evaluation ran past the {budget.seconds:g} s time limit")


def charge(nbytes: int, what: str) -> None:
    """Count ``nbytes`` against the evaluation's allocation limit; LimitError past it."""
    budget = _BUDGET.get()
    left = (MAX_EVAL_BYTES if budget is None else budget.bytes_left) - nbytes
    if left < 0:
        raise LimitError(f"{what} would build more than {MAX_EVAL_BYTES // 2**20} MiB")
    if budget is not None:
        budget.bytes_left = left
        tick()


def charge_items(count: int, what: str, item_bytes: int = 0) -> None:
    """Bound a sequence of ``count`` items (length and bytes) before it is built."""
    if count > MAX_SEQUENCE:
        raise LimitError(f"{what} would make {count} items (limit {MAX_SEQUENCE})")
    charge(count * (8 + item_bytes), what)


def fits(value: Any) -> Any:
    """``value``, after checking that an integer or fraction has at most MAX_INT_BITS bits."""
    if isinstance(value, int):
        if value.bit_length() > MAX_INT_BITS:
            raise LimitError(f"number too large (over {MAX_INT_BITS} bits)")
    elif isinstance(value, Fraction) and (
            value.numerator.bit_length() > MAX_INT_BITS
            or value.denominator.bit_length() > MAX_INT_BITS):
        raise LimitError(f"fraction too large (over {MAX_INT_BITS} bits)")
    return value


@dataclass(frozen=True)
class Function:
    """A helper a template may call. ``raw``: receives worded numbers as they are."""

    name: str
    fn: Callable[..., Any]
    needs_rng: bool = False
    raw: bool = False


@dataclass(frozen=True)
class Expression:
    """A checked, compiled expression; call it with an environment of variables."""

    source: str
    names: frozenset[str]
    """Variables it reads (not helpers or pools)."""
    calls: frozenset[str] = field(default_factory=frozenset)
    """Helpers it calls."""
    _fn: Closure = field(default=lambda env: None, repr=False, compare=False)

    def __call__(self, env: Env) -> Any:
        token = _BUDGET.set(_new_budget())
        try:
            return self._fn(env)
        except ExpressionError:
            raise
        except TooLarge as exc:
            raise LimitError(str(exc)) from None
        except RecursionError:
            raise LimitError("values or expressions nested too deeply") from None
        except MemoryError:
            raise LimitError("out of memory") from None
        except (ZeroDivisionError, OverflowError, ValueError, IndexError,
                ArithmeticError) as exc:
            raise ArithmeticProblem(f"{type(exc).__name__}: {exc}") from None
        except TypeError as exc:
            raise ExpressionError(f"type error: {exc}") from None
        except KeyError as exc:
            raise ExpressionError(f"unknown name {exc.args[0]!r}") from None
        finally:
            _BUDGET.reset(token)


# ----------------------------------------------------------------- operators
_SEQUENCES = (str, list, tuple)


def _check_int_bits(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise LimitError(f"result too large (over {MAX_INT_BITS} bits)")
    return value


def _charge_sequence(count: int, text: bool) -> None:
    if count > MAX_SEQUENCE:
        raise LimitError(f"sequence longer than {MAX_SEQUENCE}")
    charge(count * (4 if text else 8), "a string" if text else "a list")


def _add(a: Any, b: Any) -> Any:
    a, b = number(a), number(b)
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        text = isinstance(a, str) or isinstance(b, str)
        _charge_sequence(len(a) + len(b), text)
        if text:
            return a + b
        return list(a) + list(b)
    return fits(fits(a) + fits(b))


def _mul(a: Any, b: Any) -> Any:
    a, b = number(a), number(b)
    if isinstance(a, _SEQUENCES) or isinstance(b, _SEQUENCES):
        seq, times = (a, b) if isinstance(a, _SEQUENCES) else (b, a)
        if not isinstance(times, int) or isinstance(times, bool):
            raise TypeError(f"cannot repeat a sequence {type(times).__name__} times")
        _charge_sequence(len(seq) * max(times, 0), isinstance(seq, str))
        return seq * times
    if isinstance(a, int) and isinstance(b, int):
        if a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise LimitError(f"result too large (over {MAX_INT_BITS} bits)")
    return fits(fits(a) * fits(b))


def _bits(value: Any) -> int:
    if isinstance(value, Fraction):
        return max(value.numerator.bit_length(), value.denominator.bit_length())
    if isinstance(value, int):
        return value.bit_length()
    return 0


def _pow(a: Any, b: Any) -> Any:
    a, b = number(a), number(b)
    for v in (a, b):
        if isinstance(v, _SEQUENCES) or isinstance(v, bool):
            raise TypeError(f"** needs numbers, got {type(v).__name__}")
    fits(a)
    fits(b)
    if a not in (0, 1, -1):
        if abs(b) > MAX_EXPONENT:
            raise LimitError(f"exponent {b} is larger than {MAX_EXPONENT}")
        if isinstance(b, int) and _bits(a) * abs(b) > MAX_INT_BITS:
            raise LimitError(f"result too large (over {MAX_INT_BITS} bits)")
    result = a**b
    if isinstance(result, complex):
        raise ArithmeticProblem("a negative number to a fractional power")
    return _check_int_bits(result)


def _mod(a: Any, b: Any) -> Any:
    a, b = number(a), number(b)
    if isinstance(a, _SEQUENCES):
        raise TypeError("% is arithmetic only (no string formatting)")
    return fits(fits(a) % fits(b))


def _numeric(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def apply(a: Any, b: Any) -> Any:
        return fits(op(fits(number(a)), fits(number(b))))

    return apply


def _order(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    """``<``-like comparison; sequences compared item by item in Python (time-checked)."""

    def compare(a: Any, b: Any) -> bool:
        a, b = number(a), number(b)
        if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and type(a) is type(b):
            for i, (x, y) in enumerate(zip(a, b, strict=False)):
                if not i % 1024:
                    tick()
                if not _same(x, y):
                    return compare(x, y)
            return bool(op(len(a), len(b)))
        return bool(op(fits(a), fits(b)))

    return compare


def _contains(item: Any, container: Any) -> bool:
    item, container = number(item), number(container)
    if isinstance(container, range):
        if isinstance(item, float) and item.is_integer():
            item = int(item)
        return isinstance(item, int) and item in container
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    for i, member in enumerate(container):
        if not i % 1024:
            tick()
        if _eq(item, member):
            return True
    return False


def _same(a: Any, b: Any) -> bool:
    """Python's ``==``, but nested lists and tuples walked in Python (time-checked)."""
    if a is b:
        return True
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if type(a) is not type(b) or len(a) != len(b):
            return False
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if not i % 1024:
                tick()
            if not _same(x, y):
                return False
        return True
    return bool(a == b)


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, Worded) and isinstance(b, Worded):
        return a == b
    return _same(number(a), number(b))


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: _add,
    ast.Sub: _numeric(operator.sub),
    ast.Mult: _mul,
    ast.Div: _numeric(operator.truediv),
    ast.FloorDiv: _numeric(operator.floordiv),
    ast.Mod: _mod,
    ast.Pow: _pow,
}

_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: _eq,
    ast.NotEq: lambda a, b: not _eq(a, b),
    ast.Lt: _order(operator.lt),
    ast.LtE: _order(operator.le),
    ast.Gt: _order(operator.gt),
    ast.GtE: _order(operator.ge),
    ast.In: _contains,
    ast.NotIn: lambda a, b: not _contains(a, b),
}

_UNARY: dict[type, Callable[[Any], Any]] = {
    ast.USub: lambda v: -fits(number(v)),
    ast.UAdd: lambda v: +fits(number(v)),
    ast.Not: lambda v: not v,
}


def _index(value: Any, key: Any) -> Any:
    if isinstance(value, Worded):
        value = value.as_tuple()
    if isinstance(key, slice):
        part = value[key]
        if not isinstance(part, range):
            _charge_sequence(len(part), isinstance(part, str))
        return part
    key = number(key)
    if isinstance(key, float) and key.is_integer():
        key = int(key)
    if not isinstance(key, int) or isinstance(key, bool):
        raise TypeError(f"an index must be a whole number, got {key!r}")
    return value[key]


# ----------------------------------------------------------------- compiler
_DOTTED_HINT = "only np.arange and np.random.randint may be written with dots"


def _dotted(node: ast.AST) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


class _Compiler:
    def __init__(self, functions: Mapping[str, Function], constants: Mapping[str, Any]) -> None:
        self.functions = functions
        self.constants = constants
        self.names: set[str] = set()
        self.calls: set[str] = set()

    def compile(self, node: ast.AST) -> Closure:
        method = getattr(self, f"_c_{type(node).__name__}", None)
        if method is None:
            raise ExpressionError(f"{_describe(node)} is not allowed in template expressions")
        return method(node)

    def _c_Expression(self, node: ast.Expression) -> Closure:
        return self.compile(node.body)

    def _c_Constant(self, node: ast.Constant) -> Closure:
        value = node.value
        if not isinstance(value, (int, float, str, bool)):
            raise ExpressionError(f"literal {value!r} is not allowed")
        return lambda env: value

    def _c_Name(self, node: ast.Name) -> Closure:
        name = node.id
        _check_name(name)
        if name in self.functions:
            raise ExpressionError(f"function {name!r} must be called, as {name}(...)")
        if name in self.constants:
            value = self.constants[name]
            return lambda env: value
        self.names.add(name)
        return lambda env: env[name]

    def _c_Attribute(self, node: ast.Attribute) -> Closure:
        dotted = _dotted(node)
        raise ExpressionError(
            f"attribute access is not allowed ({dotted or ast.unparse(node)!s}); {_DOTTED_HINT}"
        )

    def _c_BinOp(self, node: ast.BinOp) -> Closure:
        op = _BINARY.get(type(node.op))
        if op is None:
            raise ExpressionError(f"operator {_describe(node.op)} is not allowed")
        left, right = self.compile(node.left), self.compile(node.right)

        def binop(env: Env) -> Any:
            a, b = left(env), right(env)
            tick()
            return op(a, b)

        return binop

    def _c_UnaryOp(self, node: ast.UnaryOp) -> Closure:
        op = _UNARY.get(type(node.op))
        if op is None:
            raise ExpressionError(f"operator {_describe(node.op)} is not allowed")
        operand = self.compile(node.operand)
        return lambda env: op(operand(env))

    def _c_BoolOp(self, node: ast.BoolOp) -> Closure:
        values = [self.compile(v) for v in node.values]
        if isinstance(node.op, ast.And):

            def both(env: Env) -> Any:
                result: Any = True
                for value in values:
                    result = value(env)
                    if not result:
                        return result
                return result

            return both

        def either(env: Env) -> Any:
            result: Any = False
            for value in values:
                result = value(env)
                if result:
                    return result
            return result

        return either

    def _c_Compare(self, node: ast.Compare) -> Closure:
        ops = []
        for op in node.ops:
            fn = _COMPARE.get(type(op))
            if fn is None:
                raise ExpressionError(f"comparison {_describe(op)} is not allowed")
            ops.append(fn)
        first = self.compile(node.left)
        rest = [self.compile(c) for c in node.comparators]

        def compare(env: Env) -> bool:
            tick()
            left = first(env)
            for fn, right_fn in zip(ops, rest, strict=True):
                right = right_fn(env)
                if not fn(left, right):
                    return False
                left = right
            return True

        return compare

    def _c_IfExp(self, node: ast.IfExp) -> Closure:
        test, body, orelse = (self.compile(n) for n in (node.test, node.body, node.orelse))
        return lambda env: body(env) if test(env) else orelse(env)

    def _c_List(self, node: ast.List) -> Closure:
        items = self._items(node.elts)

        def build(env: Env) -> list[Any]:
            charge(8 * len(items), "a list")
            return [item(env) for item in items]

        return build

    def _c_Tuple(self, node: ast.Tuple) -> Closure:
        items = self._items(node.elts)

        def build(env: Env) -> tuple[Any, ...]:
            charge(8 * len(items), "a tuple")
            return tuple(item(env) for item in items)

        return build

    def _items(self, elts: list[ast.expr]) -> list[Closure]:
        for elt in elts:
            if isinstance(elt, ast.Starred):
                raise ExpressionError("starred items (*x) are not allowed")
        return [self.compile(elt) for elt in elts]

    def _c_Subscript(self, node: ast.Subscript) -> Closure:
        value = self.compile(node.value)
        key = self.compile(node.slice)
        return lambda env: _index(value(env), key(env))

    def _c_Slice(self, node: ast.Slice) -> Closure:
        nodes = (node.lower, node.upper, node.step)
        parts = [None if n is None else self.compile(n) for n in nodes]

        def make(env: Env) -> slice:
            bounds = []
            for part in parts:
                v = None if part is None else number(part(env))
                if v is not None and not isinstance(v, int):
                    raise TypeError(f"slice bounds must be whole numbers, got {v!r}")
                bounds.append(v)
            return slice(*bounds)

        return make

    def _c_Index(self, node: Any) -> Closure:  # Python < 3.9 wraps subscripts
        return self.compile(node.value)

    def _c_Call(self, node: ast.Call) -> Closure:
        if node.keywords:
            raise ExpressionError("keyword arguments are not allowed in template expressions")
        if isinstance(node.func, ast.Name):
            name = node.func.id
            _check_name(name)
        elif isinstance(node.func, ast.Attribute):
            name = _dotted(node.func) or ""
            if not name:
                raise ExpressionError(
                    f"attribute access is not allowed ({ast.unparse(node.func)}); "
                    f"{_DOTTED_HINT}")
            for part in name.split("."):
                _check_name(part)
        else:
            self.compile(node.func)  # names what is not allowed (a lambda, a subscript...)
            raise ExpressionError("only named helpers can be called")
        function = self.functions.get(name)
        if function is None:
            if "." in name:
                raise ExpressionError(f"unknown function {name!r}; {_DOTTED_HINT}")
            raise ExpressionError(f"unknown function {name!r}")
        self.calls.add(name)
        args = self._items(node.args)
        fn, raw, needs_rng = function.fn, function.raw, function.needs_rng

        def call(env: Env) -> Any:
            values = [arg(env) for arg in args]
            tick()
            if not raw:
                values = [number(v) for v in values]
            if needs_rng:
                return fn(env[RNG_KEY], *values)
            return fn(*values)

        return call


def _check_name(name: str) -> None:
    if name.startswith("_"):
        raise ExpressionError(f"names starting with '_' are not allowed ({name!r})")


def _describe(node: ast.AST) -> str:
    names = {
        "Lambda": "lambda", "ListComp": "a list comprehension", "SetComp": "a set comprehension",
        "DictComp": "a dict comprehension", "GeneratorExp": "a generator expression",
        "JoinedStr": "an f-string", "NamedExpr": "assignment (:=)", "Dict": "a dict",
        "Set": "a set", "Await": "await", "Yield": "yield", "YieldFrom": "yield",
        "Starred": "*x", "FormattedValue": "an f-string",
    }
    return names.get(type(node).__name__, type(node).__name__)


def compile_expression(
    source: str,
    *,
    functions: Mapping[str, Function],
    constants: Mapping[str, Any],
) -> Expression:
    """Parse, check and compile ``source``; raises :class:`ExpressionError` with the reason."""
    text = source.strip()
    if not text:
        raise ExpressionError("empty expression")
    if len(text) > MAX_SOURCE:
        raise ExpressionError(f"expression longer than {MAX_SOURCE} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"syntax error in {text!r}: {exc.msg}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError(f"expression too deeply nested: {text[:60]!r}") from None
    compiler = _Compiler(functions, constants)
    try:
        fn = compiler.compile(tree)
    except RecursionError:
        raise ExpressionError(f"expression too deeply nested: {text[:60]!r}") from None
    return Expression(text, frozenset(compiler.names), frozenset(compiler.calls), fn)
