"""Stdlib tools over ``math``, ``cmath`` and ``colorsys``: keyword wrappers with bounded inputs."""

from __future__ import annotations

import cmath
import colorsys
import math
from typing import Literal

from papercraft.tools.stdlib.catalog import Catalog, ints, items, numbers

catalog = Catalog()

_SMALL = ints(0, 1000)
_UNIT = numbers(0.0, 1.0)
_ANGLE = numbers(-1e6, 1e6)


def _complex(value: complex) -> dict[str, float]:
    return {"re": value.real, "im": value.imag}


# math: powers and logarithms


@catalog.tool("math.sqrt", {"x": 2.0}, x=numbers(0))
def sqrt(x: float) -> float:
    """Return the square root of x."""
    return math.sqrt(x)


@catalog.tool("math.isqrt", {"n": 17}, n=ints(0))
def isqrt(n: int) -> int:
    """Return the integer part of the square root of the nonnegative integer n."""
    return math.isqrt(n)


@catalog.tool("math.cbrt", {"x": 27.0})
def cbrt(x: float) -> float:
    """Return the cube root of x."""
    return math.cbrt(x)


@catalog.tool("math.exp", {"x": 1.0}, x=numbers(-1000, 700))
def exp(x: float) -> float:
    """Return e raised to the power of x."""
    return math.exp(x)


@catalog.tool("math.exp2", {"x": 10.0}, x=numbers(-1000, 1000))
def exp2(x: float) -> float:
    """Return 2 raised to the power of x."""
    return math.exp2(x)


@catalog.tool("math.expm1", {"x": 1e-5}, x=numbers(-1000, 700))
def expm1(x: float) -> float:
    """Return exp(x)-1, accurate for small x."""
    return math.expm1(x)


@catalog.tool("math.log", {"x": 8.0, "base": 2.0}, x=numbers(1e-300), base=numbers(1e-300))
def log(x: float, base: float = math.e) -> float:
    """Return the logarithm of x to the given base (natural logarithm by default)."""
    return math.log(x, base)


@catalog.tool("math.log2", {"x": 1024.0}, x=numbers(1e-300))
def log2(x: float) -> float:
    """Return the base 2 logarithm of x."""
    return math.log2(x)


@catalog.tool("math.log10", {"x": 1000.0}, x=numbers(1e-300))
def log10(x: float) -> float:
    """Return the base 10 logarithm of x."""
    return math.log10(x)


@catalog.tool("math.log1p", {"x": 1e-5}, x=numbers(-0.999999999))
def log1p(x: float) -> float:
    """Return the natural logarithm of 1+x, accurate for x near zero."""
    return math.log1p(x)


@catalog.tool("math.pow", {"x": 2.0, "y": 0.5}, x=numbers(-1e100, 1e100), y=numbers(-1000, 1000))
def pow_(x: float, y: float) -> float:
    """Return x raised to the power y as a float."""
    return math.pow(x, y)


# math: trigonometry and hyperbolic functions


@catalog.tool("math.sin", {"x": 1.5707963267948966}, x=_ANGLE)
def sin(x: float) -> float:
    """Return the sine of x (measured in radians)."""
    return math.sin(x)


@catalog.tool("math.cos", {"x": 0.0}, x=_ANGLE)
def cos(x: float) -> float:
    """Return the cosine of x (measured in radians)."""
    return math.cos(x)


@catalog.tool("math.tan", {"x": 0.7853981633974483}, x=_ANGLE)
def tan(x: float) -> float:
    """Return the tangent of x (measured in radians)."""
    return math.tan(x)


@catalog.tool("math.asin", {"x": 1.0}, x=numbers(-1, 1))
def asin(x: float) -> float:
    """Return the arc sine (measured in radians) of x."""
    return math.asin(x)


@catalog.tool("math.acos", {"x": 0.5}, x=numbers(-1, 1))
def acos(x: float) -> float:
    """Return the arc cosine (measured in radians) of x."""
    return math.acos(x)


@catalog.tool("math.atan", {"x": 1.0})
def atan(x: float) -> float:
    """Return the arc tangent (measured in radians) of x."""
    return math.atan(x)


@catalog.tool("math.atan2", {"y": 1.0, "x": -1.0})
def atan2(y: float, x: float) -> float:
    """Return the arc tangent (measured in radians) of y/x, using the signs of both."""
    return math.atan2(y, x)


