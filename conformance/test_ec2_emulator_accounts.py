"""Emulator mode's accounts and limits, as a test suite written for moto's server meets them: a key that
is a 12-digit number is that account, any other key the default account 123456789012; accounts start
without resource limits and zones have room for thousands of instances, while an operator can still
lower a limit through the native API."""
from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from cs import CloudStack


DEFAULT_ACCOUNT = "123456789012"
USER_VM = 0  # CloudStack's resource type of instances


def _client(srv, key: str, service: str = "ec2", region: str = "us-east-1"):
    return boto3.client(service, endpoint_url=srv.url, region_name=region, aws_access_key_id=key,
                        aws_secret_access_key="anything")


def _image_id(ec2) -> str:
    return next(i for i in ec2.describe_images(Owners=["amazon"])["Images"] if i["Name"] == "debian-12")["ImageId"]


def _admin(srv) -> CloudStack:
    key, secret = srv.keys("admin")
    return CloudStack(endpoint=srv.api_url, key=key, secret=secret)


def test_caller_identity_is_the_default_account_for_any_key_and_the_named_one_for_12_digits(emulator):
    assert {k: v for k, v in _client(emulator, "AKIARANDOMKEY", "sts").get_caller_identity().items()
            if k != "ResponseMetadata"} == {
        "UserId": "AKIAIOSFODNN7EXAMPLE", "Account": DEFAULT_ACCOUNT,
        "Arn": f"arn:aws:sts::{DEFAULT_ACCOUNT}:user/moto"}
    assert _client(emulator, "testing", "sts").get_caller_identity()["Account"] == DEFAULT_ACCOUNT
    named = _client(emulator, "111122223333", "sts").get_caller_identity()
    assert (named["Account"], named["Arn"]) == ("111122223333", "arn:aws:sts::111122223333:user/moto")
    china = _client(emulator, "111122223333", "sts", region="cn-north-1").get_caller_identity()
    assert china["Arn"] == "arn:aws-cn:sts::111122223333:user/moto"


def test_owner_ids_are_the_account_and_two_accounts_are_isolated(emulator):
    default, other = _client(emulator, "AKIAONE"), _client(emulator, "444455556666")
    image = _image_id(default)
    reservation = default.run_instances(ImageId=image, InstanceType="t2.micro", MinCount=1, MaxCount=1)
    assert reservation["OwnerId"] == DEFAULT_ACCOUNT
    instance = reservation["Instances"][0]["InstanceId"]
    described = default.describe_instances(InstanceIds=[instance])["Reservations"][0]
    assert described["OwnerId"] == DEFAULT_ACCOUNT
    group = default.create_security_group(GroupName="owned", Description="owned")["GroupId"]
    assert default.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["OwnerId"] == DEFAULT_ACCOUNT
    default.create_key_pair(KeyName="owned-key")

    # Another key that is no account number is the same account: it sees all of it.
    same = _client(emulator, "AKIATWO")
    assert instance in {i["InstanceId"] for r in same.describe_instances()["Reservations"] for i in r["Instances"]}
    assert "owned-key" in {k["KeyName"] for k in same.describe_key_pairs()["KeyPairs"]}

    # A 12-digit key is another account: it sees none of it, and what it makes is its own.
    assert not other.describe_instances()["Reservations"]
    assert "owned-key" not in {k["KeyName"] for k in other.describe_key_pairs()["KeyPairs"]}
    with pytest.raises(ClientError) as unknown:
        other.describe_instances(InstanceIds=[instance])
    assert unknown.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"
    theirs = other.run_instances(ImageId=image, InstanceType="t2.micro", MinCount=1, MaxCount=1)
    assert theirs["OwnerId"] == "444455556666"
    assert other.create_security_group(GroupName="owned", Description="theirs")["GroupId"] != group
    assert theirs["Instances"][0]["InstanceId"] not in {
        i["InstanceId"] for r in default.describe_instances()["Reservations"] for i in r["Instances"]}


def test_moto_account_header_names_the_account(emulator):
    ec2 = _client(emulator, "AKIAHEADER", "sts")
    ec2.meta.events.register("before-sign.sts.*",
                             lambda request, **_: request.headers.__setitem__("x-moto-account-id", "777788889999"))
    assert ec2.get_caller_identity()["Account"] == "777788889999"


def test_an_account_launches_150_at_once_without_limits(emulator):
    ec2 = _client(emulator, "121212121212")
    launched = ec2.run_instances(ImageId=_image_id(ec2), InstanceType="t2.micro", MinCount=150, MaxCount=150)
    assert len(launched["Instances"]) == 150
    ec2.terminate_instances(InstanceIds=[i["InstanceId"] for i in launched["Instances"]])


