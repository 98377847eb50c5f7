"""Stdlib tools over strings: ``str`` methods, ``textwrap``, ``string``, ``unicodedata``, ``re``,
``difflib``, ``shlex`` and ``keyword``.

Regular expressions are bounded by size (patterns of at most 200 characters, texts of at most
10,000) and a pathological pattern is stopped by the executor's time limit.
"""

from __future__ import annotations

import difflib
import keyword
import re
import shlex
import string
import textwrap
import unicodedata
from typing import Literal

from papercraft.tools.stdlib.catalog import MAX_TEXT, Catalog, ints, items, text

catalog = Catalog()

_CHAR = text(1, 1)
_PATTERN = text(200, 1)
_WIDTH = ints(1, 1000)
_FLAGS = Literal["", "i", "m", "s", "im", "is", "ms", "ims"]
_MAX_MATCHES = 1000


def _flags(flags: str) -> int:
    value = 0
    for letter in flags:
        value |= {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}[letter]
    return value


def _bounded(result: str) -> str:
    if len(result) > 10 * MAX_TEXT:
        raise ValueError(f"the result would have {len(result)} characters (limit {10 * MAX_TEXT})")
    return result


# str: case


@catalog.tool("str.upper", {"s": "hello world"})
def upper(s: str) -> str:
    """Return a copy of the string converted to uppercase."""
    return s.upper()


@catalog.tool("str.lower", {"s": "Hello World"})
def lower(s: str) -> str:
    """Return a copy of the string converted to lowercase."""
    return s.lower()


@catalog.tool("str.title", {"s": "the quick brown fox"})
def title(s: str) -> str:
    """Return a version of the string where each word is titlecased."""
    return s.title()


@catalog.tool("str.capitalize", {"s": "hello world"})
def capitalize(s: str) -> str:
    """Return a capitalized version of the string: first character upper case, the rest lower."""
    return s.capitalize()


@catalog.tool("str.swapcase", {"s": "Hello World"})
def swapcase(s: str) -> str:
    """Convert uppercase characters to lowercase and lowercase characters to uppercase."""
    return s.swapcase()


@catalog.tool("str.casefold", {"s": "Straße"})
def casefold(s: str) -> str:
    """Return a version of the string suitable for caseless comparisons."""
    return s.casefold()


# str: trimming, padding, slicing


@catalog.tool("str.strip", {"s": "  padded  "}, chars=text(100))
def strip(s: str, chars: str = "") -> str:
    """Return a copy of the string with leading and trailing whitespace (or chars) removed."""
    return s.strip(chars or None)


@catalog.tool("str.lstrip", {"s": "xxhixx", "chars": "x"}, chars=text(100))
def lstrip(s: str, chars: str = "") -> str:
    """Return a copy of the string with leading whitespace (or chars) removed."""
    return s.lstrip(chars or None)


@catalog.tool("str.rstrip", {"s": "xxhixx", "chars": "x"}, chars=text(100))
def rstrip(s: str, chars: str = "") -> str:
    """Return a copy of the string with trailing whitespace (or chars) removed."""
    return s.rstrip(chars or None)


@catalog.tool("str.center", {"s": "hi", "width": 8, "fillchar": "*"},
              width=ints(0, MAX_TEXT), fillchar=_CHAR)
def center(s: str, width: int, fillchar: str = " ") -> str:
    """Return the string centered in a string of length width, padded with fillchar."""
    return s.center(width, fillchar)


@catalog.tool("str.ljust", {"s": "hi", "width": 6, "fillchar": "."},
              width=ints(0, MAX_TEXT), fillchar=_CHAR)
def ljust(s: str, width: int, fillchar: str = " ") -> str:
    """Return a left-justified string of length width, padded with fillchar."""
    return s.ljust(width, fillchar)


@catalog.tool("str.rjust", {"s": "hi", "width": 6, "fillchar": "."},
              width=ints(0, MAX_TEXT), fillchar=_CHAR)
def rjust(s: str, width: int, fillchar: str = " ") -> str:
    """Return a right-justified string of length width, padded with fillchar."""
    return s.rjust(width, fillchar)


@catalog.tool("str.zfill", {"s": "42", "width": 5}, width=ints(0, MAX_TEXT))
def zfill(s: str, width: int) -> str:
    """Pad a numeric string with zeros on the left, to fill a field of the given width."""
    return s.zfill(width)


