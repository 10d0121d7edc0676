"""Signature checks against what real CloudStack clients actually send.

cs and libcloud vectors come from calling the clients' own signing code
(cs: ``CloudStack._sign``; libcloud: ``CloudStackConnection.pre_connect_hook`` ->
``_make_signature``).  CloudMonkey 5 (Python 2 only) and Go cmk cannot run here, so
their recipes are transcribed below from the shared spec and clearly labelled.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import string
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, quote_plus

import pytest
from cs import CloudStack
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from libcloud.common.cloudstack import CloudStackConnection

from native_api.signing import canonical_string, check_expiry, plain_names, sign, verify

KEY = "AK-test-key"
SECRET = "s3cr3t-Key/with+chars=="

VALUES = [
    "plain", "", "with space", "a+b", "two  spaces", "star*", "tilde~x", "~",
    "[bracket]", "tags[0]", "é", "café Ünïcode", "日本", "emoji 😀", "a/b/c",
    "http://h:8080/p?q=1", "a&b=c", "100%", "%7E", "%2A", "quote'\"", "x,y,z",
    "<>#!$()@;", "line\nbreak", "tab\tx", "\u00a0nbsp",
]

BASE = {"command": "deployVirtualMachine", "apiKey": KEY, "response": "json"}


def _param_sets() -> list[dict[str, str]]:
    sets = [{**BASE, "name": v} for v in VALUES]
    sets.append({**BASE, "tags[0].key": "k~1", "tags[0].value": "v [x]*",
                 "tags[1].key": "日本", "tags[1].value": "a+b/c"})
    # libcloud's camelCase spellings; the sort order is the same either way here.
    sets.append({**BASE, "zoneId": "z-1", "diskOfferingId": "d~2", "virtualMachineId": "vm"})
    # Case-sensitive vs lower-cased sort really differ: "Z" < "a" but "z" > "a",
    # and "N" < "_" but "n" > "_".
    sets.append({**BASE, "details[0].Zeta": "1", "details[0].alpha": "2"})
    sets.append({**BASE, "displayName": "x y", "display_name": "z"})
    # Both at once: only libcloud's full recipe (lower-cased sort + ~[] bare) fits.
    sets.append({**BASE, "details[0].Zeta": "a~b", "details[0].alpha": "[x]*"})
    sets.append({**BASE, "name": "v3 ~", "signatureVersion": "3",
                 "expires": "2026-11-23T21:58:14+0000"})
    return sets


PARAM_SETS = _param_sets()


def _ids(p: dict[str, str]) -> str:
    return ascii({k: v for k, v in p.items() if k not in BASE})[:60]


# --- the real clients --------------------------------------------------------

def cs_signature(params: dict[str, str], secret: str = SECRET) -> str:
    client = CloudStack(endpoint="http://dummy.invalid/client/api", key=KEY, secret=secret)
    data = dict(params)
    client._sign(data)  # what cs._send calls right before building the request
    return data["signature"]


def libcloud_signature(params: dict[str, str], secret: str = SECRET) -> str:
    conn = CloudStackConnection(KEY, secret, host="dummy.invalid")  # no connect
    data, _ = conn.pre_connect_hook(dict(params), {})  # calls _make_signature
    return data["signature"].decode("ascii")


# --- transcriptions (clients that cannot run here) ---------------------------

def _hmac_b64(text: str, secret: str) -> str:
    mac = hmac.new(secret.encode("utf-8"), text.lower().encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def cloudmonkey5_signature(params: dict[str, str], secret: str = SECRET) -> str:
    """TRANSCRIPTION of CloudMonkey 5's recipe as given in the spec (not its code):
    names sorted lower-cased, value = quote_plus(value, safe="*") then "+" -> "%20".
    It ran on Python 2, whose quote_plus escapes "~"; Python 3's does not, so
    "~" -> "%7E" restores the Python 2 behaviour."""
    pairs = []
    for name in sorted(params, key=str.lower):
        value = quote_plus(params[name].encode("utf-8"), safe="*")
        pairs.append(f"{name}={value.replace('+', '%20').replace('~', '%7E')}")
    return _hmac_b64("&".join(pairs), secret)


def _go_query_escape(value: str) -> str:
    # Go's url.QueryEscape: only A-Z a-z 0-9 - _ . ~ stay; space -> "+".
    return quote_plus(value, safe="")


def go_cmk_spec_signature(params: dict[str, str], secret: str = SECRET) -> str:
    """TRANSCRIPTION of Go cmk per the spec: sort.Strings on raw names,
    QueryEscape, "+" -> "%20"; "*" stays "%2A", "~" stays bare."""
    pairs = [f"{n}={_go_query_escape(params[n]).replace('+', '%20')}" for n in sorted(params)]
    return _hmac_b64("&".join(pairs), secret)


def go_cmk_current_signature(params: dict[str, str], secret: str = SECRET) -> str:
    """TRANSCRIPTION of current cloudstack-cloudmonkey encodeRequestParams, which
    additionally turns "%2A" back into "*" (so it differs from Java only by "~")."""
    pairs = [f"{n}={_go_query_escape(params[n]).replace('+', '%20').replace('%2A', '*')}"
             for n in sorted(params)]
    return _hmac_b64("&".join(pairs), secret)


def java_strict_canonical(params: dict[str, str]) -> str:
    """Independent transcription of java.net.URLEncoder.encode(v, "UTF-8") with
    "+" -> "%20", names sorted case-sensitively, for cross-checking the module."""
    def enc(value: str) -> str:
        out = ""
        for byte in value.encode("utf-8"):
            if (0x30 <= byte <= 0x39 or 0x41 <= byte <= 0x5A or 0x61 <= byte <= 0x7A
                    or byte in b".-*_"):
                out += chr(byte)
            elif byte == 0x20:
                out += "%20"  # URLEncoder gives "+", CloudStack then replaces it
            else:
                out += "%" + format(byte, "02X")
        return out
    names = sorted(n for n in params if n.lower() != "signature")
    return "&".join(n + "=" + enc(params[n]) for n in names).lower()


CLIENTS = {
    "cs": cs_signature,
    "libcloud": libcloud_signature,
    "cloudmonkey5": cloudmonkey5_signature,
    "go_cmk_spec": go_cmk_spec_signature,
    "go_cmk_current": go_cmk_current_signature,
}


@pytest.mark.parametrize("client", sorted(CLIENTS))
@pytest.mark.parametrize("params", PARAM_SETS, ids=_ids)
def test_real_client_signatures_verify(client, params):
    signature = CLIENTS[client](params)
    assert verify(params, SECRET, signature)
    assert not verify(params, SECRET + "x", signature)


@pytest.mark.parametrize("params", PARAM_SETS, ids=_ids)
def test_strict_form_matches_independent_java_transcription(params):
    assert canonical_string(params) == java_strict_canonical(params).encode("utf-8")
    assert sign(params, SECRET) == _hmac_b64(java_strict_canonical(params), SECRET)


def test_cloudmonkey5_equals_strict_java_except_name_order():
    # The spec found CloudMonkey 5's value quoting identical to Java's.
    for v in VALUES:
        p = {**BASE, "name": v}
        assert cloudmonkey5_signature(p) == sign(p, SECRET)


def test_hand_checked_strict_vectors():
    p = {"command": "listZones", "name": "a b~*+é[0]", "apiKey": "K"}
    assert canonical_string(p) == b"apikey=k&command=listzones&name=a%20b%7e*%2b%c3%a9%5b0%5d"
    assert canonical_string(p, lowercase_sort=True, bare_chars="~[]") == \
        b"apikey=k&command=listzones&name=a%20b~*%2b%c3%a9[0]"
    assert canonical_string({"v": "a*b"}, escaped_chars="*") == b"v=a%2ab"
    # Upper-case names sort first (Java order), then the whole string is lower-cased.
    assert canonical_string({"b": "1", "Z": "2", "a": "3"}) == b"z=2&a=3&b=1"
    assert canonical_string({"b": "1", "Z": "2", "a": "3"}, lowercase_sort=True) == b"a=3&b=1&z=2"
    # Empty values are signed; "signature" is excluded in any spelling.
    assert canonical_string({"x": "", "Signature": "abc", "SIGNATURE": "d"}) == b"x="
    mac = hmac.new(b"k", b"apikey=k&command=listzones", hashlib.sha1).digest()
    assert sign({"command": "listZones", "apiKey": "K"}, "k") == base64.b64encode(mac).decode()


def test_cs_encoding_differs_from_java_only_on_tilde():
    # What we learned from cs: quote(safe="*") leaves "~" bare on Python 3.
    p = {**BASE, "name": "~"}
    assert cs_signature(p) != sign(p, SECRET)
    assert verify(p, SECRET, cs_signature(p))
    assert quote("~", safe="*") == "~"


def test_libcloud_differs_on_brackets_and_name_order():
    # What we learned from libcloud: lower-cased name sort, quote(safe="[]*").
    p = {**BASE, "details[0].Zeta": "[x]~", "details[0].alpha": "1"}
    sig = libcloud_signature(p)
    assert sig != sign(p, SECRET)
    assert sig != cs_signature(p)
    assert verify(p, SECRET, sig)


@pytest.mark.parametrize("variant", [
    dict(lowercase_sort=True), dict(bare_chars="~"), dict(bare_chars="~[]"),
    dict(escaped_chars="*"), dict(lowercase_sort=True, bare_chars="~[]"),
    dict(bare_chars="~", escaped_chars="*"),
])
def test_each_documented_variant_accepted(variant):
    p = {**BASE, "details[0].Zeta": "a~b [c]*", "details[0].alpha": "x"}
    signature = base64.b64encode(hmac.new(
        SECRET.encode(), canonical_string(p, **variant), hashlib.sha1).digest()).decode()
    assert signature != sign(p, SECRET)
    assert verify(p, SECRET, signature)


def test_variants_lazy_and_deduplicated(monkeypatch):
    import native_api.signing as signing
    calls = []
    real = signing._hmac
    monkeypatch.setattr(signing, "_hmac", lambda c, s: calls.append(c) or real(c, s))
    plain = {**BASE, "name": "nothing special"}
    assert verify(plain, SECRET, sign(plain, SECRET))
    assert len(calls) == 2  # sign() + the strict form; no variant computed
    calls.clear()
    assert not verify(plain, SECRET, "wrong")
    assert len(calls) == 1  # every variant has the same canonical string here
    calls.clear()
    tricky = {**BASE, "details[0].Zeta": "a~b [c]*", "details[0].alpha": "x"}
    assert not verify(tricky, SECRET, "wrong")
    assert len(calls) == len(set(calls)) == 7


def test_signature_param_itself_is_ignored():
    p = {**BASE, "name": "x"}
    sig = sign(p, SECRET)
    assert verify({**p, "signature": sig}, SECRET, sig)
    assert verify({**p, "SIGNATURE": "junk"}, SECRET, sig)


def test_cs_v3_request_built_by_cs_itself():
    client = CloudStack(endpoint="http://dummy.invalid/client/api", key=KEY, secret=SECRET)
    _, params = client._prepare_request("listVirtualMachines", name="a b~", keyword="日本")
    assert params["signatureVersion"] == "3"
    client._sign(params)
    signature = params.pop("signature")
    assert verify(params, SECRET, signature)
    assert check_expiry(params) is None


# --- negative cases ----------------------------------------------------------

def test_wrong_secret_rejected():
    p = {**BASE, "name": "x"}
    for client in CLIENTS.values():
        assert not verify(p, "other-secret", client(p))


def test_tampered_value_rejected():
    p = {**BASE, "name": "vm-1", "zoneid": "z"}
    for client in CLIENTS.values():
        sig = client(p)
        assert not verify({**p, "name": "vm-2"}, SECRET, sig)
        assert not verify({**p, "extra": ""}, SECRET, sig)
        assert not verify({k: v for k, v in p.items() if k != "zoneid"}, SECRET, sig)


def test_signature_over_other_params_rejected():
    a, b = {**BASE, "name": "a"}, {**BASE, "name": "b"}
    assert not verify(a, SECRET, sign(b, SECRET))
    assert not verify(a, SECRET, "")
    assert not verify(a, SECRET, "not base64 é")


@pytest.mark.parametrize("literal", ["%7E", "%7e", "%5B", "%2A", "%20"])
def test_percent_literal_never_collides_with_bare_char(literal):
    char = bytes.fromhex(literal[1:]).decode()
    bare, escaped = {**BASE, "name": char}, {**BASE, "name": literal}
    options = [dict(lowercase_sort=ls, bare_chars=b, escaped_chars=e)
               for ls in (False, True) for b in ("", "~", "~[]") for e in ("", "*")]
    assert not ({canonical_string(bare, **o) for o in options}
                & {canonical_string(escaped, **o) for o in options})
    for client in CLIENTS.values():
        assert not verify(escaped, SECRET, client(bare))
        assert not verify(bare, SECRET, client(escaped))


# --- signatureVersion 3 / expires -------------------------------------------

NOW = datetime(2026, 11, 23, 21, 0, 0, tzinfo=timezone.utc)


def test_expiry_absent_version_is_ok():
    assert check_expiry({**BASE}, NOW) is None
    assert check_expiry({**BASE, "expires": "2000-01-01T00:00:00+0000"}, NOW) is None


def test_expiry_other_version_value_is_not_v3():
    for v in ("2", "3.0", " 3", "three", ""):
        assert check_expiry({"signatureVersion": v, "expires": "garbage"}, NOW) is None


@pytest.mark.parametrize("expires", [
    "2026-11-23T21:58:14+0000", "2026-11-23T21:58:14+00:00", "2026-11-23T21:58:14Z",
    "2026-11-23T21:58:14.123+0000", "2026-11-23T21:58:14.123456789Z",
    "2026-11-23T22:30:00+0100",  # 21:30 UTC
])
def test_expiry_future_in_every_accepted_format(expires):
    assert check_expiry({"signatureVersion": "3", "expires": expires}, NOW) is None


@pytest.mark.parametrize("expires", [
    "2026-11-23T20:58:14+0000", "2026-11-23T20:58:14+00:00", "2026-11-23T20:58:14Z",
    "2026-11-23T20:59:59.999Z", "2026-11-23T21:30:00+0100",  # 20:30 UTC
])
def test_expiry_past_rejected(expires):
    assert "expired" in check_expiry({"signatureVersion": "3", "expires": expires}, NOW)


def test_expiry_missing_or_garbage_rejected():
    assert check_expiry({"signatureVersion": "3"}, NOW)
    for bad in ("garbage", "", "2026-11-23", "2026-11-23 21:58:14+0000",
                "2026-11-23T21:58:14", "2026-13-40T21:58:14Z", "١٢٣٤-11-23T21:58:14Z"):
        assert check_expiry({"signatureVersion": "3", "expires": bad}, NOW), bad


def test_expiry_names_case_insensitive():
    past, future = "2026-11-23T20:00:00+0000", "2026-11-23T22:00:00+0000"
    assert check_expiry({"signatureversion": "3", "expires": past}, NOW)  # CloudMonkey
    assert check_expiry({"SignatureVersion": "3", "Expires": past}, NOW)
    assert check_expiry({"signatureversion": "3", "EXPIRES": future}, NOW) is None
    assert check_expiry({"signatureversion": "3"}, NOW)


def test_expiry_default_now_and_naive_now():
    soon = (datetime.now(timezone.utc) + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    assert check_expiry({"signatureVersion": "3", "expires": soon}) is None
    naive = datetime(2026, 11, 23, 21, 0, 0)
    assert check_expiry({"signatureVersion": "3", "expires": "2026-11-23T21:00:01Z"}, naive) is None


# --- properties --------------------------------------------------------------

_printable = st.characters(blacklist_categories=("Cs", "Cc"))
_PLAIN = string.ascii_letters + string.digits + "._[]"
_names = st.text(_PLAIN, min_size=1, max_size=12).filter(lambda n: n.lower() != "signature")


@settings(max_examples=300, deadline=None)
@given(params=st.dictionaries(_names, st.text(_printable, max_size=20), max_size=6),
       secret=st.text(_printable, min_size=1, max_size=40),
       other=st.text(_printable, min_size=1, max_size=40))
def test_property_sign_verify_roundtrip(params, secret, other):
    signature = sign(params, secret)
    assert verify(params, secret, signature)
    assume(other != secret)
    assert not verify(params, other, signature)


@settings(max_examples=200, deadline=None)
@given(params=st.dictionaries(_names, st.text(_printable, max_size=20), max_size=4),
       odd=st.text(_printable, min_size=1, max_size=12).filter(lambda n: not all(c in _PLAIN for c in n)))
def test_property_a_name_that_is_not_plain_never_verifies(params, odd):
    """Even signed with the right secret: such a name could stand for other parameters."""
    params = {**params, odd: "x"}
    assert not plain_names(params)
    assert not verify(params, SECRET, sign(params, SECRET))


def test_a_name_cannot_stand_in_for_signed_parameters():
    """The two forgeries of issue 9: one name spelling out several signed parameters."""
    signed = {"apiKey": KEY, "command": "listVirtualMachines", "expires": "2020-01-01T00:00:00+0000",
              "response": "json", "signatureVersion": "3"}
    forged = {"apiKey": KEY, "command": "listVirtualMachines",
              "expires=2020-01-01T00%3A00%3A00%2B0000&response=json&signatureVersion": "3"}
    assert canonical_string(forged) == canonical_string(signed)  # what made the forgery work
    assert check_expiry(signed) and check_expiry(forged) is None
    assert not verify(forged, SECRET, sign(signed, SECRET))
    signed = {"apiKey": KEY, "command": "listSSHKeyPairs", "name": "x", "response": "json"}
    forged = {"apiKey": KEY, "command": "listSSHKeyPairs", "name=x&response": "json"}
    assert canonical_string(forged) == canonical_string(signed)
    assert not verify(forged, SECRET, sign(signed, SECRET))
