"""Headless self-tests: scripts that drive the real widgets, run by the Qt event loop.

A script is a generator. It clicks buttons, ``yield``\\ s a :class:`Wait` for something
to happen, and checks the outcome with :meth:`SmokeContext.check`. The
:class:`SmokeRunner` resumes it from a polling timer, so the event loop — and with it
qbackground's callbacks — keeps running between steps; nothing blocks or nests loops.

Example::

    def smoke(self, ctx: SmokeContext) -> SmokeScript:
        self.start_button.click()
        yield ctx.wait_until(self.is_idle, "the task finished")
        ctx.check(self.progress_bar.value() == 100, "progress bar reached 100")
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from time import monotonic
from typing import TextIO

from qtpy.QtCore import QObject, QTimer, Signal

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_WATCHDOG",
    "HardDeadline",
    "SmokeContext",
    "SmokeFailure",
    "SmokeRunner",
    "SmokeScript",
    "SmokeStep",
    "Wait",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_WATCHDOG = 3
_EXIT_HARD = 4


@dataclass(frozen=True)
class Wait:
    """Resume the script once ``until()`` is true; fail after ``timeout`` seconds."""

    what: str
    until: Callable[[], bool]
    timeout: float


SmokeScript = Generator[Wait, None, None]
"""What a scenario's ``smoke()`` returns."""

SmokeStep = tuple[str, Callable[["SmokeContext"], SmokeScript]]
"""A named script for :class:`SmokeRunner`."""


class SmokeFailure(Exception):
    """A check failed; the message names it."""


class SmokeContext:
    """Checks and waits for one script; prints one line per passed check (and per figure)."""

    def __init__(self, name: str, out: TextIO) -> None:
        self.name = name
        self.passed = 0
        self._out = out

    def check(self, ok: bool, what: str, detail: str = "") -> None:
        """Record that ``what`` holds; raise :class:`SmokeFailure` if ``ok`` is false.

        ``detail`` (for example the actual value) is added to the failure message.
        """
        if not ok:
            raise SmokeFailure(f"{what}" + (f" ({detail})" if detail else ""))
        self.passed += 1
        print(f"  ok  {self.name}: {what}", file=self._out, flush=True)

    def report(self, figure: str) -> None:
        """Print a measured figure (a time, a rate) on a ``  --  `` line.

        Not a check: it cannot fail the run. Use it for numbers that depend on the
        machine's load, which ``make bench`` measures properly.

        Example::

            ctx.report(f"worst GUI stall: {worst * 1000:.0f} ms")
        """
        print(f"  --  {self.name}: {figure}", file=self._out, flush=True)

    def wait_until(self, until: Callable[[], bool], what: str, timeout: float = 10.0) -> Wait:
        """A :class:`Wait` to ``yield``: resume once ``until()`` is true."""
        return Wait(what, until, timeout)

    def pause(self, seconds: float, what: str) -> Wait:
        """A :class:`Wait` to ``yield`` that just lets the event loop run ``seconds``."""
        end = monotonic() + seconds
        return Wait(what, lambda: monotonic() >= end, seconds + 5.0)


