"""Stdlib tools over ``operator``, numeric builtins, ``fractions`` and ``decimal``.

Fractions travel as strings ``"a/b"`` and decimals as strings ``"1.25"``, so results stay exact
and JSON-ready. Decimal arithmetic runs in a local context, never the thread's global one.
"""

from __future__ import annotations

import decimal
import fractions
import operator
import re
from typing import Literal

from papercraft.tools.stdlib.catalog import Catalog, ints, items, numbers, text

catalog = Catalog()

_BITS = ints(-2**64, 2**64)
_SHIFT = ints(0, 256)
_FRACTION = text(60, 1, r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)(/\d+)?\s*$")
"""An integer, a decimal without exponent or ``a/b``: an exponent could ask for 10**(10**9)."""
_DECIMAL = text(60, 1)
_PRECISION = ints(1, 100)
_ROUNDING = Literal["ROUND_HALF_EVEN", "ROUND_HALF_UP", "ROUND_HALF_DOWN", "ROUND_UP",
                    "ROUND_DOWN", "ROUND_CEILING", "ROUND_FLOOR", "ROUND_05UP"]


def _fraction(value: str) -> fractions.Fraction:
    return fractions.Fraction(value.strip())


def _decimal(value: str, context: decimal.Context) -> decimal.Decimal:
    number = context.create_decimal(value.strip())
    if number.is_nan() or number.is_infinite():
        raise ValueError(f"not a finite decimal number: {value!r}")
    return number


def _context(precision: int) -> decimal.Context:
    return decimal.Context(prec=precision, Emax=999_999, Emin=-999_999, traps=[
        decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])


# operator: arithmetic, comparison and bitwise operators as functions


@catalog.tool("operator.add", {"a": 2, "b": 3})
def add(a: float, b: float) -> float:
    """Same as a + b."""
    return operator.add(a, b)


@catalog.tool("operator.sub", {"a": 10, "b": 4})
def sub(a: float, b: float) -> float:
    """Same as a - b."""
    return operator.sub(a, b)


@catalog.tool("operator.mul", {"a": 6, "b": 7}, a=numbers(-1e150, 1e150), b=numbers(-1e150, 1e150))
def mul(a: float, b: float) -> float:
    """Same as a * b."""
    return operator.mul(a, b)


@catalog.tool("operator.truediv", {"a": 7, "b": 2})
def truediv(a: float, b: float) -> float:
    """Same as a / b."""
    return operator.truediv(a, b)


@catalog.tool("operator.floordiv", {"a": 7, "b": 2})
def floordiv(a: float, b: float) -> float:
    """Same as a // b."""
    return operator.floordiv(a, b)


@catalog.tool("operator.mod", {"a": 17, "b": 5})
def mod(a: float, b: float) -> float:
    """Same as a % b."""
    return operator.mod(a, b)


@catalog.tool("operator.neg", {"a": 5})
def neg(a: float) -> float:
    """Same as -a."""
    return operator.neg(a)


@catalog.tool("operator.lshift", {"a": 1, "b": 10}, a=_BITS, b=_SHIFT)
def lshift(a: int, b: int) -> int:
    """Same as a << b."""
    return operator.lshift(a, b)


@catalog.tool("operator.rshift", {"a": 1024, "b": 3}, a=_BITS, b=_SHIFT)
def rshift(a: int, b: int) -> int:
    """Same as a >> b."""
    return operator.rshift(a, b)


@catalog.tool("operator.and_", {"a": 12, "b": 10}, a=_BITS, b=_BITS)
def and_(a: int, b: int) -> int:
    """Same as a & b (bitwise and)."""
    return operator.and_(a, b)


@catalog.tool("operator.or_", {"a": 12, "b": 10}, a=_BITS, b=_BITS)
def or_(a: int, b: int) -> int:
    """Same as a | b (bitwise or)."""
    return operator.or_(a, b)


