"""Plain functions and a coroutine for the demo's ``task_mgr`` page (Rayforge's tasker API).

``task_mgr.run_process()`` pickles the function by reference, so these live at module level
in an importable module: the worker processes import it. Each takes the task's
``ExecutionContext`` first, as every tasker function does.

Example::

    from qbackground.tasker import task_mgr

    task_mgr.run_thread(count_words, 20, key="words")
    task_mgr.run_process(crunch_primes, 300_000, key="primes")
    task_mgr.add_coroutine(fetch_pages, 10, key="fetch")
"""

from __future__ import annotations

import asyncio
import time
from math import isqrt

from qbackground import ExecutionContext

__all__ = ["WORDS_PER_FILE", "count_words", "crunch_primes", "fetch_pages", "hand_over_frame"]

WORDS_PER_FILE = 250
"""How many words :func:`count_words` "finds" in each file."""


def count_words(context: ExecutionContext[object], files: int, *, step_seconds: float = 0.03) -> int:
    """Thread: "counts the words" of ``files`` files, one every ``step_seconds``.

    Sends a ``"file"`` event per file (its name), then reports progress and a message.
    Returns the number of words.

    Example::

        task_mgr.run_thread(count_words, 20, step_seconds=0.03, key="words")
    """
    context.set_total(files)
    words = 0
    for number in range(1, files + 1):
        time.sleep(step_seconds)  # reading a file; set_progress() below raises once cancelled
        words += WORDS_PER_FILE
        context.send_event("file", f"chapter-{number:02d}.txt")
        context.set_message(f"chapter-{number:02d}.txt · {words:,} words")
        context.set_progress(number)
    return words


def crunch_primes(context: ExecutionContext[object], limit: int, *, chunks: int = 20) -> int | None:
    """Process: counts the primes below ``limit`` by trial division, in ``chunks`` chunks.

    Checks ``context.is_cancelled()`` between chunks and returns None when cancelled (a
    cooperative stop: the worker process is kept). Sends a ``"chunk"`` event
    ``(chunk, primes so far)`` after each chunk.

    Example::

        task_mgr.run_process(crunch_primes, 300_000, key="primes")
    """
    context.set_total(chunks)
    found = 1 if limit > 2 else 0  # 2
    odd = range(3, limit, 2)
    size = max(1, -(-len(odd) // chunks))
    for chunk in range(chunks):
        if context.is_cancelled():
            return None
        for n in odd[chunk * size : (chunk + 1) * size]:
            if all(n % divisor for divisor in range(3, isqrt(n) + 1, 2)):
                found += 1
        context.send_event("chunk", (chunk + 1, found))
        context.set_message(f"chunk {chunk + 1}/{chunks}: {found:,} primes")
        context.set_progress(chunk + 1)
    return found


async def fetch_pages(context: ExecutionContext[object], pages: int, *, delay: float = 0.05) -> list[str]:
    """Coroutine: "downloads" ``pages`` pages, awaiting ``delay`` seconds for each.

    Sends a ``"page"`` event per page (its URL). Returns the URLs fetched.

    Example::

        task_mgr.add_coroutine(fetch_pages, 10, key="fetch")
    """
    context.set_total(pages)
    fetched: list[str] = []
    for number in range(1, pages + 1):
        await asyncio.sleep(delay)  # cancel() raises CancelledError here
        url = f"https://example.org/page/{number}"
        fetched.append(url)
        context.send_event("page", url)
        context.set_message(f"fetched page {number}/{pages}")
        context.set_progress(number)
    return fetched


def hand_over_frame(context: ExecutionContext[object], size: int) -> bool:
    """Hands a "frame" to the GUI and waits until ``when_event`` took it (Rayforge's
    ``send_event_and_wait``, used before releasing a shared-memory block)."""
    context.set_message("handing over a frame")
    return bool(context.send_event_and_wait("frame", {"bytes": size}, timeout=10))  # type: ignore[attr-defined]
