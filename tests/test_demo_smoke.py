"""The demo application: its headless smoke run, its screenshot, and its smoke runner.

The end-to-end tests start ``python -m demo_app`` in a subprocess, exactly as
``make demo DEMO_ARGS=--smoke`` does, and only wait for it to exit.
"""

from __future__ import annotations

import importlib.util
import io
import os
import re
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from time import monotonic

import pytest
from pytestqt.qtbot import QtBot

from qbackground.qt import BINDINGS, qt_binding

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # demo_app is a top-level package of the checkout, not installed
    sys.path.insert(0, str(ROOT))

from demo_app.smoke import (  # noqa: E402
    EXIT_FAILED,
    EXIT_WATCHDOG,
    SmokeContext,
    SmokeRunner,
    SmokeScript,
)

# Well above the demo's own 120 s watchdog (+10 s hard deadline): the demo must end by
# itself first; this only stops a broken demo from hanging the suite.
PROCESS_TIMEOUT = 180

SMOKE_CHECKS = (
    # thread task: run to the end
    "thread task: the page starts idle",
    "thread task: while running, Start is disabled and Cancel enabled",
    "thread task: done() ran exactly once",
    "thread task: the progress bar reached 100",
    "thread task: the result label shows the result",
    "thread task: the message label shows the last set_message()",
    "thread task: progress() received every published item, in order",
    "thread task: progress() calls were coalesced",
    "thread task: the handler status is DONE",
    # thread task: cancel part way
    "thread task: clicking Cancel part way ran canceled()",
    "thread task: after Cancel the UI is idle again",
    "thread task: the progress bar stopped part way",
    "thread task: the result label says Cancelled",
    "thread task: the handler status is CANCELLED",
    "thread task: no callback arrived after canceled()",
    "thread task: the progress bar did not move after canceled()",
    "thread task: the worker has no active handlers left",
    # pause and resume: a download paused past its timeout, resumed, then paused and cancelled
    "pause and resume: Pause and Resume are disabled while idle",
    "pause and resume: Pause: the handler is PAUSED (and alive)",
    "pause and resume: while paused, Resume is enabled and Pause disabled",
    "pause and resume: nothing arrived while paused, and a paused task does not time out",
    "pause and resume: Resume: the handler is RUNNING again",
    "pause and resume: the resumed download finished with done()",
    "pause and resume: every chunk arrived once, in order",
    "pause and resume: Cancel of a paused download ran canceled() at once",
    "pause and resume: the page and the worker are idle",
    # failing task
    "failing task: handle_exception() ran exactly once",
    "failing task: handle_exception() received the SimulatedFailure",
    "failing task: the result label shows the error",
    "failing task: the handler status is FAILED",
    # retries (DESIGN §11): a flaky device call
    "retries: the page starts idle",
    "retries: done() ran once, after the retries",
    "retries: it took three attempts",
    "retries: handle_retry() ran before attempts 2 and 3",
    "retries: between attempts the handler was alive and QUEUED",
    "retries: what the failed attempts published stayed delivered",
    "retries: the waits grew with each retry (at least half of 0.15 s, then of 0.3 s)",
    "retries: after four attempts handle_exception() got the last failure",
    "retries: Cancel during the backoff ran canceled() at once",
    "retries: the handler is CANCELLED",
    "retries: no further attempt started",
    # CPU work: Compare (threads, then processes) at the smoke test's N
    "cpu work: threads vs processes: the page starts idle",
    "cpu work: threads vs processes: while running, the Run buttons are disabled and Cancel enabled",
    "cpu work: threads vs processes: threads: done() ran exactly once per task",
    "cpu work: threads vs processes: threads: every task's progress reached 100 %",
    "cpu work: threads vs processes: threads: the count matches a sieve of Eratosthenes",
    "cpu work: threads vs processes: processes: done() ran exactly once per task",
    "cpu work: threads vs processes: processes: every task's progress reached 100 %",
    "cpu work: threads vs processes: processes: the count matches a sieve of Eratosthenes",
    "cpu work: threads vs processes: every progress bar shows 100 %",
    "cpu work: threads vs processes: the thread run's tasks ran in this process",
    "cpu work: threads vs processes: the process run's tasks ran in two other processes at once",
    "cpu work: threads vs processes: the process run used the warmed-up worker processes",
    "cpu work: threads vs processes: the progress bars kept their width when the results arrived",
    "cpu work: threads vs processes: once done, each task's line shows its final count (no more 'so far')",
    "cpu work: threads vs processes: both timings are shown",
    "cpu work: threads vs processes: the speed-up is shown",
    "cpu work: threads vs processes: the handler statuses are DONE",
    # CPU work: cancel a process run part way, then run again
    "cpu work: threads vs processes: clicking Cancel during a process run ran canceled() once per task",
    "cpu work: threads vs processes: after Cancel the UI is idle again",
    "cpu work: threads vs processes: the progress bars stopped part way",
    "cpu work: threads vs processes: the handler statuses are CANCELLED",
    "cpu work: threads vs processes: the status says cancelled",
    "cpu work: threads vs processes: no callback arrived after canceled()",
    "cpu work: threads vs processes: the progress bars did not move after canceled()",
    "cpu work: threads vs processes: the worker has no active handlers left",
    "cpu work: threads vs processes: after a cancel, the next process run counts correctly",
    "cpu work: threads vs processes: the cancelled tasks stopped by themselves",
    # asyncio: a batch that finishes
    "asyncio: simulated downloads: the page starts idle",
    "asyncio: simulated downloads: before the first batch, the overall bar counts the N downloads to come",
    "asyncio: simulated downloads: Start launched 50 downloads",
    "asyncio: simulated downloads: the table's columns kept their width as the statuses and sizes arrived",
    "asyncio: simulated downloads: done() ran exactly once for every download",
    "asyncio: simulated downloads: every download received all its bytes",
    "asyncio: simulated downloads: progress() reported bytes so far, never after done()",
    "asyncio: simulated downloads: the overall progress bar shows 50 of 50 done",
    "asyncio: simulated downloads: the batch took at least as long as its longest download",
    "asyncio: simulated downloads: the downloads overlapped",
    "asyncio: simulated downloads: the elapsed time is shown",
    "asyncio: simulated downloads: the handler statuses are DONE",
    "asyncio: simulated downloads: no handler is left running after the batch",
    # asyncio: Cancel all part way
    "asyncio: simulated downloads: Cancel all part way ran canceled() exactly once for every download",
    "asyncio: simulated downloads: the downloads were part way when cancelled",
    "asyncio: simulated downloads: after Cancel all the UI is idle again",
    "asyncio: simulated downloads: the overall progress bar shows 0 done",
    "asyncio: simulated downloads: the handler statuses are CANCELLED",
    "asyncio: simulated downloads: nothing is left running (no active handlers)",
    "asyncio: simulated downloads: no callback arrived after canceled()",
    # progress flood, timeouts, owner window
    "progress flood: qbackground: all 200,000 items arrived, in order",
    "progress flood: qbackground: progress() calls were coalesced",
    "progress flood: the heartbeat measured both floods to their end",
    "progress flood: once measured, both columns' read-outs are final",
    "progress flood: one signal per item: all 20,000 items arrived, in order",
    "timeouts: the progress bars kept their width when the outcomes arrived",
    "timeouts: handled: handle_timeout_exception() ran once, and done() never did",
    "timeouts: unhandled: the worker emitted task_timed_out once",
    "timeouts: in time: done() ran once, before the deadline",
    "owner window: close: silent — no done(), canceled() or error callback",
    "owner window: hide: hiding the window did not interrupt its task",
    "owner window: reject: reject() finished the dialog and interrupted its task",
    # progress dialogs
    "progress dialogs: the progress window opened modal, without blocking the click",
    "progress dialogs: Escape cancelled the import and closed its window",
    "progress dialogs: failing: the message box explains what happened",
    "progress dialogs: Cancel All cancelled every job",
    # Dask, strict mode, task_mgr
    "dask cluster: done() ran exactly once per task",
    "dask cluster: the remote exception kept its type",
    "dask cluster: no Dask worker process is left",
    "strict mode: the error names the method (QLabel.setText())",
    "task_mgr (rayforge api): before anything ran, the overall bar shows 0 % and idle (not 100 %)",
    "task_mgr (rayforge api): the log's clock starts at 0 with the batch's first task",
    "task_mgr (rayforge api): the table's columns kept their width as the tasks' statuses changed",
    "task_mgr (rayforge api): starting 'words' again cancelled the running one",
    "task_mgr (rayforge api): when_done ran once, 'canceled', once the worker process stopped it",
    # keys with debounce, task groups (issue 17)
    "live preview (debounce): during the drag no preview started: the newest one waits for a pause (debounce)",
    "live preview (debounce): the drag ran exactly one run(), for the last value",
    "live preview (debounce): the 49 superseded handlers each ran canceled()",
    "live preview (debounce): done() ran once, with the last value's preview",
    "folder import (group): a clean import ends with every member DONE",
    "folder import (group): when_done ran exactly once",
    "folder import (group): photo-07.jpg FAILED, handled once",
    "folder import (group): fail_fast cancelled the siblings still waiting",
    "folder import (group): Cancel all cancelled every member not yet done",
    # the window: it names the Qt binding; the status bar's text survives a menu's status tip
    "window: the window title and the status bar name the Qt binding",
    "window: a menu's status tip shows in the status bar",
    "window: after a status tip, the status bar shows its own text again",
    # the window's close guard
    "close guard: closing the window while a task runs asks first (a modal question)",
    "close guard: \"Keep working\" keeps the window open and the task running",
    # the worker afterwards
    "worker: no exception reached BackgroundWorker.unhandled_exception",
    "worker: every task thread, worker process and the asyncio loop stopped on shutdown()",
    "worker: no worker process is left",
)

