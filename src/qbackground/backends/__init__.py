"""Where ``run()`` executes: one small interface, one module per backend."""

from ._base import Executor, Job
from .thread import ThreadExecutor

__all__ = ["Executor", "Job", "ThreadExecutor"]
