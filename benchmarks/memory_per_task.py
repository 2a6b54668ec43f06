"""RSS growth per task: results taken with get_result() on the GUI thread, or delivered
by the event loop; qbackground's executors or a raw QThreadPool baseline.

Run from the checkout (docs/performance.md, "Memory per task")::

    QT_QPA_PLATFORM=offscreen .venv/bin/python -m benchmarks.memory_per_task --mode gui
    QT_QPA_PLATFORM=offscreen .venv/bin/python -m benchmarks.memory_per_task --mode loop --raw
"""
from __future__ import annotations
import argparse, ctypes, gc, os, sys, time, tracemalloc
from collections import Counter

import qbackground.qt  # noqa: F401  (before qtpy/superqt: qbackground decides the binding)
from qtpy.QtCore import QCoreApplication, QEvent, QObject, QRunnable, QThreadPool, Signal
from qtpy.QtWidgets import QApplication


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def types() -> Counter[str]:
    return Counter(type(o).__name__ for o in gc.get_objects())


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["gui", "loop"], default="gui")
    p.add_argument("--executor", default="thread")
    p.add_argument("--n", type=int, default=80_000)
    p.add_argument("--batch", type=int, default=2_000)
    p.add_argument("--warm", type=int, default=6_000)
    p.add_argument("--raw", action="store_true", help="raw QThreadPool baseline")
    p.add_argument("--trim", action="store_true", help="malloc_trim(0) before measuring")
    p.add_argument("--tracemalloc", action="store_true")
    p.add_argument("--count-wakes", action="store_true")
    p.add_argument("--send-posted", action="store_true")
    p.add_argument("--threads", type=int, default=4)
    a = p.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    libc = ctypes.CDLL("libc.so.6")

    if a.raw:
        class Sig(QObject):
            done = Signal(object)
            progress = Signal(object)
        sig = Sig()
        pool = QThreadPool()
        pool.setMaxThreadCount(a.threads)
        results: list[int] = []
        sig.done.connect(results.append)
        sig.progress.connect(lambda x: None)

        class R(QRunnable):
            def run(self) -> None:
                sig.progress.emit([1])
                sig.done.emit(1)

        def batch(count: int) -> None:
            results.clear()
            for _ in range(count):
                pool.start(R())
            if a.mode == "gui":
                pool.waitForDone()
                app.processEvents()  # deliver queued signals (no get_result in raw Qt)
            while len(results) < count:
                app.processEvents()
        def shutdown() -> object:
            return pool.waitForDone()
    else:
        from qbackground import BackgroundWorker
        sys.path.insert(0, os.path.dirname(__file__))
        from benchmarks.memory_tasks import A, T
        worker = BackgroundWorker(threads=a.threads, strict=False, processes=2)
        cls = A if a.executor == "asyncio" else T
        ex = None if a.executor == "thread" else a.executor
        if a.count_wakes:
            from qbackground import _dispatcher as d
            orig = d.Dispatcher._wake
            stats: Counter[str] = Counter()
            def wake(self):  # type: ignore[no-untyped-def]
                stats["posted"] += 1
                orig(self)
            d.Dispatcher._wake = wake  # type: ignore[method-assign]
            orig_event = d._Receiver.event
            def event(self, e):  # type: ignore[no-untyped-def]
                if e.type() == d._WAKE:
                    stats["delivered"] += 1
                return orig_event(self, e)
            d._Receiver.event = event  # type: ignore[method-assign]

        def batch(count: int) -> None:
            hs = [worker.handle(cls(), executor=ex) for _ in range(count)]
            for h in hs:
                h.execute()
            if a.mode == "gui":
                for h in hs:
                    h.get_result(30)
            else:
                while not all(h.is_done() for h in hs) or worker.active_handlers():
                    app.processEvents()
            if a.send_posted:
                app.sendPostedEvents()
        def shutdown() -> object:
            return worker.shutdown(timeout=10)

    done = 0
    while done < a.warm:
        batch(a.batch); done += a.batch
    gc.collect()
    if a.trim:
        libc.malloc_trim(0)
    if a.tracemalloc:
        tracemalloc.start()
        snap0 = tracemalloc.take_snapshot()
    t0 = types()
    r0 = rss()
    start = time.monotonic()
    done = 0
    while done < a.n:
        batch(a.batch); done += a.batch
    el = time.monotonic() - start
    gc.collect()
    r1 = rss()
    if a.trim:
        libc.malloc_trim(0)
    r2 = rss()
    t1 = types()
    grown = {k: t1[k] - t0[k] for k in t1 if t1[k] - t0[k] > 50}
    extra = ""
    if a.tracemalloc:
        snap1 = tracemalloc.take_snapshot()
        diff = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
        extra += f" tracemalloc {diff/2**20:+.2f} MiB"
    if a.count_wakes and not a.raw:
        before = dict(stats)
        app.sendPostedEvents(); app.processEvents()
        extra += f" wakes {before} after-send {dict(stats)}"
    label = "raw" if a.raw else a.executor
    print(f"{label:8} mode={a.mode:4} n={a.n} {a.n/el:.0f}/s RSS {r0/2**20:.1f} -> {r1/2**20:.1f} MiB "
          f"growth {(r1-r0)/2**20:+.1f} MiB ({(r1-r0)/a.n:+.0f} B/task) after-trim {(r2-r0)/2**20:+.1f} MiB "
          f"types>50 {grown}{extra} MALLOC_ARENA_MAX={os.environ.get('MALLOC_ARENA_MAX','-')}", flush=True)
    shutdown()


if __name__ == "__main__":
    main()