# Figures the smoke run prints (``  --  `` lines): measured, never pass/fail, because they
# depend on the machine's load (performance is measured by make bench). Only their
# presence is checked, so the run keeps reporting them.
SMOKE_FIGURES = (
    r"progress flood: worst GUI stall: qbackground [0-9.,]+ ms \(200,000 items\), "
    r"one signal per item [0-9.,]+ ms \(20,000 items\)",
    r"progress flood: idle after the floods: the GUI thread used [0-9]+% of a core",
)

# Seconds the demo may take beyond the run it reports (interpreter and Qt start-up, then
# quitting: closing the window, aboutToQuit, stopping the worker processes). Generous: the
# machine may be busy; a shutdown that hangs on a worker process takes far longer.
EXIT_OVERHEAD = 15.0


# The binding as the demo names it ("demo: runs on PyQt6 6.11.0 (QT_API=pyqt6, Qt 6.11.2)").
BINDING_NAMES = {"pyside6": "PySide6", "pyqt6": "PyQt6"}


def run_demo(*args: str, qt_api: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m demo_app *args`` headless from the checkout; wait for it to exit.

    The demo runs on the suite's binding (``QT_API``), unless ``qt_api`` names another
    (``""``: ``QT_API`` unset, the demo's default decides).
    """
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_API": qt_binding() if qt_api is None else qt_api}
    if not env["QT_API"]:
        del env["QT_API"]
    env.pop("PYTEST_QT_API", None)  # the suite's pytest-qt setting; the demo does not use it
    return subprocess.run(
        [sys.executable, "-m", "demo_app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
    )


def describe(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit code {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def ran_on(proc: subprocess.CompletedProcess[str]) -> str | None:
    """The binding (``"pyside6"``/``"pyqt6"``) the demo's first line says it ran on."""
    found = re.search(
        r"^demo: runs on (PySide6|PyQt6) [0-9.]+ \(QT_API=(pyside6|pyqt6), Qt [0-9.]+\)$", proc.stdout, re.M
    )
    if found is None:
        return None
    name, binding = found.groups()
    assert BINDING_NAMES[binding] == name, proc.stdout
    return binding


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (no Qt needed)."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


# -- end to end -----------------------------------------------------------------------


def test_smoke_run_passes_every_check() -> None:
    started = monotonic()
    proc = run_demo("--smoke")
    wall = monotonic() - started
    assert proc.returncode == 0, describe(proc)
    assert ran_on(proc) == qt_binding(), f"the demo did not run on the suite's binding\n{describe(proc)}"
    missing = [check for check in SMOKE_CHECKS if f"ok  {check}" not in proc.stdout]
    assert not missing, f"checks not reported: {missing}\n{describe(proc)}"
    figures = [line for line in proc.stdout.splitlines() if line.startswith("  --  ")]
    unreported = [figure for figure in SMOKE_FIGURES if not any(re.search(figure, line) for line in figures)]
    assert not unreported, f"figures not reported: {unreported}\n{describe(proc)}"
    assert not [line for line in proc.stdout.splitlines() if line.startswith("FAIL")], describe(proc)
    last = proc.stdout.splitlines()[-1]
    assert "checks passed" in last, describe(proc)
    reported = re.search(r"in ([0-9.]+) s$", last)
    assert reported is not None, describe(proc)
    assert wall < float(reported.group(1)) + EXIT_OVERHEAD, (
        f"the demo took {wall:.1f} s for a {reported.group(1)} s smoke run: did quitting hang?\n"
        + describe(proc)
    )


def test_screenshot_is_saved_mid_task(tmp_path: Path) -> None:
    path = tmp_path / "shots" / "demo.png"
    proc = run_demo("--screenshot", str(path))
    assert proc.returncode == 0, describe(proc)
    assert f"screenshot saved to {path}" in proc.stdout, describe(proc)
    width, height = png_size(path)
    assert width >= 640 and height >= 400, f"screenshot is only {width}×{height}"


def test_screenshot_of_a_chosen_page(tmp_path: Path) -> None:
    path = tmp_path / "asyncio.png"
    proc = run_demo("--page", "asyncio", "--screenshot", str(path))
    assert proc.returncode == 0, describe(proc)
    assert f"screenshot saved to {path}" in proc.stdout, describe(proc)
    width, height = png_size(path)
    assert width >= 640 and height >= 400, f"screenshot is only {width}×{height}"


@pytest.mark.parametrize("binding", BINDINGS)
@pytest.mark.parametrize("qt_api", ["", "other"])
def test_binding_option_chooses_the_binding(tmp_path: Path, binding: str, qt_api: str) -> None:
    # --binding wins over QT_API (here: unset, or the other binding), and the window shows it.
    if importlib.util.find_spec(BINDING_NAMES[binding]) is None:
        pytest.skip(f"{BINDING_NAMES[binding]} is not installed")
    if qt_api == "other":
        qt_api = next(other for other in BINDINGS if other != binding)
    path = tmp_path / "shot.png"
    proc = run_demo("--binding", binding, "--screenshot", str(path), qt_api=qt_api)
    assert proc.returncode == 0, describe(proc)
    assert ran_on(proc) == binding, describe(proc)
    assert f"screenshot saved to {path}" in proc.stdout, describe(proc)


def test_default_binding_is_pyside6_when_installed(tmp_path: Path) -> None:
    # Without --binding or QT_API, the demo imports qbackground before qtpy: PySide6, not
    # qtpy's own first choice (PyQt6) when both are installed.
    proc = run_demo("--screenshot", str(tmp_path / "shot.png"), qt_api="")
    assert proc.returncode == 0, describe(proc)
    expected = "pyside6" if importlib.util.find_spec("PySide6") is not None else "pyqt6"
    assert ran_on(proc) == expected, describe(proc)


def test_binding_option_after_qt_was_imported_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # In a process already on one binding, main() cannot switch: it says so (exit code 2)
    # instead of running (here: taking a screenshot) on the binding it has.
    from demo_app.app import main

    other = next(binding for binding in BINDINGS if binding != qt_binding())
    assert main(["--binding", other, "--screenshot", str(tmp_path / "shot.png")]) == 2
    assert not (tmp_path / "shot.png").exists()
    assert f"--binding {other}, but Qt was already imported as {qt_binding()}" in capsys.readouterr().err


def test_watchdog_ends_a_run_that_takes_too_long() -> None:
    # Half a second is far too short for the whole run (the thread task alone takes 3 s):
    # the watchdog must fail the run and the process must still exit by itself. Which
    # step it interrupts depends on the machine's speed (on a loaded one, the first page).
    proc = run_demo("--smoke", "--watchdog", "0.5")
    assert proc.returncode == EXIT_WATCHDOG, describe(proc)
    assert re.search(r"^\s*FAIL [^\n]*: watchdog: the automatic run did not finish within 0\.5 s", proc.stdout, re.M), describe(proc)


def test_bad_arguments_are_rejected() -> None:
    proc = run_demo("--watchdog", "-1")
    assert proc.returncode == 2, describe(proc)  # argparse's usage error
    assert "--watchdog" in proc.stderr


def test_unknown_page_is_rejected() -> None:
    proc = run_demo("--page", "nonesuch")
    assert proc.returncode == 2, describe(proc)
    assert "--page" in proc.stderr and "processes" in proc.stderr, describe(proc)


# -- the smoke runner itself, in process --------------------------------------------------


def _failing_check(ctx: SmokeContext) -> SmokeScript:
    ctx.check(True, "the first check holds")
    yield ctx.pause(0.01, "a moment passed")
    ctx.check(False, "the second check holds", "value 7")


def _never_true(ctx: SmokeContext) -> SmokeScript:
    yield ctx.wait_until(lambda: False, "pigs fly", timeout=0.05)


def _raises(ctx: SmokeContext) -> SmokeScript:
    yield ctx.pause(0.0, "nothing")
    raise KeyError("oops")


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (_failing_check, "FAIL demo: the second check holds (value 7)"),
        (_never_true, "FAIL demo: timed out after 0.05 s waiting until pigs fly"),
        (_raises, "FAIL demo: the script raised KeyError: 'oops'"),
    ],
)
def test_runner_reports_what_failed(
    qtbot: QtBot, script: Callable[[SmokeContext], SmokeScript], expected: str
) -> None:
    out = io.StringIO()
    runner = SmokeRunner([("demo", script)], watchdog=10, out=out)
    with qtbot.waitSignal(runner.finished, timeout=5000) as blocker:
        runner.start()
    assert blocker.args == [EXIT_FAILED]
    assert runner.result == EXIT_FAILED
    assert expected in out.getvalue(), out.getvalue()


