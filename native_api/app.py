"""The ``/client/api`` endpoint: authenticate, dispatch, answer in the envelope.

Thin on purpose: parse the request, find who calls (API key + signature, or a
login session), check the role may run the command, then hand over to the
dispatcher. Every failure becomes CloudStack's error envelope, never a 500.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, request

from native_api import commands  # noqa: F401  (registers every command)
from native_api import dispatch, envelope, errors, signing
from native_api.params import get_ci, merge, normalise
from native_api.registry import REGISTRY, Call

log = logging.getLogger(__name__)

AUTHENTICATORS = ("login", "logout")
# Error texts echo what the client sent; the header copy stays one short printable line.
DESCRIPTION_LIMIT = 1024


def blueprint(cloud) -> Blueprint:
    bp = Blueprint("native_api", __name__)

    @bp.route("/client/api", methods=["GET", "POST"], strict_slashes=False)
    def api():
        raw = merge(request.args.items(multi=True), request.form.items(multi=True))
        fmt = "json" if raw.get("response") == "json" else "xml"
        name = raw.get("command")
        cmd = REGISTRY.get(name) if name else None
        key = cmd.response_key if cmd else envelope.response_key(name)
        try:
            if name is None:
                raise errors.ApiError(400, "no command specified", None, generic_key=True)
            if name.lower() in AUTHENTICATORS and cmd is None:
                cmd = REGISTRY[name.lower()]
                key = cmd.response_key
            if cmd is not None and cmd.name in AUTHENTICATORS:
                return _session_command(cloud, cmd, raw, fmt)
            caller = _authenticate(cloud, raw, known=cmd is not None)
            if cmd is None:
                raise errors.ApiError(432, f"The given command '{name}' either does not exist, is not available "
                                           "for user.", 9999, generic_key=True)
            if caller.role_type not in cmd.roles:
                raise errors.ApiError(432, f"The API [{cmd.name}] does not exist or is not available for the "
                                           f"account for user id [{caller.user_uuid}].", 4555, generic_key=True)
            params = dispatch.validate(cmd, normalise(raw), cloud, caller)
            body = dispatch.execute(cmd, Call(cmd, caller, params, cloud))
            return _answer(key, body, fmt)
        except errors.ApiError as exc:
            return _error(exc, envelope.GENERIC_KEY if exc.generic_key else key, fmt)
        except Exception:  # a bug: answer in the envelope, keep details in the log
            log.exception("command %s failed", name)
            return _error(errors.ApiError(530, errors.INTERNAL, 4250), key, fmt)

    return bp


def _authenticate(cloud, raw: dict, *, known: bool):
    api_key = get_ci(raw, "apiKey")
    if api_key is not None:
        if not signing.plain_names(raw):
            # A name such as "expires=…&signatureVersion" would sign as other parameters than it is.
            raise errors.ApiError(401, errors.AUTH_FAILED, None)
        found = cloud.accounts.authenticate_key(api_key)
        signature = get_ci(raw, "signature") or ""
        if found is None:
            raise errors.ApiError(401, errors.AUTH_FAILED, None)
        caller, secret = found
        if not signing.verify(raw, secret, signature):
            raise errors.ApiError(401, errors.AUTH_FAILED, None)
        if signing.check_expiry(raw) is not None:
            raise errors.ApiError(401, errors.AUTH_FAILED, None)
        return caller
    session_key = raw.get("sessionkey")
    cookie = request.cookies.get("sessionkey") or request.cookies.get("JSESSIONID")
    if session_key and cookie:
        caller = cloud.accounts.session_caller(session_key, request.cookies.get("JSESSIONID", ""))
        if caller is not None:
            return caller
    raise errors.ApiError(401, "unable to verify user credentials", None)


def _session_command(cloud, cmd, raw: dict, fmt: str) -> Response:
    """login / logout: username-password sessions with a cookie and a session key."""
    from native_api.commands import sessions

    if cmd.name == "login":
        if request.method != "POST":
            raise errors.ApiError(405, "Please use HTTP POST to authenticate using this API", None)
        body, session = sessions.login(cloud, normalise(raw))
        response = _answer(cmd.response_key, body, fmt)
        response.set_cookie("JSESSIONID", session.cookie, path="/client", httponly=True, samesite="Lax")
        response.set_cookie("sessionkey", session.session_key, path="/client", httponly=True, samesite="Lax")
        return response
    ended = cloud.accounts.end_session(raw.get("sessionkey", ""), request.cookies.get("JSESSIONID", ""))
    if not ended:
        raise errors.ApiError(431, "Session not found for the logout process.")
    response = _answer(cmd.response_key, {"description": "success"}, fmt)
    response.delete_cookie("JSESSIONID", path="/client")
    response.delete_cookie("sessionkey", path="/client")
    return response


def _answer(key: str, body: dict, fmt: str, status: int = 200) -> Response:
    text, content_type = envelope.render(key, body, fmt)
    return Response(text, status=status, content_type=content_type)


def _error(exc: errors.ApiError, key: str, fmt: str) -> Response:
    response = _answer(key, envelope.error_body(exc.code, exc.text, exc.cserrorcode), fmt, exc.code)
    # cloudmonkey prints this header as the error message.
    response.headers["X-Description"] = _header_text(exc.text)
    return response


def _header_text(text: str) -> str:
    """``text`` as a header value: printable ASCII only, at most DESCRIPTION_LIMIT characters."""
    printable = "".join(ch if " " <= ch <= "~" else "?" for ch in text)
    if len(printable) <= DESCRIPTION_LIMIT:
        return printable
    return printable[:DESCRIPTION_LIMIT - 3] + "..."