@catalog.tool("math.sinh", {"x": 1.0}, x=numbers(-700, 700))
def sinh(x: float) -> float:
    """Return the hyperbolic sine of x."""
    return math.sinh(x)


@catalog.tool("math.cosh", {"x": 1.0}, x=numbers(-700, 700))
def cosh(x: float) -> float:
    """Return the hyperbolic cosine of x."""
    return math.cosh(x)


@catalog.tool("math.tanh", {"x": 0.5})
def tanh(x: float) -> float:
    """Return the hyperbolic tangent of x."""
    return math.tanh(x)


@catalog.tool("math.asinh", {"x": 1.0})
def asinh(x: float) -> float:
    """Return the inverse hyperbolic sine of x."""
    return math.asinh(x)


@catalog.tool("math.acosh", {"x": 2.0}, x=numbers(1))
def acosh(x: float) -> float:
    """Return the inverse hyperbolic cosine of x (x >= 1)."""
    return math.acosh(x)


@catalog.tool("math.atanh", {"x": 0.5}, x=numbers(-0.999999999999, 0.999999999999))
def atanh(x: float) -> float:
    """Return the inverse hyperbolic tangent of x (-1 < x < 1)."""
    return math.atanh(x)


@catalog.tool("math.degrees", {"x": 3.141592653589793})
def degrees(x: float) -> float:
    """Convert angle x from radians to degrees."""
    return math.degrees(x)


@catalog.tool("math.radians", {"x": 180.0})
def radians(x: float) -> float:
    """Convert angle x from degrees to radians."""
    return math.radians(x)


@catalog.tool("math.hypot", {"coordinates": [3.0, 4.0]}, coordinates=items(100, 1))
def hypot(coordinates: list[float]) -> float:
    """Return the Euclidean norm (distance from the origin) of the coordinates."""
    return math.hypot(*coordinates)


@catalog.tool("math.dist", {"p": [0.0, 0.0], "q": [3.0, 4.0]},
              p=items(100, 1), q=items(100, 1))
def dist(p: list[float], q: list[float]) -> float:
    """Return the Euclidean distance between two points p and q of the same dimension."""
    return math.dist(p, q)


# math: rounding and floating-point details


@catalog.tool("math.ceil", {"x": 2.1})
def ceil(x: float) -> int:
    """Return the ceiling of x: the smallest integer >= x."""
    return math.ceil(x)


@catalog.tool("math.floor", {"x": 2.9})
def floor(x: float) -> int:
    """Return the floor of x: the largest integer <= x."""
    return math.floor(x)


@catalog.tool("math.trunc", {"x": -2.7})
def trunc(x: float) -> int:
    """Truncate x to the nearest integer toward 0."""
    return math.trunc(x)


@catalog.tool("math.fabs", {"x": -3.5})
def fabs(x: float) -> float:
    """Return the absolute value of the float x."""
    return math.fabs(x)


@catalog.tool("math.fmod", {"x": 7.5, "y": 2.0})
def fmod(x: float, y: float) -> float:
    """Return fmod(x, y), the C-style remainder of x / y (sign of x)."""
    return math.fmod(x, y)


@catalog.tool("math.remainder", {"x": 7.0, "y": 4.0})
def remainder(x: float, y: float) -> float:
    """Return the IEEE 754-style remainder of x with respect to y."""
    return math.remainder(x, y)


@catalog.tool("math.copysign", {"x": 3.0, "y": -0.0})
def copysign(x: float, y: float) -> float:
    """Return a float with the magnitude of x but the sign of y."""
    return math.copysign(x, y)


@catalog.tool("math.modf", {"x": 3.25})
def modf(x: float) -> list[float]:
    """Return the fractional and integer parts of x, both with the sign of x."""
    return list(math.modf(x))


@catalog.tool("math.frexp", {"x": 8.0})
def frexp(x: float) -> list[float]:
    """Return the mantissa and exponent of x, as [m, e] with x == m * 2**e."""
    mantissa, exponent = math.frexp(x)
    return [mantissa, exponent]


@catalog.tool("math.ldexp", {"x": 0.5, "i": 4}, i=ints(-1100, 1100))
def ldexp(x: float, i: int) -> float:
    """Return x * (2**i), the inverse of frexp."""
    return math.ldexp(x, i)


@catalog.tool("math.nextafter", {"x": 1.0, "y": 2.0})
def nextafter(x: float, y: float) -> float:
    """Return the next floating-point value after x towards y."""
    return math.nextafter(x, y)


