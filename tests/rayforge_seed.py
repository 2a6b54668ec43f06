"""The examples of ../shared/seeds/rayforge-tasker.uk.md, unchanged but for the import line.

Only the definitions live here (worker processes import this module to unpickle
``my_cpu_task``, so it must not start tasks when imported); the seed's calling lines run,
unchanged too, in ``tests/test_tasker.py::test_the_seed_examples_run_unchanged``.
"""
# mypy: ignore-errors
# ruff: noqa

# --- "Запуск I/O-зв'язаного завдання" ---------------------------------------------------
import asyncio
from qbackground.tasker import task_mgr

# Ваша фоновая функція ПОВИННА приймати `context` як перший аргумент.
async def my_io_task(context, url):
    context.set_message("Завантаження...")
    # ... виконати асинхронне завантаження ...
    await asyncio.sleep(2) # Симуляція роботи
    context.set_progress(1.0)
    context.set_message("Завантаження завершено!")

# --- "Запуск CPU-зв'язаного завдання" ---------------------------------------------------
import time
from qbackground.tasker import task_mgr

# Звичайна функція, не async.
def my_cpu_task(context, iterations):
    context.set_total(iterations)
    context.set_message("Обчислення...")
    for i in range(iterations):
        # ... виконати важкі обчислення ...
        time.sleep(0.1) # Симуляція роботи
        context.set_progress(i + 1)
    return "Фінальний результат"

# --- "Запуск потокового завдання" -------------------------------------------------------
import time
from qbackground.tasker import task_mgr

# Звичайна функція, яка виконуватиметься в потоці
def my_thread_task(context, duration):
    context.set_message("Робота в потоці...")
    time.sleep(duration) # Симуляція роботи
    context.set_progress(1.0)
    return "Потокове завдання завершено"

# --- "Оновлення UI" ---------------------------------------------------------------------
def setup_ui(progress_bar, status_label):
    # Цей обробник оновлює UI на основі загального прогресу
    def on_tasks_updated(sender, tasks, progress):
        progress_bar.set_fraction(progress)
        if tasks:
            status_label.set_text(tasks[-1].get_message() or "Працює...")
        else:
            status_label.set_text("Очікування")

    task_mgr.tasks_updated.connect(on_tasks_updated)

# --- "Скасування": the seed's check, inside a background function ------------------------
# (It reports no progress: after a cancel, reporting raises TaskInterruptedError, which
# would end the function before its own check; see docs/tasker.md.)
def my_cancellable_task(context, iterations):
    for i in range(iterations):
        # У вашій фоновій функції:
        if context.is_cancelled():
            print("Завдання скасовано, зупиняю роботу.")
            return
        time.sleep(0.05)

# --- "Обробка завершення" ---------------------------------------------------------------
def on_task_finished(task):
    if task.get_status() == 'completed':
        print(f"Завдання завершено з результатом: {task.result()}")
    elif task.get_status() == 'failed':
        print(f"Завдання не вдалося: {task._task_exception}")
