"""The smoke test of the "task_mgr (Rayforge API)" page (:class:`~demo_app.scenarios.tasker_page.TaskerPage`).

Drives the page's widgets like a user would and checks what happened; the page's
``smoke()`` runs :func:`smoke`.
"""

from __future__ import annotations

from qbackground.tasker import task_mgr

from ...cpu_tasks import count_primes_sieve
from ...smoke import SmokeContext, SmokeScript
from ...tasker_funcs import WORDS_PER_FILE
from ..tasker_page import TaskerPage

__all__ = ["smoke"]


def smoke(page: TaskerPage, ctx: SmokeContext) -> SmokeScript:
    ctx.check(
        not task_mgr.has_tasks() and task_mgr.get_overall_progress() == 1.0,
        "task_mgr starts idle (overall progress 1.0)",
    )
    ctx.check(
        bool(page.records) or (page.overall_bar.value() == 0 and page.overall_label.text().startswith("idle")),
        "before anything ran, the overall bar shows 0 % and idle (not 100 %)",
        f"bar {page.overall_bar.value()}, {page.overall_label.text()!r}",
    )
    yield from _all(page, ctx)
    yield from _replace(page, ctx)
    yield from _cancel(page, ctx)
    yield from _main_thread(page, ctx)
    ctx.check(
        all(len(record.done_calls) == 1 for record in page.records.values()),
        "when_done ran exactly once for every task the page started",
        f"{[(record.task.id, record.done_calls) for record in page.records.values()]}",
    )


def _all(page: TaskerPage, ctx: SmokeContext) -> SmokeScript:
    first = len(page.updates)
    yield ctx.pause(0.05, "the page is laid out")
    columns = [page.table.columnWidth(column) for column in range(page.table.columnCount())]
    page.start_all()
    batch = list(page.records.values())[-3:]
    section = page.log.toPlainText().split("\n\n")[-1].splitlines()
    ctx.check(
        bool(section) and section[0].startswith("  0.00 s"),
        "the log's clock starts at 0 with the batch's first task",
        repr(section[:1]),
    )
    ctx.check(
        sorted(record.task.key for record in batch) == ["fetch", "primes", "words"]
        and len(task_mgr.tasks) == 3,
        "run_thread, run_process and add_coroutine started three keyed tasks",
        f"{[record.task for record in batch]}",
    )
    seen_running = [0]

    def finished() -> bool:
        seen_running[0] = max(seen_running[0], page.status.running_count)
        return page.is_idle()

    yield ctx.wait_until(finished, "the three tasks finished", timeout=20)
    yield ctx.pause(0.05, "the page is laid out again")
    ctx.check(
        [page.table.columnWidth(column) for column in range(page.table.columnCount())] == columns,
        "the table's columns kept their width as the tasks' statuses changed",
        f"{columns} → {[page.table.columnWidth(column) for column in range(page.table.columnCount())]}",
    )
    by_key = {record.task.key: record for record in batch}
    ctx.check(
        all(record.done_calls == ["completed"] for record in batch),
        "when_done ran once for each, with status 'completed'",
        f"{[(record.task.key, record.done_calls) for record in batch]}",
    )
    ctx.check(
        by_key["words"].task.result() == page.files * WORDS_PER_FILE
        and by_key["primes"].task.result() == count_primes_sieve(page.prime_limit)
        and by_key["fetch"].task.result() == [f"https://example.org/page/{n}" for n in range(1, page.pages + 1)],
        "every result is right (thread, process and coroutine)",
        f"{[(record.task.key, record.task.result()) for record in batch]}",
    )
    expected_events = {"words": page.files, "primes": 20, "fetch": page.pages}
    ctx.check(
        all(
            record.events_at_done == len(record.events) == expected_events[record.task.key]
            for record in batch
        ),
        "every event arrived through when_event before when_done (on every backend)",
        f"{[(record.task.key, record.events_at_done, len(record.events)) for record in batch]}",
    )
    ctx.check(
        [data for _name, data in by_key["words"].events]
        == [f"chapter-{n:02d}.txt" for n in range(1, page.files + 1)],
        "the events arrived in order",
    )
    ctx.check(
        all(record.progress_at_done == 1.0 for record in batch),
        "each task's progress was 1.0 when when_done ran",
        f"{[(record.task.key, record.progress_at_done) for record in batch]}",
    )
    batch_updates = page.updates[first:]
    ctx.check(
        any(0.0 < progress < 1.0 for _count, progress in batch_updates),
        "tasks_updated reported the overall progress part way",
        f"{batch_updates[:8]}",
    )
    ctx.check(
        bool(batch_updates) and batch_updates[-1] == (0, 1.0) and page.overall_bar.value() == 100,
        "the overall progress reached 1.0 with no task left (the bar shows 100 %)",
        f"last {batch_updates[-3:]}, bar {page.overall_bar.value()}",
    )
    progresses = [progress for _count, progress in batch_updates]
    ctx.check(
        progresses == sorted(progresses),
        "the overall progress never went back within the batch",
        f"{progresses}",
    )
    ctx.check(
        seen_running[0] == 3,
        "the TaskStatusWidget followed the three tasks",
        f"at most {seen_running[0]} running",
    )
    ctx.check(
        all(page._row_status(record) == "completed" for record in batch),
        "the table shows them completed",
        f"{[page._row_status(record) for record in batch]}",
    )


