"""The members of an instance AWS returns by default, as this cloud has them, and DescribeInstanceStatus'
filters; through boto3 and awscli against an emulator-mode server."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import boto3
import pytest
from botocore.exceptions import ClientError


AWS = os.path.join(os.path.dirname(sys.executable), "aws")
WAIT = {"Delay": 1, "MaxAttempts": 60}


@pytest.fixture(scope="module")
def ec2(emulator):
    return boto3.client("ec2", endpoint_url=emulator.url, region_name="us-east-1", aws_access_key_id="AKIAMEMBERS",
                        aws_secret_access_key="x")


@pytest.fixture(scope="module")
def launched(ec2):
    image = next(i for i in ec2.describe_images(Owners=["amazon"])["Images"] if i["Name"] == "debian-12")
    ids = {}
    for instance_type in ("t2.micro", "m5.large", "t3.nano"):
        run = ec2.run_instances(ImageId=image["ImageId"], InstanceType=instance_type, MinCount=1, MaxCount=1)
        ids[instance_type] = run["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=list(ids.values()), WaiterConfig=WAIT)
    ec2.stop_instances(InstanceIds=[ids["t3.nano"]])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[ids["t3.nano"]], WaiterConfig=WAIT)
    return ids


def _instance(ec2, instance_id):
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def test_the_default_members_as_this_cloud_has_them(ec2, launched):
    instance = _instance(ec2, launched["t2.micro"])
    assert instance["MetadataOptions"] == {
        "State": "applied", "HttpTokens": "optional", "HttpPutResponseHopLimit": 1, "HttpEndpoint": "disabled",
        "HttpProtocolIpv6": "disabled", "InstanceMetadataTags": "disabled"}
    assert instance["CapacityReservationSpecification"] == {"CapacityReservationPreference": "open"}
    assert instance["HibernationOptions"] == {"Configured": False}
    assert instance["EnclaveOptions"] == {"Enabled": False}
    assert instance["MaintenanceOptions"] == {"AutoRecovery": "disabled", "RebootMigration": "disabled"}
    assert instance["PrivateDnsNameOptions"] == {"HostnameType": "ip-name", "EnableResourceNameDnsARecord": False,
                                                 "EnableResourceNameDnsAAAARecord": False}
    assert instance["CurrentInstanceBootMode"] == "legacy-bios" and "BootMode" not in instance
    assert instance["UsageOperationUpdateTime"] == instance["LaunchTime"]
    assert (instance["PlatformDetails"], instance["UsageOperation"]) == ("Linux/UNIX", "RunInstances")
    assert instance["Operator"] == {"Managed": False}
    assert instance["NetworkPerformanceOptions"] == {"BandwidthWeighting": "default"}
    nic = instance["NetworkInterfaces"][0]
    assert (nic["Ipv6Addresses"], nic["Operator"]) == ([], {"Managed": False})
    assert nic["PrivateDnsName"].startswith("ip-") and instance["PrivateDnsName"] == nic["PrivateDnsName"]
    # The run answer has them too.
    image = instance["ImageId"]
    run = ec2.run_instances(ImageId=image, InstanceType="t2.nano", MinCount=1, MaxCount=1)["Instances"][0]
    assert run["MetadataOptions"]["HttpEndpoint"] == "disabled" and run["HibernationOptions"] == {"Configured": False}
    ec2.terminate_instances(InstanceIds=[run["InstanceId"]])


def test_cpu_options_are_the_instance_types(ec2, launched):
    """Cores and threads per core as AWS's instance type record has them (m5.large: 1 core, 2 threads)."""
    assert _instance(ec2, launched["t2.micro"])["CpuOptions"] == {"CoreCount": 1, "ThreadsPerCore": 1}
    assert _instance(ec2, launched["m5.large"])["CpuOptions"] == {"CoreCount": 1, "ThreadsPerCore": 2}
    found = ec2.describe_instances(Filters=[{"Name": "cpu-options.threads-per-core", "Values": ["2"]},
                                            {"Name": "instance-state-name", "Values": ["running"]}])
    assert {i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]} == {launched["m5.large"]}


