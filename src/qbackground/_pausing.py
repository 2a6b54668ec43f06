"""The task side of ``pause()``: where a paused task waits, and how it is woken.

A lifecycle makes one ``PauseGate`` at its first pause. A task thread blocks on the
gate's event; a coroutine (the asyncio backend, where blocking would stall every task
on the loop) awaits a loop future registered with the gate instead. Whoever ends the
pause (``resume()``, an interrupt, the end of ``run()``) first changes the lifecycle's
flags, then calls :meth:`PauseGate.open`; a waiter registers, then re-checks the flags
(store, then check, on both sides: no wake-up is lost).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Generator
from typing import Any

__all__ = ["READY", "PauseGate", "Ready", "in_coroutine"]

in_coroutine: Callable[[], object] = asyncio._get_running_loop
"""The running asyncio loop of this thread, or None (cheap: a C-level thread-local read)."""


class Ready:
    """The awaitable ``checkpoint()`` returns when there is nothing to wait for."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield  # pragma: no cover - makes this a generator that finishes at once

    def __repr__(self) -> str:
        return "<checkpoint: ready>"


READY = Ready()


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class PauseGate:
    """The event a paused task thread waits on, and the futures paused coroutines await."""

    __slots__ = ("event", "waiters")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def close(self) -> None:
        """A pause begins: waiters block from now on."""
        self.event.clear()

    def open(self) -> None:
        """The pause ended (resumed, interrupted, or run() is over): wake every waiter."""
        self.event.set()
        for loop, future in list(self.waiters):
            try:
                loop.call_soon_threadsafe(_settle, future)
            except RuntimeError:  # the loop is closed: nothing is waiting on it any more
                pass

    def wait(self, holding: Callable[[], bool]) -> None:
        """Block this thread while ``holding()`` is true."""
        event = self.event
        while holding():
            event.wait()

    async def wait_async(self, holding: Callable[[], bool]) -> None:
        """Await (on the running loop) while ``holding()`` is true."""
        loop = asyncio.get_running_loop()
        while holding():
            future: asyncio.Future[None] = loop.create_future()
            entry = (loop, future)
            self.waiters.append(entry)
            try:
                if holding():  # re-check after registering: see the module docstring
                    await future
            finally:
                self.waiters.remove(entry)