@catalog.tool("math.ulp", {"x": 1.0})
def ulp(x: float) -> float:
    """Return the value of the least significant bit of the float x."""
    return math.ulp(x)


@catalog.tool("math.isclose", {"a": 0.1, "b": 0.10000000001, "rel_tol": 1e-9},
              rel_tol=numbers(0, 1), abs_tol=numbers(0, 1e300))
def isclose(a: float, b: float, rel_tol: float = 1e-9, abs_tol: float = 0.0) -> bool:
    """Determine whether two floating-point numbers are close in value."""
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)


# math: integers and combinatorics


@catalog.tool("math.factorial", {"n": 10}, n=_SMALL)
def factorial(n: int) -> int:
    """Find n! for an integer n >= 0 (n <= 1000)."""
    return math.factorial(n)


@catalog.tool("math.gcd", {"a": 12, "b": 18})
def gcd(a: int, b: int) -> int:
    """Greatest common divisor of the integers a and b."""
    return math.gcd(a, b)


@catalog.tool("math.lcm", {"a": 4, "b": 6}, a=ints(-10**9, 10**9), b=ints(-10**9, 10**9))
def lcm(a: int, b: int) -> int:
    """Least common multiple of the integers a and b."""
    return math.lcm(a, b)


@catalog.tool("math.comb", {"n": 5, "k": 2}, n=_SMALL, k=_SMALL)
def comb(n: int, k: int) -> int:
    """Number of ways to choose k items from n items without repetition and without order."""
    return math.comb(n, k)


@catalog.tool("math.perm", {"n": 5, "k": 2}, n=_SMALL, k=_SMALL)
def perm(n: int, k: int) -> int:
    """Number of ways to choose k items from n items without repetition and with order."""
    return math.perm(n, k)


@catalog.tool("math.prod", {"values": [2, 3, 4]}, values=items(100, items=numbers(-1e6, 1e6)))
def prod(values: list[float]) -> float:
    """Calculate the product of all the values (1 for an empty list)."""
    return math.prod(values)


@catalog.tool("math.fsum", {"values": [0.1, 0.1, 0.1]})
def fsum(values: list[float]) -> float:
    """Return an accurate floating-point sum of the values."""
    return math.fsum(values)


# math: special functions and constants


@catalog.tool("math.erf", {"x": 1.0})
def erf(x: float) -> float:
    """Error function at x."""
    return math.erf(x)


@catalog.tool("math.erfc", {"x": 1.0})
def erfc(x: float) -> float:
    """Complementary error function at x."""
    return math.erfc(x)


@catalog.tool("math.gamma", {"x": 5.0}, x=numbers(-170, 171))
def gamma(x: float) -> float:
    """Gamma function at x."""
    return math.gamma(x)


@catalog.tool("math.lgamma", {"x": 100.0})
def lgamma(x: float) -> float:
    """Natural logarithm of the absolute value of the Gamma function at x."""
    return math.lgamma(x)


@catalog.tool("math.constant", {"name": "pi"})
def constant(name: Literal["pi", "e", "tau"]) -> float:
    """The value of the mathematical constant pi, e or tau."""
    return {"pi": math.pi, "e": math.e, "tau": math.tau}[name]


# cmath: complex numbers given as their real and imaginary parts


@catalog.tool("cmath.sqrt", {"re": -4.0, "im": 0.0})
def csqrt(re: float, im: float = 0.0) -> dict[str, float]:
    """Return the complex square root of re + im*j."""
    return _complex(cmath.sqrt(complex(re, im)))


@catalog.tool("cmath.exp", {"re": 0.0, "im": 3.141592653589793},
              re=numbers(-700, 700), im=numbers(-1e6, 1e6))
def cexp(re: float, im: float = 0.0) -> dict[str, float]:
    """Return the complex exponential of re + im*j."""
    return _complex(cmath.exp(complex(re, im)))


@catalog.tool("cmath.log", {"re": -1.0, "im": 0.0})
def clog(re: float, im: float = 0.0) -> dict[str, float]:
    """Return the complex natural logarithm of re + im*j (not zero)."""
    return _complex(cmath.log(complex(re, im)))


@catalog.tool("cmath.phase", {"re": -1.0, "im": 0.0})
def phase(re: float, im: float = 0.0) -> float:
    """Return the argument (phase angle in radians) of re + im*j."""
    return cmath.phase(complex(re, im))