@catalog.tool("operator.xor", {"a": 12, "b": 10}, a=_BITS, b=_BITS)
def xor(a: int, b: int) -> int:
    """Same as a ^ b (bitwise exclusive or)."""
    return operator.xor(a, b)


@catalog.tool("operator.invert", {"a": 5}, a=_BITS)
def invert(a: int) -> int:
    """Same as ~a (bitwise inversion)."""
    return operator.invert(a)


@catalog.tool("operator.lt", {"a": 2, "b": 3})
def lt(a: float, b: float) -> bool:
    """Same as a < b."""
    return operator.lt(a, b)


@catalog.tool("operator.le", {"a": 3, "b": 3})
def le(a: float, b: float) -> bool:
    """Same as a <= b."""
    return operator.le(a, b)


@catalog.tool("operator.eq", {"a": 3, "b": 3.0})
def eq(a: float, b: float) -> bool:
    """Same as a == b."""
    return operator.eq(a, b)


@catalog.tool("operator.ge", {"a": 2, "b": 3})
def ge(a: float, b: float) -> bool:
    """Same as a >= b."""
    return operator.ge(a, b)


@catalog.tool("operator.gt", {"a": 4, "b": 3})
def gt(a: float, b: float) -> bool:
    """Same as a > b."""
    return operator.gt(a, b)


# builtins: numeric functions


@catalog.tool("builtins.abs", {"x": -7.5})
def abs_(x: float) -> float:
    """Return the absolute value of the argument."""
    return abs(x)


@catalog.tool("builtins.round", {"number": 3.14159, "ndigits": 2}, ndigits=ints(-300, 300))
def round_(number: float, ndigits: int = 0) -> float:
    """Round a number to a given precision in decimal digits (half to even)."""
    return round(number, ndigits)


@catalog.tool("builtins.divmod", {"a": 17, "b": 5})
def divmod_(a: int, b: int) -> list[int]:
    """Return the tuple [a // b, a % b]."""
    return list(divmod(a, b))


@catalog.tool("builtins.pow_mod", {"base": 3, "exp": 200, "mod": 13},
              exp=ints(-10**18, 10**18), mod=ints(1, 10**18))
def pow_mod(base: int, exp: int, mod: int) -> int:
    """Equivalent to base**exp % mod, computed efficiently (a negative exp needs an inverse)."""
    return pow(base, exp, mod)


@catalog.tool("builtins.int_pow", {"base": 2, "exp": 64},
              base=ints(-10**6, 10**6), exp=ints(0, 300))
def int_pow(base: int, exp: int) -> int:
    """Equivalent to base**exp for integers (exp <= 300)."""
    return base**exp


@catalog.tool("builtins.min", {"values": [3, 1, 2]}, values=items(min_items=1))
def min_(values: list[float]) -> float:
    """Return the smallest item."""
    return min(values)


@catalog.tool("builtins.max", {"values": [3, 1, 2]}, values=items(min_items=1))
def max_(values: list[float]) -> float:
    """Return the largest item."""
    return max(values)


@catalog.tool("builtins.sum", {"values": [1, 2, 3.5]})
def sum_(values: list[float]) -> float:
    """Return the sum of the values (0 for an empty list)."""
    return sum(values)


@catalog.tool("builtins.sorted", {"values": [3, 1, 2], "reverse": True})
def sorted_(values: list[float], reverse: bool = False) -> list[float]:
    """Return a new list containing the numbers in ascending (or descending) order."""
    return sorted(values, reverse=reverse)


@catalog.tool("builtins.bin", {"n": 10})
def bin_(n: int) -> str:
    """Return the binary representation of an integer ('0b1010')."""
    return bin(n)


@catalog.tool("builtins.hex", {"n": 255})
def hex_(n: int) -> str:
    """Return the hexadecimal representation of an integer ('0xff')."""
    return hex(n)


@catalog.tool("builtins.oct", {"n": 8})
def oct_(n: int) -> str:
    """Return the octal representation of an integer ('0o10')."""
    return oct(n)


