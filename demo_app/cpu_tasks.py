"""CPU-bound tasks for the process backend: counting primes by trial division.

Worker processes unpickle these tasks, so they are defined at module level in an
importable module. The page they report to is GUI-side: ``__getstate__`` leaves it out
of the pickle, and the GUI-thread callbacks run on the original task object in the GUI
process, which still has it. ``run()`` never touches it.

The work is split into interleaved parts over the odd numbers (of two parts, part 0
tests n ≡ 3 (mod 4) and part 1 tests n ≡ 1 (mod 4)), which cost about the same.
"""

from __future__ import annotations

import os
from math import isqrt
from time import perf_counter
from typing import Any, NamedTuple, Protocol

from qtpy.QtWidgets import QWidget

from qbackground import BackgroundTask, TaskLifeCycle

__all__ = [
    "CpuView",
    "PartResult",
    "PrimeCountTask",
    "WarmUpTask",
    "count_primes_sieve",
    "is_odd_prime",
    "part_candidates",
]


class PartResult(NamedTuple):
    """What one :class:`PrimeCountTask` returns (pickled back from a worker process)."""

    primes: int
    """Primes found in this part."""
    seconds: float
    """Time ``run()`` took, measured where it ran."""
    pid: int
    """The process ``run()`` ran in."""


class CpuView(Protocol):
    """Receives the CPU tasks' callbacks; every method runs on the GUI thread."""

    def on_part_fraction(self, part: int, fraction: float) -> None:
        """Part ``part`` is ``fraction`` (0..1) done."""

    def on_part_message(self, part: int, message: str) -> None:
        """The latest ``set_message()`` text of part ``part``."""

    def on_part_done(self, part: int, result: PartResult) -> None:
        """Part ``part`` finished."""

    def on_part_canceled(self, part: int) -> None:
        """Part ``part`` was cancelled."""

    def on_part_failed(self, part: int, exc: BaseException) -> bool:
        """Part ``part`` raised ``exc``; return True when handled."""

    def on_warm_up_done(self, pid: int) -> None:
        """A :class:`WarmUpTask` ran in worker process ``pid``."""

    def on_warm_up_ended(self, exc: BaseException | None) -> bool:
        """A :class:`WarmUpTask` was cancelled (``None``) or raised ``exc``; True: handled."""


def is_odd_prime(n: int) -> bool:
    """Trial division of an odd ``n >= 3`` by the odd numbers up to its square root.

    Example::

        assert is_odd_prime(97) and not is_odd_prime(91)
    """
    for divisor in range(3, isqrt(n) + 1, 2):
        if n % divisor == 0:
            return False
    return True


def part_candidates(limit: int, part: int, parts: int) -> range:
    """The odd numbers below ``limit`` that part ``part`` of ``parts`` tests.

    Example::

        assert list(part_candidates(20, 0, 2)) == [3, 7, 11, 15, 19]
    """
    return range(3 + 2 * part, limit, 2 * parts)


def count_primes_sieve(limit: int) -> int:
    """Primes below ``limit`` by the sieve of Eratosthenes (to check the trial division).

    Example::

        assert count_primes_sieve(100) == 25
    """
    if limit < 3:
        return 0
    sieve = bytearray([1]) * limit
    sieve[0] = sieve[1] = 0
    for n in range(2, isqrt(limit - 1) + 1):
        if sieve[n]:
            sieve[n * n :: n] = bytes(len(range(n * n, limit, n)))
    return sum(sieve)


class PrimeCountTask(BackgroundTask[int, PartResult]):
    """Counts the primes below ``limit`` in part ``part`` of ``parts`` by trial division.

    Reports ``set_progress()`` (the bar) and ``set_message()`` (primes so far) after each
    of :attr:`CHUNKS` chunks; both raise once the task is cancelled, which is how a
    cancel stops it — in a thread or in a worker process alike.

    Example::

        tasks = [PrimeCountTask(page, limit=1_000_000, part=k, parts=2, owner=page) for k in range(2)]
        handlers = [background_worker().handle(task, executor="process") for task in tasks]
    """

    CHUNKS = 100
    """Progress reports per run."""

    def __init__(
        self, view: CpuView, *, limit: int, part: int, parts: int, owner: QWidget | None = None
    ) -> None:
        super().__init__(owner=owner)
        if not 0 <= part < parts:
            raise ValueError(f"part must be between 0 and parts - 1 ({parts - 1}), got {part}")
        self._view = view
        self.limit = limit
        self.part = part
        self.parts = parts

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the view (a widget): it stays in the GUI process."""
        state = super().__getstate__()
        state.pop("_view", None)
        return state

    def run(self, lifecycle: TaskLifeCycle[int]) -> PartResult:
        started = perf_counter()
        candidates = part_candidates(self.limit, self.part, self.parts)
        found = 1 if self.part == 0 and self.limit > 2 else 0  # 2, the even prime
        lifecycle.set_total(len(candidates) or 1)
        chunk = max(1, -(-len(candidates) // self.CHUNKS))
        for begin in range(0, len(candidates), chunk):
            for n in candidates[begin : begin + chunk]:
                if is_odd_prime(n):
                    found += 1
            lifecycle.set_progress(min(begin + chunk, len(candidates)))  # raises once cancelled
            lifecycle.set_message(f"{found:,} primes so far")
        if not candidates:
            lifecycle.set_progress(1)
        return PartResult(found, perf_counter() - started, os.getpid())

    def fraction_changed(self, fraction: float) -> None:
        self._view.on_part_fraction(self.part, fraction)

    def message_changed(self, message: str) -> None:
        self._view.on_part_message(self.part, message)

    def done(self, result: PartResult) -> None:
        self._view.on_part_done(self.part, result)

    def canceled(self) -> None:
        self._view.on_part_canceled(self.part)

    def handle_exception(self, exc: BaseException) -> bool:
        return self._view.on_part_failed(self.part, exc)


class WarmUpTask(BackgroundTask[None, int]):
    """Returns the worker process's pid: run one per worker process before timing anything.

    The first process task starts the pool, and each worker imports a task's module the
    first time it unpickles one; a warm-up keeps both costs out of a measurement.

    Example::

        for _ in range(2):
            background_worker().handle(WarmUpTask(page, owner=page), executor="process").execute()
    """

    def __init__(self, view: CpuView, *, owner: QWidget | None = None) -> None:
        super().__init__(owner=owner)
        self._view = view

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the view (a widget): it stays in the GUI process."""
        state = super().__getstate__()
        state.pop("_view", None)
        return state

    def run(self, lifecycle: TaskLifeCycle[None]) -> int:
        return os.getpid()

    def done(self, result: int) -> None:
        self._view.on_warm_up_done(result)

    def canceled(self) -> None:
        self._view.on_warm_up_ended(None)

    def handle_exception(self, exc: BaseException) -> bool:
        return self._view.on_warm_up_ended(exc)
