"""The functions a template may call, with the meaning this engine gives each.

Apple did not publish the generator behind GSM-Symbolic; these definitions are ours (see
the README). Random helpers draw from the instance's seeded ``random.Random``; nothing
touches numpy's global generator. Every helper bounds the size of what it builds.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from papercraft_gsm_symbolic.safe_eval import (
    MAX_SEQUENCE,
    Function,
    LimitError,
    charge,
    charge_items,
    fits,
    tick,
)
from papercraft_gsm_symbolic.values import (
    MAX_DEPTH,
    ShownFraction,
    brief,
    format_frac,
    is_integral,
    number,
    to_fraction,
)

FIX_FLOATS_DIGITS = 8
"""``fix_floats`` rounds floats to this many decimals (removes binary noise)."""


def _whole(value: Any, what: str) -> int:
    value = number(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, (float, Fraction)) and is_integral(value):
        return int(round(value))
    raise TypeError(f"{what} needs whole numbers, got {brief(value)}")


def _sequence(value: Any, what: str) -> Sequence[Any]:
    if isinstance(value, (list, tuple, range, str)):
        if len(value) > MAX_SEQUENCE and not isinstance(value, range):
            raise LimitError(f"{what}: sequence longer than {MAX_SEQUENCE}")
        return value
    raise TypeError(f"{what} needs a list, got {type(value).__name__} {brief(value)}")


def _bounded(count: int, what: str, item_bytes: int = 0) -> None:
    """Refuse (LimitError) or count a list of ``count`` items about to be built."""
    charge_items(max(count, 0), what, item_bytes)


def _int_bytes(*ends: int) -> int:
    """Bytes of one int between ``ends`` (what materializing a range of them costs)."""
    return 28 + max(abs(e).bit_length() for e in ends) // 8


def range_(*args: Any) -> range:
    """``range(stop)``, ``range(start, stop[, step])``: Python's, stop excluded."""
    if not 1 <= len(args) <= 3:
        raise TypeError("range takes 1 to 3 arguments")
    return range(*(_whole(a, "range") for a in args))


def sample(rng: random.Random, population: Any, k: Any = None) -> Any:
    """One uniform draw; with ``k``, a tuple of ``k`` draws at distinct positions."""
    seq = _sequence(population, "sample")
    if len(seq) == 0:
        raise ValueError("sample from an empty list")
    if k is None:
        return seq[rng.randrange(len(seq))]
    count = _whole(k, "sample")
    _bounded(count, "sample")
    if not 0 <= count <= len(seq):
        raise ValueError(f"sample of {count} from a list of {len(seq)}")
    return tuple(rng.sample(seq, count))


def sample_sequential(rng: random.Random, population: Any, k: Any) -> tuple[Any, ...]:
    """``k`` consecutive items (in list order, no wrap-around) from a uniform start."""
    seq = _sequence(population, "sample_sequential")
    count = _whole(k, "sample_sequential")
    _bounded(count, "sample_sequential")
    if not 0 < count <= len(seq):
        raise ValueError(f"sample_sequential of {count} from a list of {len(seq)}")
    start = rng.randrange(len(seq) - count + 1)
    return tuple(seq[start:start + count])


def shuffle_list(rng: random.Random, items: Any) -> list[Any]:
    """A shuffled copy."""
    if isinstance(items, range):
        _bounded(len(items), "shuffle_list", _int_bytes(items.start, items.stop))
    else:
        _bounded(len(_sequence(items, "shuffle_list")), "shuffle_list")
    seq = list(items)
    rng.shuffle(seq)
    return seq


def list_(items: Any = ()) -> list[Any]:
    """A list of the items (a range, tuple or list)."""
    if isinstance(items, range):
        _bounded(len(items), "list", _int_bytes(items.start, items.stop))
        return list(items)
    seq = _sequence(items, "list")
    _bounded(len(seq), "list")
    return list(seq)


def numbers_within(low: Any, high: Any) -> list[int]:
    """The whole numbers from ``low`` to ``high``, both included."""
    a, b = _whole(low, "numbers_within"), _whole(high, "numbers_within")
    _bounded(b - a + 1, "numbers_within", _int_bytes(a, b))
    return list(range(a, b + 1))


def _arange_count(start: float, stop: float, step: float, what: str) -> int:
    if step == 0:
        raise ValueError(f"{what}: step is zero")
    count = math.ceil((stop - start) / step)
    count = max(count, 0)
    _bounded(count, what, 32)
    return count


def frange(start: Any, stop: Any, step: Any = 1) -> list[Any]:
    """Floats ``start, start+step, ...`` below ``stop``, each rounded to 10 decimals."""
    count = _arange_count(start, stop, step, "frange")
    values = [round(start + i * step, 10) for i in range(count)]
    return [v for v in values if (v < stop if step > 0 else v > stop)]


def np_arange(start: Any, stop: Any = None, step: Any = 1) -> list[Any]:
    """numpy.arange's values as a Python list (``start + i*step``, stop excluded)."""
    if stop is None:
        start, stop = 0, start
    count = _arange_count(start, stop, step, "np.arange")
    if all(isinstance(v, int) for v in (start, stop, step)):
        charge(count * _int_bytes(start, stop), "np.arange")
        return list(range(start, stop, step))
    return [float(start + i * step) for i in range(count)]