@catalog.tool("str.removeprefix", {"s": "unhappy", "prefix": "un"})
def removeprefix(s: str, prefix: str) -> str:
    """Return the string with the given prefix removed if present."""
    return s.removeprefix(prefix)


@catalog.tool("str.removesuffix", {"s": "filename.txt", "suffix": ".txt"})
def removesuffix(s: str, suffix: str) -> str:
    """Return the string with the given suffix removed if present."""
    return s.removesuffix(suffix)


@catalog.tool("str.slice", {"s": "abcdefgh", "start": 2, "stop": 5},
              start=ints(-MAX_TEXT, MAX_TEXT), stop=ints(-MAX_TEXT, MAX_TEXT),
              step=ints(-MAX_TEXT, MAX_TEXT))
def slice_(s: str, start: int = 0, stop: int = MAX_TEXT, step: int = 1) -> str:
    """Return s[start:stop:step] (step not 0)."""
    return s[start:stop:step]


@catalog.tool("str.reverse", {"s": "stressed"})
def reverse(s: str) -> str:
    """Return the string reversed (s[::-1])."""
    return s[::-1]


@catalog.tool("str.expandtabs", {"s": "a\tb", "tabsize": 4}, tabsize=ints(0, 100))
def expandtabs(s: str, tabsize: int = 8) -> str:
    """Return a copy where all tab characters are expanded using spaces."""
    return _bounded(s.expandtabs(tabsize))


@catalog.tool("str.repeat", {"s": "ab", "times": 3}, times=ints(0, 1000))
def repeat(s: str, times: int) -> str:
    """Return the string repeated times times (s * times), up to 100,000 characters."""
    if len(s) * times > 10 * MAX_TEXT:
        raise ValueError(f"the result would have {len(s) * times} characters")
    return s * times


# str: searching and counting


@catalog.tool("str.len", {"s": "hello"})
def length(s: str) -> int:
    """Return the number of characters in the string."""
    return len(s)


@catalog.tool("str.count", {"s": "banana", "sub": "an"}, sub=text(min_length=1))
def count(s: str, sub: str) -> int:
    """Return the number of non-overlapping occurrences of substring sub in s."""
    return s.count(sub)


@catalog.tool("str.find", {"s": "hello world", "sub": "o"})
def find(s: str, sub: str) -> int:
    """Return the lowest index in s where substring sub is found, or -1."""
    return s.find(sub)


@catalog.tool("str.rfind", {"s": "hello world", "sub": "o"})
def rfind(s: str, sub: str) -> int:
    """Return the highest index in s where substring sub is found, or -1."""
    return s.rfind(sub)


@catalog.tool("str.contains", {"s": "hello world", "sub": "lo w"})
def contains(s: str, sub: str) -> bool:
    """Return True if sub occurs in s (the in operator)."""
    return sub in s


@catalog.tool("str.startswith", {"s": "hello world", "prefix": "hell"})
def startswith(s: str, prefix: str) -> bool:
    """Return True if s starts with the specified prefix, False otherwise."""
    return s.startswith(prefix)


@catalog.tool("str.endswith", {"s": "report.pdf", "suffix": ".pdf"})
def endswith(s: str, suffix: str) -> bool:
    """Return True if s ends with the specified suffix, False otherwise."""
    return s.endswith(suffix)


@catalog.tool("str.replace", {"s": "one two one", "old": "one", "new": "three"},
              old=text(min_length=1), new=text(1000), count=ints(-1, MAX_TEXT))
def replace(s: str, old: str, new: str, count: int = -1) -> str:
    """Return a copy with occurrences of substring old replaced by new (at most count if >= 0)."""
    return _bounded(s.replace(old, new, count))


# str: splitting and joining


@catalog.tool("str.split", {"s": "a,b,,c", "sep": ","}, sep=text(100))
def split(s: str, sep: str = "", maxsplit: int = -1) -> list[str]:
    """Return a list of the substrings, split at sep (runs of whitespace when sep is empty)."""
    return s.split(sep or None, maxsplit)