def test_a_limit_lowered_through_the_native_api_is_instance_limit_exceeded(emulator):
    ec2 = _client(emulator, "343434343434")
    image = _image_id(ec2)
    ec2.run_instances(ImageId=image, InstanceType="t2.micro", MinCount=1, MaxCount=1)
    admin = _admin(emulator)
    account = admin.listAccounts(name="343434343434", listall="true")["account"][0]
    assert {int(limit["resourcetype"]): int(limit["max"]) for limit in admin.listResourceLimits(
        account=account["name"], domainid=account["domainid"])["resourcelimit"]}[USER_VM] == -1
    admin.updateResourceLimit(resourcetype=USER_VM, max=2, account=account["name"], domainid=account["domainid"])
    with pytest.raises(ClientError) as refused:
        ec2.run_instances(ImageId=image, InstanceType="t2.micro", MinCount=2, MaxCount=2)
    assert refused.value.response["Error"]["Code"] == "InstanceLimitExceeded"
    assert len(ec2.run_instances(ImageId=image, InstanceType="t2.micro", MinCount=1, MaxCount=1)["Instances"]) == 1


def test_zones_have_room_for_ten_thousand_small_instances(emulator):
    admin = _admin(emulator)
    speed = next(o for o in admin.listServiceOfferings()["serviceoffering"] if o["name"] == "t2.micro")["cpuspeed"]
    for zone in ("us-east-1a", "us-east-1b"):
        zone_id = admin.listZones(name=zone)["zone"][0]["id"]
        hosts = admin.listHosts(zoneid=zone_id, type="Routing")["host"]
        clusters = {c["id"]: c for c in admin.listClusters(zoneid=zone_id)["cluster"]}
        cpu = sum(h["cpunumber"] * h["cpuspeed"] * float(clusters[h["clusterid"]]["cpuovercommitratio"])
                  for h in hosts)
        memory = sum(h["memorytotal"] * float(clusters[h["clusterid"]]["memoryovercommitratio"]) for h in hosts)
        assert cpu // speed >= 10_000 and memory // (1 << 30) >= 10_000


def test_a_locked_account_is_refused_not_created_again(emulator):
    ec2 = _client(emulator, "AKIALOCKED", "sts")
    assert ec2.get_caller_identity()["Account"] == DEFAULT_ACCOUNT
    admin = _admin(emulator)
    account = admin.listAccounts(name=DEFAULT_ACCOUNT, listall="true")["account"][0]
    admin.lockAccount(account=DEFAULT_ACCOUNT, domainid=account["domainid"])
    try:
        with pytest.raises(ClientError) as refused:
            ec2.get_caller_identity()
        assert refused.value.response["Error"]["Code"] == "AuthFailure"
    finally:
        admin.enableAccount(id=account["id"])
    assert ec2.get_caller_identity()["Account"] == DEFAULT_ACCOUNT


def test_awscli_sees_the_account_its_key_names(emulator):
    import json
    import os
    import subprocess
    import sys

    def identity(key: str) -> dict:
        env = {**os.environ, "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
        result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "aws"), "--endpoint-url", emulator.url,
                                 "--output", "json", "sts", "get-caller-identity"], env=env, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    assert identity("AKIAFROMCLI")["Arn"] == f"arn:aws:sts::{DEFAULT_ACCOUNT}:user/moto"
    assert identity("565656565656")["Account"] == "565656565656"


def test_capacity_stays_real_hosts_disabled_through_the_native_api_leave_no_room(emulator):
    ec2 = _client(emulator, "787878787878", region="eu-north-1")
    image = _image_id(ec2)  # the region is created on first use
    admin = _admin(emulator)
    zone = admin.listZones(name="eu-north-1a")["zone"][0]
    for host in admin.listHosts(zoneid=zone["id"], type="Routing")["host"]:
        admin.updateHost(id=host["id"], allocationstate="Disable")
    with pytest.raises(ClientError) as refused:
        ec2.run_instances(ImageId=image, InstanceType="t2.micro", MinCount=1, MaxCount=1,
                          Placement={"AvailabilityZone": "eu-north-1a"})
    assert refused.value.response["Error"]["Code"] == "InsufficientInstanceCapacity"
    assert ec2.run_instances(ImageId=image, InstanceType="t2.micro", MinCount=1, MaxCount=1,
                             Placement={"AvailabilityZone": "eu-north-1b"})["Instances"]
