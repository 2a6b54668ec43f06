"""The errors qbackground raises.

::

    BaseException
     ├── TaskInterruptedError        publish()/checks after cancel, timeout, owner close
     └── Exception
          └── QBackgroundError
               ├── TaskStateError               (also RuntimeError) wrong call for the handler's state
               ├── TaskCancelledError           get_result() of a cancelled task
               ├── TaskTimeoutError             get_result() of a task that timed out
               ├── TaskQueueFullError           execute() when max_queued tasks already wait
               ├── IllegalConcurrentAccessError a widget or GUI-only API used off the GUI thread
               └── ProcessCrashedError          a worker process died while running a task

``TaskInterruptedError`` derives from :class:`BaseException`, as
:class:`asyncio.CancelledError` does, so that an ``except Exception:`` inside a task's
``run()`` cannot swallow an interruption by accident.
"""

from __future__ import annotations

__all__ = [
    "IllegalConcurrentAccessError",
    "ProcessCrashedError",
    "QBackgroundError",
    "TaskCancelledError",
    "TaskInterruptedError",
    "TaskQueueFullError",
    "TaskStateError",
    "TaskTimeoutError",
]


class QBackgroundError(Exception):
    """Base class of every ordinary qbackground error.

    Example::

        try:
            handler.get_result()
        except QBackgroundError as exc:
            print("the task did not produce a value:", exc)
    """


class TaskStateError(QBackgroundError, RuntimeError):
    """A handler or worker was used in a state that does not allow the call.

    Raised by ``execute()`` called twice, ``cancel()`` before ``execute()``, or
    ``execute()`` on a worker that was shut down.

    Example::

        handler.execute()
        handler.execute()  # TaskStateError: execute() was already called
    """


class TaskCancelledError(QBackgroundError):
    """``get_result()`` was called for a task that was cancelled.

    Example::

        handler.cancel()
        handler.get_result()  # TaskCancelledError
    """


class TaskTimeoutError(QBackgroundError):
    """``get_result()`` was called for a task whose own timeout expired.

    Not a subclass of the built-in :class:`TimeoutError`: that one is raised when the
    ``timeout`` given to ``get_result()`` expires while the task runs on.
    """


class TaskQueueFullError(QBackgroundError):
    """``execute()`` found ``threads`` tasks running and ``max_queued`` more waiting.

    Example::

        worker = BackgroundWorker(threads=1, max_queued=0)
        worker.handle(slow).execute()
        worker.handle(slow).execute()  # TaskQueueFullError
    """


class IllegalConcurrentAccessError(QBackgroundError):
    """A GUI-only API was used off the GUI thread.

    Raised by ``BackgroundWorker.handle()`` and ``check_ui_access()`` off the GUI thread
    and, in strict mode, by any call on a ``QWidget`` method from a task's thread.

    Example::

        def run(self, lifecycle):
            self.label.setText("x")  # strict mode: IllegalConcurrentAccessError
    """


class ProcessCrashedError(QBackgroundError):
    """A worker process died while it ran the task (exit code or signal in the message)."""


class TaskInterruptedError(BaseException):
    """The task was cancelled, timed out, or lost its owner (or its worker shut down).

    Raised inside ``run()`` by ``publish()`` and the other lifecycle calls once the task
    is interrupted, and by ``get_result()`` for a task that was interrupted silently.
    It derives from :class:`BaseException` so ``except Exception`` does not catch it: let
    it propagate out of ``run()``.

    Example::

        def run(self, lifecycle):
            for i in range(100):
                lifecycle.publish(i)  # raises TaskInterruptedError after cancel()
    """
