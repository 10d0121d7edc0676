"""DryRun on every implemented EC2 action whose botocore input shape has a DryRun member, through boto3.

The list of actions comes from botocore's model and ``ACTIONS``, so a new action joins it by itself; each
needs a "valid request" in ``REQUESTS`` below (the test fails for one that has none). A dry run answers
DryRunOperation, or the error the real request would meet, and leaves the caller's world as it found it.
"""
from __future__ import annotations

import boto3
import pytest
from botocore import xform_name
from botocore.exceptions import ClientError

from conformance.conftest import start_server
from ec2bridge.actions import ACTIONS
from ec2bridge.codec import service_model

PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPmNYV4wkvALIR/JWze/rlird69II3L+t+gMzI6S1nq/ dry"
NEW_RULE = [{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": [{"CidrIp": "10.9.0.0/16"}]}]
HELD_RULE = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.8.0.0/16"}]}]

DRY_RUN_ACTIONS = sorted(name for name in ACTIONS
                         if "DryRun" in getattr(service_model().operation_model(name).input_shape, "members", {}))

# A valid request per action, from the resources the ``world`` fixture made (``w``).
REQUESTS = {
    "AuthorizeSecurityGroupEgress": lambda w: {"GroupId": w["group"], "IpPermissions": NEW_RULE},
    "AuthorizeSecurityGroupIngress": lambda w: {"GroupId": w["group"], "IpPermissions": NEW_RULE},
    "CreateKeyPair": lambda w: {"KeyName": "dry-new-key"},
    "CreateLaunchTemplate": lambda w: {"LaunchTemplateName": "dry-new-template", "LaunchTemplateData": {
        "InstanceType": "t2.nano"}, "TagSpecifications": [{"ResourceType": "launch-template",
                                                           "Tags": [{"Key": "new", "Value": "no"}]}]},
    "CreateLaunchTemplateVersion": lambda w: {"LaunchTemplateId": w["template"], "SourceVersion": "1",
                                              "LaunchTemplateData": {"InstanceType": "t3.small"}},
    "DeleteLaunchTemplate": lambda w: {"LaunchTemplateId": w["template"]},
    "DeleteLaunchTemplateVersions": lambda w: {"LaunchTemplateName": "dry-template", "Versions": ["2"]},
    "DescribeLaunchTemplateVersions": lambda w: {"LaunchTemplateId": w["template"]},
    "DescribeLaunchTemplates": lambda w: {"LaunchTemplateIds": [w["template"]]},
    "ModifyLaunchTemplate": lambda w: {"LaunchTemplateId": w["template"], "DefaultVersion": "2"},
    "CreateSecurityGroup": lambda w: {"GroupName": "dry-new-group", "Description": "never made"},
    "CreateTags": lambda w: {"Resources": [w["instance"], w["own_image"], w["template"]],
                             "Tags": [{"Key": "new", "Value": "no"}]},
    "DeleteKeyPair": lambda w: {"KeyName": w["key"]},
    "DeleteSecurityGroup": lambda w: {"GroupId": w["group"]},
    "DeleteTags": lambda w: {"Resources": [w["instance"]], "Tags": [{"Key": "kept"}]},
    "DeregisterImage": lambda w: {"ImageId": w["own_image"]},
    "DescribeAccountAttributes": lambda w: {},
    "DescribeAvailabilityZones": lambda w: {},
    "DescribeImages": lambda w: {"Owners": ["self"]},
    "DescribeInstanceAttribute": lambda w: {"InstanceId": w["instance"], "Attribute": "userData"},
    "DescribeInstanceStatus": lambda w: {"InstanceIds": [w["instance"]]},
    "DescribeInstanceTypeOfferings": lambda w: {"LocationType": "availability-zone"},
    "DescribeInstanceTypes": lambda w: {"InstanceTypes": ["t2.micro"]},
    "DescribeInstances": lambda w: {"InstanceIds": [w["instance"]]},
    "DescribeKeyPairs": lambda w: {"KeyNames": [w["key"]]},
    "DescribeRegions": lambda w: {},
    "DescribeSecurityGroups": lambda w: {"GroupIds": [w["group"]]},
    "DescribeTags": lambda w: {},
    "GetConsoleOutput": lambda w: {"InstanceId": w["instance"]},
    "ImportKeyPair": lambda w: {"KeyName": "dry-imported", "PublicKeyMaterial": PUBLIC_KEY.encode()},
    "ModifyInstanceAttribute": lambda w: {"InstanceId": w["stopped"], "InstanceType": {"Value": "t3.small"},
                                          "UserData": {"Value": b"#changed"}},
    "RebootInstances": lambda w: {"InstanceIds": [w["instance"]]},
    "RegisterImage": lambda w: {"Name": "dry-new-image", "ImageLocation": "http://images.example.org/dry.qcow2"},
    "RevokeSecurityGroupEgress": lambda w: {"GroupId": w["group"], "IpPermissions": HELD_RULE},
    "RevokeSecurityGroupIngress": lambda w: {"GroupId": w["group"], "IpPermissions": HELD_RULE},
    "RunInstances": lambda w: {"LaunchTemplate": {"LaunchTemplateId": w["template"], "Version": "$Latest"},
                               "ImageId": w["public_image"], "InstanceType": "t2.nano", "MinCount": 2,
                               "MaxCount": 2, "KeyName": w["key"], "SecurityGroupIds": [w["group"]]},
    "StartInstances": lambda w: {"InstanceIds": [w["stopped"]]},
    "StopInstances": lambda w: {"InstanceIds": [w["instance"]]},
    "TerminateInstances": lambda w: {"InstanceIds": [w["instance"], w["stopped"]]},
}

WAIT = {"Delay": 1, "MaxAttempts": 60}


@pytest.fixture(scope="module", params=["strict", "emulator", pytest.param("mariadb", marks=pytest.mark.mysql)])
def server(request, tmp_path_factory):
    """Both modes (the emulator runs its real requests to the end before answering, its dry runs must not),
    and MariaDB, whose transactions the rehearsal rolls back too."""
    from tests.conftest import database_url

    data_dir = str(tmp_path_factory.mktemp(request.param))
    url, cleanup = database_url("mysql", data_dir) if request.param == "mariadb" else (None, lambda: None)
    emulator = ("--emulator",) if request.param == "emulator" else ()
    srv = start_server(data_dir, db=url, args=("--log-level", "WARNING", *emulator))
    yield srv
    srv.stop()
    cleanup()


def _error(call, **params):
    with pytest.raises(ClientError) as info:
        call(**params)
    error = info.value.response["Error"]
    return error["Code"], error["Message"], info.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture(scope="module")
def world(ec2):
    """The caller's resources every request above can name: two instances (one running, one stopped), a
    key pair, a security group holding a rule each way, a tag, an image of its own and a public one."""
    public = next(i for i in ec2.describe_images(Owners=["amazon"])["Images"] if i["Name"] == "ubuntu-22.04")
    own = ec2.register_image(Name="dry-own-image", ImageLocation="http://images.example.org/own.qcow2")["ImageId"]
    ec2.create_key_pair(KeyName="dry-key")
    group = ec2.create_security_group(GroupName="dry-group", Description="dry run")["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=HELD_RULE)
    ec2.authorize_security_group_egress(GroupId=group, IpPermissions=HELD_RULE)
    ids = [i["InstanceId"] for i in ec2.run_instances(ImageId=public["ImageId"], InstanceType="t2.nano", MinCount=2,
                                                      MaxCount=2, UserData="#original")["Instances"]]
    ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig=WAIT)
    ec2.stop_instances(InstanceIds=[ids[1]])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[ids[1]], WaiterConfig=WAIT)
    ec2.get_waiter("image_available").wait(ImageIds=[own], WaiterConfig=WAIT)
    ec2.create_tags(Resources=[ids[0]], Tags=[{"Key": "kept", "Value": "yes"}])
    template = ec2.create_launch_template(LaunchTemplateName="dry-template", LaunchTemplateData={
        "ImageId": public["ImageId"], "InstanceType": "t2.nano"})["LaunchTemplate"]["LaunchTemplateId"]
    ec2.create_launch_template_version(LaunchTemplateId=template, LaunchTemplateData={"InstanceType": "t2.micro"})
    yield {"instance": ids[0], "stopped": ids[1], "key": "dry-key", "group": group, "own_image": own,
           "public_image": public["ImageId"], "template": template}
    ec2.terminate_instances(InstanceIds=ids)


def _state(ec2, user_cs, admin_cs, world) -> dict:
    """What a dry run could have changed: what the caller sees through EC2, and natively its jobs and the
    cloud's capacity in use."""
    instances = {i["InstanceId"]: (i["State"]["Name"], i["InstanceType"])
                 for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]}
    return {
        "instances": instances,
        "user_data": [ec2.describe_instance_attribute(InstanceId=world[name], Attribute="userData")["UserData"]
                      for name in ("instance", "stopped")],
        "key_pairs": sorted((k["KeyName"], k["KeyFingerprint"]) for k in ec2.describe_key_pairs()["KeyPairs"]),
        "groups": sorted((g["GroupId"], g["GroupName"], repr(g["IpPermissions"]), repr(g["IpPermissionsEgress"]))
                         for g in ec2.describe_security_groups()["SecurityGroups"]),
        "tags": sorted((t["ResourceId"], t["Key"], t["Value"]) for t in ec2.describe_tags()["Tags"]),
        "images": sorted(i["ImageId"] for i in ec2.describe_images(Owners=["self"])["Images"]),
        "launch_templates": sorted(repr(sorted(t.items())) for t in ec2.describe_launch_templates()["LaunchTemplates"]),
        "launch_template_versions": sorted(
            (v["LaunchTemplateId"], v["VersionNumber"], v["DefaultVersion"], repr(v["LaunchTemplateData"]))
            for t in ec2.describe_launch_templates()["LaunchTemplates"]
            for v in ec2.describe_launch_template_versions(LaunchTemplateId=t["LaunchTemplateId"])[
                "LaunchTemplateVersions"]),
        "jobs": sorted(j["jobid"] for j in user_cs.listAsyncJobs().get("asyncjobs", [])),
        "capacity": sorted((c["type"], c["zoneid"], c["capacityused"])
                           for c in admin_cs.listCapacity().get("capacity", [])),
    }


