"""Every DescribeInstances filter, generated from its one declaration (ec2bridge.actions.instances.FILTERS):
for each, a value read from the described instance finds it and a made-up one does not; wildcards; an
unknown name is AWS's InvalidParameterValue; one awscli ``--filters`` case. Against an emulator-mode server."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ec2bridge.actions.instances import FILTERS

AWS = os.path.join(os.path.dirname(sys.executable), "aws")
NO_MATCH = "no-such-value-7q"


@pytest.fixture(scope="module")
def ec2(emulator):
    import boto3

    return boto3.client("ec2", endpoint_url=emulator.url, region_name="us-east-1", aws_access_key_id="AKIAFILTERS",
                        aws_secret_access_key="x")


@pytest.fixture(scope="module")
def launched(ec2):
    """One running instance with a key, a group, tags and a client token, and one bare stopped instance."""
    image = next(i for i in ec2.describe_images(Owners=["amazon"])["Images"] if i["Name"] == "debian-12")
    ec2.create_key_pair(KeyName="filter-key")
    group = ec2.create_security_group(GroupName="filter-web", Description="filters")["GroupId"]
    run = ec2.run_instances(ImageId=image["ImageId"], InstanceType="t2.micro", MinCount=1, MaxCount=1,
                            KeyName="filter-key", SecurityGroupIds=[group], ClientToken="filter-token",
                            TagSpecifications=[{"ResourceType": "instance",
                                                "Tags": [{"Key": "Name", "Value": "filter-[one]"}]}])
    other = ec2.run_instances(ImageId=image["ImageId"], InstanceType="t2.small", MinCount=1, MaxCount=1)
    other_id = other["Instances"][0]["InstanceId"]
    ec2.stop_instances(InstanceIds=[other_id])
    reservation = ec2.describe_instances(InstanceIds=[run["Instances"][0]["InstanceId"]])["Reservations"][0]
    item = dict(reservation["Instances"][0], _reservation=reservation["ReservationId"],
                _owner=reservation["OwnerId"])
    return item, other_id


def _found(ec2, name, values) -> set[str]:
    reservations = ec2.describe_instances(Filters=[{"Name": name, "Values": values}])["Reservations"]
    return {i["InstanceId"] for r in reservations for i in r["Instances"]}


def _scalars(value) -> list[str]:
    """The filter's value(s) for an item, flattened and written as EC2 compares them."""
    if isinstance(value, (list, tuple)):
        return [text for v in value for text in _scalars(v)]
    if value is None:
        return []
    return ["true" if value is True else "false" if value is False else str(value)]


@pytest.mark.parametrize("name", [n.replace("<key>", "Name") for n in FILTERS.names()])
def test_every_declared_filter_matches_its_own_value_and_not_another(ec2, launched, name):
    item, _ = launched
    instance_id = item["InstanceId"]
    values = _scalars(FILTERS.getter(name)(item))
    if values:  # a member the instance lacks (a public address, a VPC) matches nothing
        assert instance_id in _found(ec2, name, [NO_MATCH, values[0]])
    assert instance_id not in _found(ec2, name, [NO_MATCH])


def test_the_documented_instance_filters_are_all_declared():
    documented = {
        "architecture", "availability-zone", "client-token", "dns-name", "group-id", "group-name", "image-id",
        "instance-id", "instance-state-code", "instance-state-name", "instance-type", "instance.group-id",
        "instance.group-name", "ip-address", "key-name", "launch-index", "launch-time", "monitoring-state",
        "owner-id", "placement-group-name", "platform-details", "private-dns-name", "private-ip-address",
        "reservation-id", "root-device-name", "root-device-type", "state-reason-code", "subnet-id", "tenancy",
        "virtualization-type", "vpc-id", "tag:<key>", "tag-key", "tag-value"}
    assert documented <= set(FILTERS.names())


def test_filters_that_tell_the_two_instances_apart(ec2, launched):
    item, other_id = launched
    mine = item["InstanceId"]
    assert _found(ec2, "group-name", ["filter-web"]) == {mine}
    assert _found(ec2, "instance.group-name", ["filter-*"]) == {mine}
    assert _found(ec2, "key-name", ["filter-key"]) == {mine}
    assert _found(ec2, "instance-state-name", ["stopped"]) == {other_id}
    assert _found(ec2, "state-reason-code", ["Client.UserInitiatedShutdown"]) == {other_id}
    assert _found(ec2, "instance-type", ["t2.micro", "t2.small"]) == {mine, other_id}


def test_wildcards(ec2, launched):
    item, other_id = launched
    mine = item["InstanceId"]
    assert _found(ec2, "instance-type", ["t2.micr?"]) == {mine}
    assert _found(ec2, "instance-type", ["t2.*"]) == {mine, other_id}
    assert _found(ec2, "instance-id", [mine[:-1] + "?"]) == {mine}
    assert _found(ec2, "tag:Name", ["filter-*"]) == {mine}
    assert _found(ec2, "tag:Name", ["filter-[one]"]) == {mine}  # brackets are literal, not a character class
    assert _found(ec2, "tag:Name", ["filter-o"]) == set()
    assert _found(ec2, "launch-time", [item["LaunchTime"].strftime("%Y-%m-%dT") + "*"]) >= {mine}


