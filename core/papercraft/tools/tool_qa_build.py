"""Build the ``tool-qa`` questions: ``python -m papercraft.tools.tool_qa_build [--out FILE]``.

Every question needs a tool of the ``stdlib`` toolset: date arithmetic, gcd/lcm, unit
conversion, string operations, statistics, number bases, fractions, combinatorics, ... .
Template questions draw their numbers from a seeded generator; about twenty more are written
by hand with natural phrasing. Each question stores its gold calls (tool and arguments, in
call order; a later call may use an earlier result) and its answer is what the last gold call
returns, computed here by calling the tool's function in-process and converting the value as
the executor's worker does, so the shipped file never disagrees with the tools.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from papercraft.tools.benchmark import ToolQuestion

SEED = 16
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
PER_CATEGORY = 10
"""Template questions per category."""


# ------------------------------------------------------------------ running tools
class Runner:
    """Calls stdlib tools in-process (validated, converted like the worker) and logs each call."""

    def __init__(self, tools: dict[str, Any]) -> None:
        self.tools = tools
        self.calls: list[dict[str, Any]] = []
        self.value: Any = None
        """The last call's value."""

    def __call__(self, name: str, **arguments: Any) -> Any:
        """The JSON-ready value of ``name(**arguments)``; the call is logged as a gold call."""
        from papercraft.tools.validate import validate_arguments
        from papercraft.tools.worker import to_json_value

        tool = self.tools[name]
        validate_arguments(tool, arguments)
        module, _, attr = tool.function.partition(":")
        function = importlib.import_module(module)
        for part in attr.split("."):
            function = getattr(function, part)
        value = to_json_value(function(**arguments))
        self.calls.append({"tool": name, "arguments": arguments})
        self.value = value
        return value


def stdlib_tools() -> dict[str, Any]:
    """The stdlib toolset's tools by name."""
    from papercraft.tools.stdlib import StdlibToolset

    return {tool.name: tool for tool in StdlibToolset().tools()}


# ------------------------------------------------------------------ answers
def _decimals(value: float, places: int) -> str:
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def answer_aliases(value: Any) -> list[str]:
    """The accepted answers for a tool's value: the value as text first, then roundings."""
    if isinstance(value, bool):
        return ["yes", "true"] if value else ["no", "false"]
    if isinstance(value, int):
        return [str(value)]
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return [str(int(value)), repr(value)]
        return list(dict.fromkeys([repr(value), _decimals(value, 4), _decimals(value, 2)]))
    if isinstance(value, str):
        if _ISO_DATE.fullmatch(value):
            return _iso_aliases(value)
        aliases = [value]
        if value[:2] in ("0x", "0b", "0o") and len(value) > 2:
            aliases.append(value[2:])
        return aliases
    raise ValueError(f"a tool-qa answer must be a number or a string, got {value!r}")


# ------------------------------------------------------------------ templates
Template = Callable[[random.Random, Runner], str]
"""Draws numbers, calls the tools (the last call's value is the answer), returns the question."""


@dataclass(frozen=True)
class Category:
    """A category's templates, used in turn."""

    name: str
    templates: Sequence[Template]


def _pick(rng: random.Random, options: Sequence[str]) -> str:
    return options[rng.randrange(len(options))]


def _data(rng: random.Random, size: int, low: int = 1, high: int = 99) -> list[int]:
    return [rng.randint(low, high) for _ in range(size)]


def _listing(values: Sequence[Any]) -> str:
    shown = [str(v) for v in values]
    return ", ".join(shown[:-1]) + " and " + shown[-1]


# gcd and lcm
def gcd_question(rng: random.Random, run: Runner) -> str:
    """The gcd of two multiples of a common factor."""
    factor = rng.randint(2, 60)
    a, b = factor * rng.randint(2, 20), factor * rng.randint(21, 40)
    run("math.gcd", a=a, b=b)
    return _pick(rng, [f"What is the greatest common divisor of {a} and {b}?",
                       f"Find the GCD of {a} and {b}.",
                       f"What is the largest integer that divides both {a} and {b}?"])


def lcm_question(rng: random.Random, run: Runner) -> str:
    """The lcm of two numbers."""
    a, b = rng.randint(6, 120), rng.randint(6, 120)
    run("math.lcm", a=a, b=b)
    return _pick(rng, [f"What is the least common multiple of {a} and {b}?",
                       f"Find the LCM of {a} and {b}.",
                       f"What is the smallest positive number divisible by both {a} and {b}?"])


