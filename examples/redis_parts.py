"""What the demos use when ``DEMO_REDIS_URL`` names a Redis server.

- server-side Flask sessions: the cookie carries only a random id, the
  session is a JSON document under ``session:<id>`` (so maintguard's
  ``RedisSessionInvalidator`` ends non-admin sessions when maintenance
  starts: it keeps documents with ``"role": "admin"``);
- an RQ queue for the job route, and ``RQJobTerminator`` so an emergency
  stops running jobs.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

PREFIX = "session:"
LIFETIME = 7 * 86400


class RedisSession(CallbackDict[str, Any], SessionMixin):
    def __init__(self, initial: dict[str, Any] | None = None, sid: str | None = None) -> None:
        def changed(_: Any) -> None:
            self.modified = True

        super().__init__(initial or {}, changed)
        self.sid = sid or secrets.token_urlsafe(24)
        self.modified = False


class RedisSessionInterface(SessionInterface):
    """Flask sessions kept in Redis as JSON, the cookie holding the id only."""

    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=5)

    def open_session(self, app: Flask, request: Request) -> RedisSession:
        sid = request.cookies.get(self.get_cookie_name(app))
        if sid and sid.isascii() and len(sid) < 100:
            raw = self.redis.get(PREFIX + sid)
            if raw:
                try:
                    data = json.loads(raw)
                except ValueError:
                    data = None
                if isinstance(data, dict):
                    return RedisSession(data, sid)
        return RedisSession()

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, RedisSession):
            return
        name = self.get_cookie_name(app)
        if not session:
            if session.modified:
                self.redis.delete(PREFIX + session.sid)
                response.delete_cookie(name, path=self.get_cookie_path(app))
            return
        if session.modified:
            self.redis.set(PREFIX + session.sid, json.dumps(dict(session)), ex=LIFETIME)
        response.set_cookie(
            name,
            session.sid,
            max_age=LIFETIME,
            httponly=True,
            samesite="Lax",
            path=self.get_cookie_path(app),
            secure=self.get_cookie_secure(app),
        )


def generate_captions(count: int) -> int:
    """The demo's background job (an RQ worker runs it)."""
    time.sleep(min(count, 30))
    return count
