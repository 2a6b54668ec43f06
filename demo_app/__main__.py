"""``python -m demo_app``: open the demo window (or run its smoke test, see ``--help``)."""

from .app import main

raise SystemExit(main())
