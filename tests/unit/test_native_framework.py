"""The native API framework: parameter parsing, validation texts, envelopes, listApis."""
from __future__ import annotations

import json
import os
import types

import pytest
import xmltodict

from native_api import dispatch, envelope, fields as f, kinds as native_kinds
from native_api.commands import apis
from native_api.errors import ApiError
from native_api.params import merge, normalise
from native_api.registry import LIST, REGISTRY, Command


class FakeConfig:
    def __init__(self, page_size=500):
        self.page_size = page_size

    def get_int(self, name):
        assert name == "default.page.size"
        return self.page_size


def fake_cloud(rows=None, page_size=500):
    rows = rows or {}
    return types.SimpleNamespace(config=FakeConfig(page_size),
                                 lookup=lambda entity, uuid, caller=None: rows.get((entity, uuid)))


def make_command(params, shape="object"):
    return Command(name="doThing", handler=lambda call: None, params=params, roles=frozenset({"User"}),
                   isasync=False, response=None, shape=shape, description="")


def error_of(fn, *args):
    with pytest.raises(ApiError) as info:
        fn(*args)
    return info.value


# ------------------------------------------------------------------ wire parsing
def test_query_wins_over_body_and_first_value_is_kept():
    raw = merge([("name", "q1"), ("name", "q2")], [("name", "body"), ("other", "b")])
    assert raw == {"name": "q1", "other": "b"}


def test_names_are_lower_cased_and_maps_grouped_by_index_keeping_field_case():
    params = normalise({"ZoneId": "z", "Tags[1].Key": "team", "tags[1].value": "ops", "tags[0].key": "env",
                        "tags[0].value": "prod"})
    assert params["zoneid"] == "z"
    assert params["tags"] == {1: {"Key": "team", "value": "ops"}, 0: {"key": "env", "value": "prod"}}


@pytest.mark.parametrize("name", ["tags[x].key", "tags[0]key", "tags[0]", "tags]0[.key"])
def test_malformed_map_names_are_error_430(name):
    err = error_of(normalise, {name: "v"})
    assert err.code == 430 and name in err.text


def test_keyvalue_and_flat_maps():
    tags = f.Map(style="keyvalue").deserialize({1: {"key": "b", "value": "2"}, 0: {"key": "a", "value": "1"}})
    details = f.Map(style="flat").deserialize({0: {"cpuNumber": "2"}, 1: {"memory": "512"}})
    assert tags == {"a": "1", "b": "2"}
    assert details == {"cpuNumber": "2", "memory": "512"}


# ------------------------------------------------------------------- validation
def test_missing_required_parameter_names_it():
    cmd = make_command({"zoneid": f.Uuid("Zone", required=True)})
    err = error_of(dispatch.validate, cmd, {}, fake_cloud())
    assert (err.code, err.cserrorcode) == (431, 9999)
    assert err.text == "Unable to execute API command dothing due to missing parameter zoneid"


def test_unknown_uuid_has_the_text_clients_grep_for():
    cmd = make_command({"id": f.Uuid("VirtualMachine")})
    err = error_of(dispatch.validate, cmd, {"id": "abc"}, fake_cloud())
    assert err.code == 431
    assert "Invalid parameter id value=abc due to incorrect long value format, or entity does not exist" in err.text


def test_uuid_resolves_to_the_row():
    cmd = make_command({"id": f.Uuid("VirtualMachine"), "ids": f.List(entity="VirtualMachine")})
    cloud = fake_cloud({("VirtualMachine", "u1"): "row1", ("VirtualMachine", "u2"): "row2"})
    params = dispatch.validate(cmd, {"id": "u1", "ids": "u1,u2"}, cloud)
    assert params["id"] == "row1" and params["ids"] == ["row1", "row2"]


def test_bad_integer_and_length_and_control_characters():
    cmd = make_command({"size": f.Long(), "name": f.String(length=5)})
    assert "invalid value abc for parameter size" in error_of(dispatch.validate, cmd, {"size": "abc"},
                                                               fake_cloud()).text
    assert "max allowed length 5 for param: name" in error_of(dispatch.validate, cmd, {"name": "toolong"},
                                                               fake_cloud()).text
    assert "non-printable" in error_of(dispatch.validate, cmd, {"name": "a\tb"}, fake_cloud()).text


@pytest.mark.parametrize("field, low, high", [(f.Short(), -32768, 32767), (f.Integer(), -2147483648, 2147483647),
                                             (f.Long(), -9223372036854775808, 9223372036854775807)])
