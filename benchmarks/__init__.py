"""Benchmark suite: qbackground vs superqt's thread_worker vs a raw QThreadPool baseline.

Run with ``make bench`` (or ``python -m benchmarks``); see ``benchmarks/README.md``.
One module per scenario (``flood``, ``roundtrip``, ``publish_cost``,
``cancel_latency``, ``timeout_delivery``, ``process_backend``, ``asyncio_backend``,
``big_arrays``, ``gui_stalls``, ``pause_latency``),
each exposing ``NAME`` and ``run(settings)`` returning its ``Table`` (a list of tables
for ``process_backend``); ``_harness`` holds the Qt plumbing and ``_report`` the
statistics and Markdown rendering. ``gui_stalls`` runs each measurement in a fresh
interpreter of its own (``python -m benchmarks._cold_probe``).

``python -m benchmarks`` imports no Qt binding itself: it runs the scenarios once per
binding, each in its own child interpreter (``python -m benchmarks._one_binding`` with
``QT_API`` set; one process holds one binding), and merges what the children report
into one document with each binding's columns side by side.
"""

SCENARIOS: tuple[str, ...] = (
    "flood",
    "roundtrip",
    "publish",
    "cancel",
    "timeout",
    "process",
    "asyncio",
    "arrays",
    "stalls",
    "pause",
)
"""The scenario names (``--scenario``), in run order; importing this package imports no Qt."""
