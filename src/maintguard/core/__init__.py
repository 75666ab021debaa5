"""The request path: classify, judge and answer a request, with no I/O.

Nothing here opens a socket, a file or a thread: adapters hand in a
``RequestInfo`` and the current state, the core hands back a ``Decision``
and, for a blocked request, the 503 to send.
"""
