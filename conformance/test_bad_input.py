"""Every command, fed missing and malformed parameters, answers with a CloudStack error, never a crash."""
from __future__ import annotations

import pytest
import requests
import xmltodict

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


def _post(server, profile, params, *, sign=True):
    key, secret = server.keys(profile)
    params = {**params, "apiKey": key}
    params["signature"] = signing.sign(params, secret) if sign else "bad"
    return requests.post(server.api_url, data=params, timeout=30)


def _ids(server, command, item, **params):
    body = _post(server, "admin", {"command": command, "response": "json", **params}).json()
    return [row["id"] for row in next(iter(body.values()))[item]]


@pytest.mark.parametrize("value", ["a\nb", "a\r\nX-Injected: yes", "x" * 70000, "é\U0001F600"])
def test_echoed_values_keep_the_description_header_one_short_printable_line(server, value):
    reply = _post(server, "demo", {"command": "listVirtualMachines", "id": value, "response": "json"})
    assert reply.status_code == 431
    assert value in reply.json()["listvirtualmachinesresponse"]["errortext"]
    header = reply.headers["X-Description"]
    assert header.startswith("Unable to execute API command listvirtualmachines") and len(header) <= 1024
    assert all(" " <= ch <= "~" for ch in header) and "X-Injected" not in reply.headers


@pytest.mark.parametrize("name", ["a b", "<", '"', "/", "&", "a&b=<c>"])
@pytest.mark.parametrize("signed", [True, False])
def test_command_names_that_are_not_xml_names_get_well_formed_xml(server, name, signed):
    reply = _post(server, "demo", {"command": name}, sign=signed)
    assert reply.status_code == (432 if signed else 401)
    body = xmltodict.parse(reply.text)["errorresponse"]
    assert body["errorcode"] == str(reply.status_code)


@pytest.mark.parametrize("params, parameter", [
    ({"command": "listZones", "page": "99999999999999999999", "pagesize": "10"}, "page"),
    ({"command": "listZones", "page": "1", "pagesize": "-9223372036854775809"}, "pagesize"),
    ({"command": "listResourceLimits", "id": "-9223372036854775809"}, "id"),
    ({"command": "listResourceLimits", "id": "9223372036854775808"}, "id"),
    ({"command": "listEvents", "startdate": "0001-01-01T00:00:00+1400"}, "startdate"),
    ({"command": "listEvents", "enddate": "9999-12-31T23:59:59-1400"}, "enddate"),
])
def test_numbers_and_dates_out_of_range_are_431_naming_the_parameter(server, params, parameter):
    reply = _post(server, "admin", {**params, "response": "json"})
    assert reply.status_code == 431
    assert f"for parameter {parameter}" in next(iter(reply.json().values()))["errortext"]


def test_an_ssh_key_of_an_unknown_type_is_431(server):
    reply = _post(server, "demo", {"command": "registerSSHKeyPair", "name": "foo", "publickey": "ssh-foo AAAA",
                                   "response": "json"})
    assert reply.status_code == 431
    assert "key type" in reply.json()["registersshkeypairresponse"]["errortext"]


@pytest.mark.parametrize("size, text", [
    ("-1", "invalid value -1 for parameter rootdisksize: expected a whole number from 0 to"),
    ("0", "root disk size must be 1 to 16384 GB"), ("16385", "root disk size must be 1 to 16384 GB"),
    ("9223372036854775807", "root disk size must be 1 to 16384 GB"),
])
def test_root_disk_sizes_out_of_range_are_refused_before_anything_is_created(server, size, text):
    zone = _ids(server, "listZones", "zone")[0]
    offering = _ids(server, "listServiceOfferings", "serviceoffering", name="t2.micro")[0]
    template = _ids(server, "listTemplates", "template", templatefilter="executable", zoneid=zone)[0]
    before = _post(server, "demo", {"command": "listVirtualMachines", "response": "json"}).json()
    reply = _post(server, "demo", {"command": "deployVirtualMachine", "zoneid": zone, "serviceofferingid": offering,
                                   "templateid": template, "rootdisksize": size, "response": "json"})
    assert reply.status_code == 431
    assert text in reply.json()["deployvirtualmachineresponse"]["errortext"]
    after = _post(server, "demo", {"command": "listVirtualMachines", "response": "json"}).json()
    assert after == before


@pytest.mark.parametrize("size, text", [("16385", "at most 16384 GB"), ("9223372036854775807", "at most 16384 GB"),
                                        ("-5", "for parameter disksize")])
def test_disk_offerings_beyond_the_largest_disk_or_negative_are_refused(server, size, text):
    reply = _post(server, "admin", {"command": "createDiskOffering", "name": "huge", "displaytext": "huge",
                                    "disksize": size, "response": "json"})
    assert reply.status_code == 431 and text in reply.text


@pytest.mark.parametrize("domainid", ["\u00b2", "\u0661", "9" * 30, "-1"])
def test_login_with_a_domain_id_that_is_no_number_is_refused_cleanly(server, domainid):
    reply = requests.post(server.api_url, data={"command": "login", "username": "admin", "password": "password",
                                                "domainid": domainid, "response": "json"}, timeout=30)
    assert reply.status_code == 531
    assert "Failed to authenticate user admin" in reply.json()["loginresponse"]["errortext"]


@pytest.mark.parametrize("field", ["1bad", "9.x"])
def test_map_field_names_that_cannot_be_element_names_are_refused(server, field):
    zone = _ids(server, "listZones", "zone")[0]
    offering = _ids(server, "listServiceOfferings", "serviceoffering", name="t2.micro")[0]
    template = _ids(server, "listTemplates", "template", templatefilter="executable", zoneid=zone)[0]
    reply = _post(server, "demo", {"command": "deployVirtualMachine", "zoneid": zone, "serviceofferingid": offering,
                                   "templateid": template, f"details[0].{field}": "x", "response": "json"})
    assert reply.status_code == 431 and "for parameter details" in reply.text
    assert _post(server, "demo", {"command": "listVirtualMachines"}).status_code == 200


@pytest.mark.parametrize("params", [{"password[0].x": "password"}, {"password": "pass\x00word"},
                                    {"password": "password", "domainid[0].x": "1"}])
def test_login_parameters_are_checked_like_any_command(server, params):
    reply = requests.post(server.api_url, data={"command": "login", "username": "admin", "response": "json",
                                                **params}, timeout=30)
    assert reply.status_code == 431 and "loginresponse" in reply.json()


@pytest.mark.parametrize("command", ["listVirtualMachines", "listSecurityGroups", "createTags"])
def test_a_tag_key_without_its_value_is_431_not_a_wildcard(server, command):
    """A filter by key alone would match more than meant (a "list by tag, then destroy" script)."""
    params = {"command": command, "tags[0].key": "env", "response": "json"}
    if command == "createTags":
        params.update(resourcetype="Template",
                      resourceids=_ids(server, "listTemplates", "template", templatefilter="featured")[0])
    reply = _post(server, "admin", params)
    assert reply.status_code == 431
    assert "No value is passed in for key env" in next(iter(reply.json().values()))["errortext"]
