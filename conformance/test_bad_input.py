"""Every command, fed missing and malformed parameters, answers with a CloudStack error, never a crash."""
from __future__ import annotations

import pytest
import requests

from native_api import signing

KNOWN_CODES = {401, 430, 431, 432, 531, 533, 534, 535, 536}
GARBAGE = {"string": "x" * 3, "uuid": "not-a-uuid", "integer": "many", "long": "lots", "short": "x",
           "boolean": "perhaps", "date": "yesterday", "list": "a,,b", "map": "m"}


def _call(server, key, secret, params):
    params = {**params, "response": "json", "apiKey": key}
    params["signature"] = signing.sign(params, secret)
    return requests.get(server.api_url, params=params, timeout=30)


@pytest.fixture(scope="module")
def apis(server):
    key, secret = server.keys("admin")
    reply = _call(server, key, secret, {"command": "listApis"})
    return [api for api in reply.json()["listapisresponse"]["api"] if api["name"] not in ("login", "logout")]


@pytest.mark.parametrize("profile", ["admin", "demo"])
def test_missing_and_malformed_parameters_are_clean_errors(server, apis, profile):
    key, secret = server.keys(profile)
    crashes = []
    for api in apis:
        attempts = [{}]
        params = {p["name"]: GARBAGE.get(p["type"], "x") for p in api["params"]}
        attempts.append(params)
        for params in attempts:
            reply = _call(server, key, secret, {"command": api["name"], **params})
            if reply.status_code == 200:
                continue
            body = reply.json()
            (inner,) = body.values()
            if reply.status_code not in KNOWN_CODES or inner.get("errorcode") != reply.status_code \
                    or not inner.get("errortext"):
                crashes.append((api["name"], sorted(params), reply.status_code, inner.get("errortext")))
    assert not crashes, crashes
