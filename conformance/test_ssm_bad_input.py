"""Bad input to SSM's public parameters (emulator mode) answers an SSM JSON error, never a 500 nor a body
botocore cannot read.

Every served SSM action gets property-based requests (hypothesis) generated from its input shape in
botocore's SSM model: right and wrong JSON types, lengths past the model's bounds, unicode and control
characters, huge numbers, unknown members, missing required ones, bodies that are not JSON at all, and
real parameter names and paths among them so that some reach deep into the handlers. Requests are signed
with botocore's SigV4Auth for service ``ssm``. Each answer must be below 500, a JSON object, and carry
``__type`` when it is an error; a strict-mode server answers UnknownOperationException.
"""
from __future__ import annotations

import json

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ec2bridge import catalogue
from ec2bridge.codec import service_model
from ec2bridge.ssm import ACTIONS

EXAMPLES_PER_ACTION = 80
REAL_NAMES = [p["Name"] for p in catalogue.ssm_parameters("us-east-1")[:3]] + [
    "/aws/service/canonical/ubuntu/server/16.04/stable/current/amd64/hvm/ebs-gp2/ami-id",
    "/aws/service/ami-amazon-linux-latest", "/aws/service/", "/", "arn:aws:ssm:us-east-1::parameter/aws/x"]
ODD = ["", " ", "\x00", "\ud800", "é" * 3000, "/" * 5000, ":", "name:999999999999999999999", "name:-1",
       "tag:", "tag:x", "Type", "Label", "BeginsWith", "Recursive", "SecureString"]


def _post(srv, action: str, body: bytes, region: str = "us-east-1"):
    request = AWSRequest(method="POST", url=srv.url + "/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"AmazonSSM.{action}"})
    SigV4Auth(Credentials("AKIAFUZZ", "secret"), "ssm", region).add_auth(request)
    return requests.post(srv.url + "/", data=body, headers=dict(request.headers.items()), timeout=60)


def _problem(reply) -> str | None:
    if reply.status_code >= 500:
        return f"HTTP {reply.status_code}"
    try:
        body = json.loads(reply.content)
    except ValueError:
        return "not JSON"
    if not isinstance(body, dict):
        return "not a JSON object"
    if reply.status_code != 200 and not isinstance(body.get("__type"), str):
        return "an error without __type"
    return None


def _scalar(shape):
    kind = shape.type_name
    if kind == "string":
        enum = shape.metadata.get("enum") or []
        return st.one_of(st.text(max_size=30), st.sampled_from(REAL_NAMES + ODD + enum))
    if kind in ("integer", "long"):
        return st.one_of(st.integers(-3, 12), st.integers(-2 ** 70, 2 ** 70))
    if kind == "boolean":
        return st.booleans()
    return st.none()


def _junk():
    return st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5),
                     st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(),
                                                                          max_size=2))


def _often(typed, rarely):
    """``typed`` seven times in eight: most requests get past decoding and reach the handler."""
    return st.integers(0, 7).flatmap(lambda pick: rarely if pick == 7 else typed)


def _value(shape):
    """Mostly well-typed values (required members mostly present), sometimes any JSON at all."""
    kind = shape.type_name
    if kind == "structure":
        members = {name: _value(member) for name, member in shape.members.items()}
        required = {name: members[name] for name in shape.required_members}
        typed = st.fixed_dictionaries(required, optional={n: v for n, v in members.items() if n not in required})
        loose = st.fixed_dictionaries({}, optional=members)
        extra = st.dictionaries(st.sampled_from(["Unknown", "name", ""]), _junk(), max_size=1)
        return _often(typed, st.one_of(loose, st.builds(lambda a, b: {**a, **b}, typed, extra), _junk()))
    if kind == "list":
        return _often(st.lists(_value(shape.member), min_size=1, max_size=12), st.one_of(st.just([]), _junk()))
    return _often(_scalar(shape), _junk())


def _body(action: str):
    shape = service_model("ssm").operation_model(action).input_shape
    as_json = _value(shape).map(lambda value: json.dumps(value).encode())
    raw = st.sampled_from([b"", b"{", b"[]", b"null", b"\xff\xfe", b'{"Name": "\\ud800"}', b"{}" * 1000])
    return _often(as_json, raw)


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_generated_ssm_requests_never_reach_a_500(emulator, action):
    @settings(max_examples=EXAMPLES_PER_ACTION, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(_body(action))
    def check(body):
        reply = _post(emulator, action, body)
        problem = _problem(reply)
        assert problem is None, (problem, body[:300], reply.text[:300])

    check()


def test_other_ssm_actions_and_regions_answer_ssm_errors(emulator, server):
    for action in ("PutParameter", "DeleteParameter", "", "NoSuchAction"):
        reply = _post(emulator, action, b"{}")
        assert (reply.status_code, reply.json()["__type"]) == (400, "UnknownOperationException"), action
    # A region AWS does not have has no public parameters.
    reply = _post(emulator, "GetParameter", json.dumps({"Name": REAL_NAMES[0]}).encode(), region="xx-nowhere-1")
    assert (reply.status_code, reply.json()["__type"]) == (400, "ParameterNotFound")
    reply = _post(server, "GetParameter", json.dumps({"Name": REAL_NAMES[0]}).encode())
    assert (reply.status_code, reply.json()["__type"]) == (400, "UnknownOperationException")
    unsigned = requests.post(emulator.url + "/", data=b"{}", timeout=60, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonSSM.GetParameter"})
    assert (unsigned.status_code, unsigned.json()["__type"]) == (400, "MissingAuthenticationTokenException")