class SmokeRunner(QObject):
    """Runs named scripts one after the other on the GUI thread's event loop.

    Emits :attr:`finished` once with the exit code: :data:`EXIT_OK`,
    :data:`EXIT_FAILED` (a check failed, a wait timed out or a script raised) or
    :data:`EXIT_WATCHDOG` (everything together took longer than ``watchdog`` seconds).
    """

    finished = Signal(int)

    def __init__(
        self,
        steps: Sequence[SmokeStep],
        *,
        watchdog: float,
        out: TextIO = sys.stdout,
        poll_ms: int = 10,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._steps = list(steps)
        self._out = out
        self._watchdog_seconds = watchdog
        self._index = -1
        self._context: SmokeContext | None = None
        self._script: SmokeScript | None = None
        self._wait: Wait | None = None
        self._wait_deadline = 0.0
        self._passed = 0
        self._started = 0.0
        self._result: int | None = None
        self._poll = QTimer(self)
        self._poll.setInterval(poll_ms)
        self._poll.timeout.connect(self._step)
        self._watchdog = QTimer(self)
        self._watchdog.setSingleShot(True)
        self._watchdog.timeout.connect(self._on_watchdog)

    @property
    def result(self) -> int | None:
        """The exit code once finished, else ``None``."""
        return self._result

    def start(self) -> None:
        """Start the first script (call it once the event loop runs)."""
        self._started = monotonic()
        self._watchdog.start(round(self._watchdog_seconds * 1000))
        self._poll.start()
        self._next_script()

    # -- driving -------------------------------------------------------------------

    def _next_script(self) -> None:
        if self._context is not None:
            self._passed += self._context.passed
        self._index += 1
        if self._index >= len(self._steps):
            elapsed = monotonic() - self._started
            self._print(f"smoke: all {self._passed} checks passed in {elapsed:.1f} s")
            self._finish(EXIT_OK)
            return
        name, make_script = self._steps[self._index]
        self._print(f"smoke: {name}")
        self._context = SmokeContext(name, self._out)
        self._wait = None
        try:
            self._script = make_script(self._context)
        except Exception as exc:
            self._fail_with(exc)
            return
        self._advance()

    def _step(self) -> None:
        """Poll the current wait (timer slot: must never raise)."""
        if self._result is not None or self._wait is None:
            return
        wait = self._wait
        try:
            satisfied = wait.until()
        except Exception as exc:
            self._fail_with(exc)
            return
        if satisfied:
            self._advance()
        elif monotonic() > self._wait_deadline:
            self._fail(f"timed out after {wait.timeout:g} s waiting until {wait.what}")

    def _advance(self) -> None:
        script = self._script
        assert script is not None
        try:
            wait = next(script)
        except StopIteration:
            self._next_script()
        except Exception as exc:
            self._fail_with(exc)
        else:
            self._wait = wait
            self._wait_deadline = monotonic() + wait.timeout

    # -- ending ----------------------------------------------------------------------

    def _fail_with(self, exc: Exception) -> None:
        if isinstance(exc, SmokeFailure):
            self._fail(str(exc))
        else:
            detail = "".join(traceback.format_exception(exc)).rstrip()
            self._fail(f"the script raised {type(exc).__name__}: {exc}\n{detail}")

    def _fail(self, message: str, code: int = EXIT_FAILED) -> None:
        name = self._steps[self._index][0] if 0 <= self._index < len(self._steps) else "smoke"
        self._print(f"FAIL {name}: {message}")
        self._print("smoke: FAILED")
        self._finish(code)

    def _on_watchdog(self) -> None:
        if self._result is not None:
            return
        waiting = f" while waiting until {self._wait.what}" if self._wait is not None else ""
        self._fail(
            f"watchdog: the automatic run did not finish within {self._watchdog_seconds:g} s{waiting}",
            EXIT_WATCHDOG,
        )

    def _finish(self, code: int) -> None:
        if self._result is not None:
            return
        self._result = code
        self._poll.stop()
        self._watchdog.stop()
        script, self._script = self._script, None
        if script is not None:
            script.close()
        self.finished.emit(code)

    def _print(self, line: str) -> None:
        print(line, file=self._out, flush=True)


class HardDeadline:
    """Last resort: end the process if the GUI thread itself is stuck.

    The :class:`SmokeRunner` watchdog is a Qt timer and cannot fire while the GUI
    thread is blocked; this plain thread can. Use it as a context manager around
    ``app.exec()``.
    """

    def __init__(self, seconds: float) -> None:
        self._timer = threading.Timer(seconds, self._expire, args=(seconds,))
        self._timer.daemon = True

    def __enter__(self) -> HardDeadline:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()

    @staticmethod
    def _expire(seconds: float) -> None:
        print(
            f"FAIL smoke: the GUI thread did not return to the event loop; "
            f"killed after {seconds:g} s",
            file=sys.stderr,
            flush=True,
        )
        sys.stdout.flush()
        os._exit(_EXIT_HARD)