@catalog.tool("builtins.int_from_base", {"digits": "ff", "base": 16},
              digits=text(200, 1), base=ints(2, 36))
def int_from_base(digits: str, base: int = 10) -> int:
    """Convert a string of digits in the given base (2 to 36) to an integer."""
    return int(digits, base)


@catalog.tool("builtins.chr", {"i": 955}, i=ints(0, 0x10FFFF))
def chr_(i: int) -> str:
    """Return a Unicode string of one character with ordinal i."""
    return chr(i)


@catalog.tool("builtins.ord", {"c": "λ"}, c=text(1, 1))
def ord_(c: str) -> int:
    """Return the Unicode code point of a one-character string."""
    return ord(c)


@catalog.tool("builtins.format", {"value": 1234567.891, "spec": ",.2f"}, spec=text(20))
def format_(value: float, spec: str) -> str:
    """Format a number with a format specification such as ',.2f', '08.3e' or '.1%'."""
    if max((int(run) for run in re.findall(r"\d+", spec)), default=0) > 1000:
        raise ValueError("widths and precisions above 1000 are refused")
    return format(value, spec)


# fractions: exact rational arithmetic on "a/b" strings


@catalog.tool("fractions.add", {"a": "1/3", "b": "1/6"}, a=_FRACTION, b=_FRACTION)
def fraction_add(a: str, b: str) -> str:
    """Add two fractions given as 'a/b' strings; the result in lowest terms."""
    return str(_fraction(a) + _fraction(b))


@catalog.tool("fractions.subtract", {"a": "3/4", "b": "1/3"}, a=_FRACTION, b=_FRACTION)
def fraction_subtract(a: str, b: str) -> str:
    """Subtract fraction b from fraction a; the result in lowest terms."""
    return str(_fraction(a) - _fraction(b))


@catalog.tool("fractions.multiply", {"a": "2/3", "b": "9/4"}, a=_FRACTION, b=_FRACTION)
def fraction_multiply(a: str, b: str) -> str:
    """Multiply two fractions; the result in lowest terms."""
    return str(_fraction(a) * _fraction(b))


@catalog.tool("fractions.divide", {"a": "1/2", "b": "3/4"}, a=_FRACTION, b=_FRACTION)
def fraction_divide(a: str, b: str) -> str:
    """Divide fraction a by fraction b; the result in lowest terms."""
    return str(_fraction(a) / _fraction(b))


@catalog.tool("fractions.simplify", {"value": "42/56"}, value=_FRACTION)
def fraction_simplify(value: str) -> str:
    """Reduce a fraction 'a/b' (or a decimal like '0.75') to lowest terms."""
    return str(_fraction(value))


@catalog.tool("fractions.limit_denominator",
              {"value": "3.141592653589793", "max_denominator": 1000},
              value=_FRACTION, max_denominator=ints(1, 10**12))
def fraction_limit_denominator(value: str, max_denominator: int = 1_000_000) -> str:
    """Find the closest fraction to value with a denominator at most max_denominator."""
    return str(_fraction(value).limit_denominator(max_denominator))


@catalog.tool("fractions.to_float", {"value": "7/8"}, value=_FRACTION)
def fraction_to_float(value: str) -> float:
    """The float nearest to the fraction."""
    return float(_fraction(value))


@catalog.tool("fractions.as_integer_ratio", {"value": 0.75})
def fraction_as_integer_ratio(value: float) -> list[int]:
    """Return the exact [numerator, denominator] of a float, in lowest terms."""
    return list(fractions.Fraction(value).as_integer_ratio())


# decimal: exact decimal arithmetic at a chosen precision


@catalog.tool("decimal.add", {"a": "0.1", "b": "0.2"}, a=_DECIMAL, b=_DECIMAL, precision=_PRECISION)
def decimal_add(a: str, b: str, precision: int = 28) -> str:
    """Add two decimal numbers exactly (to precision significant digits)."""
    context = _context(precision)
    return str(context.add(_decimal(a, context), _decimal(b, context)))


