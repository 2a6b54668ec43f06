"""Benchmark suite: qbackground vs superqt's thread_worker vs a raw QThreadPool baseline.

Run with ``make bench`` (or ``python -m benchmarks``); see ``benchmarks/README.md``.
One module per scenario (``flood``, ``roundtrip``, ``publish_cost``,
``cancel_latency``, ``timeout_delivery``, ``process_backend``, ``asyncio_backend``),
each exposing ``NAME`` and ``run(settings)`` returning its ``Table`` (a list of tables
for ``process_backend``); ``_harness`` holds the Qt plumbing and ``_report`` the
statistics and Markdown rendering.
"""