@catalog.tool("str.rsplit", {"s": "a.b.c", "sep": ".", "maxsplit": 1}, sep=text(100))
def rsplit(s: str, sep: str = "", maxsplit: int = -1) -> list[str]:
    """Return a list of the substrings, split at sep from the right (at most maxsplit splits)."""
    return s.rsplit(sep or None, maxsplit)


@catalog.tool("str.splitlines", {"s": "first\nsecond\r\nthird"})
def splitlines(s: str, keepends: bool = False) -> list[str]:
    """Return a list of the lines in the string, breaking at line boundaries."""
    return s.splitlines(keepends)


@catalog.tool("str.join", {"separator": "-", "parts": ["2024", "01", "31"]},
              separator=text(100), parts=items(items={"maxLength": 1000}))
def join(separator: str, parts: list[str]) -> str:
    """Concatenate the strings in parts with separator between them."""
    return separator.join(parts)


@catalog.tool("str.partition", {"s": "key=value=x", "sep": "="}, sep=text(100, 1))
def partition(s: str, sep: str) -> list[str]:
    """Split at the first occurrence of sep: [before, sep, after]."""
    return list(s.partition(sep))


@catalog.tool("str.rpartition", {"s": "key=value=x", "sep": "="}, sep=text(100, 1))
def rpartition(s: str, sep: str) -> list[str]:
    """Split at the last occurrence of sep: [before, sep, after]."""
    return list(s.rpartition(sep))


@catalog.tool("str.word_count", {"s": "the quick brown fox"})
def word_count(s: str) -> int:
    """Return the number of whitespace-separated words (len(s.split()))."""
    return len(s.split())


# str: classification


@catalog.tool("str.isalpha", {"s": "abc"})
def isalpha(s: str) -> bool:
    """Return True if the string is non-empty and all its characters are alphabetic."""
    return s.isalpha()


@catalog.tool("str.isdigit", {"s": "12345"})
def isdigit(s: str) -> bool:
    """Return True if the string is non-empty and all its characters are digits."""
    return s.isdigit()


@catalog.tool("str.isalnum", {"s": "abc123"})
def isalnum(s: str) -> bool:
    """Return True if the string is non-empty and all its characters are alphanumeric."""
    return s.isalnum()


@catalog.tool("str.isspace", {"s": " \t\n"})
def isspace(s: str) -> bool:
    """Return True if the string is non-empty and all its characters are whitespace."""
    return s.isspace()


@catalog.tool("str.isupper", {"s": "HELLO"})
def isupper(s: str) -> bool:
    """Return True if the string has cased characters and all of them are uppercase."""
    return s.isupper()


@catalog.tool("str.islower", {"s": "hello"})
def islower(s: str) -> bool:
    """Return True if the string has cased characters and all of them are lowercase."""
    return s.islower()


@catalog.tool("str.istitle", {"s": "Hello World"})
def istitle(s: str) -> bool:
    """Return True if the string is a title-cased string."""
    return s.istitle()


@catalog.tool("str.isnumeric", {"s": "½"})
def isnumeric(s: str) -> bool:
    """Return True if the string is non-empty and all its characters are numeric."""
    return s.isnumeric()


@catalog.tool("str.isidentifier", {"s": "my_var"})
def isidentifier(s: str) -> bool:
    """Return True if the string is a valid Python identifier."""
    return s.isidentifier()


@catalog.tool("str.is_palindrome", {"s": "A man, a plan, a canal: Panama"})
def is_palindrome(s: str) -> bool:
    """Return True if the letters and digits of s read the same both ways, ignoring case."""
    kept = [char.casefold() for char in s if char.isalnum()]
    return kept == kept[::-1]


@catalog.tool("str.encode_utf8", {"s": "héllo"})
def encode_utf8(s: str) -> str:
    """Return the UTF-8 bytes of the string as hexadecimal."""
    return s.encode("utf-8").hex()


# textwrap and string


@catalog.tool("textwrap.wrap", {"text": "The quick brown fox jumps over the lazy dog", "width": 15},
              width=_WIDTH)
def wrap(text: str, width: int = 70) -> list[str]:
    """Wrap a single paragraph of text, returning a list of wrapped lines."""
    return textwrap.wrap(text, width)


@catalog.tool("textwrap.fill", {"text": "The quick brown fox jumps over the lazy dog", "width": 15},
              width=_WIDTH)
