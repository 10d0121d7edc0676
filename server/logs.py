"""Access logs without secrets: session keys, signatures and passwords never reach a log line."""
from __future__ import annotations

import logging
import re

from werkzeug.serving import WSGIRequestHandler

_access = logging.getLogger("werkzeug")

_SECRET = re.compile(r"(?i)\b(sessionkey|signature|password|secretkey|secret_key)=([^&\s\"]*)")


def redact(text: str) -> str:
    return _SECRET.sub(lambda m: f"{m.group(1)}=***", text)


class RedactingRequestHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:
        if _access.isEnabledFor(logging.INFO):  # formatting and redacting every request costs otherwise
            super().log_request(code, size)

    def log(self, type: str, message: str, *args) -> None:  # noqa: A002 - werkzeug's signature
        super().log(type, redact(message % args if args else message))
