"""The verb that prepares a store: ``init-db``.

SQL stores need their tables created once; other stores need nothing, and
the command says so rather than failing.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from maintguard.control.cli.errors import EXIT_OK
from maintguard.control.cli.session import _session


def _init_db(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    session = _session(args)
    store = session.service.store
    try:
        create_schema = getattr(store, "create_schema", None)
        if create_schema is None:
            print(f"the {store.name} store needs no schema: nothing to do", file=out)
            return EXIT_OK
        create_schema()
        print(f"schema ready ({session.label})", file=out)
    finally:
        session.service.close()
    return EXIT_OK