def fill(text: str, width: int = 70) -> str:
    """Fill a single paragraph of text, returning a new string of wrapped lines."""
    return textwrap.fill(text, width)


@catalog.tool("textwrap.shorten", {"text": "Hello  world! How are you?", "width": 12},
              width=ints(5, MAX_TEXT), placeholder=text(50))
def shorten(text: str, width: int, placeholder: str = " [...]") -> str:
    """Collapse and truncate the given text to fit in the given width."""
    return textwrap.shorten(text, width, placeholder=placeholder)


@catalog.tool("textwrap.dedent", {"text": "    a\n      b\n    c"})
def dedent(text: str) -> str:
    """Remove any common leading whitespace from every line in text."""
    return textwrap.dedent(text)


@catalog.tool("textwrap.indent", {"text": "a\nb", "prefix": "> "}, prefix=text(20))
def indent(text: str, prefix: str) -> str:
    """Add prefix to the beginning of each non-blank line in text."""
    return _bounded(textwrap.indent(text, prefix))


@catalog.tool("string.capwords", {"s": "hello   big world"})
def capwords(s: str) -> str:
    """Split into words, capitalize each word and join them with single spaces."""
    return string.capwords(s)


@catalog.tool("string.template", {"template": "Hello $name!", "values": {"name": "Ada"}},
              values={"additionalProperties": {"maxLength": 1000}})
def template(template: str, values: dict[str, str]) -> str:
    """Substitute $name placeholders of a string.Template (unknown ones are left as they are)."""
    return _bounded(string.Template(template).safe_substitute(values))


@catalog.tool("string.constant", {"name": "ascii_lowercase"})
def string_constant(
    name: Literal["ascii_letters", "ascii_lowercase", "ascii_uppercase", "digits", "hexdigits",
                  "octdigits", "punctuation", "whitespace"],
) -> str:
    """The characters of one of the string module's constants (digits, punctuation, ...)."""
    return getattr(string, name)


# unicodedata


@catalog.tool("unicodedata.name", {"char": "λ"}, char=_CHAR)
def char_name(char: str) -> str:
    """Return the Unicode name assigned to the character."""
    return unicodedata.name(char)


@catalog.tool("unicodedata.lookup", {"name": "GREEK SMALL LETTER LAMDA"}, name=text(200, 1))
def lookup(name: str) -> str:
    """Look up the character by its Unicode name."""
    return unicodedata.lookup(name)


@catalog.tool("unicodedata.category", {"char": "A"}, char=_CHAR)
def category(char: str) -> str:
    """Return the general category assigned to the character (Lu, Nd, ...)."""
    return unicodedata.category(char)


@catalog.tool("unicodedata.numeric", {"char": "½"}, char=_CHAR)
def numeric(char: str) -> float:
    """Return the numeric value assigned to the character as a float."""
    return unicodedata.numeric(char)


@catalog.tool("unicodedata.bidirectional", {"char": "א"}, char=_CHAR)
def bidirectional(char: str) -> str:
    """Return the bidirectional class assigned to the character."""
    return unicodedata.bidirectional(char)


@catalog.tool("unicodedata.east_asian_width", {"char": "字"}, char=_CHAR)
def east_asian_width(char: str) -> str:
    """Return the east asian width assigned to the character."""
    return unicodedata.east_asian_width(char)


@catalog.tool("unicodedata.normalize", {"form": "NFD", "s": "é"})
def normalize(form: Literal["NFC", "NFD", "NFKC", "NFKD"], s: str) -> str:
    """Return the normal form 'form' (NFC, NFD, NFKC, NFKD) of the Unicode string."""
    return unicodedata.normalize(form, s)


@catalog.tool("unicodedata.strip_accents", {"s": "Crème brûlée"})
def strip_accents(s: str) -> str:
    """Remove combining marks after NFD decomposition ('é' becomes 'e')."""
    return "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))


# re: regular expressions with bounded patterns


@catalog.tool("re.search", {"pattern": r"(\d+)-(\d+)", "text": "call 555-1234 now"},
              pattern=_PATTERN)
