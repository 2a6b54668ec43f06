"""Where ``run()`` executes: one small interface, one module per backend."""

from .._exports import public_module as _public_module
from ._base import Executor, Job, running_task
from .aio import AsyncioExecutor
from .process import ProcessExecutor
from .thread import ThreadExecutor

__all__ = ["AsyncioExecutor", "Executor", "Job", "ProcessExecutor", "ThreadExecutor", "running_task"]

_public_module(__name__, __all__, globals())
