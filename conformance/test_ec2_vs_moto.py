"""The same boto3 calls against ec2bridge and against moto's threaded server: the responses must have the
same keys and value types (what boto3 code reads), apart from the commented differences below."""
from __future__ import annotations

import datetime as dt

import boto3
import pytest

from conformance.conftest import ec2_client, free_port

moto_server = pytest.importorskip("moto.server")

# Keys moto returns that ec2bridge leaves out on purpose, by response path.
INTENDED = {
    # VPC networking is not modelled yet (Basic zones): no VPC, subnet, public address or ENI-level VPC ids.
    "VpcId", "SubnetId", "PublicIpAddress", "Ipv6Address", "Association", "Ipv6Addresses",
    # moto fills fields we do not have a backend notion for yet.
    "IamInstanceProfile", "Platform", "SecurityGroupRules",
    "RequesterId", "Events", "OutpostArn", "ElasticGpuAssociations", "Licenses", "PlacementGroupId",
    "KernelId", "RamdiskId", "SriovNetSupport", "DeprecationTime", "ImdsSupport",
    "SourceInstanceId", "LastLaunchedTime", "InstanceLifecycle",
    # AWS gives an instance a BootMode only when its AMI names one; these images name none.
    "BootMode",
    "ParentZoneName", "ParentZoneId", "GroupLongName", "Ipv4Prefixes", "Ipv6Prefixes",
    # AWS returns these but no true value exists here: images are templates on secondary storage, not EBS
    # snapshots; hosts record no CPU vendor; no connection tracker enforces security groups.
    "SnapshotId", "Manufacturer", "ConnectionTrackingConfiguration",
}

# Members moto invents and AWS does not return, by action and path.
MOTO_ONLY = {
    # moto gives a running instance an empty StateReason; AWS sets it only while pending, stopped or terminated.
    ("DescribeInstances", "Reservations[].Instances[].StateReason.Code"),
    ("DescribeInstances", "Reservations[].Instances[].StateReason.Message"),
}


def signature(value, path=""):
    """{path: type name} of every leaf, lists by their first element."""
    out = {}
    if isinstance(value, dict):
        for key, item in value.items():
            if key != "ResponseMetadata":
                out.update(signature(item, f"{path}.{key}" if path else key))
    elif isinstance(value, list):
        if value:
            out.update(signature(value[0], f"{path}[]"))
        else:
            out[path] = "list"
    else:
        out[path] = "datetime" if isinstance(value, dt.datetime) else type(value).__name__
    return out


def _empty_list_on_one_side(path: str, kind: str, mine: dict) -> bool:
    """True when ``path`` is missing only because one side's list is empty and the other's is not: the
    list itself exists on both sides, so its members cannot be compared (not a shape difference)."""
    if kind == "list":  # moto's list is empty, ours has members
        return any(p.startswith(path + "[]") for p in mine)
    parts = path.split("[]")
    # Ours is empty at some list on the way down: that list's path is recorded as "list".
    return any(mine.get("[]".join(parts[:i])) == "list" for i in range(1, len(parts)))


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    client = boto3.client("ec2", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    yield client
    server.stop()


def _scenario(ec2, image_id):
    out = {"DescribeRegions": ec2.describe_regions(), "DescribeAvailabilityZones": ec2.describe_availability_zones(),
           "DescribeInstanceTypes": ec2.describe_instance_types(InstanceTypes=["t2.micro"])}
    run = ec2.run_instances(ImageId=image_id, InstanceType="t2.micro", MinCount=1, MaxCount=1)
    out["RunInstances"] = run
    instance_id = run["Instances"][0]["InstanceId"]
    _wait(ec2, "instance_running", instance_id)
    out["DescribeInstances"] = ec2.describe_instances(InstanceIds=[instance_id])
    out["CreateTags"] = ec2.create_tags(Resources=[instance_id], Tags=[{"Key": "Name", "Value": "x"}])
    out["DescribeTags"] = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [instance_id]}])
    out["StopInstances"] = ec2.stop_instances(InstanceIds=[instance_id])
    _wait(ec2, "instance_stopped", instance_id)
    out["DescribeInstances (stopped)"] = ec2.describe_instances(InstanceIds=[instance_id])
    out["TerminateInstances"] = ec2.terminate_instances(InstanceIds=[instance_id])
    out["CreateKeyPair"] = ec2.create_key_pair(KeyName="diff-key")
    out["DescribeKeyPairs"] = ec2.describe_key_pairs(KeyNames=["diff-key"])
    group = ec2.create_security_group(GroupName="diff-sg", Description="d")
    out["CreateSecurityGroup"] = group
    ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    out["DescribeSecurityGroups"] = ec2.describe_security_groups(GroupIds=[group["GroupId"]])
    _launch_template_scenario(ec2, image_id, out)
    return out


