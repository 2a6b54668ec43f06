"""Qt objects made by qbackground are destroyed on the GUI thread, whichever thread
drops their last reference or runs the garbage collection that frees them.

Each object kind runs in a fresh interpreter (tests/gui_release_scenarios.py): create,
use and drop it many times — half the rounds in a reference cycle freed by a
collection on a foreign thread, half with the last reference dropped by a foreign
thread — and pump events. Before the fix these printed "QObject::killTimer: Timers
cannot be stopped from another thread" and segfaulted at the next event pump.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("gui_release_scenarios.py")

# Notices of the offscreen platform plugin, unrelated to threads.
_HARMLESS = ("This plugin does not support propagateSizeHints()",)

KINDS = [
    "worker",
    "worker_not_shut_down",
    "task_manager",
    "task_manager_proxy",
    "wrapper",
    "dialogs",
    "status_widget",
    "testing_worker",
]


@pytest.mark.parametrize("kind", KINDS)
def test_dropped_anywhere_destroyed_on_gui_thread(kind: str) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONFAULTHANDLER="1")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), kind, "20"],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        cwd=SCRIPT.parent.parent,
    )
    noise = [line for line in proc.stderr.splitlines() if line.strip() and line not in _HARMLESS]
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.rstrip().endswith("ok"), proc.stdout
    assert not noise, "unexpected output on stderr:\n" + "\n".join(noise)
