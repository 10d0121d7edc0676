"""The JSON protocol codec over botocore's SSM model, the SSM public parameters and the public AMI items."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from ec2bridge import catalogue, json_codec, ssm
from ec2bridge.actions import public_images
from ec2bridge.codec import service_model


def _op(name: str):
    return service_model("ssm").operation_model(name)


def _decode_error(name: str, body) -> tuple[str, str]:
    with pytest.raises(json_codec.JsonError) as info:
        json_codec.decode(_op(name), body if isinstance(body, bytes) else json.dumps(body).encode())
    return info.value.code, info.value.message


def test_decode_checks_the_model_s_types_bounds_patterns_and_required_members():
    assert json_codec.decode(_op("GetParametersByPath"), b'{"Path": "/a", "MaxResults": 3, "Recursive": true}') == \
        {"Path": "/a", "MaxResults": 3, "Recursive": True}
    assert _decode_error("GetParameter", {}) == (
        "ValidationException", "1 validation error detected: Value null at 'name' failed to satisfy constraint: "
                               "Member must not be null")
    assert _decode_error("GetParameters", {"Names": []})[1].endswith("Member must have length greater than or equal "
                                                                     "to 1")
    assert _decode_error("GetParametersByPath", {"Path": "", "MaxResults": 0})[1].startswith(
        "2 validation errors detected: ")
    assert _decode_error("GetParametersByPath", {"Path": "/", "ParameterFilters": [{"Key": "Nope"}]})[1] == (
        "1 validation error detected: Value 'Nope' at 'parameterFilters.1.member.key' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: ^(tag:.+|Name|Type|KeyId|Path|Label|Tier|"
        "DataType)$")
    for name, body in (("GetParameter", b"{"), ("GetParameter", b"[]"), ("GetParameter", b"\xff"),
                       ("GetParameter", {"Name": 5}), ("GetParameter", {"Name": "/a", "WithDecryption": "yes"}),
                       ("GetParametersByPath", {"Path": "/", "MaxResults": True}),
                       ("GetParametersByPath", {"Path": "/", "MaxResults": 1.5})):
        assert _decode_error(name, body)[0] == "SerializationException", body


def test_encode_writes_epoch_timestamps_and_leaves_none_out():
    when = dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.timezone.utc)
    out = json.loads(json_codec.encode(_op("GetParameter"), {"Parameter": {"Name": "/a", "Value": "v", "Version": 2,
                                                                            "LastModifiedDate": when,
                                                                            "Selector": None}}))
    assert out == {"Parameter": {"Name": "/a", "Value": "v", "Version": 2, "LastModifiedDate": when.timestamp()}}


def test_every_region_s_parameters_are_the_catalogue_s_plus_ubuntu_aliases_naming_its_images():
    for region in catalogue.regions():
        names = set(ssm.parameters(region))
        assert {p["Name"] for p in catalogue.ssm_parameters(region)} <= names
        for name in names - {p["Name"] for p in catalogue.ssm_parameters(region)}:
            assert name.startswith("/aws/service/canonical/ubuntu/server/")
            image = public_images.find(region, ssm.parameters(region)[name]["Value"])
            assert image is not None and image["OwnerId"] == ssm.CANONICAL and "ubuntu" in image["Name"]
    aliases = {n: p["Value"] for n, p in ssm.parameters("us-east-1").items() if "canonical" in n}
    assert aliases == {
        f"/aws/service/canonical/ubuntu/server/{release}/stable/{serial}/amd64/hvm/ebs-gp2/ami-id": ami
        for ami, versions, serials in (("ami-1e749f67", ("14.04", "trusty"), ("current", "20170727")),
                                       ("ami-785db401", ("16.04", "xenial"), ("current", "20170721")))
        for release in versions for serial in serials}


def test_lookup_by_name_arn_and_version():
    name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    found = ssm.lookup("us-east-1", name)
    assert ssm.lookup("us-east-1", found["ARN"]) == found
    assert ssm.lookup("us-east-1", f"{name}:{found['Version']}")["Selector"] == f":{found['Version']}"
    for missing, code in ((f"{name}:{found['Version'] + 1}", "ParameterVersionNotFound"),
                          (f"{name}:label", "ParameterNotFound"), ("/nope", "ParameterNotFound"),
                          ("arn:aws:ssm:us-east-1::nothing", "ParameterNotFound")):
        with pytest.raises(json_codec.JsonError) as info:
            ssm.lookup("us-east-1", missing)
        assert info.value.code == code, missing
    assert ssm.resolve("us-east-1", name) == found["Value"] and ssm.resolve("us-east-1", "/nope") is None


def test_public_image_items_follow_aws_where_moto_s_data_does_not():
    items = {i["ImageId"]: i for i in public_images.images("us-east-1")}
    assert set(items) == {r["ami_id"] for r in catalogue.images("us-east-1")}
    assert {i["Platform"] for i in items.values()} == {"windows", None}  # moto's data says Linux/UNIX for some
    assert items["ami-ekslinux"]["Platform"] is None and items["ami-ekswin"]["Platform"] == "windows"
    assert (items["ami-1812c061"]["PlatformDetails"], items["ami-1812c061"]["UsageOperation"]) == \
        ("Windows with SQL Server Standard", "RunInstances:0006")
    assert items["ami-bb9a6bc2"]["PlatformDetails"] == "Red Hat Enterprise Linux"
    assert items["ami-35e92e4c"]["CreationDate"] == "2017-09-07T00:00:00.000Z"  # from suse-...-v20170907-...
    assert items["ami-999844e0"]["CreationDate"] == public_images.SERVED_SINCE.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert all(i["ImageOwnerAlias"] == "amazon" and i["State"] == "available" for i in items.values())
    assert public_images.find("us-east-1", "ami-0badc0de") is None