def test_integers_hold_the_range_of_their_java_type_and_name_the_parameter(field, low, high):
    cmd = make_command({"n": field})
    assert dispatch.validate(cmd, {"n": str(low)}, fake_cloud())["n"] == low
    assert dispatch.validate(cmd, {"n": f"+{high}"}, fake_cloud())["n"] == high
    for text in (str(low - 1), str(high + 1), "99999999999999999999", "9" * 5000, "1_000", "\u0661", "0x10"):
        err = error_of(dispatch.validate, cmd, {"n": text}, fake_cloud())
        assert err.code == 431 and "for parameter n" in err.text, text


def test_a_minimum_refuses_negative_sizes():
    cmd = make_command({"size": f.Long(minimum=0)})
    assert dispatch.validate(cmd, {"size": "0"}, fake_cloud())["size"] == 0
    err = error_of(dispatch.validate, cmd, {"size": "-1"}, fake_cloud())
    assert err.code == 431 and "for parameter size: expected a whole number from 0 to" in err.text


def test_dates_a_database_cannot_store_are_431_naming_the_parameter():
    cmd = make_command({"startdate": f.Date()})
    for text in ("0001-01-01T00:00:00+1400", "9999-12-31T23:59:59-1400", "0999-12-31", "0001-01-01"):
        err = error_of(dispatch.validate, cmd, {"startdate": text}, fake_cloud())
        assert err.code == 431 and "for parameter startdate" in err.text, text
    assert dispatch.validate(cmd, {"startdate": "9999-12-31T23:59:59+0000"}, fake_cloud())["startdate"].year == 9999


def test_a_list_checks_its_length_only_when_declared():
    cmd = make_command({"ids": f.List(), "hosttags": f.List(length=10)})
    assert len(dispatch.validate(cmd, {"ids": ",".join(["x" * 36] * 20)}, fake_cloud())["ids"]) == 20
    err = error_of(dispatch.validate, cmd, {"hosttags": "a" * 11}, fake_cloud())
    assert err.code == 431 and "max allowed length 10 for param: hosttags" in err.text


def test_booleans_never_fail_and_only_true_is_true():
    cmd = make_command({"a": f.Boolean(), "b": f.Boolean(), "c": f.Boolean()})
    params = dispatch.validate(cmd, {"a": "True", "b": "yes", "c": "TRUE"}, fake_cloud())
    assert params == {"a": True, "b": False, "c": True}


def test_blank_optional_number_is_ignored_and_unknown_params_too():
    cmd = make_command({"size": f.Long()})
    assert dispatch.validate(cmd, {"size": "", "whatever": "x"}, fake_cloud()) == {}


def test_dates_in_cloudstack_formats():
    cmd = make_command({"d": f.Date()})
    for text in ("2026-01-02", "2026-01-02 03:04:05", "2026-01-02T03:04:05+0000", "2026-01-02T03:04:05Z"):
        assert dispatch.validate(cmd, {"d": text}, fake_cloud())["d"].year == 2026
    assert "Unable to parse date" in error_of(dispatch.validate, cmd, {"d": "yesterday"}, fake_cloud()).text


@pytest.mark.parametrize("params, text", [
    ({"pagesize": "10"}, '"page" parameter is required when "pagesize" is specified'),
    ({"page": "1"}, '"pagesize" parameter is required when "page" is specified'),
    ({"page": "1", "pagesize": "501"}, "Page size can't exceed max allowed page size value: 500"),
    ({"page": "2", "pagesize": "-1"}, "Can't specify page parameter when pagesize is -1 (Unlimited)"),
])
def test_paging_rules(params, text):
    cmd = make_command({"page": f.Integer(), "pagesize": f.Integer()}, shape=LIST)
    assert error_of(dispatch.validate, cmd, params, fake_cloud()).text == text


def test_paging_defaults_to_the_default_page_size_and_minus_one_is_unlimited():
    cmd = make_command({"page": f.Integer(), "pagesize": f.Integer()}, shape=LIST)
    assert dispatch.validate(cmd, {}, fake_cloud()) == {"page": 1, "pagesize": 500}
    assert dispatch.validate(cmd, {"pagesize": "-1"}, fake_cloud())["pagesize"] is None


# -------------------------------------------------------------------- envelopes
def test_list_envelope_shapes():
    assert envelope.list_body("zone", 0, []) == {}
    assert envelope.list_body("zone", 57, []) == {"count": 57}
    assert envelope.list_body("zone", 1, [{"id": "z"}]) == {"count": 1, "zone": [{"id": "z"}]}


