"""Launch templates through boto3 and awscli: create, version, describe, modify, delete, launch from them.

Each test runs against a real server in strict mode, in emulator mode, and on MariaDB.
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conformance.conftest import ec2_client, start_server

AWS = os.path.join(os.path.dirname(sys.executable), "aws")
WAIT = {"Delay": 1, "MaxAttempts": 60}
NANO = {"InstanceType": "t2.nano"}


@pytest.fixture(scope="module", params=["strict", "emulator", pytest.param("mariadb", marks=pytest.mark.mysql)])
def server(request, tmp_path_factory):
    from tests.conftest import database_url

    data_dir = str(tmp_path_factory.mktemp(f"lt-{request.param}"))
    url, cleanup = database_url("mysql", data_dir) if request.param == "mariadb" else (None, lambda: None)
    emulator = ("--emulator",) if request.param == "emulator" else ()
    srv = start_server(data_dir, db=url, args=("--log-level", "WARNING", *emulator))
    srv.mode = request.param
    yield srv
    srv.stop()
    cleanup()


@pytest.fixture(scope="module")
def ec2(server):
    return ec2_client(server)


@pytest.fixture(scope="module")
def other(server):
    """A second account's client: in emulator mode a 12-digit key, otherwise an account the admin makes."""
    config = Config(retries={"max_attempts": 1})
    if server.mode == "emulator":
        return boto3.client("ec2", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="210987654321",
                            aws_secret_access_key="x", config=config)
    from cs import CloudStack

    key, secret = server.keys("admin")
    admin = CloudStack(endpoint=server.api_url, key=key, secret=secret)
    account = admin.createAccount(username="lt-other", password="pw", email="o@example.com", firstname="O",
                                  lastname="Ther", accounttype=0)["account"]
    keys = admin.registerUserKeys(id=account["user"][0]["id"])["userkeys"]
    return boto3.client("ec2", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=keys["apikey"],
                        aws_secret_access_key=keys["secretkey"], config=config)


@pytest.fixture(scope="module")
def images(ec2):
    listed = {i["Name"]: i["ImageId"] for i in ec2.describe_images(Owners=["amazon"])["Images"]}
    return listed["ubuntu-22.04"], listed["debian-12"]


def _error(call, **params):
    with pytest.raises(ClientError) as info:
        call(**params)
    error = info.value.response["Error"]
    return error["Code"], error["Message"]


