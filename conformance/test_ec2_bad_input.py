"""Bad input to the EC2 endpoint answers an EC2 error, never a 500 nor broken XML.

Every implemented action is sent empty and with junk in each parameter, a few hand-picked hostile requests
are checked for their exact codes, and a property-based fuzz test (hypothesis) drives every action over
real HTTP with parameters generated from its input shape in botocore's model: wrong types, lengths,
unicode, control characters and invalid UTF-8, huge numbers, odd list indices, oversized lists,
duplicates, missing required and unknown parameters. Requests are built as raw form bodies and signed with
botocore's SigV4Auth, since boto3 refuses to send most of them. Each answer must be below 500, well-formed
XML, an ``<Response><Errors><Error><Code>`` envelope when it is an error, with headers under 8 KiB.
"""
from __future__ import annotations

import base64
import itertools
import xml.etree.ElementTree as ET
from urllib.parse import quote, urlencode

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.conftest import ON_EACH_DATABASE, ec2_client, server_on_database
from ec2bridge.actions import ACTIONS
from ec2bridge.codec import MAX_FILTERS, MAX_LIST_MEMBERS, service_model

JUNK = {"string": "junk", "integer": "many", "long": "lots", "boolean": "perhaps", "timestamp": "yesterday",
        "blob": "%%%", "double": "x", "float": "x"}
EXAMPLES_PER_ACTION = 30
MAX_HEADER_BYTES = 8192
SENT = {"requests": 0, "answers": {}}


def _send(server, params):
    return _post(server, urlencode({"Version": "2016-11-15", **params}).encode())