def _launch_template_scenario(ec2, image_id, out):
    data = {"ImageId": image_id, "InstanceType": "t2.micro", "UserData": "IyEvYmluL3NoCg==",
            "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "role", "Value": "web"}]}]}
    created = ec2.create_launch_template(LaunchTemplateName="diff-lt", VersionDescription="one",
                                         LaunchTemplateData=data, TagSpecifications=[
                                             {"ResourceType": "launch-template", "Tags": [{"Key": "k", "Value": "v"}]}])
    out["CreateLaunchTemplate"] = created
    lt_id = created["LaunchTemplate"]["LaunchTemplateId"]
    out["CreateLaunchTemplateVersion"] = ec2.create_launch_template_version(
        LaunchTemplateId=lt_id, VersionDescription="two", LaunchTemplateData={**data, "InstanceType": "t2.small"})
    out["ModifyLaunchTemplate"] = ec2.modify_launch_template(LaunchTemplateId=lt_id, DefaultVersion="2")
    out["DescribeLaunchTemplates"] = ec2.describe_launch_templates(LaunchTemplateIds=[lt_id])
    out["DescribeLaunchTemplateVersions"] = ec2.describe_launch_template_versions(LaunchTemplateId=lt_id)
    run = ec2.run_instances(MinCount=1, MaxCount=1, LaunchTemplate={"LaunchTemplateId": lt_id, "Version": "1"})
    out["RunInstances (launch template)"] = run
    ec2.terminate_instances(InstanceIds=[run["Instances"][0]["InstanceId"]])
    out["DeleteLaunchTemplate"] = ec2.delete_launch_template(LaunchTemplateName="diff-lt")


def _wait(ec2, waiter: str, instance_id: str) -> None:
    ec2.get_waiter(waiter).wait(InstanceIds=[instance_id], WaiterConfig={"Delay": 0.5, "MaxAttempts": 120})


def test_response_shapes_match_moto(server, moto):
    ours = ec2_client(server)
    our_image = next(i for i in ours.describe_images(Owners=["amazon"])["Images"] if i["Name"] == "ubuntu-22.04")
    their_image = moto.describe_images(Owners=["amazon"])["Images"][0]
    out_ours = _scenario(ours, our_image["ImageId"])
    out_theirs = _scenario(moto, their_image["ImageId"])
    out_ours["DescribeImages"], out_theirs["DescribeImages"] = {"Images": [our_image]}, {"Images": [their_image]}
    problems = []
    for action, theirs in out_theirs.items():
        mine, reference = signature(out_ours[action]), signature(theirs)
        for path, kind in reference.items():
            leaf = path.replace("[]", "").split(".")
            if any(part in INTENDED for part in leaf) or (action, path) in MOTO_ONLY:
                continue
            if path not in mine:
                if not _empty_list_on_one_side(path, kind, mine):
                    problems.append(f"{action}: missing {path} ({kind})")
            elif mine[path] != kind:
                problems.append(f"{action}: {path} is {mine[path]}, moto has {kind}")
    assert not problems, "\n".join(problems)