def _instance(ec2, instance_id):
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def test_create_version_describe_modify_and_delete(ec2, images):
    ubuntu, debian = images
    created = ec2.create_launch_template(
        LaunchTemplateName="web-tpl", VersionDescription="first",
        LaunchTemplateData={"ImageId": ubuntu, "InstanceType": "t2.micro",
                            "TagSpecifications": [{"ResourceType": "instance",
                                                   "Tags": [{"Key": "role", "Value": "web"}]}]},
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": [{"Key": "team", "Value": "ops"}]}])
    template = created["LaunchTemplate"]
    lt_id = template["LaunchTemplateId"]
    assert lt_id.startswith("lt-") and len(lt_id) == 20
    assert (template["LaunchTemplateName"], template["DefaultVersionNumber"], template["LatestVersionNumber"]) == \
        ("web-tpl", 1, 1)
    assert template["Tags"] == [{"Key": "team", "Value": "ops"}]
    assert template["CreatedBy"].startswith("arn:aws:iam::")

    # A version based on version 1: the members given replace the source's, the rest are inherited.
    v2 = ec2.create_launch_template_version(LaunchTemplateId=lt_id, SourceVersion="1", VersionDescription="bigger",
                                            LaunchTemplateData={"InstanceType": "t2.small"})["LaunchTemplateVersion"]
    assert (v2["VersionNumber"], v2["DefaultVersion"], v2["VersionDescription"]) == (2, False, "bigger")
    assert v2["LaunchTemplateData"]["ImageId"] == ubuntu and v2["LaunchTemplateData"]["InstanceType"] == "t2.small"
    assert v2["LaunchTemplateData"]["TagSpecifications"][0]["Tags"] == [{"Key": "role", "Value": "web"}]
    # Without a source only what is given.
    v3 = ec2.create_launch_template_version(LaunchTemplateName="web-tpl",
                                            LaunchTemplateData={"ImageId": debian})["LaunchTemplateVersion"]
    assert v3["VersionNumber"] == 3 and v3["LaunchTemplateData"] == {"ImageId": debian}

    described = ec2.describe_launch_templates(LaunchTemplateIds=[lt_id])["LaunchTemplates"][0]
    assert (described["DefaultVersionNumber"], described["LatestVersionNumber"]) == (1, 3)
    assert ec2.describe_launch_templates(LaunchTemplateNames=["web-tpl"])["LaunchTemplates"][0]["LaunchTemplateId"] \
        == lt_id

    def numbers(**params):
        return [v["VersionNumber"] for v in
                ec2.describe_launch_template_versions(**params)["LaunchTemplateVersions"]]

    assert numbers(LaunchTemplateId=lt_id) == [1, 2, 3]
    assert numbers(LaunchTemplateId=lt_id, Versions=["$Latest"]) == [3]
    assert numbers(LaunchTemplateId=lt_id, Versions=["$Default"]) == [1]
    assert numbers(LaunchTemplateName="web-tpl", Versions=["2", "$Latest"]) == [2, 3]
    assert numbers(LaunchTemplateId=lt_id, MinVersion="2") == [1, 2, 3][1:]
    assert numbers(LaunchTemplateId=lt_id, MaxVersion="2") == [1, 2]
    assert numbers(LaunchTemplateId=lt_id, MinVersion="2", MaxVersion="2") == [2]
    assert numbers(LaunchTemplateId=lt_id, Filters=[{"Name": "instance-type", "Values": ["t2.s*"]}]) == [2]
    assert numbers(LaunchTemplateId=lt_id, Filters=[{"Name": "image-id", "Values": [debian]}]) == [3]
    assert numbers(LaunchTemplateId=lt_id, Filters=[{"Name": "is-default-version", "Values": ["true"]}]) == [1]

    modified = ec2.modify_launch_template(LaunchTemplateId=lt_id, DefaultVersion="2")["LaunchTemplate"]
    assert (modified["DefaultVersionNumber"], modified["LatestVersionNumber"]) == (2, 3)
    assert numbers(LaunchTemplateName="web-tpl", Versions=["$Default"]) == [2]
    everyone = ec2.describe_launch_template_versions(Versions=["$Latest", "$Default"])["LaunchTemplateVersions"]
    assert [(v["LaunchTemplateId"], v["VersionNumber"]) for v in everyone if v["LaunchTemplateId"] == lt_id] == \
        [(lt_id, 2), (lt_id, 3)]

    # The default cannot be deleted; a number the template lacks is reported; the rest go.
    deleted = ec2.delete_launch_template_versions(LaunchTemplateId=lt_id, Versions=["2", "3", "9"])
    assert [v["VersionNumber"] for v in deleted["SuccessfullyDeletedLaunchTemplateVersions"]] == [3]
    failed = {v["VersionNumber"]: v["ResponseError"]["Code"]
              for v in deleted["UnsuccessfullyDeletedLaunchTemplateVersions"]}
    assert failed == {2: "unexpectedError", 9: "launchTemplateVersionDoesNotExist"}
    assert numbers(LaunchTemplateId=lt_id) == [1, 2]
    # A deleted number is not given again.
    again = ec2.create_launch_template_version(LaunchTemplateId=lt_id, LaunchTemplateData={"InstanceType": "t3.nano"})
    assert again["LaunchTemplateVersion"]["VersionNumber"] == 4

    gone = ec2.delete_launch_template(LaunchTemplateName="web-tpl")["LaunchTemplate"]
    assert (gone["LaunchTemplateId"], gone["DefaultVersionNumber"]) == (lt_id, 2)
    assert _error(ec2.describe_launch_templates, LaunchTemplateIds=[lt_id]) == (
        "InvalidLaunchTemplateId.NotFound", f"The specified launch template, with template ID {lt_id}, does not exist.")
    assert not [t for t in ec2.describe_tags()["Tags"] if t["ResourceId"] == lt_id]
    # The name is free again.
    ec2.create_launch_template(LaunchTemplateName="web-tpl", LaunchTemplateData=NANO)
    ec2.delete_launch_template(LaunchTemplateName="web-tpl")


def test_launch_by_id_and_name_with_each_version_and_overrides(ec2, images):
    ubuntu, debian = images
    group = ec2.create_security_group(GroupName="lt-launch", Description="launched from a template")["GroupId"]
    user_data = base64.b64encode(b"#!/bin/sh\necho from-template").decode()
    lt_id = ec2.create_launch_template(
        LaunchTemplateName="launcher",
        LaunchTemplateData={"ImageId": ubuntu, "InstanceType": "t2.nano", "UserData": user_data,
                            "SecurityGroupIds": [group],
                            "TagSpecifications": [{"ResourceType": "instance", "Tags": [
                                {"Key": "role", "Value": "web"}, {"Key": "env", "Value": "test"}]}]},
    )["LaunchTemplate"]["LaunchTemplateId"]
    ec2.create_launch_template_version(LaunchTemplateId=lt_id, SourceVersion="1",
                                       LaunchTemplateData={"ImageId": debian, "InstanceType": "t2.micro"})
    launched = []

    def run(spec, **explicit):
        instance = ec2.run_instances(MinCount=1, MaxCount=1, LaunchTemplate=spec, **explicit)["Instances"][0]
        launched.append(instance["InstanceId"])
        return instance

    by_id_default = run({"LaunchTemplateId": lt_id})
    assert (by_id_default["ImageId"], by_id_default["InstanceType"]) == (ubuntu, "t2.nano")
    assert [g["GroupId"] for g in by_id_default["SecurityGroups"]] == [group]
    tags = {t["Key"]: t["Value"] for t in by_id_default["Tags"]}
    assert tags == {"role": "web", "env": "test", "aws:ec2launchtemplate:id": lt_id,
                    "aws:ec2launchtemplate:version": "1"}
    assert ec2.describe_instance_attribute(InstanceId=by_id_default["InstanceId"],
                                           Attribute="userData")["UserData"]["Value"] == user_data

    by_name_latest = run({"LaunchTemplateName": "launcher", "Version": "$Latest"})
    assert (by_name_latest["ImageId"], by_name_latest["InstanceType"]) == (debian, "t2.micro")
    assert {t["Key"]: t["Value"] for t in by_name_latest["Tags"]}["aws:ec2launchtemplate:version"] == "2"
    by_number = run({"LaunchTemplateName": "launcher", "Version": "1"})
    assert by_number["ImageId"] == ubuntu
    ec2.modify_launch_template(LaunchTemplateName="launcher", DefaultVersion="2")
    by_default = run({"LaunchTemplateId": lt_id, "Version": "$Default"})
    assert by_default["ImageId"] == debian

    # Explicit parameters win over the template's; tags merge key by key, the request's winning.
    overridden = run({"LaunchTemplateId": lt_id, "Version": "1"}, InstanceType="t2.small", ImageId=debian,
                     TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "env", "Value": "prod"}]}])
    assert (overridden["ImageId"], overridden["InstanceType"]) == (debian, "t2.small")
    shown = _instance(ec2, overridden["InstanceId"])
    assert {t["Key"]: t["Value"] for t in shown["Tags"]} == {
        "role": "web", "env": "prod", "aws:ec2launchtemplate:id": lt_id, "aws:ec2launchtemplate:version": "1"}
    # The template's tags are the cloud's: a caller may neither set nor remove aws: tags.
    assert _error(ec2.delete_tags, Resources=[overridden["InstanceId"]],
                  Tags=[{"Key": "aws:ec2launchtemplate:id"}])[0] == "InvalidParameterValue"
    ec2.delete_tags(Resources=[overridden["InstanceId"]])
    assert [t["Key"] for t in _instance(ec2, overridden["InstanceId"])["Tags"]] == \
        ["aws:ec2launchtemplate:id", "aws:ec2launchtemplate:version"]
    found = ec2.describe_instances(Filters=[{"Name": "tag:aws:ec2launchtemplate:id", "Values": [lt_id]}])
    assert sorted(i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]) == sorted(launched)

    assert _error(ec2.run_instances, MinCount=1, MaxCount=1, LaunchTemplate={"LaunchTemplateId": lt_id,
                                                                             "Version": "7"}) == (
        "InvalidLaunchTemplateId.VersionNotFound",
        f"Could not find the specified version 7 for the launch template with ID {lt_id}.")
    assert _error(ec2.run_instances, MinCount=1, MaxCount=1,
                  LaunchTemplate={"LaunchTemplateName": "no-such-template"}) == (
        "InvalidLaunchTemplateName.NotFoundException",
        "The specified launch template, with template name no-such-template, does not exist.")
    assert _error(ec2.run_instances, MinCount=1, MaxCount=1,
                  LaunchTemplate={"LaunchTemplateId": lt_id, "LaunchTemplateName": "launcher"})[0] == \
        "InvalidParameterCombination"
    empty = ec2.create_launch_template(LaunchTemplateName="no-image", LaunchTemplateData=NANO)
    assert _error(ec2.run_instances, MinCount=1, MaxCount=1, LaunchTemplate={"LaunchTemplateName": "no-image"})[0] == \
        "MissingParameter"
    ec2.delete_launch_template(LaunchTemplateId=empty["LaunchTemplate"]["LaunchTemplateId"])
    ec2.terminate_instances(InstanceIds=launched)
    ec2.get_waiter("instance_terminated").wait(InstanceIds=launched, WaiterConfig=WAIT)
    ec2.delete_launch_template(LaunchTemplateId=lt_id)
    ec2.delete_security_group(GroupId=group)