def _post(server, body: bytes, profile: str = "demo"):
    key, secret = server.keys(profile)
    request = AWSRequest(method="POST", url=server.url + "/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(key, secret), "ec2", "us-east-1").add_auth(request)
    SENT["requests"] += 1
    return requests.post(server.url + "/", data=body, headers=dict(request.headers.items()), timeout=60)


def _wire(name: str, member) -> str:
    ser_ = member.serialization
    if "queryName" in ser_:
        return ser_["queryName"]
    wire = ser_.get("name", name)
    return wire[0].upper() + wire[1:]


def _junk_params(shape, prefix=""):
    out = {}
    for name, member in shape.members.items():
        key = f"{prefix}{_wire(name, member)}"
        if member.type_name == "list":
            out[f"{key}.1"] = JUNK.get(member.member.type_name, "junk")
        elif member.type_name != "structure":
            out[key] = JUNK.get(member.type_name, "junk")
    return out


def _problem(action: str, reply) -> str | None:
    """What is wrong with an answer, or None: below 500, well-formed XML, EC2's error envelope, small headers."""
    if reply.status_code >= 500:
        return f"HTTP {reply.status_code}"
    header_bytes = sum(len(k) + len(v) + 4 for k, v in reply.headers.items())
    if header_bytes >= MAX_HEADER_BYTES:
        return f"{header_bytes} bytes of headers"
    try:
        root = ET.fromstring(reply.content)
    except ET.ParseError as exc:
        return f"not XML ({exc})"
    if reply.status_code == 200:
        return None if root.tag.endswith(f"}}{action}Response") else f"200 with a <{root.tag}> root"
    code = root.find("Errors/Error/Code")
    if root.tag != "Response" or code is None or not (code.text or "").strip():
        return f"HTTP {reply.status_code} without an EC2 error code"
    return None


def test_empty_and_junk_requests_get_ec2_errors(server):
    model = service_model()
    crashes = []
    for name in sorted(ACTIONS):
        shape = model.operation_model(name).input_shape
        for params in ({}, _junk_params(shape) if shape is not None else {}):
            params.pop("DryRun", None)
            reply = _send(server, {"Action": name, **params})
            if reply.status_code >= 500 or b"<Code>" not in reply.content and reply.status_code != 200:
                crashes.append((name, sorted(params), reply.status_code, reply.text[:200]))
    assert not crashes, crashes


def _code(reply) -> str:
    """The EC2 error code of an error answer (which must be a well-formed EC2 error)."""
    assert reply.status_code != 200 and _problem("", reply) is None, reply.text[:300]
    return ET.fromstring(reply.content).find("Errors/Error/Code").text


def _filters(count: int) -> dict:
    params = {}
    for i in range(1, count + 1):
        params[f"Filter.{i}.Name"] = "instance-id"
        params[f"Filter.{i}.Value.1"] = f"i-{i:017x}"
    return params


def test_hostile_requests_answer_their_ec2_codes(server):
    image = ec2_client(server).describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    run = {"Action": "RunInstances", "ImageId": image, "InstanceType": "t2.nano", "MinCount": "1"}
    for params in ({**run, "MaxCount": "9223372036854775808"}, {**run, "MaxCount": "2147483648"},
                   {**run, "MaxCount": "1", "BlockDeviceMapping.1.DeviceName": "/dev/sda1",
                    "BlockDeviceMapping.1.Ebs.VolumeSize": "99999999999999999999"},
                   {**run, "MaxCount": "1", "BlockDeviceMapping.1.DeviceName": "/dev/sda1",
                    "BlockDeviceMapping.1.Ebs.VolumeSize": "-5"},
                   {"Action": "CreateKeyPair", "KeyName": "a\x01b"},
                   {"Action": "DescribeInstances", "InstanceId.1": "i-\x00\x1b[31m"},
                   {"Action": "DescribeInstances", "InstanceId." + "1" * 5000: "i-1", "MaxResults": "9" * 5000}):
        assert _code(_send(server, params)) == "InvalidParameterValue", params.get("Action")
    assert _code(_send(server, {"Action": "DescribeInstances", **_filters(4000)})) == "FilterLimitExceeded"
    ids = {f"InstanceId.{i}": f"i-{i:017x}" for i in range(1, MAX_LIST_MEMBERS + 2)}
    assert _code(_send(server, {"Action": "DescribeInstances", **ids})) == "InvalidParameterValue"
    # The most filters accepted is a valid request: it answers (here, an empty listing).
    reply = _send(server, {"Action": "DescribeInstances", **_filters(MAX_FILTERS)})
    assert reply.status_code == 200 and b"<reservationSet></reservationSet>" in reply.content
    for action in ("a b", "<", '"', "/", "&", "\x01", "x" * 70000):
        reply = _send(server, {"Action": action})
        assert _code(reply) == "InvalidAction" and len(reply.content) < 4096


# ------------------------------------------------------------------ the fuzz test

HUGE_NUMBERS = ["9223372036854775808", "-9223372036854775809", "2147483648", "-2147483649", "99999999999999999999",
                "9" * 5000, "-1", "0", "1e3", "0x10", " 1", "1_000", "1.5", "", "\uff11", "NaN"]
# Just past the lengths columns and AWS commonly allow (64, 255, 1024, 64 KiB).
LONG_STRINGS = ["t" * 65, "x" * 256, "u" * 1025, "y" * 70000]
ODD_STRINGS = ["", " ", "a\nb", "\x00", "\x1b[31mred", "\ufffe", "<&>\"'", "%00",
               "\u202eevil", "\U0001f600" * 10, "i-", "ami-0", "sg-", "key-", "ä" * 256, "tag:", "*", "?"]
INVALID_UTF8 = [b"\xff\xfe", b"\xed\xa0\x80", b"\xc0\x80", b"ok\x80"]
ODD_INDICES = ["0", "01", "-1", "x", "", "99999999999", "1" * 5000, "\u0661"]


def _text():
    return st.one_of(st.text(max_size=40), st.text(st.characters(max_codepoint=0x1f), min_size=1, max_size=5),
                     st.sampled_from(ODD_STRINGS), st.sampled_from(LONG_STRINGS), st.sampled_from(INVALID_UTF8))


class _Values:
    """Scalar values for a member: real ones from the running cloud where the name says what it is, so some
    requests reach deep into the handlers, and hostile ones of every kind."""

    def __init__(self, pool: dict[str, list[str]]):
        self.pool = pool

    def for_member(self, name: str, shape):
        kind = shape.type_name
        real = self.pool.get(name.lower(), [])
        if kind in ("integer", "long"):
            base = st.one_of(st.integers(-3, 5).map(str), st.integers(-2 ** 70, 2 ** 70).map(str),
                             st.sampled_from(HUGE_NUMBERS))
        elif kind in ("double", "float"):
            base = st.one_of(st.floats().map(repr), st.sampled_from(["nan", "inf", "1e999", "x"]))
        elif kind == "boolean":
            base = st.sampled_from(["true", "false", "TRUE", "yes", "1", "", "\x00"])
        elif kind == "timestamp":
            base = st.sampled_from(["2026-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00",
                                    "9999-12-31T23:59:59-14:00", "yesterday", "", "2026-13-45T99:99:99Z"])
        elif kind == "blob":
            base = st.one_of(st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode()),
                             st.sampled_from(["%%%", "====", "A", ""]), _text())
        elif "enum" in shape.metadata:
            base = st.one_of(st.sampled_from(shape.metadata["enum"]), _text())
        else:
            base = _text()
        return st.one_of(st.sampled_from(real), base) if real else base