def np_random_randint(rng: random.Random, low: Any, high: Any = None, size: Any = None) -> Any:
    """numpy.random.randint's meaning (``low <= x < high``) drawn from the instance's rng."""
    a, b = (0, _whole(low, "randint")) if high is None else (
        _whole(low, "randint"), _whole(high, "randint"))
    if b <= a:
        raise ValueError(f"randint: empty range [{a}, {b})")
    if size is None:
        return rng.randrange(a, b)
    count = _whole(size, "randint")
    _bounded(count, "np.random.randint", _int_bytes(a, b))
    return [rng.randrange(a, b) for _ in range(count)]


def fix_floats(value: Any, _depth: int = 0) -> Any:
    """Floats rounded to 8 decimals (``0.1*3`` -> ``0.3``); lists element by element."""
    if isinstance(value, (list, tuple)):
        if _depth >= MAX_DEPTH:
            raise LimitError(f"fix_floats: lists nested deeper than {MAX_DEPTH} levels")
        charge(8 * len(value), "fix_floats")
        return [fix_floats(v, _depth + 1) for v in value]
    if isinstance(value, float):
        return round(value, FIX_FLOATS_DIGITS)
    return value


def is_int(value: Any) -> bool:
    """True when the number is whole (floats within 1e-9 relative)."""
    return is_integral(value)


def divides(a: Any, b: Any) -> bool:
    """True when ``a % b == 0`` (``b`` goes into ``a`` exactly); False when ``b`` is 0."""
    if b == 0:
        return False
    if isinstance(a, (int, Fraction)) and isinstance(b, (int, Fraction)):
        return fits(a) % fits(b) == 0
    return is_integral(a / b)


def int_(value: Any = 0) -> int:
    """Python's ``int``: truncates toward zero; parses digit strings."""
    return int(value)


def round_(value: Any, digits: Any = None) -> Any:
    """Python's ``round`` (halves to even); with ``digits``, a float."""
    if digits is None:
        return round(value)
    d = _whole(digits, "round")
    if abs(d) > 15:
        raise LimitError("round: at most 15 digits")
    result = round(fits(value), d)
    return float(result) if isinstance(result, Fraction) else result


def fraction(a: Any, b: Any = None) -> ShownFraction:
    """An exact fraction, printed ``a/b`` (floats through their decimal form: 0.1 -> 1/10)."""
    value = fits(to_fraction(a) if b is None else fits(to_fraction(a)) / fits(to_fraction(b)))
    return ShownFraction(value.numerator, value.denominator)


def _reduce(values: Any, what: str) -> list[Any]:
    if isinstance(values, range):
        _bounded(len(values), what, _int_bytes(values.start, values.stop))
    else:
        _bounded(len(_sequence(values, what)), what)
    return [number(v) for v in _sequence(values, what)]


def _extreme(args: tuple[Any, ...], what: str, smallest: bool) -> Any:
    items = _reduce(args[0], what) if len(args) == 1 else [number(a) for a in args]
    if not items:
        raise ValueError(f"{what} of an empty list")
    best = None
    for i, item in enumerate(items):
        if not i % 256:
            tick()
        if isinstance(item, (list, tuple)):
            raise TypeError(f"{what} compares numbers or words, got {brief(item)}")
        fits(item)
        if best is None or (item < best if smallest else item > best):
            best = item
    return best


def min_(*args: Any) -> Any:
    """Smallest of the arguments (or of one list)."""
    return _extreme(args, "min", smallest=True)


def max_(*args: Any) -> Any:
    """Largest of the arguments (or of one list)."""
    return _extreme(args, "max", smallest=False)


def sum_(values: Any) -> Any:
    """Sum of a list."""
    total: Any = 0
    for i, item in enumerate(_reduce(values, "sum")):
        if not i % 256:
            tick()
        total = fits(total + fits(item))
    return total


def len_(values: Any) -> int:
    """Length of a list or string."""
    return len(_sequence(values, "len"))


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        Function("range", range_),
        Function("sample", sample, needs_rng=True, raw=True),
        Function("sample_sequential", sample_sequential, needs_rng=True, raw=True),
        Function("shuffle_list", shuffle_list, needs_rng=True, raw=True),
        Function("list", list_, raw=True),
        Function("numbers_within", numbers_within),
        Function("frange", frange),
        Function("np.arange", np_arange),
        Function("np.random.randint", np_random_randint, needs_rng=True),
        Function("fix_floats", fix_floats),
        Function("is_int", is_int),
        Function("divides", divides),
        Function("int", int_),
        Function("float", float),
        Function("round", round_),
        Function("abs", abs),
        Function("Fraction", fraction),
        Function("format_frac", format_frac),
        Function("min", min_, raw=True),
        Function("max", max_, raw=True),
        Function("sum", sum_, raw=True),
        Function("len", len_, raw=True),
    )
}
"""Every helper a template may call, by the name it is called with."""

DRAWS = frozenset({"sample", "sample_sequential"})
"""Helpers that, as the whole right-hand side of an ``#init`` line, draw from a list."""