def test_errors_as_aws_words_them(ec2):
    ec2.create_launch_template(LaunchTemplateName="taken", LaunchTemplateData=NANO)
    assert _error(ec2.create_launch_template, LaunchTemplateName="taken", LaunchTemplateData=NANO) == (
        "InvalidLaunchTemplateName.AlreadyExistsException", "Launch template name already in use.")
    assert _error(ec2.create_launch_template, LaunchTemplateName="no spaces", LaunchTemplateData=NANO)[0] == \
        "InvalidLaunchTemplateName.MalformedException"
    assert _error(ec2.create_launch_template, LaunchTemplateName="x", LaunchTemplateData=NANO)[0] == \
        "InvalidLaunchTemplateName.MalformedException"
    assert _error(ec2.describe_launch_templates, LaunchTemplateNames=["missing"]) == (
        "InvalidLaunchTemplateName.NotFoundException",
        "At least one of the launch templates specified in the request does not exist.")
    assert _error(ec2.describe_launch_templates, LaunchTemplateIds=["lt-nothex"])[0] == \
        "InvalidLaunchTemplateId.Malformed"
    assert _error(ec2.delete_launch_template, LaunchTemplateId="lt-0123456789abcdef0")[0] == \
        "InvalidLaunchTemplateId.NotFound"
    assert _error(ec2.delete_launch_template)[0] == "MissingParameter"
    assert _error(ec2.modify_launch_template, LaunchTemplateName="taken", DefaultVersion="5")[0] == \
        "InvalidLaunchTemplateId.VersionNotFound"
    assert _error(ec2.describe_launch_template_versions, LaunchTemplateName="taken", Versions=["3"])[0] == \
        "InvalidLaunchTemplateId.VersionNotFound"
    assert _error(ec2.describe_launch_template_versions)[0] == "MissingParameter"
    assert _error(ec2.describe_launch_template_versions, Versions=["1"])[0] == "InvalidParameterValue"
    assert _error(ec2.describe_launch_templates, Filters=[{"Name": "no-such", "Values": ["x"]}]) == (
        "InvalidParameterValue", "The filter 'no-such' is invalid")
    assert _error(ec2.create_launch_template, LaunchTemplateName="instance-tags", LaunchTemplateData=NANO,
                  TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "a", "Value": "b"}]}])[0] == \
        "InvalidParameterValue"
    # A repeated client token answers the first request's template; with other arguments it is refused.
    first = ec2.create_launch_template(LaunchTemplateName="tokened", LaunchTemplateData=NANO, ClientToken="tok-1")
    repeated = ec2.create_launch_template(LaunchTemplateName="tokened", LaunchTemplateData=NANO, ClientToken="tok-1")
    assert repeated["LaunchTemplate"]["LaunchTemplateId"] == first["LaunchTemplate"]["LaunchTemplateId"]
    assert _error(ec2.create_launch_template, LaunchTemplateName="tokened-2", LaunchTemplateData=NANO,
                  ClientToken="tok-1")[0] == "IdempotentParameterMismatch"
    for name in ("taken", "tokened"):
        ec2.delete_launch_template(LaunchTemplateName=name)


