"""``python -m maintguard``: the ``maintguard`` command."""

from __future__ import annotations

from maintguard.control.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