def test_runner_passes_and_counts_checks(qtbot: QtBot) -> None:
    def script(ctx: SmokeContext) -> SmokeScript:
        ctx.check(True, "one")
        ctx.report("a figure: 3 ms")  # printed, not counted, cannot fail
        yield ctx.pause(0.01, "a moment passed")
        ctx.check(True, "two")

    out = io.StringIO()
    runner = SmokeRunner([("a", script), ("b", script)], watchdog=10, out=out)
    with qtbot.waitSignal(runner.finished, timeout=5000) as blocker:
        runner.start()
    assert blocker.args == [0]
    assert "ok  a: one" in out.getvalue() and "ok  b: two" in out.getvalue()
    assert "smoke: all 4 checks passed" in out.getvalue()
    assert "  --  a: a figure: 3 ms" in out.getvalue() and "  --  b: a figure: 3 ms" in out.getvalue()


# -- shared page components, in process -------------------------------------------------


def test_log_box_follows_its_last_line(qtbot: QtBot) -> None:
    from qtpy.QtWidgets import QLabel, QStackedWidget

    from demo_app.scenarios.widgets import log_box

    stack = QStackedWidget()
    qtbot.addWidget(stack)
    stack.resize(400, 200)
    stack.addWidget(QLabel("another page"))
    group, log = log_box("Log", "")
    stack.addWidget(group)
    stack.show()
    qtbot.waitExposed(stack)
    line = "a long line that wraps in a narrow log " * 3
    for number in range(30):  # while the log's page is hidden
        log.appendPlainText(f"{number:02d} {line}")
    stack.setCurrentIndex(1)
    for number in range(30, 34):
        log.appendPlainText(f"{number:02d} {line}")

    def bottom_line() -> str:
        return log.cursorForPosition(log.viewport().rect().bottomLeft()).block().text()[:2]

    qtbot.waitUntil(lambda: bottom_line() == "33", timeout=2000)
    bar = log.verticalScrollBar()
    assert bar.value() == bar.maximum()

    # The user scrolls up to read: appends no longer pull the view down, until the
    # user scrolls back to the end.
    bar.triggerAction(bar.SliderAction.SliderToMinimum)
    log.appendPlainText(f"34 {line}")
    assert not log.following and bar.value() == 0
    bar.triggerAction(bar.SliderAction.SliderToMaximum)
    log.appendPlainText(f"35 {line}")
    assert log.following
    qtbot.waitUntil(lambda: bottom_line() == "35", timeout=2000)