# combinatorics
def comb_question(rng: random.Random, run: Runner) -> str:
    """n choose k."""
    n = rng.randint(8, 40)
    k = rng.randint(2, min(8, n - 1))
    run("math.comb", n=n, k=k)
    return _pick(rng, [f"How many ways are there to choose {k} items from {n}?",
                       f"What is {n} choose {k}?",
                       f"How many different {k}-person committees can be formed from "
                       f"{n} people?"])


def perm_question(rng: random.Random, run: Runner) -> str:
    """Ordered arrangements of k out of n."""
    n = rng.randint(6, 20)
    k = rng.randint(2, min(6, n))
    run("math.perm", n=n, k=k)
    return (f"In how many ways can {k} of {n} runners finish in first to "
            f"{'second' if k == 2 else 'the ' + _ordinal(k)} place?")


def factorial_question(rng: random.Random, run: Runner) -> str:
    """n!"""
    n = rng.randint(8, 22)
    run("math.factorial", n=n)
    return _pick(rng, [f"What is {n} factorial?", f"Compute {n}!.",
                       f"In how many orders can {n} distinct books be arranged on a shelf?"])


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# roots, powers, logarithms
def sqrt_question(rng: random.Random, run: Runner) -> str:
    """A square root that is not whole."""
    x = rng.choice([n for n in range(2, 999) if math.isqrt(n) ** 2 != n])
    run("math.sqrt", x=float(x))
    return _pick(rng, [f"What is the square root of {x}?", f"Compute sqrt({x}).",
                       f"What is the side length of a square whose area is {x}?"])


def isqrt_question(rng: random.Random, run: Runner) -> str:
    """The integer square root of a large number."""
    n = rng.randint(10**9, 10**12)
    run("math.isqrt", n=n)
    return f"What is the integer square root of {n} (the floor of its square root)?"


def power_question(rng: random.Random, run: Runner) -> str:
    """An exact integer power."""
    base, exp = rng.randint(3, 19), rng.randint(11, 25)
    run("builtins.int_pow", base=base, exp=exp)
    return _pick(rng, [f"What is {base} to the power of {exp}?", f"Compute {base}^{exp} exactly.",
                       f"What is {base} raised to the {_ordinal(exp)} power?"])


def log_question(rng: random.Random, run: Runner) -> str:
    """A logarithm in base 2 or 10."""
    if rng.random() < 0.5:
        x = rng.randint(100, 100000)
        run("math.log10", x=float(x))
        return f"What is the base-10 logarithm of {x}?"
    x = rng.randint(3, 5000)
    run("math.log2", x=float(x))
    return f"What is log base 2 of {x}?"


# number bases
def hex_question(rng: random.Random, run: Runner) -> str:
    """An integer in hexadecimal."""
    n = rng.randint(256, 10**6)
    run("builtins.hex", n=n)
    return _pick(rng, [f"What is {n} in hexadecimal?", f"Convert {n} to base 16."])


def bin_question(rng: random.Random, run: Runner) -> str:
    """An integer in binary."""
    n = rng.randint(33, 5000)
    run("builtins.bin", n=n)
    return _pick(rng, [f"What is the binary representation of {n}?",
                       f"Write {n} in base 2."])


def from_base_question(rng: random.Random, run: Runner) -> str:
    """A numeral in base 2, 8, 16 or 36 to decimal."""
    base = rng.choice([2, 8, 16, 36])
    n = rng.randint(50, 10**6)
    digits = _to_base(n, base)
    run("builtins.int_from_base", digits=digits, base=base)
    names = {2: "binary", 8: "octal", 16: "hexadecimal", 36: "base 36"}
    return f"What is the {names[base]} number {digits} in decimal?"


def _to_base(n: int, base: int) -> str:
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    digits = ""
    while n:
        n, rest = divmod(n, base)
        digits = alphabet[rest] + digits
    return digits or "0"


# fractions
def _fraction(rng: random.Random) -> str:
    denominator = rng.randint(2, 15)
    return f"{rng.randint(1, denominator - 1)}/{denominator}"