def search(pattern: str, text: str, flags: _FLAGS = "") -> dict[str, object] | None:
    """Scan text for the first match of pattern: its text, span and groups (null if none)."""
    found = re.search(pattern, text, _flags(flags))
    if found is None:
        return None
    return {"match": found.group(0), "span": list(found.span()), "groups": list(found.groups())}


@catalog.tool("re.fullmatch", {"pattern": r"[a-z]+\d*", "text": "abc123"}, pattern=_PATTERN)
def fullmatch(pattern: str, text: str, flags: _FLAGS = "") -> bool:
    """Return True if the whole text matches the pattern."""
    return re.fullmatch(pattern, text, _flags(flags)) is not None


@catalog.tool("re.findall", {"pattern": r"\d+", "text": "a1b22c333"}, pattern=_PATTERN)
def findall(pattern: str, text: str, flags: _FLAGS = "") -> list[object]:
    """Return a list of all non-overlapping matches in the text (at most 1000)."""
    found = []
    for match in re.finditer(pattern, text, _flags(flags)):
        groups = match.groups()
        found.append(match.group(0) if not groups else groups[0] if len(groups) == 1
                     else list(groups))
        if len(found) >= _MAX_MATCHES:
            break
    return found


@catalog.tool("re.sub", {"pattern": r"\s+", "repl": " ", "text": "a   b \t c"},
              pattern=_PATTERN, repl=text(200), count=ints(0, MAX_TEXT))
def sub(pattern: str, repl: str, text: str, count: int = 0, flags: _FLAGS = "") -> str:
    """Replace the matches of pattern in text by repl (backreferences like \\1 allowed)."""
    return _bounded(re.sub(pattern, repl, text, count=count, flags=_flags(flags)))


@catalog.tool("re.split", {"pattern": r"[,;]\s*", "text": "a, b;c"},
              pattern=_PATTERN, maxsplit=ints(0, MAX_TEXT))
def split_re(pattern: str, text: str, maxsplit: int = 0, flags: _FLAGS = "") -> list[object]:
    """Split the text by the occurrences of the pattern."""
    return re.split(pattern, text, maxsplit=maxsplit, flags=_flags(flags))


@catalog.tool("re.escape", {"pattern": "1+1=2?"}, pattern=text(1000))
def escape(pattern: str) -> str:
    """Escape special characters in a string so it matches literally in a pattern."""
    return re.escape(pattern)


# difflib, shlex, keyword


@catalog.tool("difflib.ratio", {"a": "kitten", "b": "sitting"}, a=text(2000), b=text(2000))
def ratio(a: str, b: str) -> float:
    """Return a measure of the sequences' similarity (a float in [0, 1])."""
    return difflib.SequenceMatcher(None, a, b).ratio()


@catalog.tool("difflib.get_close_matches",
              {"word": "appel", "possibilities": ["ape", "apple", "peach", "puppy"]},
              word=text(100), possibilities=items(100, items={"maxLength": 100}),
              n=ints(1, 100), cutoff={"minimum": 0, "maximum": 1})
def get_close_matches(word: str, possibilities: list[str], n: int = 3,
                      cutoff: float = 0.6) -> list[str]:
    """Return a list of the best "good enough" matches of word among the possibilities."""
    return difflib.get_close_matches(word, possibilities, n, cutoff)


@catalog.tool("difflib.unified_diff", {"a": "one\ntwo\nthree", "b": "one\n2\nthree"},
              a=text(5000), b=text(5000), context=ints(0, 100))
def unified_diff(a: str, b: str, context: int = 3) -> str:
    """Compare two texts line by line; return the differences in unified diff format."""
    lines = difflib.unified_diff(a.splitlines(), b.splitlines(), "a", "b", n=max(0, context),
                                 lineterm="")
    return "\n".join(lines)


@catalog.tool("shlex.split", {"s": "cp 'my file.txt' dest/"})
def shell_split(s: str) -> list[str]:
    """Split the string using shell-like syntax (quotes respected)."""
    return shlex.split(s)


@catalog.tool("shlex.quote", {"s": "my file.txt"})
def shell_quote(s: str) -> str:
    """Return a shell-escaped version of the string."""
    return shlex.quote(s)


@catalog.tool("keyword.iskeyword", {"s": "lambda"}, s=text(100))
def iskeyword(s: str) -> bool:
    """Return True if s is a Python keyword."""
    return keyword.iskeyword(s)
