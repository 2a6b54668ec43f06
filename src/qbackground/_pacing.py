"""The task side gives the GUI thread the GIL: pacing at the lifecycle's checkpoints.

While a task thread runs Python, every separate entry of the GUI thread into Python (a
timer's slot, a posted wake-up, a paint that calls back into Python) must wait for the
GIL, and CPython hands it over only when the holder is forced to, after the switch
interval (5 ms): three entries in a frame then cost 15 ms of frozen GUI. The GUI thread
cannot say it is waiting (it is not running Python), so a task's reporting calls —
``publish()``, ``set_progress()``, ``is_cancelled()``, the checkpoints a loop already
calls — let go of the GIL for ``YIELD`` seconds once every ``INTERVAL`` seconds: a
waiting GUI thread takes it at once and runs its entry. A task pays at most
``YIELD / INTERVAL`` of its time (2.5 %, less when the call is rarer than that), and a
task that never reports is unaffected: the switch interval still applies to it
(``docs/performance.md`` says what to do about CPU-bound code that never reports).

``CALLS`` reporting calls pass between two looks at the clock, so the hot path costs
one decrement and one test (``LocalLifeCycle.publish`` stays about 250 ns).
"""

from __future__ import annotations

__all__ = ["CALLS", "INTERVAL", "YIELD"]

CALLS = 16
"""Reporting calls between two looks at the clock."""

INTERVAL = 0.002
"""At most this long (seconds) between two hand-overs of the GIL by one task..."""

YIELD = 0.00005
"""... each a sleep this long (seconds), without the GIL (about 0.1 ms on Linux)."""