def fraction_add_question(rng: random.Random, run: Runner) -> str:
    """The exact sum of two fractions."""
    a, b = _fraction(rng), _fraction(rng)
    run("fractions.add", a=a, b=b)
    return f"What is {a} + {b} as a fraction in lowest terms?"


def fraction_multiply_question(rng: random.Random, run: Runner) -> str:
    """The exact product of two fractions."""
    a, b = _fraction(rng), _fraction(rng)
    run("fractions.multiply", a=a, b=b)
    return f"What is {a} times {b}, as an exact fraction?"


def fraction_simplify_question(rng: random.Random, run: Runner) -> str:
    """A fraction reduced to lowest terms."""
    factor = rng.randint(3, 30)
    a, b = rng.randint(1, 40), rng.randint(41, 90)
    run("fractions.simplify", value=f"{a * factor}/{b * factor}")
    return f"Reduce the fraction {a * factor}/{b * factor} to lowest terms."


# statistics
def mean_question(rng: random.Random, run: Runner) -> str:
    """The mean of a list."""
    data = _data(rng, rng.randint(5, 9))
    run("statistics.mean", data=data)
    return f"What is the mean of {_listing(data)}?"


def median_question(rng: random.Random, run: Runner) -> str:
    """The median of a list."""
    data = _data(rng, rng.randint(6, 11), 1, 500)
    run("statistics.median", data=data)
    return f"What is the median of the values {_listing(data)}?"


def stdev_question(rng: random.Random, run: Runner) -> str:
    """A sample or population standard deviation."""
    data = _data(rng, rng.randint(5, 8), 10, 90)
    if rng.random() < 0.5:
        run("statistics.stdev", data=data)
        return f"What is the sample standard deviation of {_listing(data)}?"
    run("statistics.pstdev", data=data)
    return f"What is the population standard deviation of {_listing(data)}?"


def mode_question(rng: random.Random, run: Runner) -> str:
    """The most common value of a list."""
    data = _data(rng, 7, 1, 9)
    data += [data[0]] * 3
    rng.shuffle(data)
    run("statistics.mode", data=data)
    return f"Which value occurs most often in {_listing(data)}?"


# modular arithmetic
def pow_mod_question(rng: random.Random, run: Runner) -> str:
    """A modular power."""
    base, exp, mod = rng.randint(2, 99), rng.randint(100, 10**6), rng.randint(7, 997)
    run("builtins.pow_mod", base=base, exp=exp, mod=mod)
    return f"What is {base}^{exp} mod {mod}?"


def mod_question(rng: random.Random, run: Runner) -> str:
    """A remainder."""
    a, b = rng.randint(10**5, 10**9), rng.randint(3, 997)
    run("operator.mod", a=a, b=b)
    return _pick(rng, [f"What is the remainder when {a} is divided by {b}?",
                       f"What is {a} modulo {b}?"])


# geometry and angles
def hypot_question(rng: random.Random, run: Runner) -> str:
    """The hypotenuse of a right triangle."""
    a, b = rng.randint(2, 60), rng.randint(2, 60)
    run("math.hypot", coordinates=[float(a), float(b)])
    return f"A right triangle has legs of {a} and {b}. How long is its hypotenuse?"


def degrees_question(rng: random.Random, run: Runner) -> str:
    """Radians to degrees."""
    x = round(rng.uniform(0.1, 6.2), 2)
    run("math.degrees", x=x)
    return f"How many degrees is an angle of {x} radians?"


def radians_question(rng: random.Random, run: Runner) -> str:
    """Degrees to radians."""
    x = float(rng.randint(1, 359))
    run("math.radians", x=x)
    return f"Convert {int(x)} degrees to radians."


def dist_question(rng: random.Random, run: Runner) -> str:
    """The distance between two points in the plane."""
    p = [float(rng.randint(-20, 20)), float(rng.randint(-20, 20))]
    q = [float(rng.randint(-20, 20)), float(rng.randint(-20, 20))]
    run("math.dist", p=p, q=q)
    return (f"What is the Euclidean distance between the points ({int(p[0])}, {int(p[1])}) "
            f"and ({int(q[0])}, {int(q[1])})?")


# characters
def ord_question(rng: random.Random, run: Runner) -> str:
    """The code point of a character."""
    c = rng.choice("λ€ßøæ¿Ω∑√∞ñçé→★♥")
    run("builtins.ord", c=c)
    return f"What is the Unicode code point (as a decimal number) of the character {c}?"


