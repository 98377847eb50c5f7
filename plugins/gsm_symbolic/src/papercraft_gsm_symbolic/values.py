"""Values a template handles: numbers, words, worded numbers, and how each is printed.

A *worded number* (:class:`Worded`) pairs the wording a question shows (``"twice"``,
``"a quarter"``) with the number that conditions and answers use (``2``, ``1/4``).
Fractions stay exact (:class:`fractions.Fraction`) so ``is_int(n * frac)`` never suffers
from rounding.
"""

from __future__ import annotations

import math
import reprlib
import sys
from fractions import Fraction
from typing import Any

FLOAT_DIGITS = 6
"""Non-integral floats are printed with at most this many decimals."""
MAX_TEXT = 100_000
"""Longest text (characters) a value may print as, and a rendered question or answer."""
MAX_DEPTH = 32
"""Deepest nesting of lists and tuples a variable may hold."""

_TOLERANCE = 1e-9


class TooLarge(Exception):
    """A value too large or too deeply nested to hold or to print."""


class Worded:
    """A number with the words a question shows for it (``Worded("twice", 2)``)."""

    __slots__ = ("word", "value")

    def __init__(self, word: str, value: Any) -> None:
        self.word = word
        self.value = value

    def as_tuple(self) -> tuple[str, Any]:
        """``(word, value)``: what ``x[0]`` and ``x[1]`` index in a template."""
        return (self.word, self.value)

    def __bool__(self) -> bool:
        return bool(self.value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Worded):
            return self.word == other.word and self.value == other.value
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.word, self.value))

    def __repr__(self) -> str:
        return f"Worded({self.word!r}, {self.value!r})"


class ShownFraction(Fraction):
    """What ``Fraction(...)`` returns in a template: printed as ``a/b``.

    Arithmetic on it gives plain :class:`Fraction` values, which print as decimals when
    they terminate (``5/2`` -> ``2.5``).
    """

    __slots__ = ()


def number(value: Any) -> Any:
    """The number behind a value (a worded number's value; anything else unchanged)."""
    return value.value if isinstance(value, Worded) else value


def is_number(value: Any) -> bool:
    """True for int, float and Fraction (bool excluded) and worded numbers."""
    value = number(value)
    return isinstance(value, (int, float, Fraction)) and not isinstance(value, bool)


def is_integral(value: Any) -> bool:
    """True when ``value`` is a whole number (floats within 1e-9 relative)."""
    value = number(value)
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return True
    if isinstance(value, Fraction):
        return value.denominator == 1
    if isinstance(value, float):
        if not math.isfinite(value):
            return False
        return abs(value - round(value)) <= _TOLERANCE * max(1.0, abs(value))
    raise TypeError(f"is_int needs a number, got {type(value).__name__} {value!r}")


def _terminates(fraction: Fraction) -> bool:
    d = fraction.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def format_number(value: Any) -> str:
    """A number as a question or answer prints it: ``42``, ``2.5``, ``1/3``."""
    value = number(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return _digits(value)
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return _digits(value.numerator)
        if isinstance(value, ShownFraction) or not _terminates(value):
            return f"{_digits(value.numerator)}/{_digits(value.denominator)}"
        value = float(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if is_integral(value):
            return str(int(round(value)))
        text = f"{value:.{FLOAT_DIGITS}f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    return str(value)


def _digits(value: int) -> str:
    try:
        return str(value)
    except ValueError:  # over sys.get_int_max_str_digits() digits
        raise TooLarge(f"a number of {value.bit_length()} bits is too long to print") from None


def show(value: Any, *, in_question: bool, limit: int = MAX_TEXT) -> str:
    """How a value prints in a question slot (a worded number shows its word) or an answer.

    Raises :class:`TooLarge` when the text would pass ``limit`` characters or the value is
    nested deeper than :data:`MAX_DEPTH`.
    """
    out: list[str] = []
    _show(value, in_question, out, [limit], 0)
    return "".join(out)


def _show(value: Any, in_question: bool, out: list[str], left: list[int], depth: int) -> None:
    if isinstance(value, (tuple, list)):
        if depth >= MAX_DEPTH:
            raise TooLarge(f"a list nested deeper than {MAX_DEPTH} levels cannot be printed")
        for i, item in enumerate(value):
            if i:
                _emit(", ", out, left)
            _show(item, in_question, out, left, depth + 1)
        return
    if isinstance(value, Worded):
        text = value.word if in_question else format_number(value.value)
    elif isinstance(value, str):
        text = value
    else:
        text = format_number(value)
    _emit(text, out, left)


def _emit(text: str, out: list[str], left: list[int]) -> None:
    left[0] -= len(text)
    if left[0] < 0:
        raise TooLarge("the text would be too long to print (limit "
                       f"{MAX_TEXT} characters)")
    out.append(text)


_BRIEF = reprlib.Repr()
_BRIEF.maxlevel, _BRIEF.maxlist, _BRIEF.maxtuple = 3, 6, 6
_BRIEF.maxstring, _BRIEF.maxlong, _BRIEF.maxother = 60, 40, 60


def brief(value: Any) -> str:
    """A short ``repr`` for messages (long lists, strings and numbers are cut with ``...``)."""
    try:
        return _BRIEF.repr(value)
    except (ValueError, RecursionError):
        return f"<{type(value).__name__}>"


def footprint(value: Any, limit: int) -> int:
    """Approximate bytes ``value`` holds (shared parts once); :class:`TooLarge` past ``limit``.

    Also refuses lists and tuples nested deeper than :data:`MAX_DEPTH`.
    """
    seen: set[int] = set()
    total = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if total > limit:
            raise TooLarge(f"value larger than {limit // 2**20} MiB")
        if isinstance(item, (list, tuple)):
            if depth >= MAX_DEPTH:
                raise TooLarge(f"lists nested deeper than {MAX_DEPTH} levels")
            stack.extend((member, depth + 1) for member in item)
        elif isinstance(item, Worded):
            stack.append((item.value, depth))
    return total


def format_frac(value: Any) -> str:
    """A mixed number: ``7/2`` -> ``3 1/2``; whole numbers print plainly."""
    frac = to_fraction(value)
    if frac.denominator == 1:
        return str(frac.numerator)
    sign = "-" if frac < 0 else ""
    frac = abs(frac)
    whole, rest = divmod(frac.numerator, frac.denominator)
    if whole == 0:
        return f"{sign}{rest}/{frac.denominator}"
    return f"{sign}{whole} {rest}/{frac.denominator}"


def to_fraction(value: Any) -> Fraction:
    """An exact fraction; floats go through their shortest decimal form (0.1 -> 1/10)."""
    value = number(value)
    if isinstance(value, Fraction):
        return Fraction(value.numerator, value.denominator)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot make a fraction of {value}")
        return Fraction(repr(value))
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, str):
        return Fraction(value.strip())
    raise TypeError(f"cannot make a fraction of {type(value).__name__} {value!r}")


def numbers_equal(a: Any, b: Any, tolerance: float = 1e-6) -> bool:
    """Numeric equality within ``tolerance`` (absolute, relative for large values)."""
    a, b = number(a), number(b)
    if isinstance(a, (int, Fraction)) and isinstance(b, (int, Fraction)):
        return a == b
    try:
        fa, fb = float(a), float(b)
    except OverflowError:
        return bool(a == b)
    return abs(fa - fb) <= tolerance * max(1.0, abs(fa), abs(fb))