class _Params:
    """Strategies of ``[(key, value), ...]`` for an input shape, as the query protocol flattens it."""

    def __init__(self, values: _Values):
        self.values = values

    def shape(self, shape, prefix: str, name: str = "", depth: int = 0):
        kind = shape.type_name
        if kind == "structure":
            return self.structure(shape, prefix, depth)
        if kind == "list":
            return self.list(shape, prefix, name, depth)
        return self.values.for_member(name, shape).map(lambda value: [(prefix, value)])

    def structure(self, shape, prefix: str, depth: int):
        if depth > 3:
            return st.just([])
        members = list(shape.members.items())
        required = [m for m in members if m[0] in shape.required_members]
        optional = [m for m in members if m[0] not in shape.required_members]
        dot = f"{prefix}." if prefix else ""

        def chosen(picked):
            parts = [self.shape(member, f"{dot}{_wire(name, member)}", name, depth + 1) for name, member in picked]
            return st.tuples(*parts).map(lambda lists: list(itertools.chain.from_iterable(lists)))

        keep_required = st.booleans().map(lambda keep: required if keep else [])
        extra = st.lists(st.sampled_from(optional), max_size=4, unique_by=lambda m: m[0]) if optional \
            else st.just([])
        return st.tuples(keep_required, extra).flatmap(lambda picked: chosen(picked[0] + picked[1]))

    def list(self, shape, prefix: str, name: str, depth: int):
        member = shape.member
        singular = name[:-1] if name.endswith("s") else name

        def members(count: int, indices=None):
            keys = indices or [str(i) for i in range(1, count + 1)]
            return st.tuples(*[self.shape(member, f"{prefix}.{key}", singular, depth + 1) for key in keys]) \
                .map(lambda lists: list(itertools.chain.from_iterable(lists)))

        def oversized(count: int):
            # One generated member repeated under every index: as many members as the bound plus one.
            return self.shape(member, f"{prefix}.#", singular, depth + 1).map(
                lambda pairs: [(key.replace("#", str(i), 1), value) for i in range(1, count + 1)
                               for key, value in pairs])

        bound = MAX_FILTERS if shape.name in ("FilterList", "ValueStringList") else MAX_LIST_MEMBERS
        return st.one_of(
            st.integers(0, 3).flatmap(members),
            st.lists(st.sampled_from(ODD_INDICES), min_size=1, max_size=2, unique=True).flatmap(
                lambda indices: members(len(indices), indices)),
            st.just(bound + 1).flatmap(oversized) if depth < 2 else st.just([]),
        )


