"""SigV4 checks AWS makes before the signature's value: scope, signed headers, expiry window.

Requests are signed by botocore's own signers, then one thing is changed.
"""
from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug.datastructures import Headers  # case-insensitive, as the server's request headers

from ec2bridge import auth
from ec2bridge.errors import Ec2Error

URL = "http://127.0.0.1:8080/"
BODY = b"Action=DescribeRegions&Version=2016-11-15"


def _header_signed(service="ec2", region="us-east-1", body=BODY):
    request = AWSRequest(method="POST", url=URL, data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials("AKID", "s3cret"), service, region).add_auth(request)
    headers = Headers(request.headers.items())
    headers["Host"] = "127.0.0.1:8080"
    return headers


def _presigned(expires=300, query="Action=DescribeRegions&Version=2016-11-15"):
    request = AWSRequest(method="GET", url=f"{URL}?{query}")
    SigV4QueryAuth(Credentials("AKID", "s3cret"), "ec2", "us-east-1", expires=expires).add_auth(request)
    return parse_qsl(urlsplit(request.url).query, keep_blank_values=True)


def _error(fn, *args, **kwargs) -> tuple[str, int, str]:
    with pytest.raises(Ec2Error) as info:
        fn(*args, **kwargs)
    return info.value.code, info.value.status, info.value.message


def test_scope_must_name_ec2_or_sts_for_get_caller_identity():
    ec2 = auth.parse("POST", _header_signed(), [])
    auth.check_scope(ec2, _header_signed(), action="DescribeRegions")
    sts = auth.parse("POST", _header_signed(service="sts"), [])
    auth.check_scope(sts, _header_signed(service="sts"), action="GetCallerIdentity")
    auth.check_scope(ec2, _header_signed(), action="GetCallerIdentity")  # awscli signs it for ec2 here
    code, status, message = _error(auth.check_scope, sts, _header_signed(service="sts"), action="DescribeRegions")
    assert (code, status) == ("AuthFailure", 401) and "'ec2'" in message
    s3 = auth.parse("POST", _header_signed(service="s3"), [])
    assert _error(auth.check_scope, s3, _header_signed(service="s3"), action="GetCallerIdentity")[0] == "AuthFailure"


def test_host_must_be_signed():
    headers = _header_signed()
    headers["Authorization"] = headers["Authorization"].replace("SignedHeaders=content-type;host;x-amz-date",
                                                                "SignedHeaders=content-type;x-amz-date")
    req = auth.parse("POST", headers, [])
    code, status, message = _error(auth.check_scope, req, headers, action="DescribeRegions")
    assert (code, status) == ("IncompleteSignature", 400) and "'Host'" in message
    query = [(k, "x-amz-date" if k == "X-Amz-SignedHeaders" else v) for k, v in _presigned()]
    req = auth.parse("GET", Headers({"Host": "127.0.0.1:8080"}), query)
    assert _error(auth.check_scope, req, Headers(), action="DescribeRegions")[0] == "IncompleteSignature"


def test_header_auth_needs_a_signed_date():
    headers = _header_signed()
    del headers["X-Amz-Date"]
    code, status, message = _error(auth.parse, "POST", headers, [])
    assert (code, status) == ("IncompleteSignature", 400) and "'X-Amz-Date' or a 'Date'" in message
    headers = _header_signed()
    headers["Authorization"] = headers["Authorization"].replace(";x-amz-date", "")
    req = auth.parse("POST", headers, [])
    assert _error(auth.check_scope, req, headers, action="DescribeRegions")[0] == "IncompleteSignature"


def test_an_http_date_header_stands_for_x_amz_date():
    when = dt.datetime(2026, 12, 1, 16, 30, 5, tzinfo=dt.timezone.utc)
    headers = Headers({"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20261201/us-east-1/ec2/aws4_request, "
                                         "SignedHeaders=date;host, Signature=00",
                        "Date": "Tue, 01 Dec 2026 16:30:05 GMT", "Host": "h"})
    req = auth.parse("POST", headers, [])
    assert req.amz_date == "20261201T163005Z"
    auth.check_scope(req, headers, action="DescribeRegions")
    auth.check_time(req, now=when + dt.timedelta(minutes=15))
    assert _error(auth.check_time, req, now=when + dt.timedelta(minutes=15, seconds=1))[0] == "RequestExpired"


@pytest.mark.parametrize("expires, message", [("604801", "less than a week"), ("-1", "non-negative"),
                                              ("3e2", "number"), ("99999999999999999999", "less than a week")])
def test_x_amz_expires_within_a_week(expires, message):
    query = [(k, expires if k == "X-Amz-Expires" else v) for k, v in _presigned()]
    code, status, text = _error(auth.parse, "GET", Headers(), query)
    assert (code, status) == ("AuthFailure", 401) and message in text


def test_x_amz_expires_is_required_in_a_presigned_url():
    query = [(k, v) for k, v in _presigned() if k != "X-Amz-Expires"]
    assert _error(auth.parse, "GET", Headers(), query)[:2] == ("AuthFailure", 401)


def test_x_amz_algorithm_must_be_sigv4():
    for query in ([(k, v) for k, v in _presigned() if k != "X-Amz-Algorithm"],
                  [(k, "AWS4-HMAC-SHA1" if k == "X-Amz-Algorithm" else v) for k, v in _presigned()]):
        assert _error(auth.parse, "GET", Headers(), query)[:2] == ("IncompleteSignature", 400)


def test_a_week_is_accepted():
    assert auth.parse("GET", Headers(), _presigned(expires=604800)).expires == 604800


def test_presigned_window_is_honoured_to_the_second():
    req = auth.parse("GET", Headers(), _presigned(expires=300))
    signed_at = dt.datetime.strptime(req.amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
    auth.check_time(req, now=signed_at)
    auth.check_time(req, now=signed_at + dt.timedelta(seconds=300))
    code, status, _ = _error(auth.check_time, req, now=signed_at + dt.timedelta(seconds=301))
    assert (code, status) == ("RequestExpired", 400)
    # Dated in the future beyond the clock skew AWS tolerates: not yet valid.
    code, _, message = _error(auth.check_time, req, now=signed_at - dt.timedelta(minutes=15, seconds=1))
    assert code == "RequestExpired" and "not yet valid" in message
    auth.check_time(req, now=signed_at - dt.timedelta(minutes=15))


def test_header_auth_skew_both_ways():
    headers = _header_signed()
    req = auth.parse("POST", headers, [])
    signed_at = dt.datetime.strptime(req.amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
    for skew in (dt.timedelta(minutes=15), -dt.timedelta(minutes=15)):
        auth.check_time(req, now=signed_at + skew)
    for skew in (dt.timedelta(minutes=15, seconds=1), -dt.timedelta(minutes=15, seconds=1)):
        assert _error(auth.check_time, req, now=signed_at + skew)[0] == "RequestExpired"