def chr_question(rng: random.Random, run: Runner) -> str:
    """The character of a code point."""
    i = rng.choice([65 + rng.randint(0, 25), 97 + rng.randint(0, 25), 945 + rng.randint(0, 24)])
    run("builtins.chr", i=i)
    return f"Which character has the Unicode code point {i}?"


# dates
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def _date(rng: random.Random, first: int = 1950, last: int = 2030) -> str:
    year, month = rng.randint(first, last), rng.randint(1, 12)
    return f"{year:04d}-{month:02d}-{rng.randint(1, 28):02d}"


def _spoken(iso: str) -> str:
    year, month, day = (int(part) for part in iso.split("-"))
    return f"{_MONTHS[month - 1]} {day}, {year}"


def days_between_question(rng: random.Random, run: Runner) -> str:
    """Days between two dates."""
    start, end = sorted([_date(rng, 1990, 2030), _date(rng, 1990, 2030)])
    run("datetime.days_between", start=start, end=end)
    return _pick(rng, [f"How many days are there from {_spoken(start)} to {_spoken(end)}?",
                       f"How many days passed between {start} and {end}?"])


def add_days_question(rng: random.Random, run: Runner) -> str:
    """A date plus some days."""
    date, days = _date(rng), rng.randint(40, 2000)
    run("datetime.add_days", date=date, days=days)
    return _pick(rng, [f"What date is {days} days after {_spoken(date)}?",
                       f"If a project starts on {date} and lasts {days} days, on which date "
                       "does it end?"])


def weekday_question(rng: random.Random, run: Runner) -> str:
    """The weekday of a date."""
    date = _date(rng, 1900, 2100)
    run("datetime.weekday", date=date)
    return _pick(rng, [f"What day of the week was {_spoken(date)}?",
                       f"On which weekday does {date} fall?"])


def age_question(rng: random.Random, run: Runner) -> str:
    """An age in whole years on a date."""
    birth, on = _date(rng, 1930, 1990), _date(rng, 2000, 2030)
    run("datetime.age", birth=birth, on=on)
    return f"Someone born on {_spoken(birth)} is how many years old on {_spoken(on)}?"


def day_of_year_question(rng: random.Random, run: Runner) -> str:
    """The day number within the year."""
    date = _date(rng)
    run("datetime.day_of_year", date=date)
    return f"What day of the year (1 to 366) is {_spoken(date)}?"


def _iso_aliases(iso: str) -> list[str]:
    year, month, day = (int(part) for part in iso.split("-"))
    name = _MONTHS[month - 1]
    return [iso, f"{name} {day}, {year}", f"{day} {name} {year}"]


# strings
_WORDS = ("mississippi", "bookkeeper", "parallelogram", "abracadabra", "onomatopoeia",
          "unbelievable", "characteristically", "hippopotamus", "independence",
          "entrepreneurship", "acknowledgement", "straightforward", "kaleidoscope")
_PHRASES = ("the quick brown fox jumps over the lazy dog", "she sells sea shells by the sea shore",
            "peter piper picked a peck of pickled peppers", "a stitch in time saves nine",
            "all that glitters is not gold", "how much wood would a woodchuck chuck")


def reverse_question(rng: random.Random, run: Runner) -> str:
    """A word reversed."""
    word = rng.choice(_WORDS)
    run("str.reverse", s=word)
    return f"What is the word '{word}' spelled backwards?"


def count_question(rng: random.Random, run: Runner) -> str:
    """Occurrences of a letter in a word or phrase."""
    text = rng.choice(_WORDS + _PHRASES)
    letter = rng.choice(sorted(set(text.replace(" ", ""))))
    run("str.count", s=text, sub=letter)
    return f"How many times does the letter '{letter}' occur in '{text}'?"


def length_question(rng: random.Random, run: Runner) -> str:
    """The number of characters of a phrase."""
    text = rng.choice(_PHRASES + _WORDS)
    run("str.len", s=text)
    return f"How many characters (spaces included) are in '{text}'?"


def unicode_name_question(rng: random.Random, run: Runner) -> str:
    """The Unicode name of a character."""
    char = rng.choice("λ€ßøæ¿Ω∑√∞ñçé→★♥§¶©")
    run("unicodedata.name", char=char)
    return f"What is the official Unicode name of the character {char}?"