def test_json_and_xml_rendering():
    text, ctype = envelope.render("listzonesresponse", {"count": 1, "zone": [{"id": "z", "ok": True}]}, "json")
    assert ctype.startswith("application/json")
    assert json.loads(text) == {"listzonesresponse": {"count": 1, "zone": [{"id": "z", "ok": True}]}}
    text, ctype = envelope.render("listzonesresponse", {"count": 2, "zone": [{"id": "a", "ok": True},
                                                                             {"id": "b", "ok": False}]}, "xml")
    assert ctype.startswith("text/xml")
    doc = xmltodict.parse(text)["listzonesresponse"]
    assert doc["@cloud-stack-version"] and doc["count"] == "2"
    assert [z["id"] for z in doc["zone"]] == ["a", "b"] and doc["zone"][0]["ok"] == "true"


@pytest.mark.parametrize("name", ["a b", "<", '"', "/", "&", "1st", "x>y", "ünï"])
def test_a_command_name_that_cannot_name_an_element_answers_under_errorresponse(name):
    key = envelope.response_key(name)
    assert key == "errorresponse"
    text, _ = envelope.render(key, envelope.error_body(401, f"bad {name}", None), "xml")
    assert xmltodict.parse(text)["errorresponse"]["errortext"] == f"bad {name}"
    assert envelope.response_key("listZones") == "listzonesresponse"


def test_xml_answers_replace_what_xml_cannot_hold():
    text, _ = envelope.render("r", {"name": "a\x00b\x1b\ufffec\td\U0001F600"}, "xml")
    assert xmltodict.parse(text)["r"]["name"] == "a\ufffdb\ufffd\ufffdc\td\U0001F600"


def test_xml_answers_turn_map_keys_into_element_names():
    text, _ = envelope.render("r", {"details": {"1 <b>": "x", "cpuNumber": "2"}}, "xml")
    assert xmltodict.parse(text)["r"]["details"] == {"_1__b_": "x", "cpuNumber": "2"}


@pytest.mark.parametrize("name", ["1st", "a b", "<x>", "", "é"])
def test_map_field_names_must_be_names(name):
    cmd = make_command({"details": f.Map(style="flat")})
    err = error_of(dispatch.validate, cmd, {"details": {0: {"cpuNumber": "1", name: "x"}}}, fake_cloud())
    assert err.code == 431 and "for parameter details" in err.text


def test_error_envelope():
    body = envelope.error_body(431, "bad", 9999)
    assert body == {"uuidList": [], "errorcode": 431, "cserrorcode": 9999, "errortext": "bad"}


# --------------------------------------------------------------------- listApis
def test_every_declared_command_describes_itself_as_cloudmonkey_sync_reads_it():
    """cloudmonkey 5 sync: name/description/isasync/params/response per api; per param an int
    length, a bool required, string type/description (it crashes otherwise)."""
    assert len(REGISTRY) > 20
    for cmd in REGISTRY.values():
        api = apis.describe(cmd)
        assert isinstance(api["name"], str) and isinstance(api["description"], str)
        assert isinstance(api["isasync"], bool)
        assert isinstance(api["params"], list) and isinstance(api["response"], list)
        for param in api["params"]:
            assert isinstance(param["length"], int) and isinstance(param["required"], bool)
            assert isinstance(param["type"], str) and isinstance(param["description"], str)
            assert param["name"] == param["name"].lower()
        for field in api["response"]:
            assert isinstance(field["name"], str)


# CloudStack's own facts per command (async flag, required parameters, response shape), kept in the repository.
CLOUDSTACK_COMMANDS = os.path.join(os.path.dirname(__file__), "..", "data", "cloudstack_commands.json")


# Commands whose handler renders its body itself (jobs are rendered from neutral results).
BUILDS_OWN_BODY = {"listAsyncJobs", "listApis", "queryAsyncJobResult", "login", "logout"}


def test_async_flags_and_required_params_match_cloudstack():
    with open(CLOUDSTACK_COMMANDS) as fh:
        spec = json.load(fh)["commands"]
    checked = 0
    for name, cmd in REGISTRY.items():
        if name not in spec:
            continue
        checked += 1
        assert cmd.isasync == spec[name]["isasync"], name
        required = set(spec[name]["required"])
        ours = {p for p, field in cmd.params.items() if field.required}
        assert ours <= required | {"templateid"}, (name, ours - required)
        shape = spec[name].get("responseshape")
        if shape in ("list", "object", "success") and name not in BUILDS_OWN_BODY:
            assert cmd.shape == shape, (name, cmd.shape, shape)
        if shape in ("list", "object") and spec[name].get("responseobject") and name not in BUILDS_OWN_BODY:
            assert cmd.object_name == spec[name]["responseobject"], name
    assert checked >= 55


def test_every_response_view_can_be_built():
    """marshmallow refuses some schemas only when instantiated (e.g. two fields on one attribute)."""
    for cmd in REGISTRY.values():
        if cmd.response is not None:
            cmd.response()
    for kind in native_kinds.KINDS.values():
        if kind.view is not None:
            kind.view()
