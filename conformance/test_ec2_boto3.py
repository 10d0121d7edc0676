"""The unmodified boto3 EC2 client against a real server: the protocol and the first actions."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, WaiterError

from conformance.conftest import ec2_client


def _code(call, **params):
    with pytest.raises(ClientError) as info:
        call(**params)
    return info.value.response["Error"]["Code"], info.value.response["ResponseMetadata"]["HTTPStatusCode"]


def _demo_image(ec2):
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    return next(i for i in images if i["Name"] == "ubuntu-22.04")


def test_regions_zones_and_instance_types(ec2):
    assert [r["RegionName"] for r in ec2.describe_regions()["Regions"]] == ["us-east-1"]
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert [z["ZoneName"] for z in zones] == ["us-east-1a", "us-east-1b"]
    assert all(z["State"] == "available" for z in zones)
    types = {t["InstanceType"]: t for t in ec2.describe_instance_types()["InstanceTypes"]}
    assert types["m5.large"]["VCpuInfo"]["DefaultVCpus"] == 2 and types["m5.large"]["MemoryInfo"]["SizeInMiB"] == 8192
    only = ec2.describe_instance_types(InstanceTypes=["t2.micro"])["InstanceTypes"]
    assert [t["InstanceType"] for t in only] == ["t2.micro"]
    assert _code(ec2.describe_instance_types, InstanceTypes=["x9.huge"]) == ("InvalidInstanceType", 400)
    filtered = ec2.describe_availability_zones(Filters=[{"Name": "zone-name", "Values": ["*b"]}])
    assert [z["ZoneName"] for z in filtered["AvailabilityZones"]] == ["us-east-1b"]
    assert [z["ZoneId"] for z in zones] == ["use1-az6", "use1-az1"]  # AWS's ids for the names, as moto maps them


def test_instance_type_offerings_are_the_cloud_s(ec2):
    """Strict mode: the service offerings named after instance types, in each zone of the region."""
    from backends.bootstrap import INSTANCE_TYPES

    by_region = ec2.describe_instance_type_offerings()["InstanceTypeOfferings"]
    assert sorted(o["InstanceType"] for o in by_region) == sorted(INSTANCE_TYPES)
    assert {(o["Location"], o["LocationType"]) for o in by_region} == {("us-east-1", "region")}
    micro = [{"Name": "instance-type", "Values": ["t2.micro"]}]
    by_zone = ec2.describe_instance_type_offerings(LocationType="availability-zone", Filters=micro)
    assert [o["Location"] for o in by_zone["InstanceTypeOfferings"]] == ["us-east-1a", "us-east-1b"]
    by_id = ec2.describe_instance_type_offerings(LocationType="availability-zone-id", Filters=micro)
    assert [o["Location"] for o in by_id["InstanceTypeOfferings"]] == ["use1-az6", "use1-az1"]
    page = ec2.describe_instance_type_offerings(LocationType="availability-zone", MaxResults=5)
    assert len(page["InstanceTypeOfferings"]) == 5 and page["NextToken"]
    assert not ec2.describe_instance_type_offerings(Filters=[{"Name": "instance-type", "Values": ["c6i.*"]}])[
        "InstanceTypeOfferings"]
    # Launching a type this cloud does not offer is refused as AWS refuses an unknown type.
    assert _code(ec2.run_instances, ImageId=_demo_image(ec2)["ImageId"], InstanceType="c6i.large", MinCount=1,
                 MaxCount=1) == ("InvalidParameterValue", 400)


def test_images(ec2):
    image = _demo_image(ec2)
    assert image["ImageId"].startswith("ami-") and len(image["ImageId"]) == 21 and image["State"] == "available"
    assert ec2.describe_images(ImageIds=[image["ImageId"]])["Images"][0]["Name"] == "ubuntu-22.04"
    assert _code(ec2.describe_images, ImageIds=["ami-0123456789abcdef0"])[0] == "InvalidAMIID.NotFound"
    assert _code(ec2.describe_images, ImageIds=["nope"])[0] == "InvalidAMIID.Malformed"
    named = ec2.describe_images(Filters=[{"Name": "name", "Values": ["debian-*"]}])["Images"]
    assert [i["Name"] for i in named] == ["debian-12"]


def test_run_describe_stop_start_reboot_terminate_with_waiters(ec2, user_cs):
    image = _demo_image(ec2)
    reservation = ec2.run_instances(ImageId=image["ImageId"], InstanceType="t2.micro", MinCount=2, MaxCount=2,
                                    Placement={"AvailabilityZone": "us-east-1b"})
    ids = [i["InstanceId"] for i in reservation["Instances"]]
    assert len(ids) == 2 and all(i["State"]["Name"] == "pending" for i in reservation["Instances"])
    assert reservation["ReservationId"].startswith("r-") and len(reservation["OwnerId"]) == 12
    waiter_config = {"Delay": 1, "MaxAttempts": 30}
    ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig=waiter_config)
    described = ec2.describe_instances(InstanceIds=ids)["Reservations"]
    assert len(described) == 1 and described[0]["ReservationId"] == reservation["ReservationId"]
    instance = described[0]["Instances"][0]
    assert instance["State"] == {"Code": 16, "Name": "running"}
    assert instance["Placement"]["AvailabilityZone"] == "us-east-1b"
    assert instance["PrivateIpAddress"].startswith("10.2.") and instance["InstanceType"] == "t2.micro"

    # The same VMs, with the same owner, through the native API.
    native = user_cs.listVirtualMachines(listall=True)["virtualmachine"]
    assert {vm["id"].replace("-", "")[:17] for vm in native} >= {i[2:] for i in ids}

    running = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]},
                                              {"Name": "instance-id", "Values": [ids[0]]}])["Reservations"]
    assert [i["InstanceId"] for r in running for i in r["Instances"]] == [ids[0]]

    stopping = ec2.stop_instances(InstanceIds=[ids[0]])["StoppingInstances"][0]
    assert stopping["PreviousState"]["Name"] == "running" and stopping["CurrentState"]["Name"] == "stopping"
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[ids[0]], WaiterConfig=waiter_config)
    again = ec2.stop_instances(InstanceIds=[ids[0]])["StoppingInstances"][0]
    assert again["PreviousState"]["Name"] == again["CurrentState"]["Name"] == "stopped"
    ec2.start_instances(InstanceIds=[ids[0]])
    ec2.get_waiter("instance_running").wait(InstanceIds=[ids[0]], WaiterConfig=waiter_config)
    ec2.reboot_instances(InstanceIds=[ids[0]])

    terminating = ec2.terminate_instances(InstanceIds=ids)["TerminatingInstances"]
    assert {t["CurrentState"]["Name"] for t in terminating} == {"shutting-down"}
    ec2.get_waiter("instance_terminated").wait(InstanceIds=ids, WaiterConfig=waiter_config)
    assert _code(ec2.start_instances, InstanceIds=[ids[0]])[0] == "IncorrectInstanceState"


def test_client_token_makes_run_instances_idempotent(ec2):
    image = _demo_image(ec2)
    first = ec2.run_instances(ImageId=image["ImageId"], InstanceType="t2.nano", MinCount=1, MaxCount=1,
                              ClientToken="retry-me-1")
    second = ec2.run_instances(ImageId=image["ImageId"], InstanceType="t2.nano", MinCount=1, MaxCount=1,
                               ClientToken="retry-me-1")
    assert first["Instances"][0]["InstanceId"] == second["Instances"][0]["InstanceId"]
    assert _code(ec2.run_instances, ImageId=image["ImageId"], InstanceType="t2.micro", MinCount=1, MaxCount=1,
                 ClientToken="retry-me-1") == ("IdempotentParameterMismatch", 400)
    ec2.terminate_instances(InstanceIds=[first["Instances"][0]["InstanceId"]])


def test_dry_run_checks_everything_and_changes_nothing(server, ec2, admin_cs):
    import boto3

    image = _demo_image(ec2)
    before = sum(len(r["Instances"]) for r in ec2.describe_instances()["Reservations"])
    assert _code(ec2.run_instances, ImageId=image["ImageId"], InstanceType="t2.nano", MinCount=3, MaxCount=3,
                 DryRun=True) == ("DryRunOperation", 412)
    assert sum(len(r["Instances"]) for r in ec2.describe_instances()["Reservations"]) == before
    # The dry run meets the errors the real request would: limits (20 VMs a user account) and ids.
    assert _code(ec2.run_instances, ImageId=image["ImageId"], InstanceType="t2.nano", MinCount=50, MaxCount=50,
                 DryRun=True)[0] == "InstanceLimitExceeded"
    assert _code(ec2.terminate_instances, InstanceIds=["i-0123456789abcdef0"], DryRun=True)[0] == \
        "InvalidInstanceID.NotFound"
    instance = ec2.run_instances(ImageId=image["ImageId"], InstanceType="t2.nano", MinCount=1,
                                 MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance], WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    assert _code(ec2.stop_instances, InstanceIds=[instance], DryRun=True) == ("DryRunOperation", 412)
    assert _code(ec2.create_key_pair, KeyName="dry-key", DryRun=True) == ("DryRunOperation", 412)
    assert not ec2.describe_key_pairs(Filters=[{"Name": "key-name", "Values": ["dry-key"]}])["KeyPairs"]
    # Another tenant's instance is not theirs to act on, dry run or not.
    account = admin_cs.createAccount(username="dry-other", password="pw", email="d@example.com",
                                     firstname="D", lastname="Ry", accounttype=0)["account"]
    keys = admin_cs.registerUserKeys(id=account["user"][0]["id"])["userkeys"]
    other = boto3.client("ec2", endpoint_url=server.url, region_name="us-east-1",
                         aws_access_key_id=keys["apikey"], aws_secret_access_key=keys["secretkey"])
    assert _code(other.terminate_instances, InstanceIds=[instance], DryRun=True)[0] == "InvalidInstanceID.NotFound"
    state = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]["State"]["Name"]
    assert state == "running"
    ec2.terminate_instances(InstanceIds=[instance])


def test_errors_and_dry_run(server, ec2, admin_ec2):
    image = _demo_image(ec2)
    assert _code(ec2.run_instances, ImageId=image["ImageId"], InstanceType="x9.huge", MinCount=1,
                 MaxCount=1)[0] == "InvalidParameterValue"
    assert _code(ec2.run_instances, ImageId="ami-0123456789abcdef0", MinCount=1,
                 MaxCount=1)[0] == "InvalidAMIID.NotFound"
    assert _code(ec2.describe_instances, InstanceIds=["i-0123456789abcdef0"]) == \
        ("InvalidInstanceID.NotFound", 400)
    assert _code(ec2.describe_instances, InstanceIds=["i-zz"])[0] == "InvalidInstanceID.Malformed"
    assert _code(ec2.describe_regions, DryRun=True) == ("DryRunOperation", 412)
    assert _code(ec2.describe_vpcs)[0] == "UnsupportedOperation"
    forged = ec2_client(server)
    forged._request_signer._credentials.secret_key = "wrong"  # noqa: SLF001 - simulate a bad secret
    assert _code(forged.describe_regions) == ("AuthFailure", 401)


def test_capacity_is_decided_before_run_instances_answers(admin_ec2, admin_cs):
    """A zone holds 64 m5.2xlarge (8 hosts of 64 cores and 256 GiB, no over-commit): asking for more than fit
    with MinCount fails as a whole with InsufficientInstanceCapacity and gives everything back; with a lower
    MinCount the request gets what fits, and every instance it answers with really runs."""
    image = _demo_image(admin_ec2)
    zone = next(z for z in admin_cs.listZones()["zone"] if z["name"] == "us-east-1b")

    def used():
        return {c["type"]: int(c["capacityused"]) for c in admin_cs.listCapacity(zoneid=zone["id"])["capacity"]
                if c["type"] in (0, 1)}

    before = used()
    placement = {"AvailabilityZone": "us-east-1b"}
    code, status = _code(admin_ec2.run_instances, ImageId=image["ImageId"], InstanceType="m5.2xlarge",
                         MinCount=70, MaxCount=70, Placement=placement)
    assert (code, status) == ("InsufficientInstanceCapacity", 500)
    assert used() == before
    launched = admin_ec2.run_instances(ImageId=image["ImageId"], InstanceType="m5.2xlarge", MinCount=1, MaxCount=70,
                                       Placement=placement)["Instances"]
    ids = [i["InstanceId"] for i in launched]
    assert 1 <= len(ids) < 70
    admin_ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    admin_ec2.terminate_instances(InstanceIds=ids)
    admin_ec2.get_waiter("instance_terminated").wait(InstanceIds=ids, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    assert used() == before


def test_tenants_do_not_see_each_others_instances(server, ec2, admin_cs):
    import boto3

    account = admin_cs.createAccount(username="ec2-other", password="pw", email="o@example.com",
                                     firstname="O", lastname="Ther", accounttype=0)["account"]
    keys = admin_cs.registerUserKeys(id=account["user"][0]["id"])["userkeys"]
    other = boto3.client("ec2", endpoint_url=server.url, region_name="us-east-1",
                         aws_access_key_id=keys["apikey"], aws_secret_access_key=keys["secretkey"])
    image = _demo_image(ec2)
    mine = ec2.run_instances(ImageId=image["ImageId"], InstanceType="t2.nano", MinCount=1,
                             MaxCount=1)["Instances"][0]["InstanceId"]
    assert not other.describe_instances()["Reservations"]
    assert _code(other.describe_instances, InstanceIds=[mine])[0] == "InvalidInstanceID.NotFound"
    assert _code(other.terminate_instances, InstanceIds=[mine])[0] == "InvalidInstanceID.NotFound"
    ec2.terminate_instances(InstanceIds=[mine])


def test_get_caller_identity(server):
    sts = ec2_client(server, service="sts")
    identity = sts.get_caller_identity()
    assert len(identity["Account"]) == 12 and identity["Arn"].endswith(":user/demo")


def test_waiter_failure_is_reported(ec2):
    with pytest.raises(WaiterError):
        ec2.get_waiter("instance_running").wait(InstanceIds=["i-0123456789abcdef0"],
                                                WaiterConfig={"Delay": 1, "MaxAttempts": 1})


def test_tags_on_launch_filters_and_both_apis(ec2, user_cs):
    image = _demo_image(ec2)
    launched = ec2.run_instances(ImageId=image["ImageId"], InstanceType="t2.nano", MinCount=1, MaxCount=1,
                                 TagSpecifications=[{"ResourceType": "instance",
                                                     "Tags": [{"Key": "Name", "Value": "web-1"}]}])
    instance_id = launched["Instances"][0]["InstanceId"]
    assert launched["Instances"][0]["Tags"] == [{"Key": "Name", "Value": "web-1"}]
    ec2.create_tags(Resources=[instance_id], Tags=[{"Key": "env", "Value": "prod"}, {"Key": "empty", "Value": ""}])
    found = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["web-*"]}])["Reservations"]
    assert [i["InstanceId"] for r in found for i in r["Instances"]] == [instance_id]
    assert not ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["db-*"]}])["Reservations"]
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [instance_id]}])["Tags"]
    assert {(t["Key"], t["Value"], t["ResourceType"]) for t in tags} == {
        ("Name", "web-1", "instance"), ("env", "prod", "instance"), ("empty", "", "instance")}

    # The native API sees the same tags on the same VM, and its changes show up in EC2.
    vm = next(v for v in user_cs.listVirtualMachines()["virtualmachine"]
              if v["id"].replace("-", "")[:17] == instance_id[2:])
    assert {t["key"]: t["value"] for t in vm["tags"]}["env"] == "prod"
    job = user_cs.createTags(resourceids=vm["id"], resourcetype="UserVm", tags=[{"key": "team", "value": "ops"}])
    assert user_cs.queryAsyncJobResult(jobid=job["jobid"])
    assert {t["key"] for t in user_cs.listTags(resourceid=vm["id"])["tag"]} == {"Name", "env", "empty", "team"}
    ec2.delete_tags(Resources=[instance_id], Tags=[{"Key": "env", "Value": "staging"}, {"Key": "empty"}])
    left = {t["Key"]: t["Value"] for t in ec2.describe_tags(
        Filters=[{"Name": "resource-id", "Values": [instance_id]}])["Tags"]}
    assert left == {"Name": "web-1", "env": "prod", "team": "ops"}  # a value that does not match is kept
    assert _code(ec2.create_tags, Resources=["i-0123456789abcdef0"],
                 Tags=[{"Key": "a", "Value": "b"}])[0] == "InvalidInstanceID.NotFound"
    # A malformed id, of a taggable kind or not, is AWS's InvalidID with its words.
    for bad in ("i-xyz", "ami-12", "lt-notanid", "vpc-0123456789abcdef0", "nonsense"):
        for call in (ec2.create_tags, ec2.delete_tags):
            assert _message(call, Resources=[bad], Tags=[{"Key": "a", "Value": "b"}]) == \
                ("InvalidID", f"The ID '{bad}' is not valid")
    ec2.terminate_instances(InstanceIds=[instance_id])


def _message(call, **params):
    with pytest.raises(ClientError) as info:
        call(**params)
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def test_indexed_and_matched_filters_agree(ec2):
    """Exact tag values and instance ids are answered by the database, wildcards and states by matching the
    built instances; both must select the same instances, alone and combined, across pages."""
    image = _demo_image(ec2)

    def launch(name, count):
        reply = ec2.run_instances(ImageId=image["ImageId"], InstanceType="t2.nano", MinCount=count, MaxCount=count,
                                  TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                      {"Key": "Name", "Value": name}, {"Key": "tier", "Value": "filter-test"}]}])
        return [i["InstanceId"] for i in reply["Instances"]]

    alpha, beta = launch("alpha-1", 3), launch("beta-1", 2)
    ec2.get_waiter("instance_running").wait(InstanceIds=alpha + beta, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    ec2.stop_instances(InstanceIds=beta[:1])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=beta[:1], WaiterConfig={"Delay": 1, "MaxAttempts": 30})

    def found(*filters, page=None):
        config = {"PageSize": page} if page else {}
        return sorted(i["InstanceId"] for p in ec2.get_paginator("describe_instances").paginate(
            Filters=list(filters), PaginationConfig=config) for r in p["Reservations"] for i in r["Instances"])

    tier = {"Name": "tag:tier", "Values": ["filter-test"]}
    assert found({"Name": "tag:Name", "Values": ["alpha-1"]}) == sorted(alpha)
    assert found({"Name": "tag:Name", "Values": ["alpha-?"]}) == sorted(alpha)
    assert found({"Name": "tag:Name", "Values": ["alpha-1", "beta-1"]}, page=5) == sorted(alpha + beta)
    assert found({"Name": "tag-key", "Values": ["tier"]}, tier) == sorted(alpha + beta)
    assert found(tier, {"Name": "instance-state-name", "Values": ["stopped"]}) == beta[:1]
    assert found(tier, {"Name": "instance-id", "Values": [alpha[0], beta[1]]}) == sorted([alpha[0], beta[1]])
    assert found({"Name": "instance-id", "Values": ["i-0123456789abcdef0", "not-an-id"]}) == []
    assert found({"Name": "tag:Name", "Values": ["nobody"]}, {"Name": "instance-state-name",
                                                               "Values": ["running"]}) == []
    assert _code(ec2.describe_instances, Filters=[{"Name": "no-such-filter", "Values": ["x"]}])[0] == \
        "InvalidParameterValue"
    ec2.terminate_instances(InstanceIds=alpha + beta)


def test_key_pairs_in_both_apis(ec2, user_cs):
    created = ec2.create_key_pair(KeyName="ec2-key")
    assert created["KeyMaterial"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert created["KeyPairId"].startswith("key-") and len(created["KeyFingerprint"].split(":")) == 16
    ed = ec2.create_key_pair(KeyName="ed-key", KeyType="ed25519")
    assert "OPENSSH PRIVATE KEY" in ed["KeyMaterial"]
    assert _message(ec2.create_key_pair, KeyName="ec2-key") == ("InvalidKeyPair.Duplicate",
                                                                "The keypair 'ec2-key' already exists.")
    public = user_cs.createSSHKeyPair(name="native-key")["keypair"]
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(public["privatekey"].encode(), password=None)
    openssh = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    imported = ec2.import_key_pair(KeyName="imported", PublicKeyMaterial=openssh + b" me@laptop")
    assert imported["KeyFingerprint"] == public["fingerprint"]
    names = {k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]}
    assert {"ec2-key", "ed-key", "native-key", "imported"} <= names
    assert {k["name"] for k in user_cs.listSSHKeyPairs()["sshkeypair"]} >= {"ec2-key", "imported"}
    assert _code(ec2.describe_key_pairs, KeyNames=["nope"])[0] == "InvalidKeyPair.NotFound"
    image = _demo_image(ec2)
    assert _code(ec2.run_instances, ImageId=image["ImageId"], InstanceType="t2.nano", MinCount=1, MaxCount=1,
                 KeyName="nope")[0] == "InvalidKeyPair.NotFound"
    run = ec2.run_instances(ImageId=image["ImageId"], InstanceType="t2.nano", MinCount=1, MaxCount=1,
                            KeyName="ec2-key")["Instances"][0]
    assert run["KeyName"] == "ec2-key"
    ec2.terminate_instances(InstanceIds=[run["InstanceId"]])
    ec2.delete_key_pair(KeyName="ec2-key")
    ec2.delete_key_pair(KeyName="ec2-key")  # idempotent, as in AWS
    assert "ec2-key" not in {k["name"] for k in user_cs.listSSHKeyPairs().get("sshkeypair", [])}
    ec2.get_waiter("key_pair_exists").wait(KeyNames=["imported"], WaiterConfig={"Delay": 1, "MaxAttempts": 2})


def test_pagination_status_console_and_account_attributes(ec2):
    image = _demo_image(ec2)
    ids = [i["InstanceId"] for i in ec2.run_instances(ImageId=image["ImageId"], InstanceType="t2.nano",
                                                      MinCount=1, MaxCount=1)["Instances"]]
    ids += [ec2.run_instances(ImageId=image["ImageId"], InstanceType="t2.nano", MinCount=1,
                              MaxCount=1)["Instances"][0]["InstanceId"] for _ in range(6)]
    ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    ec2.get_waiter("instance_status_ok").wait(InstanceIds=ids, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    pages = list(ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-id", "Values": ids}], PaginationConfig={"PageSize": 5}))
    assert len(pages) == 2
    assert sorted(i["InstanceId"] for p in pages for r in p["Reservations"] for i in r["Instances"]) == sorted(ids)
    assert _code(ec2.describe_instances, InstanceIds=ids[:1], MaxResults=5)[0] == "InvalidParameterCombination"
    assert _code(ec2.describe_instances, MaxResults=2)[0] == "InvalidParameterValue"
    assert _code(ec2.describe_instances, NextToken="garbage")[0] == "InvalidNextToken"
    output = ec2.get_console_output(InstanceId=ids[0])["Output"]
    assert ids[0] not in output and "multi-user.target" in output  # boto3 decoded the base64
    attributes = {a["AttributeName"]: a["AttributeValues"] for a in ec2.describe_account_attributes()["AccountAttributes"]}
    assert attributes["max-instances"] == [{"AttributeValue": "20"}]
    ec2.terminate_instances(InstanceIds=ids)


def test_emulator_mode_any_key_is_an_account_and_reset_restores_the_demo_cloud(emulator):
    import boto3
    import requests

    def client(key):
        return boto3.client("ec2", endpoint_url=emulator.url, region_name="us-east-1", aws_access_key_id=key,
                            aws_secret_access_key="anything")

    alice, bob = client("111111111111"), client("222222222222")  # 12-digit keys: two accounts
    image = next(i for i in alice.describe_images(Owners=["amazon"])["Images"] if i["Name"] == "debian-12")
    instance = alice.run_instances(ImageId=image["ImageId"], InstanceType="t2.micro", MinCount=1,
                                   MaxCount=1)["Instances"][0]["InstanceId"]
    # Deterministic: the simulator finished the start before the answer, which still said pending.
    described = alice.describe_instances()["Reservations"]
    assert [(i["InstanceId"], i["State"]["Name"]) for r in described for i in r["Instances"]] == \
        [(instance, "running")]
    assert alice.stop_instances(InstanceIds=[instance])["StoppingInstances"][0]["CurrentState"]["Name"] == "stopping"
    assert alice.describe_instances()["Reservations"][0]["Instances"][0]["State"]["Name"] == "stopped"
    assert not bob.describe_instances()["Reservations"]

    # Any region works: it is created on first use with AWS's zones and the demo images.
    paris = boto3.client("ec2", endpoint_url=emulator.url, region_name="eu-west-3",
                         aws_access_key_id="111111111111", aws_secret_access_key="x")
    assert [z["ZoneName"] for z in paris.describe_availability_zones()["AvailabilityZones"]] == \
        ["eu-west-3a", "eu-west-3b", "eu-west-3c"]
    paris_image = next(i for i in paris.describe_images(Owners=["amazon"])["Images"] if i["Name"] == "debian-12")
    there = paris.run_instances(ImageId=paris_image["ImageId"], InstanceType="t2.micro", MinCount=1, MaxCount=1,
                                Placement={"AvailabilityZone": "eu-west-3c"})["Instances"][0]
    assert paris.describe_instances(InstanceIds=[there["InstanceId"]])["Reservations"][0]["Instances"][0][
        "State"]["Name"] == "running"
    assert instance not in {i["InstanceId"] for r in paris.describe_instances()["Reservations"]
                            for i in r["Instances"]}  # regions list their own instances
    alice.create_key_pair(KeyName="k1")
    assert requests.post(f"{emulator.url}/moto-api/reset", timeout=60).status_code == 200
    assert not alice.describe_instances()["Reservations"]
    assert not alice.describe_key_pairs()["KeyPairs"]
    assert [z["ZoneName"] for z in alice.describe_availability_zones()["AvailabilityZones"]] == \
        [f"us-east-1{letter}" for letter in "abcdef"]


def test_strict_mode_has_no_reset_and_refuses_unknown_keys(server):
    import boto3
    import requests

    assert requests.post(f"{server.url}/moto-api/reset", timeout=10).status_code in (404, 405)
    stranger = boto3.client("ec2", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="AKIAX",
                            aws_secret_access_key="x")
    assert _code(stranger.describe_regions) == ("AuthFailure", 401)
    key, secret = server.keys("demo")
    elsewhere = boto3.client("ec2", endpoint_url=server.url, region_name="eu-west-3", aws_access_key_id=key,
                             aws_secret_access_key=secret)
    assert _code(elsewhere.describe_regions) == ("AuthFailure", 401)


def test_security_groups_in_both_apis(ec2, user_cs):
    created = ec2.create_security_group(GroupName="web", Description="web servers")
    group_id = created["GroupId"]
    assert group_id.startswith("sg-")
    assert _message(ec2.create_security_group, GroupName="web", Description="again") == (
        "InvalidGroup.Duplicate", "The security group 'web' already exists")
    ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8",
                                                                         "Description": "ssh"}]},
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "UserIdGroupPairs": [{"GroupName": "default"}]}])
    ec2.authorize_security_group_ingress(GroupName="web", IpProtocol="tcp", FromPort=443, ToPort=443,
                                         CidrIp="0.0.0.0/0")
    assert _code(ec2.authorize_security_group_ingress, GroupId=group_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])[0] == "InvalidPermission.Duplicate"
    described = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    ports = sorted(p["FromPort"] for p in described["IpPermissions"])
    assert ports == [22, 80, 443]
    assert described["IpPermissionsEgress"][0]["IpProtocol"] == "-1"
    ec2.get_waiter("security_group_exists").wait(GroupIds=[group_id], WaiterConfig={"Delay": 1, "MaxAttempts": 2})
    names = {g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]}
    assert {"default", "web"} <= names

    # The native API shows the same group and rules.
    native = user_cs.listSecurityGroups(securitygroupname="web")["securitygroup"][0]
    assert {r["startport"] for r in native["ingressrule"]} == {22, 80, 443}

    image = _demo_image(ec2)
    run = ec2.run_instances(ImageId=image["ImageId"], InstanceType="t2.nano", MinCount=1, MaxCount=1,
                            SecurityGroupIds=[group_id])["Instances"][0]
    assert run["SecurityGroups"] == [{"GroupName": "web", "GroupId": group_id}]
    vm = next(v for v in user_cs.listVirtualMachines()["virtualmachine"]
              if v["id"].replace("-", "")[:17] == run["InstanceId"][2:])
    assert [g["name"] for g in vm["securitygroup"]] == ["web"]
    assert _code(ec2.delete_security_group, GroupId=group_id)[0] == "DependencyViolation"
    ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    assert _code(ec2.revoke_security_group_ingress, GroupId=group_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])[0] == "InvalidPermission.NotFound"
    ec2.terminate_instances(InstanceIds=[run["InstanceId"]])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[run["InstanceId"]],
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    assert _code(ec2.delete_security_group, GroupName="default")[0] == "CannotDelete"
    # A terminated instance no longer holds its groups, as in AWS: the group goes at once.
    ec2.delete_security_group(GroupId=group_id)
    assert _code(ec2.describe_security_groups, GroupIds=[group_id])[0] == "InvalidGroup.NotFound"
    assert _code(ec2.describe_security_groups, GroupIds=["sg-0123456789abcdef0"])[0] == "InvalidGroup.NotFound"


def test_register_deregister_image_and_instance_attributes(ec2):
    image_id = ec2.register_image(Name="my-ami", ImageLocation="http://images.example.org/my.qcow2")["ImageId"]
    ec2.get_waiter("image_available").wait(ImageIds=[image_id], WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    assert ec2.describe_images(Owners=["self"])["Images"][0]["ImageId"] == image_id
    instance = ec2.run_instances(ImageId=image_id, InstanceType="t2.micro", MinCount=1, MaxCount=1,
                                 UserData="#!/bin/sh\necho hi")["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance], WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    assert _code(ec2.modify_instance_attribute, InstanceId=instance,
                 InstanceType={"Value": "t3.medium"})[0] == "IncorrectInstanceState"
    ec2.stop_instances(InstanceIds=[instance])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[instance], WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    ec2.modify_instance_attribute(InstanceId=instance, InstanceType={"Value": "t3.medium"})
    attribute = ec2.describe_instance_attribute(InstanceId=instance, Attribute="instanceType")
    assert attribute["InstanceType"]["Value"] == "t3.medium"
    ec2.modify_instance_attribute(InstanceId=instance, UserData={"Value": b"#cloud-config"})
    import base64

    user_data = ec2.describe_instance_attribute(InstanceId=instance, Attribute="userData")["UserData"]["Value"]
    assert base64.b64decode(user_data) == b"#cloud-config"
    assert _code(ec2.deregister_image, ImageId=image_id)[0] == "InvalidAMIID.InUse"
    ec2.terminate_instances(InstanceIds=[instance])


def test_a_vm_deployed_natively_is_an_ec2_instance_of_the_same_owner(ec2, user_cs):
    from conformance.test_cs_client import pick, wait_job

    zone, offering, template = pick(user_cs)
    deployed = user_cs.deployVirtualMachine(zoneid=zone["id"], serviceofferingid=offering["id"],
                                            templateid=template["id"], name="native-vm")
    assert wait_job(user_cs, deployed["jobid"])["jobstatus"] == 1
    instance_id = "i-" + deployed["id"].replace("-", "")[:17]
    reservation = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]
    instance = reservation["Instances"][0]
    assert instance["State"]["Name"] == "running" and instance["InstanceType"] == offering["name"]
    assert instance["ImageId"] == "ami-" + template["id"].replace("-", "")[:17]
    account = user_cs.listAccounts()["account"][0]
    owner = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["OwnerId"]
    assert reservation["OwnerId"] == owner and account["name"] == "demo"
    ec2.terminate_instances(InstanceIds=[instance_id])