@catalog.tool("cmath.polar", {"re": 3.0, "im": 4.0})
def polar(re: float, im: float = 0.0) -> list[float]:
    """Convert re + im*j to polar coordinates [r, phi]."""
    return list(cmath.polar(complex(re, im)))


@catalog.tool("cmath.rect", {"r": 2.0, "phi": 1.5707963267948966}, phi=_ANGLE)
def rect(r: float, phi: float) -> dict[str, float]:
    """Convert from polar coordinates (r, phi) to a complex number."""
    return _complex(cmath.rect(r, phi))


@catalog.tool("cmath.abs", {"re": 3.0, "im": 4.0})
def cabs(re: float, im: float = 0.0) -> float:
    """Return the modulus (absolute value) of re + im*j."""
    return abs(complex(re, im))


@catalog.tool("cmath.sin", {"re": 1.0, "im": 1.0}, re=_ANGLE, im=numbers(-700, 700))
def csin(re: float, im: float = 0.0) -> dict[str, float]:
    """Return the complex sine of re + im*j."""
    return _complex(cmath.sin(complex(re, im)))


@catalog.tool("cmath.cos", {"re": 1.0, "im": 1.0}, re=_ANGLE, im=numbers(-700, 700))
def ccos(re: float, im: float = 0.0) -> dict[str, float]:
    """Return the complex cosine of re + im*j."""
    return _complex(cmath.cos(complex(re, im)))


@catalog.tool("cmath.multiply", {"a_re": 1.0, "a_im": 2.0, "b_re": 3.0, "b_im": -1.0},
              a_re=numbers(-1e150, 1e150), a_im=numbers(-1e150, 1e150),
              b_re=numbers(-1e150, 1e150), b_im=numbers(-1e150, 1e150))
def cmultiply(a_re: float, a_im: float, b_re: float, b_im: float) -> dict[str, float]:
    """Multiply the complex numbers a and b given by their real and imaginary parts."""
    return _complex(complex(a_re, a_im) * complex(b_re, b_im))


# colorsys: conversions between colour systems (coordinates in [0, 1])


@catalog.tool("colorsys.rgb_to_hsv", {"r": 1.0, "g": 0.5, "b": 0.0}, r=_UNIT, g=_UNIT, b=_UNIT)
def rgb_to_hsv(r: float, g: float, b: float) -> list[float]:
    """Convert an RGB colour to HSV (hue, saturation, value)."""
    return list(colorsys.rgb_to_hsv(r, g, b))


@catalog.tool("colorsys.hsv_to_rgb", {"h": 0.5, "s": 1.0, "v": 1.0}, h=_UNIT, s=_UNIT, v=_UNIT)
def hsv_to_rgb(h: float, s: float, v: float) -> list[float]:
    """Convert an HSV colour to RGB."""
    return list(colorsys.hsv_to_rgb(h, s, v))


@catalog.tool("colorsys.rgb_to_hls", {"r": 1.0, "g": 0.5, "b": 0.0}, r=_UNIT, g=_UNIT, b=_UNIT)
def rgb_to_hls(r: float, g: float, b: float) -> list[float]:
    """Convert an RGB colour to HLS (hue, lightness, saturation)."""
    return list(colorsys.rgb_to_hls(r, g, b))


@catalog.tool("colorsys.hls_to_rgb", {"h": 0.5, "l": 0.5, "s": 1.0}, h=_UNIT, l=_UNIT, s=_UNIT)
def hls_to_rgb(h: float, l: float, s: float) -> list[float]:  # noqa: E741 (colorsys' name)
    """Convert an HLS colour to RGB."""
    return list(colorsys.hls_to_rgb(h, l, s))


@catalog.tool("colorsys.rgb_to_yiq", {"r": 1.0, "g": 0.5, "b": 0.0}, r=_UNIT, g=_UNIT, b=_UNIT)
def rgb_to_yiq(r: float, g: float, b: float) -> list[float]:
    """Convert an RGB colour to YIQ (luma and chrominance)."""
    return list(colorsys.rgb_to_yiq(r, g, b))


@catalog.tool("colorsys.yiq_to_rgb", {"y": 0.5, "i": 0.1, "q": 0.1},
              y=_UNIT, i=numbers(-1, 1), q=numbers(-1, 1))
def yiq_to_rgb(y: float, i: float, q: float) -> list[float]:
    """Convert a YIQ colour to RGB."""
    return list(colorsys.yiq_to_rgb(y, i, q))