def _body(action: str, pairs) -> bytes:
    def enc(text) -> str:
        return quote(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"), safe="")

    return "&".join(f"{enc(k)}={enc(v)}" for k, v in [("Action", action), ("Version", "2016-11-15"), *pairs]) \
        .encode()


def _request(action: str, shape, params: _Params):
    named = params.structure(shape, "", 0) if shape is not None else st.just([])
    unknown = st.lists(st.tuples(st.text(st.characters(codec="utf-8"), min_size=1, max_size=12), _text()),
                       max_size=2)
    return st.tuples(named, unknown, st.booleans()).map(
        lambda parts: _with_duplicate(parts[0] + parts[1], parts[2]))


def _with_duplicate(pairs: list, duplicate: bool) -> list:
    """The same key twice, with another value (form parsing keeps one of them)."""
    return pairs + [(pairs[0][0], "duplicate")] if duplicate and pairs else pairs


@pytest.fixture(scope="module", params=ON_EACH_DATABASE)
def fuzzed(request, tmp_path_factory):
    """The server the fuzz test drives, on each database: MariaDB refuses values SQLite stores."""
    yield from server_on_database(request.param, str(tmp_path_factory.mktemp("fuzzed")))


@pytest.fixture(scope="module")
def pool(fuzzed):
    """Real names and ids from the running cloud, for the generated requests to hit now and then."""
    ec2 = ec2_client(fuzzed)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, InstanceType="t2.nano", MinCount=1, MaxCount=1)["Instances"][0]
    ec2.create_key_pair(KeyName="fuzz-key")
    group = ec2.create_security_group(GroupName="fuzz-group", Description="fuzz")["GroupId"]
    public = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(ser.Encoding.OpenSSH,
                                                                             ser.PublicFormat.OpenSSH)
    template = ec2.create_launch_template(LaunchTemplateName="fuzz-template", LaunchTemplateData={
        "ImageId": image, "InstanceType": "t2.nano"})["LaunchTemplate"]["LaunchTemplateId"]
    ids = [instance["InstanceId"], image, group, template]
    return {"imageid": [image], "imageids": [image], "instanceid": [instance["InstanceId"]],
            "instanceids": [instance["InstanceId"]], "instancetype": ["t2.nano", "t2.micro", "m5.large"],
            "keyname": ["fuzz-key"], "groupname": ["fuzz-group", "default"], "groupid": [group],
            "securitygroupid": [group], "securitygroup": ["fuzz-group"], "resource": ids, "resourceid": ids,
            "name": ["instance-id", "tag:Name", "instance-state-name", "key-name", "group-name", "resource-id",
                     "fuzz-image"],
            "key": ["Name", "aws:x"], "value": ["web", "*"], "attribute": ["instanceType", "userData"],
            "availabilityzone": ["us-east-1a"], "zonename": ["us-east-1a"], "regionname": ["us-east-1"],
            "publickeymaterial": [base64.b64encode(public).decode()], "ipprotocol": ["tcp", "-1", "icmp"],
            "cidrip": ["0.0.0.0/0", "10.0.0.0/33"], "userdata": [base64.b64encode(b"#!/bin/sh").decode()],
            "launchtemplateid": [template], "launchtemplateids": [template],
            "launchtemplatename": ["fuzz-template"], "launchtemplatenames": ["fuzz-template"],
            "version": ["1", "$Latest", "$Default"], "versions": ["1", "$Latest"], "sourceversion": ["1"],
            "defaultversion": ["1"], "minversion": ["1"], "maxversion": ["2"]}


# ------------------------------------------------------------------ one long value in every parameter

def _leaves(shape, prefix: str = "", depth: int = 0):
    """``(key, member name, shape)`` of every scalar an input takes, lists at their first member."""
    for name, member in shape.members.items():
        key = prefix + _wire(name, member)
        if member.type_name == "structure":
            if depth < 2:
                yield from _leaves(member, key + ".", depth + 1)
        elif member.type_name == "list":
            if member.member.type_name == "structure":
                if depth < 2:
                    yield from _leaves(member.member, key + ".1.", depth + 1)
            else:
                yield key + ".1", name[:-1] if name.endswith("s") else name, member.member
        else:
            yield key, name, member


def _plausible(name: str, shape, pool: dict) -> str:
    kind = shape.type_name
    if kind in ("integer", "long"):
        return str(max(1, shape.metadata.get("min", 1)))
    if kind == "boolean":
        return "false"
    if kind == "blob":
        return pool.get(name.lower(), [base64.b64encode(b"x").decode()])[0]
    if kind == "timestamp":
        return "2026-01-01T00:00:00Z"
    if "enum" in shape.metadata:
        return shape.metadata["enum"][0]
    return pool.get(name.lower(), ["fuzz-plausible"])[0]


def _required(shape, pool: dict, prefix: str = "") -> dict:
    """Plausible values for the required members, recursively: a request that gets past the first checks."""
    out = {}
    for name in shape.required_members:
        member = shape.members[name]
        key = prefix + _wire(name, member)
        if member.type_name == "structure":
            out.update(_required(member, pool, key + "."))
        elif member.type_name == "list":
            if member.member.type_name == "structure":
                out.update(_required(member.member, pool, key + ".1."))
            else:
                out[key + ".1"] = _plausible(name[:-1] if name.endswith("s") else name, member.member, pool)
        else:
            out[key] = _plausible(name, member, pool)
    return out


