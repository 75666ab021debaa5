"""Adapters and framework integrations: translate a server's request into a
``RequestInfo``, ask the service, send its answer.

Each is thin and holds no policy of its own; users import them at their
public names (``maintguard.wsgi``, ``maintguard.flask``, …).
"""
