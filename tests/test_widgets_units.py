"""The widgets' pure parts: the remaining-time estimate, the texts, the public surface."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import qbackground.widgets as widgets
from qbackground.widgets import RemainingTimeEstimator
from qbackground.widgets._texts import format_duration, format_number


def test_no_estimate_until_enough_is_known() -> None:
    eta = RemainingTimeEstimator()
    assert eta.remaining(5.0) is None, "no progress yet"
    eta.update(0.5, 0.5)
    assert eta.remaining(0.5) is None, "less than a second"
    eta = RemainingTimeEstimator()
    eta.update(3.0, 0.01)
    assert eta.remaining(3.0) is None, "less than 2 %"


def test_a_steady_task() -> None:
    eta = RemainingTimeEstimator()
    for second in range(1, 5):
        eta.update(float(second), second / 10)
    assert eta.remaining(4.0) == pytest.approx(6.0)
    assert eta.fraction == pytest.approx(0.4)


def test_a_stalled_task_sees_its_estimate_grow() -> None:
    eta = RemainingTimeEstimator()
    eta.update(2.0, 0.5)
    first = eta.remaining(2.0)
    later = eta.remaining(4.0)
    assert first is not None and later is not None and later > first


def test_the_recent_rate_counts() -> None:
    eta = RemainingTimeEstimator(window=10.0)
    eta.update(20.0, 0.2)  # slow at first: 1 % a second
    for second in range(21, 41):
        eta.update(float(second), 0.2 + (second - 20) * 0.02)  # then 2 % a second
    left = eta.remaining(40.0)
    assert left is not None and left == pytest.approx(20 * 0.0 + (1 - 0.6) / 0.02, rel=0.05)


def test_going_backwards_starts_over_and_done_means_zero() -> None:
    eta = RemainingTimeEstimator()
    eta.update(2.0, 0.5)
    eta.update(3.0, 0.1)
    assert eta.fraction == pytest.approx(0.1)
    eta.update(4.0, 1.0)
    assert eta.remaining(4.0) == 0.0
    eta.update(5.0, 7.0)  # clamped
    assert eta.fraction == 1.0


def test_formats() -> None:
    assert format_duration(0) == "0:00"
    assert format_duration(75.9) == "1:15"
    assert format_duration(3725) == "1:02:05"
    assert format_duration(-3) == "0:00"
    assert format_number(5) == "5" and format_number(5.0) == "5"
    assert format_number(2.5) == "2.5"
    assert format_number(1 / 3) == "0.333333"


def test_public_names_have_docstrings_with_examples() -> None:
    assert widgets.__all__ == sorted(widgets.__all__)
    for name in widgets.__all__:
        value = getattr(widgets, name)
        assert value.__doc__ and "Example::" in value.__doc__, f"{name} needs a docstring with an example"
        for member, attr in vars(value).items():
            if member.startswith("_"):
                continue
            if isinstance(attr, property):
                attr = attr.fget
            doc = getattr(attr, "__doc__", None)
            if inspect.isfunction(attr) or member == "show":
                assert doc and "Example::" in doc, f"{name}.{member} needs a docstring with an example"


def test_show_is_documented_on_the_class() -> None:
    assert "Example::" in (widgets.BackgroundWorkWindow.show.__doc__ or "")
    assert "percent_progress" in (widgets.BackgroundWorkProgressWindow.show.__doc__ or "")


def test_importing_qbackground_does_not_import_the_widgets() -> None:
    code = "import sys, qbackground; assert 'qbackground.widgets' not in sys.modules, 'widgets imported'"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_widget_types_pass_mypy_strict() -> None:
    """tests/typing/check_widgets.py type-checks: ``window.handler`` needs no assert."""
    from .test_typing import run_mypy

    check = Path(__file__).parent / "typing" / "check_widgets.py"
    result = run_mypy(check)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "Success: no issues found in 1 source file" in output, output


def test_percent_rounds_up_like_cuba_and_jmix() -> None:
    from qbackground.widgets._progress_window import percent

    assert [percent(r) for r in (0.0, 1e-9, 1 / 3, 2 / 3, 0.07, 0.995, 1.0, 1.5, -0.1)] == [0, 1, 34, 67, 7, 100, 100, 100, 0]