def test_tags_filters_and_paging(ec2):
    ids = [ec2.create_launch_template(LaunchTemplateName=f"page-{n}", LaunchTemplateData=NANO,
                                      TagSpecifications=[{"ResourceType": "launch-template",
                                                          "Tags": [{"Key": "n", "Value": str(n)}]}]
                                      )["LaunchTemplate"]["LaunchTemplateId"] for n in range(5)]
    ec2.create_tags(Resources=[ids[0]], Tags=[{"Key": "extra", "Value": "yes"}])
    assert {(t["ResourceType"], t["Key"]) for t in ec2.describe_tags(
        Filters=[{"Name": "resource-id", "Values": [ids[0]]}])["Tags"]} == {("launch-template", "n"),
                                                                          ("launch-template", "extra")}
    assert [t["LaunchTemplateId"] for t in ec2.describe_launch_templates(
        Filters=[{"Name": "tag:extra", "Values": ["yes"]}])["LaunchTemplates"]] == [ids[0]]
    assert [t["LaunchTemplateId"] for t in ec2.describe_launch_templates(
        Filters=[{"Name": "launch-template-name", "Values": ["page-[34]", "page-?"]}])["LaunchTemplates"]] == ids
    assert len(ec2.describe_launch_templates(Filters=[{"Name": "tag-key", "Values": ["n"]}])["LaunchTemplates"]) == 5
    ec2.delete_tags(Resources=[ids[0]], Tags=[{"Key": "extra"}])
    pages = ec2.get_paginator("describe_launch_templates").paginate(
        Filters=[{"Name": "tag-key", "Values": ["n"]}], PaginationConfig={"PageSize": 2})
    assert [[t["LaunchTemplateId"] for t in page["LaunchTemplates"]] for page in pages] == \
        [ids[0:2], ids[2:4], ids[4:]]
    for lt_id in ids:
        ec2.delete_launch_template(LaunchTemplateId=lt_id)