# encodings and checksums
def base64_question(rng: random.Random, run: Runner) -> str:
    """A word in base64."""
    text = rng.choice(_WORDS)
    run("base64.b64encode", s=text)
    return f"What is the base64 encoding of the text '{text}'?"


def sha256_question(rng: random.Random, run: Runner) -> str:
    """A SHA-256 digest."""
    text = rng.choice(_WORDS)
    run("hashlib.sha256", s=text)
    return f"What is the SHA-256 hex digest of the string '{text}'?"


def crc32_question(rng: random.Random, run: Runner) -> str:
    """A CRC-32 checksum."""
    text = rng.choice(_PHRASES)
    run("zlib.crc32", s=text)
    return f"What is the CRC-32 checksum (as an unsigned integer) of '{text}'?"


def md5_question(rng: random.Random, run: Runner) -> str:
    """An MD5 digest."""
    text = rng.choice(_WORDS)
    run("hashlib.md5", s=text)
    return f"Compute the MD5 hash of '{text}' in hex."


# units
_CONVERSIONS = (
    ("units.km_to_miles", "km", "kilometres", "miles"),
    ("units.miles_to_km", "miles", "miles", "kilometres"),
    ("units.kg_to_pounds", "kg", "kilograms", "pounds"),
    ("units.pounds_to_kg", "pounds", "pounds", "kilograms"),
    ("units.inches_to_cm", "inches", "inches", "centimetres"),
    ("units.cm_to_inches", "cm", "centimetres", "inches"),
    ("units.gallons_to_litres", "gallons", "US gallons", "litres"),
    ("units.litres_to_gallons", "litres", "litres", "US gallons"),
)


def unit_question(rng: random.Random, run: Runner) -> str:
    """A length, mass or volume in another unit."""
    tool, parameter, unit, target = rng.choice(_CONVERSIONS)
    amount = rng.choice([float(rng.randint(2, 500)), round(rng.uniform(1, 100), 1)])
    run(tool, **{parameter: amount})
    shown = int(amount) if amount.is_integer() else amount
    return _pick(rng, [f"How many {target} are {shown} {unit}?",
                       f"Convert {shown} {unit} to {target}."])


def temperature_question(rng: random.Random, run: Runner) -> str:
    """A temperature in the other scale."""
    if rng.random() < 0.5:
        fahrenheit = float(rng.randint(-40, 230))
        run("units.fahrenheit_to_celsius", fahrenheit=fahrenheit)
        return f"What is {int(fahrenheit)} degrees Fahrenheit in Celsius?"
    celsius = float(rng.randint(-40, 120))
    run("units.celsius_to_fahrenheit", celsius=celsius)
    return f"What is {int(celsius)} degrees Celsius in Fahrenheit?"


# several tools in a row
def gcd_then_power_question(rng: random.Random, run: Runner) -> str:
    """The gcd, then its square."""
    factor = rng.randint(3, 40)
    a, b = factor * rng.randint(2, 15), factor * rng.randint(16, 30)
    g = run("math.gcd", a=a, b=b)
    run("builtins.int_pow", base=g, exp=2)
    return f"Take the greatest common divisor of {a} and {b} and square it. What do you get?"


def mean_then_round_question(rng: random.Random, run: Runner) -> str:
    """A mean, rounded."""
    data = [round(rng.uniform(1, 100), 1) for _ in range(rng.randint(4, 7))]
    mean = run("statistics.fmean", data=data)
    run("builtins.round", number=mean, ndigits=1)
    return f"What is the average of {_listing(data)}, rounded to one decimal place?"


def lcm_then_hex_question(rng: random.Random, run: Runner) -> str:
    """An lcm, written in hexadecimal."""
    a, b = rng.randint(10, 99), rng.randint(10, 99)
    value = run("math.lcm", a=a, b=b)
    run("builtins.hex", n=value)
    return f"What is the least common multiple of {a} and {b}, written in hexadecimal?"


def binary_sum_question(rng: random.Random, run: Runner) -> str:
    """Two binary numerals added, in decimal."""
    x, y = rng.randint(20, 500), rng.randint(20, 500)
    a = run("builtins.int_from_base", digits=_to_base(x, 2), base=2)
    b = run("builtins.int_from_base", digits=_to_base(y, 2), base=2)
    run("operator.add", a=a, b=b)
    return (f"Add the binary numbers {_to_base(x, 2)} and {_to_base(y, 2)}. "
            "What is the sum in decimal?")


