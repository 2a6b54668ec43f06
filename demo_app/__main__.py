"""``python -m demo_app``: open the demo window (or run its smoke test, see ``--help``)."""

from .app import main

# Keep the guard: the process backend spawns its worker processes, and spawn may import
# the main module again in each of them (as ``__mp_main__``); only a real run starts the demo.
if __name__ == "__main__":
    raise SystemExit(main())