def test_instance_filters_on_the_new_members(ec2, launched):
    def found(name, values):
        reservations = ec2.describe_instances(Filters=[{"Name": name, "Values": values}])["Reservations"]
        return {i["InstanceId"] for r in reservations for i in r["Instances"]}

    every = set(launched.values())
    assert found("metadata-options.http-endpoint", ["disabled"]) >= every
    assert found("metadata-options.http-endpoint", ["enabled"]) == set()
    assert found("hibernation-options.configured", ["false"]) >= every
    assert found("current-instance-boot-mode", ["legacy-bios"]) >= every
    assert found("boot-mode", ["uefi", "legacy-bios"]) == set()
    assert found("network-interface.attachment.instance-id", [launched["m5.large"]]) == {launched["m5.large"]}
    assert found("operator.managed", ["true"]) == set()


def test_instance_status_filters(ec2, launched):
    def statuses(*filters, everything=True):
        answer = ec2.describe_instance_status(Filters=list(filters), IncludeAllInstances=everything)
        return {s["InstanceId"]: s for s in answer["InstanceStatuses"]}

    running = {launched["t2.micro"], launched["m5.large"]}
    stopped = launched["t3.nano"]
    listed = statuses()
    assert listed[launched["t2.micro"]]["AttachedEbsStatus"] == {
        "Status": "ok", "Details": [{"Name": "reachability", "Status": "passed"}]}
    assert listed[stopped]["InstanceStatus"] == {"Status": "not-applicable", "Details": []}
    assert set(statuses({"Name": "instance-status.reachability", "Values": ["passed"]})) >= running
    assert stopped not in statuses({"Name": "instance-status.reachability", "Values": ["passed"]})
    assert set(statuses({"Name": "instance-state-code", "Values": ["80"]})) == {stopped}
    assert set(statuses({"Name": "system-status.status", "Values": ["not-applicable"]})) == {stopped}
    assert set(statuses({"Name": "instance-state-name", "Values": ["run*"]})) >= running
    assert statuses({"Name": "event.code", "Values": ["*"]}) == {}
    with pytest.raises(ClientError) as caught:
        statuses({"Name": "no-such-filter", "Values": ["x"]})
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_awscli_reads_the_members_and_filters_statuses(emulator, launched):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIAMEMBERS", "AWS_SECRET_ACCESS_KEY": "x",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}

    def aws(*args):
        result = subprocess.run([AWS, "--endpoint-url", emulator.url, "--output", "json", "ec2", *args], env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    options = aws("describe-instances", "--instance-ids", launched["m5.large"], "--query",
                  "Reservations[0].Instances[0].[CpuOptions.ThreadsPerCore, MetadataOptions.HttpEndpoint, "
                  "MaintenanceOptions.AutoRecovery]")
    assert options == [2, "disabled", "disabled"]
    stopped = aws("describe-instance-status", "--include-all-instances", "--filters",
                  "Name=instance-state-name,Values=stopped", "--query", "InstanceStatuses[].InstanceId")
    assert stopped == [launched["t3.nano"]]


@pytest.mark.parametrize("count", [1, 7])
def test_the_run_answer_is_what_describe_then_shows(ec2, count):
    """RunInstances answers from the rows its launch made (one VM alone, or alike VMs in bulk): every member is
    what DescribeInstances shows of the same instances afterwards, bar the state AWS reports pending at first."""
    image = next(i for i in ec2.describe_images(Owners=["amazon"])["Images"] if i["Name"] == "debian-12")
    group = f"answer-{count}"
    ec2.create_security_group(GroupName=group, Description="a second group")
    run = ec2.run_instances(ImageId=image["ImageId"], InstanceType="t2.micro", MinCount=count, MaxCount=count,
                            SecurityGroups=["default", group], TagSpecifications=[
                                {"ResourceType": "instance", "Tags": [{"Key": "b", "Value": "2"},
                                                                      {"Key": "a", "Value": "1"}]}])
    assert {i["State"]["Name"] for i in run["Instances"]} == {"pending"}
    ids = [i["InstanceId"] for i in run["Instances"]]
    ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig=WAIT)
    described = ec2.describe_instances(InstanceIds=ids)["Reservations"]
    assert [(r["ReservationId"], r["OwnerId"]) for r in described] == [(run["ReservationId"], run["OwnerId"])]
    moving = ("State", "StateReason", "StateTransitionReason")
    shown = [{k: v for k, v in i.items() if k not in moving} for i in described[0]["Instances"]]
    assert [{k: v for k, v in i.items() if k not in moving} for i in run["Instances"]] == shown
    assert len({i["PrivateIpAddress"] for i in shown}) == count
    assert {g["GroupName"] for i in shown for g in i["SecurityGroups"]} == {"default", group}
    ec2.terminate_instances(InstanceIds=ids)