def test_an_unknown_filter_name_is_invalid_parameter_value(ec2, launched):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as caught:
        ec2.describe_instances(Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("InvalidParameterValue", "The filter 'no-such-filter' is invalid")


def test_awscli_filters_by_group_name(emulator, launched):
    item, _ = launched
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIAFILTERS", "AWS_SECRET_ACCESS_KEY": "x",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    result = subprocess.run([AWS, "--endpoint-url", emulator.url, "--output", "json", "ec2", "describe-instances",
                             "--filters", "Name=instance.group-name,Values=filter-web",
                             "Name=instance-state-name,Values=running",
                             "--query", "Reservations[].Instances[].InstanceId"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [item["InstanceId"]]


# ------------------------------------------------------------- the other Describe* actions, the same way

def _kinds(ec2, launched) -> dict:
    """Per action: its declaration, the item to find, how to list with filters, and how to name an item."""
    from ec2bridge.actions import catalog, instances, keypairs, launch_templates, securitygroups, tags

    item, _ = launched
    group_id = item["SecurityGroups"][0]["GroupId"]
    if not ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]["IpPermissions"]:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
             "UserIdGroupPairs": [{"GroupId": group_id}]}])
    image = next(i for i in ec2.describe_images(Owners=["amazon"])["Images"] if i["Name"] == "debian-12")
    if not ec2.describe_launch_templates(Filters=[{"Name": "launch-template-name", "Values": ["filter-lt"]}])[
            "LaunchTemplates"]:
        ec2.create_launch_template(LaunchTemplateName="filter-lt", LaunchTemplateData={"InstanceType": "t2.nano"},
                                   TagSpecifications=[{"ResourceType": "launch-template",
                                                       "Tags": [{"Key": "Name", "Value": "filter-lt"}]}])
    ec2.get_waiter("instance_running").wait(InstanceIds=[item["InstanceId"]],
                                            WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return {
        "DescribeInstanceStatus": (
            instances.STATUS_FILTERS,
            ec2.describe_instance_status(InstanceIds=[item["InstanceId"]])["InstanceStatuses"][0],
            lambda f: ec2.describe_instance_status(Filters=f, IncludeAllInstances=True)["InstanceStatuses"],
            lambda i: i["InstanceId"]),
        "DescribeLaunchTemplates": (
            launch_templates.TEMPLATE_FILTERS, ec2.describe_launch_templates(
                LaunchTemplateNames=["filter-lt"])["LaunchTemplates"][0],
            lambda f: ec2.describe_launch_templates(Filters=f)["LaunchTemplates"], lambda i: i["LaunchTemplateId"]),
        "DescribeImages": (catalog.IMAGE_FILTERS, image, lambda f: ec2.describe_images(Filters=f)["Images"],
                           lambda i: i["ImageId"]),
        "DescribeSecurityGroups": (
            securitygroups.FILTERS, ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0],
            lambda f: ec2.describe_security_groups(Filters=f)["SecurityGroups"], lambda i: i["GroupId"]),
        "DescribeKeyPairs": (keypairs.FILTERS, ec2.describe_key_pairs(KeyNames=["filter-key"])["KeyPairs"][0],
                             lambda f: ec2.describe_key_pairs(Filters=f)["KeyPairs"], lambda i: i["KeyPairId"]),
        "DescribeTags": (tags.FILTERS, {"Key": "Name", "Value": "filter-[one]", "ResourceType": "instance",
                                        "ResourceId": item["InstanceId"]},
                         lambda f: ec2.describe_tags(Filters=f)["Tags"], lambda i: (i["ResourceId"], i["Key"])),
    }


OTHER_DESCRIBES = ("DescribeImages", "DescribeSecurityGroups", "DescribeKeyPairs", "DescribeTags", "DescribeInstanceStatus",
                   "DescribeLaunchTemplates")


def _declared_other_filters() -> list[tuple[str, str]]:
    from ec2bridge.actions import ACTIONS

    return [(action, name.replace("<key>", "Name")) for action in
            OTHER_DESCRIBES for name in ACTIONS[action].filters.names()]


@pytest.mark.parametrize("action,name", _declared_other_filters())
def test_every_declared_filter_of_the_other_describes(ec2, launched, action, name):
    declared, item, listed, key = _kinds(ec2, launched)[action]
    values = _scalars(declared.getter(name)(item))
    if values:
        assert key(item) in {key(i) for i in listed([{"Name": name, "Values": [NO_MATCH, values[0]]}])}
    assert key(item) not in {key(i) for i in listed([{"Name": name, "Values": [NO_MATCH]}])}


@pytest.mark.parametrize("action", OTHER_DESCRIBES)
def test_an_unknown_filter_of_the_other_describes_is_invalid(ec2, launched, action):
    from botocore.exceptions import ClientError

    _, _, listed, _ = _kinds(ec2, launched)[action]
    with pytest.raises(ClientError) as caught:
        listed([{"Name": "no-such-filter", "Values": ["x"]}])
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
