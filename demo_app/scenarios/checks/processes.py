"""The smoke test of the "CPU work: threads vs processes" page (:class:`~demo_app.scenarios.processes.ProcessesPage`).

Drives the page's widgets like a user would and checks what happened; the page's
``smoke()`` runs :func:`smoke`.
"""

from __future__ import annotations

import os

from qbackground import TaskStatus, background_worker

from ...cpu_tasks import count_primes_sieve
from ...smoke import SmokeContext, SmokeScript
from ..processes import _BACKEND_LABELS, ProcessesPage

__all__ = ["smoke"]


def smoke(page: ProcessesPage, ctx: SmokeContext) -> SmokeScript:
    yield from _compare(page, ctx)
    yield from _cancel(page, ctx)
    yield from _after_cancel(page, ctx)


def _compare(page: ProcessesPage, ctx: SmokeContext) -> SmokeScript:
    ctx.check(page.is_idle(), "the page starts idle (Run enabled, Cancel disabled)")
    yield ctx.pause(0.05, "the page is laid out")
    widths = [bar.width() for bar in page.bars]
    page.limit_spin.setValue(page.smoke_limit)
    page.compare_button.click()
    ctx.check(
        not page.compare_button.isEnabled() and page.cancel_button.isEnabled(),
        "while running, the Run buttons are disabled and Cancel enabled",
    )
    yield ctx.wait_until(page.is_idle, "both runs finished", timeout=20)
    yield ctx.pause(0.05, "the page is laid out again")
    ctx.check(
        [bar.width() for bar in page.bars] == widths,
        "the progress bars kept their width when the results arrived",
        f"{widths} → {[bar.width() for bar in page.bars]}",
    )
    expected = count_primes_sieve(page.smoke_limit)
    for backend, label in _BACKEND_LABELS.items():
        run = page.results.get(backend)
        ctx.check(
            run is not None and run.limit == page.smoke_limit,
            f"{label}: the run finished",
            f"results {page.results}",
        )
        assert run is not None
        ctx.check(
            run.terminal == [["done"]] * page.parts,
            f"{label}: done() ran exactly once per task",
            f"terminal callbacks: {run.terminal}",
        )
        ctx.check(
            run.fractions == [1.0] * page.parts,
            f"{label}: every task's progress reached 100 %",
            f"fractions {run.fractions}",
        )
        ctx.check(
            run.count == expected,
            f"{label}: the count matches a sieve of Eratosthenes",
            f"{run.count} primes, the sieve found {expected}",
        )
    threads, processes = page.results["thread"], page.results["process"]
    ctx.check(
        all(bar.value() == 100 for bar in page.bars),
        "every progress bar shows 100 %",
        f"{[bar.value() for bar in page.bars]}",
    )
    ctx.check(
        threads.pids == [os.getpid()] * page.parts,
        "the thread run's tasks ran in this process",
        f"pids {threads.pids}, this process {os.getpid()}",
    )
    ctx.check(
        os.getpid() not in processes.pids and len(set(processes.pids)) == page.parts,
        "the process run's tasks ran in two other processes at once",
        f"pids {processes.pids}, this process {os.getpid()}",
    )
    ctx.check(
        set(processes.pids) <= page.pool_pids,
        "the process run used the warmed-up worker processes",
        f"pids {processes.pids}, warmed up {sorted(page.pool_pids)}",
    )
    ctx.check(
        all("so far" not in label.text() and "primes in" in label.text() for label in page.part_labels),
        "once done, each task's line shows its final count (no more 'so far')",
        f"{[label.text() for label in page.part_labels]}",
    )
    ctx.check(
        "primes" in page.thread_result_label.text() and "primes" in page.process_result_label.text(),
        "both timings are shown",
        f"{page.thread_result_label.text()!r}, {page.process_result_label.text()!r}",
    )
    ctx.check("×" in page.speedup_label.text(), "the speed-up is shown", repr(page.speedup_label.text()))
    ctx.check(
        all(handler.status is TaskStatus.DONE for handler in page.handlers),
        "the handler statuses are DONE",
        f"{[handler.status.name for handler in page.handlers]}",
    )


def _cancel(page: ProcessesPage, ctx: SmokeContext) -> SmokeScript:
    page.limit_spin.setValue(page.default_limit)
    page.processes_button.click()
    yield ctx.wait_until(
        lambda: all(bar.value() >= page.cancel_at for bar in page.bars),
        f"every progress bar shows {page.cancel_at} %",
        timeout=15,
    )
    page.cancel_button.click()
    run = page._run()
    ctx.check(
        run.backend == "process" and run.terminal == [["canceled"]] * page.parts,
        "clicking Cancel during a process run ran canceled() once per task (at once)",
        f"backend {run.backend}, terminal callbacks: {run.terminal}",
    )
    ctx.check(page.is_idle(), "after Cancel the UI is idle again")
    bars_at_cancel = [bar.value() for bar in page.bars]
    ctx.check(
        all(page.cancel_at <= value < 100 for value in bars_at_cancel),
        "the progress bars stopped part way",
        f"{bars_at_cancel}",
    )
    ctx.check(
        all(handler.status is TaskStatus.CANCELLED for handler in page.handlers),
        "the handler statuses are CANCELLED",
        f"{[handler.status.name for handler in page.handlers]}",
    )
    ctx.check(
        "Status: cancelled" == page.status_label.text(), "the status says cancelled", page.status_label.text()
    )
    yield ctx.pause(0.3, "late callbacks had time to arrive")
    ctx.check(
        run.late_callbacks == 0 and run.terminal == [["canceled"]] * page.parts,
        "no callback arrived after canceled()",
        f"{run.late_callbacks} late callbacks, terminal {run.terminal}",
    )
    ctx.check(
        [bar.value() for bar in page.bars] == bars_at_cancel,
        "the progress bars did not move after canceled()",
        f"{bars_at_cancel} → {[bar.value() for bar in page.bars]}",
    )
    ctx.check(
        not background_worker().active_handlers(),
        "the worker has no active handlers left",
        f"{background_worker().active_handlers()}",
    )


def _after_cancel(page: ProcessesPage, ctx: SmokeContext) -> SmokeScript:
    page.limit_spin.setValue(page.smoke_limit)
    page.processes_button.click()
    yield ctx.wait_until(page.is_idle, "the next process run finished", timeout=15)
    run = page._run()
    ctx.check(
        run.terminal == [["done"]] * page.parts and run.count == count_primes_sieve(page.smoke_limit),
        "after a cancel, the next process run counts correctly",
        f"terminal {run.terminal}, count {run.count}",
    )
    ctx.check(
        set(run.pids) <= page.pool_pids,
        "the cancelled tasks stopped by themselves (same worker processes, none killed)",
        f"pids {run.pids}, warmed up {sorted(page.pool_pids)}",
    )