CATEGORIES: tuple[Category, ...] = (
    Category("gcd-lcm", (gcd_question, lcm_question)),
    Category("combinatorics", (comb_question, perm_question, factorial_question)),
    Category("powers-roots", (sqrt_question, isqrt_question, power_question, log_question)),
    Category("number-bases", (hex_question, bin_question, from_base_question)),
    Category("fractions", (fraction_add_question, fraction_multiply_question,
                           fraction_simplify_question)),
    Category("statistics", (mean_question, median_question, stdev_question, mode_question)),
    Category("modular", (pow_mod_question, mod_question)),
    Category("geometry", (hypot_question, degrees_question, radians_question, dist_question)),
    Category("characters", (ord_question, chr_question, unicode_name_question)),
    Category("dates", (days_between_question, add_days_question, weekday_question,
                       age_question, day_of_year_question)),
    Category("strings", (reverse_question, count_question, length_question)),
    Category("encodings", (base64_question, sha256_question, crc32_question, md5_question)),
    Category("units", (unit_question, unit_question, temperature_question)),
    Category("multi-step", (gcd_then_power_question, mean_then_round_question,
                            lcm_then_hex_question, binary_sum_question)),
)


# ------------------------------------------------------------------ hand-written questions
HandCall = tuple[str, dict[str, Any]]
HAND_WRITTEN: tuple[tuple[str, str, Sequence[HandCall]], ...] = (
    ("gcd-lcm", "Two gears have 84 and 126 teeth. What is the largest number that divides both "
     "tooth counts evenly?", [("math.gcd", {"a": 84, "b": 126})]),
    ("gcd-lcm", "One bus comes every 18 minutes and another every 24 minutes. They just left "
     "together; after how many minutes do they next leave together?",
     [("math.lcm", {"a": 18, "b": 24})]),
    ("combinatorics", "A pizza place offers 12 toppings. How many different pizzas with exactly "
     "three toppings can I order?", [("math.comb", {"n": 12, "k": 3})]),
    ("combinatorics", "Eight friends line up for a photo. In how many different orders can they "
     "stand?", [("math.factorial", {"n": 8})]),
    ("powers-roots", "My square garden covers 200 square metres. How long is one side, in "
     "metres?", [("math.sqrt", {"x": 200.0})]),
    ("powers-roots", "How many times must I double 1 to reach at least a million? Give log2 of "
     "1000000.", [("math.log2", {"x": 1000000.0})]),
    ("number-bases", "The colour code has a red channel of ff in hex. What is that as a plain "
     "decimal number?", [("builtins.int_from_base", {"digits": "ff", "base": 16})]),
    ("number-bases", "I need the port number 8080 written in hex for a config file. What is it?",
     [("builtins.hex", {"n": 8080})]),
    ("fractions", "A recipe needs 3/4 cup of sugar and another 2/3 cup for the icing. How much "
     "sugar is that in total, as a fraction?", [("fractions.add", {"a": "3/4", "b": "2/3"})]),
    ("fractions", "I ate 18 of the 48 slices. What fraction is that in lowest terms?",
     [("fractions.simplify", {"value": "18/48"})]),
    ("statistics", "My last five runs took 31, 29, 35, 30 and 33 minutes. What was my average "
     "time?", [("statistics.mean", {"data": [31, 29, 35, 30, 33]})]),
    ("statistics", "House prices on our street are 310, 295, 420, 305 and 1200 thousand. What "
     "is the median price, in thousands?",
     [("statistics.median", {"data": [310, 295, 420, 305, 1200]})]),
    ("modular", "It is 9 o'clock now. Ignoring am and pm, what hour will a 12-hour clock show "
     "after 1000 hours? Give (9 + 1000) mod 12.", [("operator.mod", {"a": 1009, "b": 12})]),
    ("modular", "What are the last two digits of 7 to the power 2024? (7^2024 mod 100)",
     [("builtins.pow_mod", {"base": 7, "exp": 2024, "mod": 100})]),
    ("geometry", "A ladder reaches 12 feet up a wall and its foot is 5 feet from the wall. How "
     "long is the ladder?", [("math.hypot", {"coordinates": [12.0, 5.0]})]),
    ("geometry", "A wheel turned through 90 degrees. How many radians is that?",
     [("math.radians", {"x": 90.0})]),
    ("characters", "What is the decimal code point of the euro sign €?",
     [("builtins.ord", {"c": "€"})]),
    ("characters", "Which letter has code point 90?", [("builtins.chr", {"i": 90})]),
    ("dates", "My passport was issued on 2019-08-14 and is valid for 3650 days. On which "
     "date does it expire?", [("datetime.add_days", {"date": "2019-08-14", "days": 3650})]),
    ("dates", "What day of the week was the first Moon landing, 20 July 1969?",
     [("datetime.weekday", {"date": "1969-07-20"})]),
    ("strings", "How many letter s's are in the sentence 'she sells sea shells'?",
     [("str.count", {"s": "she sells sea shells", "sub": "s"})]),
    ("units", "I ran a marathon, 26.2 miles. How far is that in kilometres?",
     [("units.miles_to_km", {"miles": 26.2})]),
    ("encodings", "I need the base64 form of the password 'hunter2'. What is it?",
     [("base64.b64encode", {"s": "hunter2"})]),
    ("multi-step", "Find the greatest common divisor of 1071 and 462, then cube it.",
     [("math.gcd", {"a": 1071, "b": 462}), ("builtins.int_pow", {"base": 21, "exp": 3})]),
    ("multi-step", "What is the least common multiple of 21 and 6, written in binary?",
     [("math.lcm", {"a": 21, "b": 6}), ("builtins.bin", {"n": 42})]),
)


