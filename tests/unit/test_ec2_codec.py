"""The EC2 codec round-trips through botocore's own serializer and parser; SigV4 as botocore signs it."""
from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.parsers import EC2QueryParser
from botocore.serialize import create_serializer
from werkzeug.datastructures import Headers  # case-insensitive, as the server's request headers

from ec2bridge import auth, codec
from ec2bridge.errors import Ec2Error

MODEL = codec.service_model()


def _wire(action: str, params: dict) -> dict[str, str]:
    body = create_serializer("ec2").serialize_to_request(params, MODEL.operation_model(action))["body"]
    return {k: str(v) for k, v in body.items()}


RUN = dict(ImageId="ami-0123456789abcdef0", MinCount=1, MaxCount=12, InstanceType="t3.micro",
           SecurityGroupIds=[f"sg-{i}" for i in range(11)], UserData="IyEvYmluL3No",
           Placement={"AvailabilityZone": "us-east-1a"},
           BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 20, "DeleteOnTermination": True}}],
           TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "a & <b>"}]}],
           NetworkInterfaces=[{"DeviceIndex": 0, "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.0.5",
                                                                          "Primary": True}]}],
           ClientToken="token-1", DryRun=False)


def test_decode_gives_back_what_boto3_was_called_with():
    assert codec.decode(MODEL.operation_model("RunInstances"), _wire("RunInstances", RUN)) == RUN
    filters = dict(Filters=[{"Name": "tag:Name", "Values": ["web*", "db?"]}], InstanceIds=["i-1"])
    assert codec.decode(MODEL.operation_model("DescribeInstances"), _wire("DescribeInstances", filters)) == filters
    blob = dict(KeyName="k", PublicKeyMaterial=b"ssh-ed25519 AAAA")
    assert codec.decode(MODEL.operation_model("ImportKeyPair"), _wire("ImportKeyPair", blob)) == blob


def test_list_indices_sort_numerically_and_tolerate_gaps():
    params = {f"InstanceId.{i}": f"i-{i}" for i in (10, 2, 1, 5)}
    assert codec.decode(MODEL.operation_model("DescribeInstances"), params)["InstanceIds"] == \
        ["i-1", "i-2", "i-5", "i-10"]


def test_missing_and_malformed_parameters():
    with pytest.raises(Ec2Error) as info:
        codec.decode(MODEL.operation_model("RunInstances"), {"MinCount": "1"})
    assert info.value.code == "MissingParameter" and "MaxCount" in info.value.message
    with pytest.raises(Ec2Error) as info:
        codec.decode(MODEL.operation_model("RunInstances"), {"MinCount": "one", "MaxCount": "1"})
    assert info.value.code == "InvalidParameterValue"
    with pytest.raises(Ec2Error) as info:
        codec.operation("LaunchRockets")
    assert info.value.code == "InvalidAction"


def test_encode_is_parsed_back_by_botocore_to_the_same_dict():
    op = MODEL.operation_model("DescribeInstances")
    launched = dt.datetime(2026, 11, 24, 3, 4, 5, tzinfo=dt.timezone.utc)
    result = {"Reservations": [{"ReservationId": "r-1", "OwnerId": "123456789012", "Groups": [], "Instances": [{
        "InstanceId": "i-1", "State": {"Code": 16, "Name": "running"}, "LaunchTime": launched,
        "PublicDnsName": "", "Tags": [{"Key": "Name", "Value": "a & <b>"}], "EbsOptimized": False,
        "Placement": {"AvailabilityZone": "us-east-1a"}}]}]}
    parsed = EC2QueryParser().parse({"body": codec.encode(op, result, "req-1"), "headers": {}, "status_code": 200},
                                    op.output_shape)
    assert parsed["ResponseMetadata"]["RequestId"] == "req-1"
    del parsed["ResponseMetadata"]
    assert parsed == result


def test_errors_use_the_ec2_envelope():
    body = codec.error_body([("InvalidInstanceID.NotFound", "The instance ID 'i-1' does not exist")], "req-2")
    parsed = EC2QueryParser().parse({"body": body, "headers": {}, "status_code": 400}, None)
    assert parsed["Error"]["Code"] == "InvalidInstanceID.NotFound"
    assert parsed["ResponseMetadata"]["RequestId"] == "req-2"


# ------------------------------------------------------------------ SigV4

def _signed(secret="s3cret", body=b"Action=DescribeRegions&Version=2016-11-15"):
    request = AWSRequest(method="POST", url="http://127.0.0.1:8080/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials("AKID", secret), "ec2", "eu-west-3").add_auth(request)
    headers = dict(request.headers.items())
    headers["Host"] = "127.0.0.1:8080"
    return headers, body


def test_sigv4_header_form_verifies_and_a_wrong_secret_fails():
    headers, body = _signed()
    headers = Headers(headers)
    req = auth.parse("POST", headers, [])
    assert (req.access_key, req.region, req.service) == ("AKID", "eu-west-3", "ec2")
    auth.check_time(req)
    auth.verify(req, "s3cret", method="POST", path="/", headers=headers, query=[], body=body)
    with pytest.raises(Ec2Error) as info:
        auth.verify(req, "other", method="POST", path="/", headers=headers, query=[], body=body)
    assert info.value.code == "AuthFailure" and info.value.status == 401
    with pytest.raises(Ec2Error):
        auth.verify(req, "s3cret", method="POST", path="/", headers=headers, query=[], body=body + b"&x=1")


def test_sigv4_clock_skew_is_request_expired():
    headers, _ = _signed()
    req = auth.parse("POST", Headers(headers), [])
    now = dt.datetime.now(dt.timezone.utc)
    auth.check_time(req, now=now + dt.timedelta(minutes=14))
    for skew in (dt.timedelta(minutes=16), -dt.timedelta(minutes=16)):
        with pytest.raises(Ec2Error) as info:
            auth.check_time(req, now=now + skew)
        assert info.value.code == "RequestExpired"


def test_presigned_query_form_verifies_and_a_changed_parameter_fails():
    request = AWSRequest(method="GET", url="http://127.0.0.1:8080/?Action=DescribeRegions&Version=2016-11-15")
    SigV4QueryAuth(Credentials("AKID", "s3cret"), "ec2", "us-east-1", expires=300).add_auth(request)
    query = parse_qsl(urlsplit(request.url).query, keep_blank_values=True)
    headers = Headers({"Host": "127.0.0.1:8080"})
    req = auth.parse("GET", headers, query)
    assert (req.access_key, req.region, req.service, req.expires) == ("AKID", "us-east-1", "ec2", 300)
    auth.check_time(req)
    auth.verify(req, "s3cret", method="GET", path="/", headers=headers, query=query, body=b"")
    changed = [(k, "CreateKeyPair" if k == "Action" else v) for k, v in query]
    for secret, signed_query in (("other", query), ("s3cret", changed)):
        with pytest.raises(Ec2Error) as info:
            auth.verify(req, secret, method="GET", path="/", headers=headers, query=signed_query, body=b"")
        assert info.value.code == "AuthFailure"
