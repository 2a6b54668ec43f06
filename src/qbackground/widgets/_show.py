"""``ShowMethod``: ``Window.show(task, ...)`` opens a new window, ``window.show()`` shows one.

CUBA's API is a static ``BackgroundWorkWindow.show(task, ...)``, but the windows are
``QDialog`` objects whose ``show()`` Qt code calls without arguments. This descriptor
gives both meanings to one name: looked up on the class it is the factory, looked up on an
instance it is ``QWidget.show``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, Generic, ParamSpec, TypeVar, overload

from qtpy.QtWidgets import QWidget

__all__ = ["ShowMethod"]

P = ParamSpec("P")
W = TypeVar("W", bound=QWidget)


class ShowMethod(Generic[W, P]):
    """A class-level factory that still lets instances ``show()`` as Qt expects.

    Example::

        def _open(cls: type[MyWindow], task: AnyTask) -> MyWindow:
            window = cls(task)
            window.show()          # QWidget.show
            return window

        class MyWindow(QDialog):
            show = ShowMethod(_open)

        window = MyWindow.show(task)   # the factory
    """

    def __init__(self, factory: Callable[Concatenate[type[W], P], W]) -> None:
        self._factory = factory
        self.__doc__ = factory.__doc__

    @overload
    def __get__(self, instance: None, owner: type[W]) -> Callable[P, W]: ...

    @overload
    def __get__(self, instance: W, owner: type[W]) -> Callable[[], None]: ...

    def __get__(self, instance: W | None, owner: type[W]) -> Callable[P, W] | Callable[[], None]:
        if instance is None:
            factory = self._factory

            def show(*args: P.args, **kwargs: P.kwargs) -> W:
                return factory(owner, *args, **kwargs)

            show.__doc__ = factory.__doc__
            show.__name__ = "show"
            show.__qualname__ = f"{owner.__qualname__}.show"
            return show
        widget = instance

        def show_widget() -> None:
            QWidget.show(widget)

        show_widget.__doc__ = QWidget.show.__doc__
        return show_widget
