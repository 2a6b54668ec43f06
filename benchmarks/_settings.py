"""The sizes and repeat counts of one benchmark run (no Qt here: the parent process of
``python -m benchmarks`` reads them without importing a binding)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Settings"]


@dataclass(frozen=True)
class Settings:
    """Sizes and repeat counts for one benchmark invocation.

    Example::

        settings = Settings.for_mode(quick=True, repeat=None, trials=None)
        assert settings.flood_items < 200_000
    """

    quick: bool
    repeat: int
    trials: int
    flood_items: int
    roundtrip_tasks: int
    publish_items: int
    timeout_seconds: float
    process_roundtrips: int
    """Sequential trivial tasks timed per executor in the process round trip (6a)."""
    prime_limit: int
    """Primes are counted below this by trial division in the CPU-bound scenario (6b)."""
    async_tasks: int
    """Concurrent coroutines in the asyncio scenario (7)."""
    async_sleep: float
    """Seconds each coroutine of the asyncio scenario awaits ``asyncio.sleep``."""
    run_limit: float
    """Seconds one measured run may take before it is abandoned and reported as such."""
    stall_items: int
    """Items the cold-process flood publishes (scenario 9)."""
    stall_tasks: int
    """Trivial tasks in the cold-process burst (scenario 9)."""
    stall_iterations: int
    """Steps of the cold-process CPU-bound loop (scenario 9; about 0.3 s at full size)."""
    stall_runs: int
    """Fresh processes per case in scenario 9 (at least 5 at full size)."""

    @classmethod
    def for_mode(cls, *, quick: bool, repeat: int | None, trials: int | None) -> Settings:
        """Full sizes (the brief's) or ``--quick`` smoke sizes; explicit counts win."""
        if quick:
            return cls(
                quick=True,
                repeat=repeat or 1,
                trials=trials or 3,
                flood_items=5_000,
                roundtrip_tasks=300,
                publish_items=50_000,
                timeout_seconds=0.05,
                process_roundtrips=10,
                prime_limit=20_000,
                async_tasks=500,
                async_sleep=0.1,
                run_limit=30.0,
                stall_items=20_000,
                stall_tasks=500,
                stall_iterations=300_000,
                stall_runs=repeat or 1,
            )
        return cls(
            quick=False,
            repeat=repeat or 3,
            trials=trials or 20,
            flood_items=200_000,
            roundtrip_tasks=5_000,
            publish_items=1_000_000,
            timeout_seconds=0.2,
            process_roundtrips=50,
            prime_limit=800_000,
            async_tasks=10_000,
            async_sleep=0.5,
            run_limit=300.0,
            stall_items=200_000,
            stall_tasks=5_000,
            stall_iterations=3_000_000,
            stall_runs=max(5, repeat or 3),
        )