def test_every_implemented_action_with_dry_run_has_a_request():
    assert DRY_RUN_ACTIONS, "botocore's model declares DryRun on EC2 actions"
    assert [a for a in DRY_RUN_ACTIONS if a not in REQUESTS] == []


@pytest.mark.parametrize("action", DRY_RUN_ACTIONS)
def test_dry_run_answers_dry_run_operation_and_changes_nothing(ec2, user_cs, admin_cs, world, action):
    if action not in REQUESTS:
        pytest.fail(f"{action} takes DryRun: give it a valid request in REQUESTS")
    before = _state(ec2, user_cs, admin_cs, world)
    assert len(before["instances"]) == 2 and before["capacity"], before  # what the comparison must see
    code, message, status = _error(getattr(ec2, xform_name(action)), DryRun=True, **REQUESTS[action](world))
    assert (code, message, status) == ("DryRunOperation", "Request would have succeeded, but DryRun flag is set.",
                                       412)
    assert _state(ec2, user_cs, admin_cs, world) == before


def test_a_dry_run_meets_the_error_the_real_request_would(ec2, user_cs, admin_cs, world):
    """Deregistering a public image the caller does not own, and acting on what does not exist: the dry run
    answers what the real request answers, and nothing changes either way."""
    before = _state(ec2, user_cs, admin_cs, world)
    requests = [(ec2.deregister_image, {"ImageId": world["public_image"]}),
                (ec2.terminate_instances, {"InstanceIds": ["i-0123456789abcdef0"]}),
                (ec2.delete_security_group, {"GroupId": "sg-0123456789abcdef0"}),
                (ec2.create_key_pair, {"KeyName": world["key"]}),
                (ec2.create_security_group, {"GroupName": "dry-group", "Description": "again"}),
                (ec2.modify_instance_attribute, {"InstanceId": world["instance"],
                                                 "InstanceType": {"Value": "t3.small"}}),
                (ec2.run_instances, {"ImageId": world["public_image"], "InstanceType": "t2.nano", "MinCount": 500,
                                     "MaxCount": 500})]
    # As AWS words it: the image is visible to all, deregistering it is its owner's alone.
    public = world["public_image"]
    assert _error(ec2.deregister_image, ImageId=public, DryRun=True)[:2] == \
        ("AuthFailure", f"Not authorized for image:{public}")
    for call, params in requests:
        dry = _error(call, DryRun=True, **params)
        assert dry[0] != "DryRunOperation", (call, dry)
        assert dry == _error(call, **params), call
    assert _state(ec2, user_cs, admin_cs, world) == before


