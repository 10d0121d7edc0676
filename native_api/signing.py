"""CloudStack request signatures (HMAC-SHA1 over a canonical query string).

CloudStack's server re-encodes the *decoded* parameters the way Java's URLEncoder
does, sorts them, lower-cases the lot and HMACs it.  Real clients get details of
that recipe wrong (shared spec: native-clients.md section 2), so `verify` also accepts
the handful of variants they are known to produce.  None of the variants can be
produced without the secret, and since ``%`` itself is always escaped, a value that
really contains ``%7E`` canonicalises to ``%257e`` and never collides with ``~``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import string
from datetime import datetime, timedelta, timezone
from typing import Iterator, Mapping

__all__ = ["canonical_string", "sign", "verify", "check_expiry", "plain_names"]

# Names go into the canonical string as they are (CloudStack does not escape them), so a
# name holding "=" or "&" could reshape what was signed; only these names are ever signed.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9._\[\]]+")

# Java URLEncoder leaves exactly these as they are; notably `~` is escaped.
_JAVA_UNRESERVED = frozenset(string.ascii_letters + string.digits + ".-*_")

# (lowercase_sort, bare_chars, escaped_chars), strict form first.
_VARIANTS = (
    (False, "", ""),     # CloudStack itself
    (True, "", ""),      # CloudMonkey 5: names sorted lower-cased
    (False, "~", ""),    # cs; current Go cmk (it turns %2A back into *)
    (False, "~[]", ""),  # the two single deviations below are in the accepted
    (False, "", "*"),    # list on their own; no known client sends exactly these
    (True, "~[]", ""),   # libcloud: lower-cased sort, quote(safe="[]*")
    (False, "~", "*"),   # Go cmk: url.QueryEscape leaves ~ and escapes *
)


def _encode(value: str, bare: str, escaped: str) -> str:
    out = []
    for ch in value:
        if ch in bare or (ch in _JAVA_UNRESERVED and ch not in escaped):
            out.append(ch)
        else:
            # errors="replace" turns a lone surrogate into "?", as Java's getBytes does.
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "replace"))
    return "".join(out)


def canonical_string(params: Mapping[str, str], *, lowercase_sort: bool = False,
                     bare_chars: str = "", escaped_chars: str = "") -> bytes:
    """The bytes CloudStack HMACs.  ``bare_chars`` are left raw although Java escapes
    them; ``escaped_chars`` are %XX-escaped although Java leaves them raw."""
    names = [n for n in params if n.lower() != "signature"]
    # Python's str order equals Java's UTF-16 order except for names holding
    # characters above U+FFFF, which no API parameter does.
    names.sort(key=str.lower if lowercase_sort else None)
    joined = "&".join(f"{n}={_encode(params[n], bare_chars, escaped_chars)}" for n in names)
    return joined.lower().encode("utf-8", "replace")


def _hmac(canonical: bytes, secret: str) -> bytes:
    digest = hmac.new(secret.encode("utf-8"), canonical, hashlib.sha1).digest()
    return base64.b64encode(digest)


def sign(params: Mapping[str, str], secret: str) -> str:
    """The signature a faithful client sends (strict Java form)."""
    return _hmac(canonical_string(params), secret).decode("ascii")


def _candidates(params: Mapping[str, str]) -> Iterator[bytes]:
    seen = set()
    for lowercase_sort, bare, escaped in _VARIANTS:
        canonical = canonical_string(params, lowercase_sort=lowercase_sort,
                                     bare_chars=bare, escaped_chars=escaped)
        if canonical not in seen:
            seen.add(canonical)
            yield canonical


def plain_names(params: Mapping[str, str]) -> bool:
    """True if every name is a plain parameter name (letters, digits, ``.``, ``_``, ``[``, ``]``)."""
    return all(_PLAIN_NAME.fullmatch(name) for name in params)


def verify(params: Mapping[str, str], secret: str, signature: str) -> bool:
    """True if ``signature`` matches the strict form or a known client variant (and every name is plain:
    see :func:`plain_names`)."""
    if not plain_names(params):
        return False
    given = signature.encode("utf-8", "replace")
    return any(hmac.compare_digest(_hmac(c, secret), given) for c in _candidates(params))


_EXPIRES_RE = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|([+-])(\d\d):?(\d\d))",
    re.ASCII)


def _parse_expires(text: str) -> datetime | None:
    # Hand-parsed: datetime.fromisoformat only learned "Z" and "+0000" in 3.11.
    m = _EXPIRES_RE.fullmatch(text.strip())
    if not m:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    if m.group(8) != "Z":
        offset = timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
        tz = timezone(-offset if m.group(9) == "-" else offset)
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError:
        return None


def check_expiry(params: Mapping[str, str], now: datetime | None = None) -> str | None:
    """None if the request may proceed, else why it is refused (-> 401)."""
    versions = [v for n, v in params.items() if n.lower() == "signatureversion"]
    # CloudStack enables the expiry check only when the value is exactly "3"; any
    # other value (or none: libcloud and older Go cmk never send it) means no check.
    if "3" not in versions:
        return None
    expires = [v for n, v in params.items() if n.lower() == "expires"]
    if not expires:
        return "signatureVersion 3 without expires"
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    for text in expires:  # several spellings: every one must hold
        when = _parse_expires(text)
        if when is None:
            return f"unparseable expires {text!r}"
        if when < now:
            return "request expired"
    return None
