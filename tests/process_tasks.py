"""Module-level tasks for the process backend tests (they must pickle by reference)."""

from __future__ import annotations

import ctypes
import os
import signal
import time
from typing import Any

from qbackground import TaskLifeCycle

from .contract_tasks import Scripted


class Die(Scripted):
    """Kills its own worker process in the requested way."""

    def __init__(self, how: str) -> None:
        super().__init__([])
        self.how = how

    def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        lifecycle.publish("started")
        lifecycle.flush()
        time.sleep(0.2)
        if self.how == "exit":
            os._exit(9)
        if self.how == "segfault":
            ctypes.string_at(0)
        os.kill(os.getpid(), signal.SIGKILL)
        return None


class Stubborn(Scripted):
    """Ignores cancellation: computes for ``seconds`` without looking at the lifecycle."""

    def __init__(self, seconds: float) -> None:
        super().__init__([])
        self.seconds = seconds

    def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        lifecycle.publish("started")
        lifecycle.flush()
        end = time.monotonic() + self.seconds
        while time.monotonic() < end:
            pass
        return os.getpid()


class Pid(Scripted):
    def __init__(self) -> None:
        super().__init__([])

    def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        return os.getpid()


class UnpicklableResult(Scripted):
    def __init__(self) -> None:
        super().__init__([])

    def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        return lambda: None


class UnpicklableProgress(Scripted):
    def __init__(self) -> None:
        super().__init__([])

    def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        lifecycle.publish(lambda: None)
        for _ in range(200):
            lifecycle.sleep(0.01)  # the failed send stops the task at its next call
            lifecycle.publish(1)
        return "should not get here"


class PublishThenCompute(Scripted):
    """Publishes once, then computes: the item must still arrive while it computes."""

    def __init__(self) -> None:
        super().__init__([])

    def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        lifecycle.publish("early")
        lifecycle.set_message("computing")
        end = time.monotonic() + 3.0
        while time.monotonic() < end and not lifecycle.is_interrupted():
            pass
        return "late"


class Burst(Scripted):
    """Publishes many items fast; counts how many messages crossed the pipe (in run)."""

    def __init__(self, count: int) -> None:
        super().__init__([])
        self.count = count

    def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        for i in range(self.count):
            lifecycle.publish(i)
        return self.count


class Args(Scripted):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__([])
        self.args = args
        self.kwargs = kwargs

    def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        return (self.args, self.kwargs, dict(lifecycle.params))

    def get_params(self) -> dict[str, Any]:
        return {"from": "gui"}


class SlowToStop(Scripted):
    """Publishes "started", waits for a cancel, then takes ``linger`` seconds to wind
    down and writes the time its ``run()`` really ended to ``path`` (it may run in another
    process: a file tells the test)."""

    def __init__(self, path: str, linger: float) -> None:
        super().__init__([])
        self.path, self.linger = path, linger

    def run(self, lifecycle: TaskLifeCycle[Any]) -> Any:
        lifecycle.publish("started")
        lifecycle.flush()
        try:
            while True:
                lifecycle.sleep(0.005)  # raises TaskInterruptedError once cancelled
        finally:
            time.sleep(self.linger)  # a slow release (closing a device, say)
            with open(self.path, "w") as ended:
                ended.write(repr(time.time()))
