"""Login sessions (the native API's login/logout): a session key plus a separate cookie token."""
from __future__ import annotations

import datetime as dt
import secrets

from backends.context import Caller
from backends.core.config import ConfigManager
from backends.core.events import EventManager
from backends.db import write_tx
from backends.identity.authentication import active_users, caller_for
from backends.identity.passwords import same_secret
from backends.models import LoginSession, User, utcnow

# Slide a session's expiry at most this often: a write per request would serialise SQLite.
SESSION_SLIDE_STEP = dt.timedelta(seconds=60)


class SessionManager:
    def __init__(self, config: ConfigManager, events: EventManager):
        self.config = config
        self.events = events

    def create_session(self, caller: Caller) -> LoginSession:
        """A login session: a 27-character session key plus a separate cookie token."""
        now = utcnow()
        with write_tx():
            LoginSession.delete().where(LoginSession.expires < now).execute()
            session = LoginSession.create(session_key=secrets.token_urlsafe(20), cookie=secrets.token_urlsafe(32),
                                          user=caller.user_id, created=now, expires=now + self._session_length())
            self.events.record(caller, "USER.LOGIN", f"User {caller.username} logged in", resource_type="User",
                               resource_uuid=caller.user_uuid)
        return session

    def session_caller(self, session_key: str, cookie: str) -> Caller | None:
        """The caller of a live session whose key and cookie both match; extends its expiry."""
        session = _session(session_key, cookie)
        if session is None:
            return None
        now = utcnow()
        user = active_users().where(User.id == session.user_id).first()
        if session.expires <= now or user is None:
            with write_tx():
                LoginSession.delete().where(LoginSession.id == session.id).execute()
            return None
        expires = now + self._session_length()
        if expires - session.expires >= SESSION_SLIDE_STEP:
            with write_tx():
                LoginSession.update(expires=expires).where(LoginSession.id == session.id).execute()
        return caller_for(user)

    def end_session(self, session_key: str, cookie: str) -> bool:
        """logout: forget the session; False when no such session."""
        session = _session(session_key, cookie)
        if session is None:
            return False
        with write_tx():
            return LoginSession.delete().where(LoginSession.id == session.id).execute() > 0

    def _session_length(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.config.get_int("session.timeout"))


def _session(session_key: str, cookie: str) -> LoginSession | None:
    if not session_key or not cookie:
        return None
    session = LoginSession.get_or_none(LoginSession.session_key == session_key)
    if session is None or not (same_secret(session.session_key, session_key) and same_secret(session.cookie, cookie)):
        return None
    return session
