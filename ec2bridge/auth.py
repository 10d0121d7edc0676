"""SigV4 verification of EC2 requests, from the request exactly as received.

The canonical request is rebuilt from the client's own SignedHeaders, the raw
body bytes and the Host header as sent, so whatever botocore, awscli or
another SDK signed is what gets checked. Header form (Authorization) and
query form (presigned URLs) are both accepted.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import quote

from ec2bridge.errors import Ec2Error

SKEW = dt.timedelta(minutes=15)
MAX_EXPIRES = 604800  # SigV4 presigned URLs live at most a week
_AUTH = re.compile(r"AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]+)")
AUTH_FAILED = "AWS was not able to validate the provided access credentials"


@dataclass
class SignedRequest:
    """What the client claims: its key, scope and signature, and what it signed."""

    access_key: str
    date: str  # yyyymmdd
    region: str
    service: str
    signed_headers: list[str]
    signature: str
    amz_date: str
    expires: int | None = None  # presigned URLs


def parse(method: str, headers, query: list[tuple[str, str]]) -> SignedRequest:
    """Read the credential scope from the Authorization header or the presigned query."""
    header = headers.get("Authorization", "")
    if header:
        match = _AUTH.match(header)
        if not match:
            raise Ec2Error("IncompleteSignature", "Authorization header is not a valid AWS4-HMAC-SHA256 signature")
        credential, signed, signature = match.groups()
        amz_date = _header_date(headers)
        expires = None
    else:
        values = dict(query)
        if "X-Amz-Signature" not in values:
            raise Ec2Error("MissingParameter", "The request must contain the parameter AWSAccessKeyId")
        if values.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
            raise Ec2Error("IncompleteSignature", "X-Amz-Algorithm must be AWS4-HMAC-SHA256")
        credential, signed = values.get("X-Amz-Credential", ""), values.get("X-Amz-SignedHeaders", "")
        signature, amz_date = values["X-Amz-Signature"], values.get("X-Amz-Date", "")
        expires = _expires(values.get("X-Amz-Expires"))
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not amz_date.startswith(parts[1]):
        raise Ec2Error("IncompleteSignature", "The credential scope of the signature is malformed")
    return SignedRequest(access_key=parts[0], date=parts[1], region=parts[2], service=parts[3],
                         signed_headers=signed.split(";"), signature=signature, amz_date=amz_date,
                         expires=expires)


def _header_date(headers) -> str:
    """X-Amz-Date, else a Date header (ISO 8601 basic or an HTTP date), as yyyymmddTHHMMSSZ."""
    amz_date = headers.get("X-Amz-Date")
    if amz_date:
        return amz_date
    date = headers.get("Date")
    if not date:
        raise Ec2Error("IncompleteSignature", "Authorization header requires existence of either a 'X-Amz-Date' "
                                              "or a 'Date' header.")
    try:
        return email.utils.parsedate_to_datetime(date).astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    except (TypeError, ValueError, IndexError):
        return date  # an ISO 8601 basic date, or check_time reports it malformed


def _expires(text: str | None) -> int:
    if text is None:
        raise Ec2Error("AuthFailure", "X-Amz-Expires is required in a presigned request")
    if not re.fullmatch(r"-?\d{1,40}", text.strip()):
        raise Ec2Error("AuthFailure", "X-Amz-Expires should be a number")
    seconds = int(text)
    if seconds < 0:
        raise Ec2Error("AuthFailure", "X-Amz-Expires must be non-negative")
    if seconds > MAX_EXPIRES:
        raise Ec2Error("AuthFailure", f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_EXPIRES}")
    return seconds


def check_scope(req: SignedRequest, headers, *, action: str | None) -> None:
    """What AWS checks of a signature before its value: the service it is scoped to, and that the
    host (and, for header auth, the date) are signed."""
    service = "sts" if action == "GetCallerIdentity" and req.service == "sts" else "ec2"
    if req.service != service:
        raise Ec2Error("AuthFailure", f"Credential should be scoped to correct service: '{service}'.")
    signed = {name.lower() for name in req.signed_headers}
    if "host" not in signed:
        raise Ec2Error("IncompleteSignature", "'Host' must be a 'SignedHeader' in the AWS Authorization.")
    if req.expires is None:
        date_header = "x-amz-date" if headers.get("X-Amz-Date") else "date"
        if date_header not in signed:
            raise Ec2Error("IncompleteSignature", f"'{date_header.title()}' must be a 'SignedHeader' in the AWS "
                                                  "Authorization.")


def check_time(req: SignedRequest, now: dt.datetime | None = None) -> None:
    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        when = dt.datetime.strptime(req.amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise Ec2Error("IncompleteSignature", "X-Amz-Date is not in the form yyyyMMddTHHmmssZ") from None
    if req.expires is not None:
        # Valid from its date (give or take the clock skew AWS allows) until exactly date + expires.
        if now > when + dt.timedelta(seconds=req.expires):
            raise Ec2Error("RequestExpired", "Request has expired.")
        if when - now > SKEW:
            raise Ec2Error("RequestExpired", "Request is not yet valid.")
    elif abs(now - when) > SKEW:
        raise Ec2Error("RequestExpired", "Request has expired." if when < now else "Signature not yet current.")


def verify(req: SignedRequest, secret: str, *, method: str, path: str, headers, query: list[tuple[str, str]],
           body: bytes) -> None:
    """AuthFailure unless the signature is the one ``secret`` gives for this exact request."""
    canonical_headers = ""
    for name in sorted(req.signed_headers):
        value = headers.get(name)
        if value is None:
            raise Ec2Error("IncompleteSignature", f"Signed header {name} is missing from the request")
        canonical_headers += f"{name}:{' '.join(value.split())}\n"
    presigned = req.expires is not None
    pairs = sorted((_enc(k), _enc(v)) for k, v in query if not (presigned and k == "X-Amz-Signature"))
    payload = "UNSIGNED-PAYLOAD" if presigned else hashlib.sha256(body).hexdigest()
    canonical = "\n".join([method, quote(path or "/", safe="/~"), "&".join(f"{k}={v}" for k, v in pairs),
                           canonical_headers, ";".join(sorted(req.signed_headers)),
                           payload if presigned else headers.get("X-Amz-Content-SHA256", payload)])
    scope = f"{req.date}/{req.region}/{req.service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", req.amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (req.date, req.region, req.service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, req.signature):
        if presigned and payload == "UNSIGNED-PAYLOAD":
            # botocore presigns query-string requests over the empty payload hash.
            empty = canonical.rsplit("\n", 1)[0] + "\n" + hashlib.sha256(b"").hexdigest()
            to_sign = "\n".join(["AWS4-HMAC-SHA256", req.amz_date, scope,
                                 hashlib.sha256(empty.encode()).hexdigest()])
            if hmac.compare_digest(hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), req.signature):
                return
        raise Ec2Error("AuthFailure", AUTH_FAILED)
    if "X-Amz-Content-SHA256" in headers and headers["X-Amz-Content-SHA256"] != hashlib.sha256(body).hexdigest():
        raise Ec2Error("AuthFailure", AUTH_FAILED)


def _enc(text: str) -> str:
    return quote(text, safe="-_.~")
