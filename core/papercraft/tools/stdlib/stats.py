"""Stdlib tools over ``statistics`` and seeded ``random``: summaries of given lists of numbers.

Random tools always take a seed and build their own ``random.Random``: the same arguments give
the same result, and the interpreter's global generator is never touched.
"""

from __future__ import annotations

import random
import statistics
from typing import Literal

from papercraft.tools.stdlib.catalog import Catalog, ints, items, numbers

catalog = Catalog()

_DATA = items(min_items=1, items=numbers(-1e100, 1e100))
_PAIR = items(min_items=2, items=numbers(-1e100, 1e100))
_SEED = ints(0, 2**63)


# statistics: averages and spread


@catalog.tool("statistics.mean", {"data": [1, 2, 3, 4, 4]}, data=_DATA)
def mean(data: list[float]) -> float:
    """Return the sample arithmetic mean of data."""
    return statistics.mean(data)


@catalog.tool("statistics.fmean", {"data": [3.5, 4.0, 5.25]}, data=_DATA)
def fmean(data: list[float]) -> float:
    """Convert data to floats and compute the arithmetic mean (fast)."""
    return statistics.fmean(data)


@catalog.tool("statistics.weighted_mean", {"data": [70, 80, 90], "weights": [1, 2, 3]},
              data=_DATA, weights=_DATA)
def weighted_mean(data: list[float], weights: list[float]) -> float:
    """Return the weighted arithmetic mean of data."""
    return statistics.fmean(data, weights)


@catalog.tool("statistics.geometric_mean", {"data": [54, 24, 36]},
              data=items(min_items=1, items=numbers(1e-300, 1e100)))
def geometric_mean(data: list[float]) -> float:
    """Convert data to floats and compute the geometric mean."""
    return statistics.geometric_mean(data)


@catalog.tool("statistics.harmonic_mean", {"data": [40, 60]},
              data=items(min_items=1, items=numbers(0, 1e100)))
def harmonic_mean(data: list[float]) -> float:
    """Return the harmonic mean of data."""
    return statistics.harmonic_mean(data)


@catalog.tool("statistics.median", {"data": [1, 3, 5, 7]}, data=_DATA)
def median(data: list[float]) -> float:
    """Return the median (middle value) of numeric data, the mean of the two middles if even."""
    return statistics.median(data)


@catalog.tool("statistics.median_low", {"data": [1, 3, 5, 7]}, data=_DATA)
def median_low(data: list[float]) -> float:
    """Return the low median of numeric data."""
    return statistics.median_low(data)


@catalog.tool("statistics.median_high", {"data": [1, 3, 5, 7]}, data=_DATA)
def median_high(data: list[float]) -> float:
    """Return the high median of numeric data."""
    return statistics.median_high(data)


@catalog.tool("statistics.median_grouped", {"data": [52, 52, 53, 54], "interval": 1},
              data=_DATA, interval=numbers(1e-9, 1e100))
def median_grouped(data: list[float], interval: float = 1) -> float:
    """Estimate the median of grouped continuous data, using interpolation."""
    return statistics.median_grouped(data, interval)


@catalog.tool("statistics.mode", {"data": [1, 1, 2, 3, 3, 3, 4]}, data=_DATA)
def mode(data: list[float]) -> float:
    """Return the most common data point (the first one met when several tie)."""
    return statistics.mode(data)


@catalog.tool("statistics.multimode", {"data": [1, 1, 2, 2, 3]})
def multimode(data: list[float]) -> list[float]:
    """Return a list of the most frequently occurring values."""
    return statistics.multimode(data)


@catalog.tool("statistics.pstdev", {"data": [1.5, 2.5, 2.5, 2.75, 3.25, 4.75]}, data=_DATA)
def pstdev(data: list[float]) -> float:
    """Return the population standard deviation (the square root of the population variance)."""
    return statistics.pstdev(data)


@catalog.tool("statistics.pvariance", {"data": [0.0, 0.25, 0.25, 1.25, 1.5, 1.75]}, data=_DATA)
def pvariance(data: list[float]) -> float:
    """Return the population variance of data."""
    return statistics.pvariance(data)


@catalog.tool("statistics.stdev", {"data": [1.5, 2.5, 2.5, 2.75, 3.25, 4.75]}, data=_PAIR)
def stdev(data: list[float]) -> float:
    """Return the sample standard deviation (at least two data points)."""
    return statistics.stdev(data)


@catalog.tool("statistics.variance", {"data": [2.75, 1.75, 1.25, 0.25, 0.5, 1.25]}, data=_PAIR)
def variance(data: list[float]) -> float:
    """Return the sample variance of data (at least two data points)."""
    return statistics.variance(data)


@catalog.tool("statistics.quantiles", {"data": [1, 2, 3, 4, 5, 6, 7, 8], "n": 4},
              data=_PAIR, n=ints(2, 100))
def quantiles(
    data: list[float], n: int = 4, method: Literal["exclusive", "inclusive"] = "exclusive"
) -> list[float]:
    """Divide data into n continuous intervals with equal probability; return the n-1 cut points."""
    return statistics.quantiles(data, n=n, method=method)


@catalog.tool("statistics.correlation", {"x": [1, 2, 3, 4], "y": [2, 4, 5, 9]},
              x=_PAIR, y=_PAIR)