def _replace(page: TaskerPage, ctx: SmokeContext) -> SmokeScript:
    old = page.start_words()
    yield ctx.wait_until(lambda: old.get_progress() >= 0.2, "words is 20 % done")
    new = page.start_words()
    ctx.check(
        old.is_cancelled() and old.get_status() == "canceled" and task_mgr.get_task("words") is new,
        "starting 'words' again cancelled the running one; get_task('words') is the new one",
        f"old {old}, new {new}, get_task {task_mgr.get_task('words')}",
    )
    old_record, new_record = page.records[old.id], page.records[new.id]
    ctx.check(
        old_record.replaced_by == new.id and "replaced by" in page._row_text(old_record, 4),
        "the table shows the old task replaced by the new one",
        page._row_text(old_record, 4),
    )
    yield ctx.wait_until(page.is_idle, "both 'words' tasks ended", timeout=15)
    ctx.check(
        old_record.done_calls == ["canceled"] and 0.2 <= old_record.progress_at_done < 1.0,
        "the replaced task's when_done ran once, 'canceled', part way",
        f"{old_record.done_calls}, progress {old_record.progress_at_done}",
    )
    ctx.check(
        new_record.done_calls == ["completed"] and new.result() == page.files * WORDS_PER_FILE,
        "the new task completed",
        f"{new_record.done_calls}",
    )
    ctx.check(
        old_record.events_at_done == len(old_record.events) < page.files,
        "no event of the replaced task arrived after its when_done",
        f"{old_record.events_at_done} at when_done, {len(old_record.events)} in all",
    )


def _cancel(page: TaskerPage, ctx: SmokeContext) -> SmokeScript:
    task = page.start_primes(limit=3_000_000)
    yield ctx.wait_until(lambda: task.get_progress() >= 0.1, "primes is 10 % done", timeout=15)
    page.key_box.setCurrentText("primes")
    page.cancel_button.click()
    ctx.check(
        page.cancel_label.text() == "cancel_task('primes') → True" and task.is_cancelled(),
        "cancel_task('primes') returned True",
        page.cancel_label.text(),
    )
    yield ctx.wait_until(page.is_idle, "the process task stopped", timeout=15)
    record = page.records[task.id]
    ctx.check(
        record.done_calls == ["canceled"] and record.progress_at_done < 1.0,
        "when_done ran once, 'canceled', once the worker process stopped it",
        f"{record.done_calls}, progress {record.progress_at_done}",
    )
    ctx.check(
        record.events_at_done == len(record.events),
        "no event arrived after when_done",
        f"{record.events_at_done} at when_done, {len(record.events)} in all",
    )
    ctx.check(
        not page.cancel_key("primes") and page.cancel_label.text() == "cancel_task('primes') → False",
        "cancel_task() on a finished key returns False",
        page.cancel_label.text(),
    )
    ctx.check(
        page._row_status(record) == "canceled",
        "the table shows it canceled",
        page._row_status(record),
    )
    ctx.check(
        task_mgr.get_overall_progress() == 1.0 and page.overall_bar.value() == 100,
        "idle again, the overall progress is 1.0",
        f"{task_mgr.get_overall_progress()}, bar {page.overall_bar.value()}",
    )


def _main_thread(page: TaskerPage, ctx: SmokeContext) -> SmokeScript:
    box = page.main_thread
    box.hand_button.click()
    ctx.check(not task_mgr.has_tasks(), "a visible=False task is not among task_mgr's tasks")
    yield ctx.wait_until(lambda: bool(box.acks), "the hand-over ended", timeout=20)
    ctx.check(
        box.acks == [True] and box.adopted == [{"bytes": 1 << 20}],
        "send_event_and_wait returned True once when_event took the frame",
        f"acks {box.acks}, adopted {box.adopted}",
    )
    box.delay_button.click()
    yield ctx.wait_until(lambda: bool(box.delayed_runs), "the delayed call ran", timeout=5)
    seconds, on_gui = box.delayed_runs[0]
    ctx.check(
        on_gui and seconds >= box.delay_ms / 1000 - 0.01,
        "schedule_delayed_on_main_thread ran the call on the GUI thread after its delay",
        f"{seconds:.3f} s, GUI thread {on_gui}",
    )
    box.delay_button.click()
    box.cancel_delay_button.click()
    yield ctx.pause(box.delay_ms / 1000 + 0.3, "past the cancelled call's delay")
    ctx.check(
        len(box.delayed_runs) == 1 and "cancelled" in box.label.text(),
        "a cancelled delayed call never runs",
        f"{box.delayed_runs}, {box.label.text()!r}",
    )
