"""Every implemented EC2 action, sent empty or with junk in each parameter, answers an EC2 error, never a 500."""
from __future__ import annotations

from urllib.parse import urlencode

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ec2bridge.actions import ACTIONS
from ec2bridge.codec import service_model

JUNK = {"string": "junk", "integer": "many", "long": "lots", "boolean": "perhaps", "timestamp": "yesterday",
        "blob": "%%%", "double": "x", "float": "x"}


def _send(server, params):
    key, secret = server.keys("demo")
    body = urlencode({"Version": "2016-11-15", **params})
    request = AWSRequest(method="POST", url=server.url + "/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(key, secret), "ec2", "us-east-1").add_auth(request)
    return requests.post(server.url + "/", data=body, headers=dict(request.headers.items()), timeout=30)


def _junk_params(shape, prefix=""):
    out = {}
    for name, member in shape.members.items():
        wire = member.serialization.get("queryName") or (member.serialization.get("name", name)[0].upper()
                                                          + member.serialization.get("name", name)[1:])
        key = f"{prefix}{wire}"
        if member.type_name == "list":
            out[f"{key}.1"] = JUNK.get(member.member.type_name, "junk")
        elif member.type_name != "structure":
            out[key] = JUNK.get(member.type_name, "junk")
    return out


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