def _plausible_request(action: str, shape, pool: dict) -> dict:
    """The required members, plus what the handlers need beyond the model's required ones, so that the one
    hostile value in each request reaches as deep as it can."""
    rule = {"IpProtocol": "tcp", "FromPort": "22", "ToPort": "22", "CidrIp": "10.0.0.0/8",
            "GroupId": pool["groupid"][0]}
    extra = {
        "RunInstances": {"ImageId": pool["imageid"][0], "InstanceType": "t2.nano"},
        "CreateSecurityGroup": {"GroupName": "fuzz-new-group"},
        "CreateKeyPair": {"KeyName": "fuzz-new-key"},
        "ImportKeyPair": {"KeyName": "fuzz-new-key"},
        "RegisterImage": {"Name": "fuzz-image", "ImageLocation": "http://127.0.0.1:9/fuzz.qcow2"},
        "CreateTags": {"Tag.1.Key": "k", "Tag.1.Value": "v"},
        "CreateLaunchTemplate": {"LaunchTemplateName": "fuzz-new-template",
                                 "LaunchTemplateData.InstanceType": "t2.nano"},
        "CreateLaunchTemplateVersion": {"LaunchTemplateId": pool["launchtemplateid"][0],
                                        "LaunchTemplateData.InstanceType": "t2.nano"},
        "DescribeLaunchTemplateVersions": {"LaunchTemplateId": pool["launchtemplateid"][0]},
        "ModifyLaunchTemplate": {"LaunchTemplateId": pool["launchtemplateid"][0], "SetDefaultVersion": "1"},
        "DeleteLaunchTemplate": {"LaunchTemplateId": pool["launchtemplateid"][0]},
        "DeleteLaunchTemplateVersions": {"LaunchTemplateId": pool["launchtemplateid"][0]},
        "AuthorizeSecurityGroupIngress": rule, "AuthorizeSecurityGroupEgress": rule,
        "RevokeSecurityGroupIngress": rule, "RevokeSecurityGroupEgress": rule,
    }
    return {"Action": action, **_required(shape, pool), **extra.get(action, {}),
            **({"DryRun": "true"} if "DryRun" in shape.members else {})}


LONGEST = {"string": "y" * 70000, "blob": base64.b64encode(b"z" * 52500).decode(),
           "integer": str(2 ** 31 - 1), "long": str(2 ** 63 - 1)}


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_the_longest_value_in_every_parameter(fuzzed, pool, request_count, action):
    """Every parameter in turn holds a 70,000-character string (or the largest number its type takes) in an
    otherwise plausible request, as a DryRun: the handler runs all the way through, its writes undone.
    Values the database cannot hold must be client errors there too (MariaDB refuses what SQLite keeps)."""
    shape = service_model().operation_model(action).input_shape
    if shape is None:
        return
    base = _plausible_request(action, shape, pool)
    problems = []
    for key, name, leaf in _leaves(shape):
        if key == "DryRun" or leaf.type_name not in LONGEST:
            continue
        reply = _send(fuzzed, {**base, key: LONGEST[leaf.type_name]})
        problem = _problem(action, reply)
        if problem:
            problems.append((key, problem, reply.text[:200]))
    assert not problems, problems


@pytest.fixture(scope="module")
def request_count(request):
    yield SENT
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        answers = ", ".join(f"{code} {n}" for code, n in sorted(SENT["answers"].items(), key=lambda a: -a[1]))
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"\ntest_ec2_bad_input: {SENT['requests']} EC2 requests sent; generated ones "
                                f"answered: {answers}")


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_generated_requests_never_reach_a_500(fuzzed, pool, request_count, action):
    shape = service_model().operation_model(action).input_shape
    problems = []

    @settings(max_examples=EXAMPLES_PER_ACTION, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(_request(action, shape, _Params(_Values(pool))))
    def check(pairs):
        reply = _post(fuzzed, _body(action, pairs))
        problem = _problem(action, reply)
        outcome = "200" if reply.status_code == 200 else (problem or _code(reply))
        SENT["answers"][outcome] = SENT["answers"].get(outcome, 0) + 1
        if problem:
            problems.append((problem, [(k[:60], v[:60]) for k, v in pairs], reply.text[:300]))
        assert problem is None, problems[-1]

    check()
