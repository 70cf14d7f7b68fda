"""The time a long run has left, from the rate it has kept lately (no streamlit here).

A corpus run reports after every chunk how far it got.  The engine's own estimate
(CorpusProgress.eta_s) spreads the time since the start over the records done, so a slow
first chunk (warm-up) or a stretch of long sentences keeps weighing on it long after.
`RecentRate` smooths the chunk-to-chunk steps exponentially instead: each new step counts
for SMOOTHING of the estimate, so it follows the speed the run has now.
"""

from __future__ import annotations

from dataclasses import dataclass

SMOOTHING = 0.3  # the weight of the newest step in the smoothed rate


@dataclass
class RecentRate:
    """An exponentially smoothed rate of `done` (records, sentences) per second.

    The steps' amounts and durations are smoothed apart and divided at the end, so a short
    chunk (the last one) weighs as little as it lasts, and the rate is the harmonic one
    that a time estimate needs.  Both start at zero, so step k of n weighs
    smoothing·(1 − smoothing)^(n − k): the first (warm-up) step no more than its turn.
    """

    smoothing: float = SMOOTHING
    _last: tuple[float, int] | None = None  # (time_s, done) of the latest point
    _amount: float = 0.0  # smoothed done per step
    _duration: float = 0.0  # smoothed seconds per step

    def __post_init__(self):
        if not 0 < self.smoothing <= 1:
            raise ValueError(f"smoothing must lie in (0, 1]; got {self.smoothing!r}")

    def add(self, time_s: float, done: int) -> None:
        """A point of the run: `done` so far at `time_s` (any clock, in seconds).  The first
        point is the start; a point no later than the one before is ignored."""
        if self._last is not None:
            duration, amount = time_s - self._last[0], done - self._last[1]
            if duration <= 0:
                return
            weight = self.smoothing
            self._amount = weight * amount + (1 - weight) * self._amount
            self._duration = weight * duration + (1 - weight) * self._duration
        self._last = (time_s, done)

    @property
    def rate(self) -> float | None:
        """Done per second lately; None before the second point."""
        if not self._duration:
            return None
        return self._amount / self._duration

    def seconds_left(self, total: int | None) -> float | None:
        """The time left until `done` reaches `total` at the recent rate; None when the
        total is unknown or there is no rate yet (or it is zero)."""
        rate = self.rate
        if total is None or self._last is None or not rate or rate <= 0:
            return None
        return max(total - self._last[1], 0) / rate


def split_duration(seconds: float) -> tuple[int, int, int]:
    """`seconds`, rounded to the second, as (hours, minutes, seconds)."""
    whole = max(round(seconds), 0)
    return whole // 3600, whole // 60 % 60, whole % 60