def test_every_version_filter_finds_its_version_and_only_it(ec2, images):
    """Generated from the one declaration (VERSION_FILTERS): a value read from the described version finds it
    among others, a made-up one finds nothing; filters on members no version here has are listed as none."""
    from ec2bridge.actions.launch_templates import VERSION_FILTERS

    arn = "arn:aws:iam::123456789012:instance-profile/web"
    data = {"ImageId": images[1], "InstanceType": "t3.micro", "EbsOptimized": True, "KernelId": "aki-12345678",
            "RamDiskId": "ari-12345678", "IamInstanceProfile": {"Arn": arn},
            "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
            "Placement": {"HostResourceGroupArn": "arn:aws:resource-groups:us-east-1:123456789012:group/hosts"},
            "LicenseSpecifications": [{"LicenseConfigurationArn": "arn:aws:license-manager:us-east-1:123456789012:"
                                                                  "license-configuration:lic-0123456789abcdef"}],
            "NetworkInterfaces": [{"DeviceIndex": 0, "NetworkCardIndex": 0}]}
    lt_id = ec2.create_launch_template(LaunchTemplateName="filtered", LaunchTemplateData={"ImageId": images[0]},
                                       )["LaunchTemplate"]["LaunchTemplateId"]
    target = ec2.create_launch_template_version(LaunchTemplateId=lt_id, LaunchTemplateData=data)
    item = target["LaunchTemplateVersion"]
    unmatched = []
    for name, read in VERSION_FILTERS.fields.items():
        values = [v for v in (read(item) if isinstance(read(item), list) else [read(item)]) if v is not None]
        if not values:
            unmatched.append(name)
            continue
        text = "true" if values[0] is True else "false" if values[0] is False else str(values[0])
        found = ec2.describe_launch_template_versions(LaunchTemplateId=lt_id, Filters=[
            {"Name": name, "Values": [text]}])["LaunchTemplateVersions"]
        assert 2 in [v["VersionNumber"] for v in found], name
        if name not in ("is-default-version", "create-time", "ebs-optimized"):
            assert [v["VersionNumber"] for v in found] == [2], name
        assert ec2.describe_launch_template_versions(LaunchTemplateId=lt_id, Filters=[
            {"Name": name, "Values": ["no-such-value-7q"]}])["LaunchTemplateVersions"] == [], name
    assert unmatched == ["http-protocol-ipv4"]  # LaunchTemplateData has no member it could read
    ec2.delete_launch_template(LaunchTemplateId=lt_id)