def correlation(x: list[float], y: list[float]) -> float:
    """Pearson's correlation coefficient for two inputs of the same length."""
    return statistics.correlation(x, y)


@catalog.tool("statistics.covariance", {"x": [1, 2, 3, 4], "y": [2, 4, 5, 9]},
              x=_PAIR, y=_PAIR)
def covariance(x: list[float], y: list[float]) -> float:
    """Return the sample covariance of two inputs of the same length."""
    return statistics.covariance(x, y)


@catalog.tool("statistics.linear_regression", {"x": [1, 2, 3, 4], "y": [3, 5, 7, 9]},
              x=_PAIR, y=_PAIR)
def linear_regression(x: list[float], y: list[float]) -> dict[str, float]:
    """Slope and intercept of the ordinary least squares line through (x, y)."""
    fit = statistics.linear_regression(x, y)
    return {"slope": fit.slope, "intercept": fit.intercept}


# statistics.NormalDist: the normal distribution


@catalog.tool("statistics.normal_pdf", {"x": 0.0, "mu": 0.0, "sigma": 1.0},
              sigma=numbers(1e-300, 1e100))
def normal_pdf(x: float, mu: float = 0.0, sigma: float = 1.0) -> float:
    """Probability density of the normal distribution N(mu, sigma) at x."""
    return statistics.NormalDist(mu, sigma).pdf(x)


@catalog.tool("statistics.normal_cdf", {"x": 1.96, "mu": 0.0, "sigma": 1.0},
              sigma=numbers(1e-300, 1e100))
def normal_cdf(x: float, mu: float = 0.0, sigma: float = 1.0) -> float:
    """Cumulative probability P(X <= x) of the normal distribution N(mu, sigma)."""
    return statistics.NormalDist(mu, sigma).cdf(x)


@catalog.tool("statistics.normal_inv_cdf", {"p": 0.975, "mu": 0.0, "sigma": 1.0},
              p=numbers(1e-15, 1 - 1e-15), sigma=numbers(1e-300, 1e100))
def normal_inv_cdf(p: float, mu: float = 0.0, sigma: float = 1.0) -> float:
    """The x with P(X <= x) = p under the normal distribution N(mu, sigma) (a quantile)."""
    return statistics.NormalDist(mu, sigma).inv_cdf(p)


@catalog.tool("statistics.normal_zscore", {"x": 130.0, "mu": 100.0, "sigma": 15.0},
              sigma=numbers(1e-300, 1e100))
def normal_zscore(x: float, mu: float = 0.0, sigma: float = 1.0) -> float:
    """How many standard deviations x lies above the mean of N(mu, sigma)."""
    return statistics.NormalDist(mu, sigma).zscore(x)


@catalog.tool("statistics.normal_overlap", {"mu1": 0.0, "sigma1": 1.0, "mu2": 1.0, "sigma2": 1.0},
              sigma1=numbers(1e-300, 1e100), sigma2=numbers(1e-300, 1e100))
def normal_overlap(mu1: float, sigma1: float, mu2: float, sigma2: float) -> float:
    """The overlapping coefficient of two normal distributions (between 0 and 1)."""
    return statistics.NormalDist(mu1, sigma1).overlap(statistics.NormalDist(mu2, sigma2))


# random: seeded, reproducible draws


@catalog.tool("random.randint", {"a": 1, "b": 6, "seed": 42}, seed=_SEED)
def randint(a: int, b: int, seed: int) -> int:
    """Return a random integer in [a, b] drawn from a generator seeded with seed."""
    return random.Random(seed).randint(a, b)


@catalog.tool("random.uniform", {"a": 0.0, "b": 1.0, "seed": 42}, seed=_SEED)
def uniform(a: float, b: float, seed: int) -> float:
    """Return a random float between a and b drawn from a generator seeded with seed."""
    return random.Random(seed).uniform(a, b)


@catalog.tool("random.shuffle", {"items": ["a", "b", "c", "d"], "seed": 7},
              items=items(items={"maxLength": 200}), seed=_SEED)
def shuffle(items: list[str], seed: int) -> list[str]:
    """Return the items in a random order drawn from a generator seeded with seed."""
    shuffled = list(items)
    random.Random(seed).shuffle(shuffled)
    return shuffled


@catalog.tool("random.sample", {"items": ["a", "b", "c", "d"], "k": 2, "seed": 7},
              items=items(items={"maxLength": 200}), k=ints(0, 1000), seed=_SEED)
def sample(items: list[str], k: int, seed: int) -> list[str]:
    """Choose k unique items at random (generator seeded with seed)."""
    return random.Random(seed).sample(items, k)


@catalog.tool("random.choice", {"items": ["red", "green", "blue"], "seed": 3},
              items=items(min_items=1, items={"maxLength": 200}), seed=_SEED)
def choice(items: list[str], seed: int) -> str:
    """Choose one item at random (generator seeded with seed)."""
    return random.Random(seed).choice(items)


@catalog.tool("random.gauss", {"mu": 0.0, "sigma": 1.0, "seed": 42},
              sigma=numbers(0, 1e100), seed=_SEED)
def gauss(mu: float, sigma: float, seed: int) -> float:
    """Draw from the normal distribution N(mu, sigma) with a generator seeded with seed."""
    return random.Random(seed).gauss(mu, sigma)
