"""Leaks by the way results are collected (issue 20): RSS and Qt's posted-event queue.

Each in-process executor (threads, asyncio) runs 100,000 trivial tasks (each publishes one
item and returns 1) in batches of 2,000 after a warm-up, with the results collected two
ways: ``get_result()`` for each handler on the GUI thread (the event loop never runs, as
in scripts and batch tools), and delivered by a running event loop (``QEventLoop.exec()``
until all are done, as an application's loop). The process executor runs 12,000 (its
round trip is ~0.3 ms here) with the same per-task bound (1.92 MiB; measured: +0.0 to +1.0 MiB: RSS moves in allocator
steps of about 1 MiB, which 6,000 tasks' bound of 0.96 MiB could not absorb). A delivery
that stops fails the event-loop case after 60 s with the dispatcher's state, rather than
hanging until the test's timeout. Bounds, per 100,000 tasks:

* resident memory (RSS): under 16 MiB more;
* ``QEvent`` wrappers alive (``gc``): at most 5 more. While the loop does not run, a
  wake-up event posted per burst stays queued in Qt with its wrapper; before the fix
  there was one per burst (about one per task on the process executor).

``QBACKGROUND_LEAK_TASKS`` changes the in-process count (default 100,000).
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Iterator
from time import monotonic

import pytest
from qtpy.QtCore import QEvent, QEventLoop, QTimer
from qtpy.QtWidgets import QApplication

from qbackground import AsyncBackgroundTask, BackgroundTask, BackgroundWorker, TaskLifeCycle
from qbackground.testing import rss_bytes

N_TASKS = int(os.environ.get("QBACKGROUND_LEAK_TASKS", "100000"))
N_PROCESS_TASKS = 12_000
BATCH = 2_000
WARM_UP = 6_000
# In process, pool threads settle into their allocator arenas over the first tens of
# thousands of tasks (once +26.6 MiB over 100,000 on a loaded machine after a 6,000-task
# warm-up; +6 to +9.5 MiB on the same build quietly): warm up longer there.
WARM_UP_IN_PROCESS = 30_000
RSS_PER_100K = 16 * 2**20
MAX_QEVENT_GROWTH = 5
STALL_S = 60.0


class Trivial(BackgroundTask[int, int]):
    def run(self, lifecycle: TaskLifeCycle[int]) -> int:
        lifecycle.publish(1)
        return 1


class TrivialAsync(AsyncBackgroundTask[int, int]):
    async def run(self, lifecycle: TaskLifeCycle[int]) -> int:
        await asyncio.sleep(0)
        lifecycle.publish(1)
        return 1


def _qevents() -> int:
    return sum(1 for obj in gc.get_objects() if isinstance(obj, QEvent))


@pytest.fixture(scope="module")
def cworker(qapp: QApplication) -> Iterator[BackgroundWorker]:
    worker = BackgroundWorker(threads=4, processes=2, strict=False)
    yield worker
    assert worker.shutdown(timeout=10)


def _batch(worker: BackgroundWorker, qapp: QApplication, executor: str, collect: str, count: int) -> None:
    task_type = TrivialAsync if executor == "asyncio" else Trivial
    handlers = [worker.handle(task_type(), executor=executor) for _ in range(count)]
    for handler in handlers:
        handler.execute()
    if collect == "get_result":
        assert all(handler.get_result(30) == 1 for handler in handlers)
    else:
        # A running event loop delivers them (QEventLoop.exec(), as an application's
        # loop does: it sleeps in the OS while idle, so the pool threads get the GIL; a
        # busy processEvents() spin starved them badly enough on a loaded machine to run
        # past the test's timeout). A delivery that stops (no handler ending for STALL_S)
        # ends the loop and fails with the dispatcher's state.
        loop = QEventLoop()
        state = {"left": count, "since": monotonic(), "stalled": ""}

        def check() -> None:
            left = sum(1 for handler in handlers if not handler.is_done())
            if not left and not worker.active_handlers():
                loop.quit()
            elif left != state["left"]:
                state["left"], state["since"] = left, monotonic()
            elif monotonic() - float(state["since"]) > STALL_S:
                dispatcher = worker._dispatcher
                state["stalled"] = (
                    f"delivery stalled: {left} of {count} handlers not done for {STALL_S:g} s "
                    f"({executor}); dispatcher inbound={len(dispatcher._inbound)}, "
                    f"wake_pending={dispatcher._wake_pending}; statuses "
                    f"{sorted({h.status.name for h in handlers if not h.is_done()})}"
                )
                loop.quit()

        timer = QTimer()
        timer.setInterval(20)
        timer.timeout.connect(check)
        timer.start()
        loop.exec()
        timer.stop()
        assert not state["stalled"], state["stalled"]
        assert all(handler.get_result(0) == 1 for handler in handlers)


@pytest.mark.timeout(300)  # 100,000 tasks take ~10 s here, several times that on a loaded machine
@pytest.mark.parametrize("collect", ["get_result", "event_loop"])
@pytest.mark.parametrize("executor", ["thread", "asyncio", "process"])
def test_rss_bounded_whichever_way_results_are_collected(
    qapp: QApplication, cworker: BackgroundWorker, executor: str, collect: str
) -> None:
    total = N_PROCESS_TASKS if executor == "process" else N_TASKS
    done = 0
    while done < (WARM_UP if executor == "process" else WARM_UP_IN_PROCESS):
        _batch(cworker, qapp, executor, collect, BATCH)
        done += BATCH
    gc.collect()
    events_before = _qevents()
    rss_before = rss_bytes()
    done = 0
    rss_half = rss_before
    while done < total:
        count = min(BATCH, total - done)
        _batch(cworker, qapp, executor, collect, count)
        done += count
        if done == total // 2 // BATCH * BATCH:
            gc.collect()
            rss_half = rss_bytes()
    gc.collect()
    rss_after = rss_bytes()
    rss_growth = rss_after - rss_before
    # A leak grows with the task count; the allocator settling (pool threads' arenas
    # reaching their working size, which on a loaded machine can take longer than the
    # warm-up) does not. So the growth counts as a leak only if the second half of the
    # run grew at the same rate: min(total growth, twice the second half's growth).
    second_half = rss_after - rss_half
    leak_rate = min(rss_growth, 2 * second_half)
    event_growth = _qevents() - events_before
    bound = RSS_PER_100K * total / 100_000
    print(
        f"leaks ({executor}, {collect}): {total} tasks; RSS {rss_growth / 2**20:+.2f} MiB "
        f"(second half {second_half / 2**20:+.2f} MiB; {leak_rate / total:+.0f} B/task counted; "
        f"bound {bound / 2**20:.2f} MiB); QEvent wrappers {event_growth:+d}"
    )
    assert event_growth <= MAX_QEVENT_GROWTH, f"{event_growth} more QEvent wrappers alive (posted events piling up)"
    assert leak_rate <= bound, (
        f"RSS grew by {rss_growth / 2**20:.2f} MiB over {total} tasks, {second_half / 2**20:.2f} MiB "
        f"of it in the second half (bound {bound / 2**20:.2f} MiB for the whole run, at a steady rate)"
    )


@pytest.mark.parametrize("executor", ["thread", "asyncio"])
def test_results_taken_ready_free_their_handlers(
    qapp: QApplication, cworker: BackgroundWorker, executor: str
) -> None:
    """A script that takes results with ``get_result()`` on the GUI thread and finds every
    one ready (the tasks outran it) must not keep the handlers: their queued deliveries
    are served, not left to pile up in the dispatcher while the event loop never runs.
    (The RSS bound above catches this only when the timing makes the caller wait.)"""
    import threading
    import weakref

    task_type = TrivialAsync if executor == "asyncio" else Trivial
    refs: list[weakref.ref[object]] = []
    for _ in range(5):
        handlers = [cworker.handle(task_type(), executor=executor) for _ in range(200)]
        for handler in handlers:
            handler.execute()
        # Off the GUI thread get_result() returns once run() returned: after this every
        # handler is ready, and each GUI-thread get_result() below finds it so at once.
        waiter = threading.Thread(target=lambda hs=handlers: [h.get_result(30) for h in hs])
        waiter.start()
        waiter.join(60)
        assert not waiter.is_alive()
        assert all(handler.get_result(0) == 1 for handler in handlers)
        refs.extend(weakref.ref(handler) for handler in handlers)
        del handlers, handler
    gc.collect()
    # The last batch's pool threads may still be posting their deliveries (a post comes
    # after the result is ready): those wait for the next get_result() or the event
    # loop, which is no pile-up. Every earlier batch's were all posted before the next
    # batch ran, and must have been served.
    served = refs[: -len(refs) // 5]
    alive = sum(1 for ref in served if ref() is not None)
    assert alive == 0, f"{alive} of {len(served)} handlers whose result was taken are still alive"
