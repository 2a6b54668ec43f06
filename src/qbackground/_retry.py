"""``Retry``: when and how soon a failed task runs again (DESIGN §11).

Only the policy and its arithmetic live here; the handler's side (the wait between
attempts, ``handle_retry()``, the re-submission) is ``_handler_retry``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from ._errors import ProcessCrashedError

__all__ = ["Retry"]

_DEFAULT_ON: tuple[type[BaseException], ...] = (OSError, ProcessCrashedError)


def _check_seconds(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"Retry {what} must be a number of seconds, not {type(value).__name__} ({value!r})")
    seconds = float(value)
    if math.isnan(seconds) or math.isinf(seconds):
        raise ValueError(f"Retry {what} must be a finite number of seconds, got {value!r}")
    if seconds < 0:
        raise ValueError(f"Retry {what} must not be negative, got {value!r}")
    return seconds


@dataclass(frozen=True)
class Retry:
    """Run a task again when it fails with one of the exception types ``on``.

    ``attempts`` counts every run: ``attempts=3`` is the first run and two retries.
    Before retry *n* (``n`` = the failures so far) the handler waits
    ``min(backoff * 2 ** (n - 1), max_backoff)`` seconds; with ``jitter`` (the default)
    it waits a random time between half of that and all of it ("equal jitter": never
    less than half the backoff, so attempts of many tasks that failed together spread
    out, yet each still backs off). The wait blocks no thread, and a ``cancel()``,
    timeout, owner close or shutdown during it ends the task at once. The task's
    timeout covers all attempts together.

    Before each new attempt the task's ``handle_retry(attempt, exc)`` runs on the GUI
    thread; returning False ends the task through ``handle_exception(exc)``. When the
    attempts are used up, ``handle_exception`` gets the last failure.

    Example::

        class ReadDevice(BackgroundTask[str, bytes]):
            def __init__(self) -> None:
                super().__init__(timeout=20, retry=Retry(attempts=4, backoff=0.2, on=(OSError,)))

            def run(self, lifecycle):
                lifecycle.publish(f"attempt {lifecycle.attempt}")
                return device.read()          # an OSError here runs it again

    Args:
        attempts: runs in all, at least 1 (1: never retry).
        backoff: seconds before the first retry (doubled for each further one), >= 0.
        max_backoff: the longest wait between two attempts, >= ``backoff``.
        jitter: randomise each wait between half of it and all of it.
        on: the exception types (a tuple of classes) that are worth another attempt;
            any other failure ends the task at once.

    Raises:
        TypeError: a value of the wrong type (``attempts`` not an int, ``on`` not a
            tuple of exception classes...).
        ValueError: ``attempts < 1``, a negative or non-finite ``backoff``, or
            ``max_backoff < backoff``.
    """

    attempts: int = 3
    backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: bool = True
    on: tuple[type[BaseException], ...] = field(default=_DEFAULT_ON)

    def __post_init__(self) -> None:
        attempts = self.attempts
        if isinstance(attempts, bool) or not isinstance(attempts, int):
            raise TypeError(f"Retry attempts must be an int, not {type(attempts).__name__} ({attempts!r})")
        if attempts < 1:
            raise ValueError(
                f"Retry attempts counts every run and must be at least 1, got {attempts}; "
                "attempts=3 is the first run and two retries"
            )
        backoff = _check_seconds(self.backoff, "backoff")
        max_backoff = _check_seconds(self.max_backoff, "max_backoff")
        if max_backoff < backoff:
            raise ValueError(f"Retry max_backoff ({max_backoff!r}) must not be less than backoff ({backoff!r})")
        if not isinstance(self.jitter, bool):
            raise TypeError(f"Retry jitter must be True or False, not {type(self.jitter).__name__}")
        on = self.on
        if isinstance(on, type):
            raise TypeError(f"Retry on must be a tuple of exception classes: write on=({on.__name__},)")
        if not isinstance(on, tuple) or not on:
            raise TypeError(
                f"Retry on must be a non-empty tuple of exception classes, not {on!r}; e.g. on=(OSError,)"
            )
        for kind in on:
            if not (isinstance(kind, type) and issubclass(kind, BaseException)):
                raise TypeError(f"Retry on must hold exception classes only; {kind!r} is not one")
        object.__setattr__(self, "backoff", backoff)
        object.__setattr__(self, "max_backoff", max_backoff)

    def retries(self, exc: BaseException) -> bool:
        """True when a failure ``exc`` is of a type worth another attempt.

        Example::

            assert Retry(on=(OSError,)).retries(TimeoutError())  # a subclass counts
        """
        return isinstance(exc, self.on)

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before the next attempt, after ``failures`` failed ones (>= 1).

        ``min(backoff * 2 ** (failures - 1), max_backoff)``, and with ``jitter`` a random
        value between half of that and all of it (equal jitter).

        Example::

            policy = Retry(backoff=0.5, max_backoff=30.0, jitter=False)
            assert [policy.delay(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
        """
        if failures < 1:
            raise ValueError(f"delay() counts failed attempts from 1, got {failures}")
        # min() first on the exponent: 2 ** 2000 would overflow a float.
        base = self.max_backoff if failures > 1000 else min(self.backoff * 2.0 ** (failures - 1), self.max_backoff)
        if not self.jitter or base <= 0:
            return base
        half = base / 2
        return half + (rng or random).uniform(0.0, half)
