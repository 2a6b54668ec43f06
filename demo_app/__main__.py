"""``python -m demo_app``: open the demo window (or run its smoke test, see ``--help``)."""

import sys

from .binding import select_binding

# --binding must take effect before anything imports Qt: it sets QT_API, then qbackground
# (imported before qtpy) decides the binding: QT_API, else PySide6 when both are installed.
select_binding(sys.argv[1:])
try:
    import qbackground.qt  # noqa: F401
except ImportError as exc:  # QT_API names a binding that is not installed (or not supported)
    raise SystemExit(f"python -m demo_app: {exc}") from None

from .app import main  # noqa: E402

# Keep the guard: the process backend spawns its worker processes, and spawn may import
# the main module again in each of them (as ``__mp_main__``); only a real run starts the demo.
if __name__ == "__main__":
    raise SystemExit(main())
