"""The named pools ``#init`` lines draw from (``sample(names_female)``), written for papercraft.

Plain pools hold words. Pools of *worded numbers* hold :class:`Worded` items: the question
shows the wording (``"twice"``), conditions and answers use the number (``2``). Fractions
are exact. Pools are tuples and can be concatenated (``multiple_ice + multi_times``) and
sliced (``fraction_nums[:4]``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from papercraft_gsm_symbolic.values import ShownFraction as F
from papercraft_gsm_symbolic.values import Worded

NAMES_MALE = (
    "Aarav", "Ahmed", "Alejandro", "Andre", "Arjun", "Ben", "Carlos", "Chen", "Daniel",
    "Dmitri", "Elijah", "Emeka", "Felix", "Gabriel", "Hamza", "Hiroshi", "Ivan", "Jamal",
    "Jonas", "Kai", "Kofi", "Leo", "Liam", "Luca", "Malik", "Marco", "Mateo", "Min-jun",
    "Nikolai", "Noah", "Omar", "Oscar", "Pablo", "Rahul", "Ravi", "Samuel", "Santiago",
    "Sven", "Tariq", "Theo", "Tomas", "Victor", "Wei", "Yusuf", "Zane",
)
NAMES_FEMALE = (
    "Aaliyah", "Amara", "Ana", "Anika", "Beatriz", "Chloe", "Chiara", "Daria", "Elena",
    "Emma", "Fatima", "Freya", "Grace", "Hana", "Ingrid", "Isabel", "Jasmine", "Keiko",
    "Lakshmi", "Layla", "Lucia", "Mai", "Maya", "Mei", "Naomi", "Nadia", "Nia", "Olivia",
    "Priya", "Rosa", "Sakura", "Sofia", "Tamar", "Valentina", "Yara", "Zainab", "Zoe",
    "Ines", "Leila", "Mira",
)
NAMES_NEUTRAL = ("Alex", "Jordan", "Riley", "Sam", "Robin", "Taylor", "Kim", "Noor")

FRUITS = (  # plurals with a plain "s" (templates write "{fruit}s")
    "apple", "banana", "orange", "pear", "plum", "kiwi", "lemon", "apricot", "fig",
    "grapefruit", "lime", "papaya", "pineapple", "melon", "coconut", "guava",
)
CITIES = (
    "Lisbon", "Nairobi", "Osaka", "Toronto", "Lima", "Oslo", "Cairo", "Seoul", "Denver",
    "Mumbai", "Sydney", "Madrid", "Dublin", "Accra", "Hanoi", "Quito", "Vienna", "Chicago",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CURRENCIES_SYM = ("$", "€", "£", "¥", "₹", "₩", "₺", "₦")
COLORS = ("red", "blue", "green", "yellow", "purple", "orange", "white", "black", "pink",
          "brown", "gray", "teal")
SPORTS = ("soccer", "basketball", "tennis", "volleyball", "baseball", "hockey", "cricket",
          "rugby", "badminton", "swimming")
WEIGHTS_SM = ("ounce", "gram")
WEIGHTS_MED = ("pound", "kilogram")
LENGTH_LG = ("mile", "kilometer")

ALPHABET = tuple("abcdefghijklmnopqrstuvwxyz")
HIRAGANA = tuple(
    "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん"
)
ABJAD = tuple("ابتثجحخدذرزسشصضطظعغفقكلمنهوي")


def _worded(*pairs: tuple[str, Any]) -> tuple[Worded, ...]:
    return tuple(Worded(word, value) for word, value in pairs)


MULTI_TIMES = _worded(("twice", 2), ("three times", 3), ("four times", 4),
                      ("five times", 5), ("six times", 6))
MULTIPLE_ICE = _worded(("twice", 2), ("thrice", 3))
MULTIPLE = _worded(("double", 2), ("triple", 3), ("quadruple", 4))
FRACTIONS = _worded(("half", F(1, 2)), ("a third", F(1, 3)), ("a quarter", F(1, 4)),
                    ("a fifth", F(1, 5)), ("two thirds", F(2, 3)), ("three quarters", F(3, 4)))
FRACTION_ALNUM = _worded(("1/2", F(1, 2)), ("1/3", F(1, 3)), ("1/4", F(1, 4)), ("1/5", F(1, 5)),
                         ("one-third", F(1, 3)), ("two-thirds", F(2, 3)),
                         ("three quarters", F(3, 4)), ("one-fifth", F(1, 5)),
                         ("three-fifths", F(3, 5)), ("one-eighth", F(1, 8)))
FRACTION_ALPH = _worded(("half", F(1, 2)), ("a third", F(1, 3)), ("a quarter", F(1, 4)),
                        ("a fifth", F(1, 5)), ("a tenth", F(1, 10)))
FRACTION_NUMS = _worded(("1/2", F(1, 2)), ("1/3", F(1, 3)), ("1/4", F(1, 4)), ("1/5", F(1, 5)),
                        ("1/6", F(1, 6)), ("1/8", F(1, 8)), ("1/10", F(1, 10)),
                        ("2/3", F(2, 3)), ("3/4", F(3, 4)), ("2/5", F(2, 5)), ("3/5", F(3, 5)))
FRACTION_DECIMALS = _worded(("0.1", Fraction(1, 10)), ("0.2", Fraction(1, 5)),
                            ("0.25", Fraction(1, 4)), ("0.4", Fraction(2, 5)),
                            ("0.5", Fraction(1, 2)), ("0.75", Fraction(3, 4)))

POOLS: dict[str, tuple[Any, ...]] = {
    "names": NAMES_MALE + NAMES_FEMALE + NAMES_NEUTRAL,
    "names_male": NAMES_MALE,
    "names_female": NAMES_FEMALE,
    "fruits": FRUITS,
    "cities": CITIES,
    "weekdays": WEEKDAYS,
    "currencies_sym": CURRENCIES_SYM,
    "colors": COLORS,
    "sports": SPORTS,
    "weights_sm": WEIGHTS_SM,
    "weights_med": WEIGHTS_MED,
    "length_lg": LENGTH_LG,
    "alphabet": ALPHABET,
    "hiragana": HIRAGANA,
    "abjad": ABJAD,
    "multi_times": MULTI_TIMES,
    "multiple_ice": MULTIPLE_ICE,
    "multiple": MULTIPLE,
    "fractions": FRACTIONS,
    "fraction_alnum": FRACTION_ALNUM,
    "fraction_alph": FRACTION_ALPH,
    "fraction_nums": FRACTION_NUMS,
    "fraction_decimals": FRACTION_DECIMALS,
}
"""Every pool a template may name."""

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "dozen": 12,
    "once": 1, "twice": 2, "thrice": 3, "double": 2, "triple": 3, "quadruple": 4,
    "half": F(1, 2), "a half": F(1, 2), "third": F(1, 3), "quarter": F(1, 4),
}
_ORDINALS = {"half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4,
             "fourth": 4, "fourths": 4, "fifth": 5, "fifths": 5, "sixth": 6, "sixths": 6,
             "eighth": 8, "eighths": 8, "tenth": 10, "tenths": 10}


def word_number(text: str) -> Any:
    """The number a wording stands for (``"three times"`` -> 3, ``"a quarter"`` -> 1/4).

    Used to read the original values shown in slots; None when the wording is unknown.
    """
    words = text.strip().lower().replace("-", " ").split()
    if words and words[-1] == "times":
        words = words[:-1]
    if words and words[0] in ("a", "an", "one") and len(words) == 2 and words[1] in _ORDINALS:
        return F(1, _ORDINALS[words[1]])
    if len(words) == 2 and words[0] in _NUMBER_WORDS and words[1] in _ORDINALS:
        count = _NUMBER_WORDS[words[0]]
        if isinstance(count, int):
            return F(count, _ORDINALS[words[1]])
    joined = " ".join(words)
    if joined in _NUMBER_WORDS:
        return _NUMBER_WORDS[joined]
    if len(words) == 2 and words[0] in _NUMBER_WORDS and words[1] in _NUMBER_WORDS:
        tens, ones = _NUMBER_WORDS[words[0]], _NUMBER_WORDS[words[1]]
        if isinstance(tens, int) and isinstance(ones, int) and tens >= 20 and ones < 10:
            return tens + ones
    return None