# ------------------------------------------------------------------ building
def template_questions(tools: dict[str, Any], rng: random.Random) -> list[ToolQuestion]:
    """:data:`PER_CATEGORY` questions per category, the templates used in turn."""
    questions: list[ToolQuestion] = []
    for category in CATEGORIES:
        seen: set[str] = set()
        number = 0
        attempts = 0
        while number < PER_CATEGORY:
            attempts += 1
            if attempts > 20 * PER_CATEGORY:  # pragma: no cover - templates draw widely
                raise ValueError(f"category {category.name}: too many repeated questions")
            template = category.templates[number % len(category.templates)]
            run = Runner(tools)
            question = template(rng, run)
            if question in seen:
                continue
            seen.add(question)
            number += 1
            questions.append(_question(f"tq-{category.name}-{number:02d}", question,
                                       category.name, run, "template"))
    return questions


def hand_questions(tools: dict[str, Any]) -> list[ToolQuestion]:
    """The hand-written questions, answered through their gold calls."""
    questions: list[ToolQuestion] = []
    for number, (category, text, calls) in enumerate(HAND_WRITTEN, 1):
        run = Runner(tools)
        for name, arguments in calls:
            run(name, **arguments)
        questions.append(_question(f"tq-hand-{number:02d}", text, category, run, "hand"))
    return questions


def _question(qid: str, text: str, category: str, run: Runner, source: str) -> ToolQuestion:
    return ToolQuestion(id=qid, question=text, answers=answer_aliases(run.value),
                        gold_tools=list(dict.fromkeys(c["tool"] for c in run.calls)),
                        category=category, split="test", calls=list(run.calls), source=source)


def build_questions(tools: dict[str, Any] | None = None, seed: int = SEED) -> list[ToolQuestion]:
    """Every question: the templates' then the hand-written ones."""
    tools = stdlib_tools() if tools is None else tools
    return template_questions(tools, random.Random(seed)) + hand_questions(tools)


def default_out() -> Path:
    """The shipped file: the package's ``data/tools/tool_qa.jsonl``."""
    return Path(__file__).resolve().parent.parent / "data" / "tools" / "tool_qa.jsonl"


def build(out: Path) -> int:
    """Write the questions to ``out``; returns how many."""
    from papercraft.fileio import write_text_atomic

    questions = build_questions()
    write_text_atomic(out, "".join(json.dumps(q.to_dict(), ensure_ascii=False) + "\n"
                                   for q in questions))
    return len(questions)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: build the questions into ``--out`` (default: the package data)."""
    parser = argparse.ArgumentParser(prog="python -m papercraft.tools.tool_qa_build",
                                     description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=default_out(),
                        help="the JSONL file to write")
    args = parser.parse_args(argv)
    count = build(args.out)
    print(f"wrote {count} questions to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
