"""Scenarios for test_gui_release.py, each run in a fresh interpreter.

``python tests/gui_release_scenarios.py KIND [ROUNDS]`` creates, uses and drops one
kind of qbackground object ROUNDS times. Each round drops the object in the two ways
that used to destroy Qt objects off the GUI thread:

* in a reference cycle that a garbage collection on a foreign thread frees, and
* by handing the last reference to a foreign thread that drops it there;

then pumps the GUI thread's events. Every Qt object of the kind reports where its
C++ destructor ran (its ``destroyed`` signal, connected directly); the script exits
1 if any ran off the GUI thread or if an object was never freed, and prints ``ok``
otherwise. The test also checks that stderr carries no Qt warning.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qbackground.qt import is_alive  # noqa: E402  (first: it picks the binding qtpy loads)
from qtpy.QtCore import QObject, Qt  # noqa: E402
from qtpy.QtWidgets import QApplication, QWidget  # noqa: E402

from qbackground import (  # noqa: E402
    BackgroundTask,
    BackgroundTaskWrapper,
    BackgroundWorker,
    TaskLifeCycle,
    _gui_release,
)

GUI = threading.get_ident()
destroyed_on: dict[str, list[int]] = {}
watched = 0


def _note(name: str, *_: object) -> None:
    destroyed_on.setdefault(name, []).append(threading.get_ident())


# Sentinel children, kept alive here (see watch()).
_sentinels: list[QObject] = []


def watch(obj: QObject, name: str) -> None:
    """Record the thread on which ``obj``'s C++ destructor runs.

    Through a sentinel child: ``obj``'s destructor deletes its children on the same
    thread, and the sentinel's wrapper stays alive here. Watching ``obj.destroyed``
    itself does not work on PyQt6: when ``obj``'s wrapper is collected in a garbage
    cycle, PyQt drops the Python slots of its signals before the C++ destructor emits
    ``destroyed``. The slot is a function, not a method of obj, so the connection
    cannot keep anything alive."""
    global watched
    watched += 1
    sentinel = QObject(obj)
    sentinel.destroyed.connect(partial(_note, name), Qt.ConnectionType.DirectConnection)
    _sentinels.append(sentinel)


class Count(BackgroundTask[int, int]):
    def __init__(self, n: int = 3, owner: QWidget | None = None) -> None:
        super().__init__(owner=owner)
        self.n = n

    def run(self, lifecycle: TaskLifeCycle[int]) -> int:
        for i in range(self.n):
            lifecycle.publish(i)
            lifecycle.set_progress((i + 1) / self.n)
        return self.n


class Cycle:
    """A user object in a reference cycle, holding whatever the scenario made."""

    def __init__(self, **things: Any) -> None:
        self.things = things
        self.me = self


def pump(app: QApplication, until: Callable[[], bool] | None = None, limit: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + limit
    while True:
        app.processEvents()
        if until is None or until() or time.monotonic() > deadline:
            break
    for _ in range(3):
        app.processEvents()


def collect_elsewhere() -> None:
    thread = threading.Thread(target=gc.collect, name="foreign-gc")
    thread.start()
    thread.join()


def drop_elsewhere(box: list[Any]) -> None:
    """The last reference, in ``box``, is dropped by a foreign thread."""

    def drop() -> None:
        box.clear()

    thread = threading.Thread(target=drop, name="foreign-drop")
    thread.start()
    thread.join()


# -- scenarios: each returns the object(s) whose last references the caller drops --


def worker(app: QApplication, shut_down: bool = True) -> dict[str, Any]:
    w = BackgroundWorker(threads=2)
    watch(w, "worker")
    watch(w._dispatcher._receiver, "receiver")
    handlers = [w.handle(Count()) for _ in range(3)]
    for h in handlers:
        h.execute()
    for h in handlers:
        h.get_result(10)
    if shut_down:
        w.shutdown()
        pump(app)
    return {"worker": w}


def task_manager(app: QApplication) -> dict[str, Any]:
    from qbackground.tasker import TaskManager

    w = BackgroundWorker(threads=2)
    watch(w, "worker")
    manager = TaskManager(w)
    watch(manager, "manager")
    done: list[object] = []

    async def coro(context: Any) -> int:
        context.set_progress(1.0)
        return 1

    def func(context: Any, n: int) -> int:
        context.set_message("working")
        return n

    manager.add_coroutine(coro, when_done=done.append)
    manager.run_thread(func, 2, key="k", when_done=done.append)
    pump(app, lambda: len(done) == 2)
    assert len(done) == 2, done
    w.shutdown()
    pump(app)
    return {"worker": w, "manager": manager, "done": done}


def task_manager_proxy(app: QApplication) -> dict[str, Any]:
    from qbackground.tasker import TaskManagerProxy

    proxy = TaskManagerProxy()
    done: list[object] = []

    def func(context: Any, n: int) -> int:
        return n

    # First use off the GUI thread: the proxy creates its manager there and moves it.
    starter = threading.Thread(target=lambda: proxy.run_thread(func, 1, when_done=done.append))
    starter.start()
    starter.join()
    pump(app, lambda: len(done) == 1)
    assert len(done) == 1, done
    watch(proxy.manager, "manager")
    return {"proxy": proxy, "done": done}


def wrapper(app: QApplication) -> dict[str, Any]:
    w = BackgroundWorker(threads=2)
    watch(w, "worker")
    wrap: BackgroundTaskWrapper[int, int] = BackgroundTaskWrapper(Count(), w)
    for _ in range(3):
        wrap.restart()
    assert wrap.get_result() == 3
    w.shutdown()
    pump(app)
    return {"worker": w, "wrapper": wrap}


def dialogs(app: QApplication) -> dict[str, Any]:
    from qbackground.widgets import BackgroundWorkProgressWindow, BackgroundWorkWindow

    w = BackgroundWorker(threads=2)
    watch(w, "worker")
    owner = QWidget()
    owner.show()
    windows = [
        BackgroundWorkWindow.show(Count(owner=owner), title="t", worker=w),
        BackgroundWorkProgressWindow.show(Count(5, owner=owner), total=5, worker=w),
    ]
    for window in windows:
        watch(window, type(window).__name__)
    # The windows close and delete themselves when their task ends.
    pump(app, lambda: not any(is_alive(window) for window in windows))
    owner.close()
    owner.deleteLater()
    pump(app)
    w.shutdown()
    pump(app)
    return {"worker": w, "windows": windows}


def status_widget(app: QApplication) -> dict[str, Any]:
    from qbackground.widgets import TaskStatusWidget

    w = BackgroundWorker(threads=2)
    watch(w, "worker")
    status = TaskStatusWidget(worker=w)
    watch(status, "status")
    status.show()
    handlers = [w.handle(Count(50)) for _ in range(3)]
    for h in handlers:
        h.execute()
    pump(app, lambda: all(h.is_done() for h in handlers))
    w.shutdown()
    pump(app)
    return {"worker": w, "status": status, "handlers": handlers}


def testing_worker(app: QApplication) -> dict[str, Any]:
    from qbackground.testing import CheckedWorker

    w = CheckedWorker(threads=2, check_leaks=False)
    watch(w, "worker")
    h = w.handle(Count())
    h.execute()
    h.get_result(10)
    problems = w.finish()
    assert not problems, problems
    pump(app)
    return {"worker": w}


SCENARIOS: dict[str, Callable[[QApplication], dict[str, Any]]] = {
    "worker": worker,
    "worker_not_shut_down": partial(worker, shut_down=False),
    "task_manager": task_manager,
    "task_manager_proxy": task_manager_proxy,
    "wrapper": wrapper,
    "dialogs": dialogs,
    "status_widget": status_widget,
    "testing_worker": testing_worker,
}


def main() -> int:
    kind = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    app = QApplication([])
    scenario = SCENARIOS[kind]
    for round_ in range(rounds):
        things = scenario(app)
        if round_ % 2:
            Cycle(**things)  # only a collection frees it...
            del things
            collect_elsewhere()  # ...on another thread
        else:
            box = [things]
            del things
            drop_elsewhere(box)
        pump(app)
    gc.collect()
    pump(app)
    wrong = {name: sum(1 for t in idents if t != GUI) for name, idents in destroyed_on.items()}
    wrong = {name: count for name, count in wrong.items() if count}
    freed = sum(len(idents) for idents in destroyed_on.values())
    if kind == "worker_not_shut_down":
        # Workers never shut down are kept until the application quits.
        expected = watched - 2 * rounds
    else:
        expected = watched
    print(f"{kind}: {freed} of {watched} Qt objects destroyed, off the GUI thread: {wrong or 'none'}")
    if wrong:
        return 1
    if freed != expected:
        print(f"{kind}: expected {expected} destroyed", file=sys.stderr)
        return 1
    if _gui_release.pending_count():
        print(f"{kind}: {_gui_release.pending_count()} objects still wait for the GUI thread", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