def test_another_accounts_templates_answer_as_missing_ones(ec2, other, images):
    lt = ec2.create_launch_template(LaunchTemplateName="private-tpl",
                                    LaunchTemplateData={"ImageId": images[0], "InstanceType": "t2.nano"})
    lt_id = lt["LaunchTemplate"]["LaunchTemplateId"]
    missing = "lt-0123456789abcdef0"
    for call, params in [
        (other.describe_launch_templates, {"LaunchTemplateIds": [lt_id]}),
        (other.describe_launch_template_versions, {"LaunchTemplateId": lt_id}),
        (other.create_launch_template_version, {"LaunchTemplateId": lt_id, "LaunchTemplateData": NANO}),
        (other.modify_launch_template, {"LaunchTemplateId": lt_id, "DefaultVersion": "1"}),
        (other.delete_launch_template_versions, {"LaunchTemplateId": lt_id, "Versions": ["1"]}),
        (other.delete_launch_template, {"LaunchTemplateId": lt_id}),
        (other.run_instances, {"MinCount": 1, "MaxCount": 1, "LaunchTemplate": {"LaunchTemplateId": lt_id}}),
        (other.create_tags, {"Resources": [lt_id], "Tags": [{"Key": "k", "Value": "v"}]}),
    ]:
        swapped = json.loads(json.dumps(params).replace(lt_id, missing))
        code, message = _error(call, **params)
        assert (code, message.replace(lt_id, missing)) == _error(call, **swapped), call
        assert code.endswith("NotFound")
    # Names are per account: the other account neither sees this one's name nor is kept from using it.
    assert _error(other.describe_launch_templates, LaunchTemplateNames=["private-tpl"])[0] == \
        "InvalidLaunchTemplateName.NotFoundException"
    assert other.describe_launch_templates()["LaunchTemplates"] == []
    assert other.describe_launch_template_versions(Versions=["$Latest"])["LaunchTemplateVersions"] == []
    theirs = other.create_launch_template(LaunchTemplateName="private-tpl", LaunchTemplateData=NANO)
    assert theirs["LaunchTemplate"]["LaunchTemplateId"] != lt_id
    assert ec2.describe_launch_templates(LaunchTemplateIds=[lt_id])["LaunchTemplates"][0]["LatestVersionNumber"] == 1
    other.delete_launch_template(LaunchTemplateName="private-tpl")
    ec2.delete_launch_template(LaunchTemplateId=lt_id)


def _aws(server, *args):
    key, secret = server.keys("demo")
    env = {**os.environ, "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    result = subprocess.run([AWS, "--endpoint-url", server.url, "--output", "json", "ec2", *args], env=env,
                            capture_output=True, text=True, timeout=120)
    return result.returncode, (json.loads(result.stdout) if result.stdout.strip() else None), result.stderr


def test_awscli_creates_versions_and_launches(server, images):
    ubuntu, debian = images
    code, created, err = _aws(server, "create-launch-template", "--launch-template-name", "cli-tpl",
                              "--launch-template-data", json.dumps({"ImageId": ubuntu, "InstanceType": "t2.nano"}))
    assert code == 0, err
    lt_id = created["LaunchTemplate"]["LaunchTemplateId"]
    code, version, err = _aws(server, "create-launch-template-version", "--launch-template-id", lt_id,
                              "--source-version", "1", "--launch-template-data", json.dumps({"ImageId": debian}))
    assert code == 0 and version["LaunchTemplateVersion"]["LaunchTemplateData"] == \
        {"ImageId": debian, "InstanceType": "t2.nano"}, err
    code, _, err = _aws(server, "modify-launch-template", "--launch-template-name", "cli-tpl", "--default-version", "2")
    assert code == 0, err
    code, versions, err = _aws(server, "describe-launch-template-versions", "--launch-template-name", "cli-tpl",
                               "--versions", "$Default", "--query", "LaunchTemplateVersions[].VersionNumber")
    assert (code, versions) == (0, [2]), err
    code, run, err = _aws(server, "run-instances", "--launch-template", "LaunchTemplateName=cli-tpl,Version=1",
                          "--instance-type", "t2.micro")
    assert code == 0, err
    instance = run["Instances"][0]
    assert (instance["ImageId"], instance["InstanceType"]) == (ubuntu, "t2.micro")
    code, _, err = _aws(server, "create-launch-template", "--launch-template-name", "cli-tpl",
                        "--launch-template-data", "{\"InstanceType\": \"t2.nano\"}")
    assert code != 0 and "InvalidLaunchTemplateName.AlreadyExistsException" in err
    code, _, err = _aws(server, "terminate-instances", "--instance-ids", instance["InstanceId"])
    assert code == 0, err
    code, deleted, err = _aws(server, "delete-launch-template", "--launch-template-id", lt_id)
    assert code == 0 and deleted["LaunchTemplate"]["LaunchTemplateName"] == "cli-tpl", err


def test_the_server_logged_no_error(server):
    log = server.log()
    assert "Traceback" not in log and " ERROR " not in log, log[-3000:]
