"""``RemainingTimeEstimator``: how long a task will still take, from its progress so far."""

from __future__ import annotations

from collections import deque

__all__ = ["RemainingTimeEstimator"]


class RemainingTimeEstimator:
    """Estimates the time left from ``(elapsed, fraction)`` samples.

    The rate is measured over a recent window (``window`` seconds), from its oldest
    sample to *now*: a task that speeds up or slows down is followed within that window,
    and a task that stalls sees its estimate grow instead of freezing. No estimate is
    given until ``min_fraction`` of the work is done and ``min_seconds`` have passed.

    Example::

        eta = RemainingTimeEstimator()
        eta.update(2.0, 0.25)
        assert eta.remaining(2.0) == 6.0      # 25 % in 2 s: 6 s for the other 75 %
    """

    def __init__(self, *, min_fraction: float = 0.02, min_seconds: float = 1.0, window: float = 30.0) -> None:
        self._min_fraction = min_fraction
        self._min_seconds = min_seconds
        self._window = window
        # (elapsed, fraction), oldest first; the start is a sample too.
        self._samples: deque[tuple[float, float]] = deque([(0.0, 0.0)])

    @property
    def fraction(self) -> float:
        """The latest fraction given to :meth:`update` (0 before any).

        Example::

            assert RemainingTimeEstimator().fraction == 0.0
        """
        return self._samples[-1][1]

    def update(self, elapsed: float, fraction: float) -> None:
        """Record that ``fraction`` (0..1, clamped) of the work was done after ``elapsed`` s.

        Example::

            eta.update(handler.elapsed or 0.0, done / total)
        """
        fraction = min(1.0, max(0.0, fraction))
        samples = self._samples
        if fraction <= samples[-1][1] and elapsed >= samples[-1][0]:
            if fraction < samples[-1][1]:  # went backwards (a restarted phase): start over
                samples.clear()
                samples.append((elapsed, fraction))
            return
        samples.append((elapsed, fraction))
        while len(samples) > 2 and elapsed - samples[1][0] >= self._window:
            samples.popleft()

    def remaining(self, elapsed: float) -> float | None:
        """Seconds still needed at ``elapsed``, or None while too little is known.

        Example::

            left = eta.remaining(handler.elapsed or 0.0)
            label.setText("…" if left is None else f"{left:.0f} s left")
        """
        first_time, first_fraction = self._samples[0]
        fraction = self._samples[-1][1]
        if fraction >= 1.0:
            return 0.0
        if fraction < self._min_fraction or elapsed < self._min_seconds:
            return None
        span = elapsed - first_time
        gained = fraction - first_fraction
        if span <= 0 or gained <= 0:
            return None
        return (1.0 - fraction) * span / gained