def test_another_tenants_dry_run_finds_nothing(server, ec2, user_cs, admin_cs, world):
    """The isolation rule holds in rehearsal too: the caller's resources answer another tenant exactly as
    ids that name nothing do (NotFound, not UnauthorizedOperation)."""
    account = admin_cs.createAccount(username="dry-outsider", password="pw", email="o@example.com",
                                     firstname="O", lastname="Ut", accounttype=0)["account"]
    keys = admin_cs.registerUserKeys(id=account["user"][0]["id"])["userkeys"]
    other = boto3.client("ec2", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=keys["apikey"],
                         aws_secret_access_key=keys["secretkey"])
    before = _state(ec2, user_cs, admin_cs, world)
    nobody = {"instance": "i-0123456789abcdef0", "stopped": "i-0123456789abcdef1", "group": "sg-0123456789abcdef0",
              "own_image": "ami-0123456789abcdef0", "key": "nobody-has-this-key",
              "template": "lt-0123456789abcdef0"}
    for action in ("StopInstances", "StartInstances", "TerminateInstances", "RebootInstances",
                   "ModifyInstanceAttribute", "GetConsoleOutput", "DeleteSecurityGroup",
                   "AuthorizeSecurityGroupIngress", "RevokeSecurityGroupEgress", "DeregisterImage",
                   "CreateTags", "DeleteTags", "CreateLaunchTemplateVersion", "DeleteLaunchTemplate",
                   "ModifyLaunchTemplate", "DescribeLaunchTemplateVersions"):
        call = getattr(other, xform_name(action))
        theirs = _error(call, DryRun=True, **REQUESTS[action](world))
        unknown = _error(call, DryRun=True, **REQUESTS[action]({**world, **nobody}))
        assert theirs[0] == unknown[0] and theirs[0].endswith("NotFound"), (action, theirs, unknown)
    assert _state(ec2, user_cs, admin_cs, world) == before

def test_the_dry_runs_left_no_work_behind(server, world):
    """Last of each server's tests: a job started inside a rehearsal fails on rows that were rolled back."""
    log = server.log()
    assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
