"""How fast a run goes: its rate, the time left and, once, an estimate for a long run.

The clock counts only the samples finished since it started (a resumed run's earlier
samples are not part of the rate). After the first few samples it can give one estimate,
``about N min for M samples``, when the run's projected time exceeds a few minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

ESTIMATE_AFTER_SAMPLES = 3
"""Samples finished before the estimate is made (the first batch is usually enough)."""
ESTIMATE_OVER_S = 180.0
"""The estimate is printed only for runs projected to take longer than this."""
PLAIN_EVERY_S = 30.0
"""Without a terminal, a progress line at most this often."""


def format_duration(seconds: float | None) -> str:
    """``0:42``, ``12:05``, ``1:02:03``; ``-:--`` when unknown."""
    if seconds is None:
        return "-:--"
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_rate(rate: float | None) -> str:
    """``12.3 samples/s``, or ``4.2 s/sample`` below one a second; empty when unknown."""
    if not rate:
        return ""
    return f"{rate:.1f} samples/s" if rate >= 1 else f"{1 / rate:.1f} s/sample"


def _about(seconds: float) -> str:
    minutes = seconds / 60
    if minutes < 120:
        return f"about {max(1, round(minutes))} min"
    return f"about {minutes / 60:.1f} h"


class RunClock:
    """Rate and time left of a run of ``total`` samples, from ``update(done)`` calls."""

    def __init__(self, total: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.done = 0
        self._clock = clock
        self._start: float | None = None
        self._start_done = 0
        self._now = 0.0
        self._estimated = False
        self._last_line: float | None = None

    def update(self, done: int) -> None:
        """Record that ``done`` samples are finished (the first call starts the clock)."""
        now = self._clock()
        if self._start is None:
            self._start, self._start_done = now, done
        self.done, self._now = done, now

    @property
    def finished_here(self) -> int:
        """Samples finished since the clock started."""
        return self.done - self._start_done

    @property
    def elapsed(self) -> float:
        """Seconds since the clock started."""
        return 0.0 if self._start is None else self._now - self._start

    @property
    def rate(self) -> float | None:
        """Samples per second since the clock started (None before the first one)."""
        if self.finished_here <= 0 or self.elapsed <= 0:
            return None
        return self.finished_here / self.elapsed

    @property
    def remaining(self) -> float | None:
        """Seconds left at the current rate (None while unknown)."""
        rate = self.rate
        return None if rate is None else max(0, self.total - self.done) / rate

    def estimate(self) -> str | None:
        """Once, after the first few samples: the run's projected time when it is long.

        ``about 12 min for 480 samples (1.5 s/sample)``; None otherwise (and every later call).
        """
        if self._estimated or self.finished_here < ESTIMATE_AFTER_SAMPLES:
            return None
        self._estimated = True
        rate = self.rate
        if rate is None or self.done >= self.total:
            return None
        pending = self.total - self._start_done
        projected = pending / rate
        if projected <= ESTIMATE_OVER_S:
            return None
        return f"{_about(projected)} for {pending} samples ({format_rate(rate)})"

    def line_due(self) -> bool:
        """True when a plain progress line is due (every PLAIN_EVERY_S; none at the end)."""
        if self.finished_here <= 0 or self.done >= self.total:
            return False
        since = self._last_line if self._last_line is not None else self._start
        if since is not None and self._now - since < PLAIN_EVERY_S:
            return False
        self._last_line = self._now
        return True

    def summary(self) -> str:
        """``40/200 samples, 1.3 samples/s, ETA 2:03``."""
        parts = [f"{self.done}/{self.total} samples"]
        if self.rate is not None:
            parts.append(format_rate(self.rate))
        parts.append(f"ETA {format_duration(self.remaining)}")
        return ", ".join(parts)