@catalog.tool("decimal.subtract", {"a": "1.00", "b": "0.01"},
              a=_DECIMAL, b=_DECIMAL, precision=_PRECISION)
def decimal_subtract(a: str, b: str, precision: int = 28) -> str:
    """Subtract decimal b from decimal a (to precision significant digits)."""
    context = _context(precision)
    return str(context.subtract(_decimal(a, context), _decimal(b, context)))


@catalog.tool("decimal.multiply", {"a": "1.1", "b": "1.1"},
              a=_DECIMAL, b=_DECIMAL, precision=_PRECISION)
def decimal_multiply(a: str, b: str, precision: int = 28) -> str:
    """Multiply two decimal numbers (to precision significant digits)."""
    context = _context(precision)
    return str(context.multiply(_decimal(a, context), _decimal(b, context)))


@catalog.tool("decimal.divide", {"a": "1", "b": "7", "precision": 10},
              a=_DECIMAL, b=_DECIMAL, precision=_PRECISION)
def decimal_divide(a: str, b: str, precision: int = 28) -> str:
    """Divide decimal a by decimal b (to precision significant digits)."""
    context = _context(precision)
    return str(context.divide(_decimal(a, context), _decimal(b, context)))


@catalog.tool("decimal.quantize", {"value": "2.675", "places": 2, "rounding": "ROUND_HALF_UP"},
              value=_DECIMAL, places=ints(0, 50))
def decimal_quantize(value: str, places: int = 2, rounding: _ROUNDING = "ROUND_HALF_EVEN") -> str:
    """Round a decimal number to a fixed number of decimal places with a rounding mode."""
    context = _context(100)
    exponent = decimal.Decimal(1).scaleb(-places)
    return str(_decimal(value, context).quantize(exponent, rounding=rounding, context=context))


@catalog.tool("decimal.sqrt", {"value": "2", "precision": 30}, value=_DECIMAL, precision=_PRECISION)
def decimal_sqrt(value: str, precision: int = 28) -> str:
    """Return the square root of a decimal number to precision significant digits."""
    context = _context(precision)
    return str(context.sqrt(_decimal(value, context)))


@catalog.tool("decimal.ln", {"value": "10", "precision": 20}, value=_DECIMAL, precision=_PRECISION)
def decimal_ln(value: str, precision: int = 28) -> str:
    """Return the natural logarithm of a decimal number to precision significant digits."""
    context = _context(precision)
    return str(context.ln(_decimal(value, context)))


@catalog.tool("decimal.exp", {"value": "1", "precision": 20},
              value=_DECIMAL, precision=_PRECISION)
def decimal_exp(value: str, precision: int = 28) -> str:
    """Return e raised to a decimal number, to precision significant digits."""
    context = _context(precision)
    number = _decimal(value, context)
    if abs(number) > 100_000:
        raise ValueError("the exponent must lie within [-100000, 100000]")
    return str(context.exp(number))


@catalog.tool("decimal.normalize", {"value": "1.2500"}, value=_DECIMAL)
def decimal_normalize(value: str) -> str:
    """Strip trailing zeros from a decimal number, keeping its value."""
    context = _context(100)
    return str(context.normalize(_decimal(value, context)))


@catalog.tool("decimal.compare", {"a": "1.10", "b": "1.1"}, a=_DECIMAL, b=_DECIMAL)
def decimal_compare(a: str, b: str) -> int:
    """Compare two decimal numbers by value: -1 when a < b, 0 when equal, 1 when a > b."""
    context = _context(100)
    return int(context.compare(_decimal(a, context), _decimal(b, context)))


@catalog.tool("decimal.to_scientific", {"value": "123456.789"}, value=_DECIMAL)
def decimal_to_scientific(value: str) -> str:
    """Write a decimal number in scientific notation ('1.23456789E+5')."""
    context = _context(100)
    return f"{_decimal(value, context):E}"
