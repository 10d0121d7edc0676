"""Access logs without secrets: session keys, signatures and passwords never reach a log line."""
from __future__ import annotations

import logging
import re
import sys

from gunicorn.glogging import Logger as GunicornLogger
from werkzeug.serving import WSGIRequestHandler

_access = logging.getLogger("werkzeug")

_SECRET = re.compile(r"(?i)\b(sessionkey|signature|password|secretkey|secret_key)=([^&\s\"]*)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def redact(text: str) -> str:
    return _SECRET.sub(lambda m: f"{m.group(1)}=***", text)


class RedactingGunicornLogger(GunicornLogger):
    """gunicorn's access log with the request line, query and referer redacted."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "q", "f"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms


class RedactingRequestHandler(WSGIRequestHandler):
    """The development server's access log, redacted, coloured only on a terminal."""

    def log_request(self, code="-", size="-") -> None:
        if _access.isEnabledFor(logging.INFO):  # formatting and redacting every request costs otherwise
            super().log_request(code, size)

    def log(self, type: str, message: str, *args) -> None:  # noqa: A002 - werkzeug's signature
        line = redact(message % args if args else message)
        if not _on_terminal():
            line = _ANSI.sub("", line)
        super().log(type, line)


def _on_terminal() -> bool:
    return bool(getattr(sys.stderr, "isatty", None) and sys.stderr.isatty())
