"""Decoding refuses what EC2 refuses: numbers past their type or documented range, control characters,
and lists past AWS's bounds (the time a large request takes is measured in benchmarks/, not asserted)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ec2bridge import codec
from ec2bridge.errors import Ec2Error

MODEL = codec.service_model()
RUN = {"ImageId": "ami-0123456789abcdef0", "MinCount": "1", "MaxCount": "1"}


def _error(action: str, params: dict) -> Ec2Error:
    with pytest.raises(Ec2Error) as info:
        codec.decode(MODEL.operation_model(action), params)
    return info.value


@pytest.mark.parametrize("params, key", [
    ({"MaxCount": "9223372036854775808"}, "MaxCount"),
    ({"MaxCount": "2147483648"}, "MaxCount"),  # EC2 integers are 32-bit
    ({"MinCount": "-2147483649"}, "MinCount"),
    ({"MaxCount": "9" * 5000}, "MaxCount"),  # past Python's own int-parsing limit
    ({"MaxCount": "1_000"}, "MaxCount"),
    ({"MaxCount": " 1"}, "MaxCount"),
    ({"BlockDeviceMapping.1.Ebs.VolumeSize": "99999999999999999999"}, "BlockDeviceMapping.1.Ebs.VolumeSize"),
    ({"BlockDeviceMapping.1.Ebs.VolumeSize": "-5"}, "BlockDeviceMapping.1.Ebs.VolumeSize"),
    ({"BlockDeviceMapping.1.Ebs.VolumeSize": "0"}, "BlockDeviceMapping.1.Ebs.VolumeSize"),
    ({"BlockDeviceMapping.1.Ebs.Iops": "-1"}, "BlockDeviceMapping.1.Ebs.Iops"),
])
def test_integers_past_their_range_are_invalid_parameter_values(params, key):
    error = _error("RunInstances", {**RUN, **params})
    assert error.code == "InvalidParameterValue" and key in error.message
    assert len(error.message) < 400


def test_integers_within_range_and_model_minimums():
    op = MODEL.operation_model("RunInstances")
    decoded = codec.decode(op, {**RUN, "MaxCount": "2147483647", "BlockDeviceMapping.1.Ebs.VolumeSize": "65536",
                                "BlockDeviceMapping.1.DeviceName": "/dev/sda1"})
    assert decoded["MaxCount"] == 2147483647
    assert decoded["BlockDeviceMappings"] == [{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 65536}}]
    # The model's own bounds: DescribeInstanceTypes takes MaxResults 5..100.
    assert _error("DescribeInstanceTypes", {"MaxResults": "101"}).code == "InvalidParameterValue"
    assert _error("DescribeInstanceTypes", {"MaxResults": "4"}).code == "InvalidParameterValue"
    assert codec.decode(MODEL.operation_model("DescribeInstanceTypes"), {"MaxResults": "100"}) == {"MaxResults": 100}
    # Ports may be -1 (ICMP "all"): no blanket rule against negative integers.
    assert codec.decode(MODEL.operation_model("AuthorizeSecurityGroupIngress"),
                        {"GroupId": "sg-1", "FromPort": "-1"})["FromPort"] == -1
    # The model's string lengths: an image name is 3..128 characters.
    assert _error("RegisterImage", {"Name": "ab"}).code == "InvalidParameterValue"
    assert _error("RegisterImage", {"Name": "x" * 129}).code == "InvalidParameterValue"


def test_floats_must_be_finite():
    # No implemented action takes a float yet; the rule is the codec's, for when one does.
    shape = type("Shape", (), {"type_name": "double", "metadata": {}})()
    for text in ("nan", "inf", "-Infinity", "1e999"):
        with pytest.raises(Ec2Error):
            codec._scalar(shape, text, "Value")
    assert codec._scalar(shape, "1.5", "Value") == 1.5


@pytest.mark.parametrize("value", ["a\x00b", "a\x01", "\x1b[31m", "x\udc80", "\uffff"])
def test_control_characters_are_refused_and_not_echoed_raw(value):
    error = _error("CreateKeyPair", {"KeyName": value})
    assert error.code == "InvalidParameterValue" and "KeyName" in error.message
    assert not any(ch in error.message for ch in value if not ch.isprintable())
    # Tab, newline and carriage return are legal XML: they reach the handler, which judges them.
    assert codec.decode(MODEL.operation_model("CreateKeyPair"), {"KeyName": "a\tb\nc"}) == {"KeyName": "a\tb\nc"}


def test_error_messages_are_xml_safe_and_bounded():
    error = Ec2Error("InvalidInstanceID.Malformed", "Invalid id: " + "\x07" + "i-" + "f" * 70000)
    assert "\x07" not in error.message and len(error.message) < 2100
    body = codec.error_body([(error.code, error.message)], "req")
    assert ET.fromstring(body).find("Errors/Error/Code").text == "InvalidInstanceID.Malformed"


def test_encoded_responses_drop_characters_xml_cannot_carry():
    op = MODEL.operation_model("DescribeKeyPairs")
    body = codec.encode(op, {"KeyPairs": [{"KeyName": "bad\x01name", "KeyFingerprint": "a\tb"}]}, "req")
    names = [e.text for e in ET.fromstring(body).iter("{%s}keyName" % codec.NAMESPACE)]
    assert names == ["bad\ufffdname"]


def test_filters_past_the_limit_answer_filter_limit_exceeded():
    params = {}
    for i in range(1, codec.MAX_FILTERS + 2):
        params[f"Filter.{i}.Name"] = "instance-id"
        params[f"Filter.{i}.Value.1"] = f"i-{i}"
    assert _error("DescribeInstances", params).code == "FilterLimitExceeded"
    values = {"Filter.1.Name": "instance-id",
              **{f"Filter.1.Value.{i}": f"i-{i}" for i in range(1, codec.MAX_FILTERS + 2)}}
    assert _error("DescribeInstances", values).code == "FilterLimitExceeded"
    del params[f"Filter.{codec.MAX_FILTERS + 1}.Name"], params[f"Filter.{codec.MAX_FILTERS + 1}.Value.1"]
    decoded = codec.decode(MODEL.operation_model("DescribeInstances"), params)
    assert len(decoded["Filters"]) == codec.MAX_FILTERS
    assert decoded["Filters"][-1] == {"Name": "instance-id", "Values": [f"i-{codec.MAX_FILTERS}"]}


def test_other_lists_past_the_limit_are_invalid_parameter_values():
    ids = {f"InstanceId.{i}": f"i-{i}" for i in range(1, codec.MAX_LIST_MEMBERS + 2)}
    error = _error("DescribeInstances", ids)
    assert error.code == "InvalidParameterValue" and "InstanceId" in error.message
    del ids[f"InstanceId.{codec.MAX_LIST_MEMBERS + 1}"]
    assert len(codec.decode(MODEL.operation_model("DescribeInstances"), ids)["InstanceIds"]) == \
        codec.MAX_LIST_MEMBERS


def test_lists_bounded_by_the_model():
    # DescribeInstanceTypes takes at most 100 InstanceType.N.
    types = {f"InstanceType.{i}": "t2.nano" for i in range(1, 102)}
    error = _error("DescribeInstanceTypes", types)
    assert error.code == "InvalidParameterValue" and "at most 100" in error.message
    del types["InstanceType.101"]
    assert len(codec.decode(MODEL.operation_model("DescribeInstanceTypes"), types)["InstanceTypes"]) == 100


def test_list_indices_that_are_huge_or_not_numbers():
    op = MODEL.operation_model("DescribeInstances")
    decoded = codec.decode(op, {"InstanceId." + "1" * 5000: "i-last", "InstanceId.2": "i-2",
                                "InstanceId.x": "ignored", "InstanceId.\u0661": "ignored"})
    assert decoded["InstanceIds"] == ["i-2", "i-last"]


def test_a_prefix_with_its_own_value_and_keys_under_it():
    op = MODEL.operation_model("DescribeKeyPairs")
    decoded = codec.decode(op, {"KeyName.1": "a", "KeyName.1.Extra": "ignored", "Filter.1": "stray",
                                "Filter.1.Name": "key-name", "Filter.1.Value.1": "a"})
    assert decoded == {"KeyNames": ["a"], "Filters": [{"Name": "key-name", "Values": ["a"]}]}
    # The order the keys arrive in does not matter.
    decoded = codec.decode(op, {"Filter.1.Value.1": "a", "Filter.1.Name": "key-name", "Filter.1": "stray",
                                "KeyName.1.Extra": "ignored", "KeyName.1": "a"})
    assert decoded == {"KeyNames": ["a"], "Filters": [{"Name": "key-name", "Values": ["a"]}]}


def test_unknown_and_authentication_parameters_are_not_part_of_the_input():
    op = MODEL.operation_model("DescribeRegions")
    assert codec.decode(op, {"Action": "DescribeRegions", "Version": "2016-11-15", "X-Amz-Date": "x",
                             "Junk.1.X": "x", "RegionName.1": "us-east-1"}) == {"RegionNames": ["us-east-1"]}
