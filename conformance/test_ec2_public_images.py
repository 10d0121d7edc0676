"""AWS's public AMIs and SSM's public AMI parameters in emulator mode, as a suite written for moto's server
sees them: DescribeImages lists the catalogue's images (moto's ids, names, owners and facts) next to the
cloud's own, with every declared filter, Owners, ImageIds and paging across both; they launch (with and
without AMI validation, after a reset) and the instance reports their facts; GetParameter, GetParameters
and GetParametersByPath answer the region's public parameters through botocore's SSM model, and
``RunInstances ImageId=resolve:ssm:<name>`` launches the image a parameter names. Strict mode serves none
of them. boto3 and awscli."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from conformance.conftest import ec2_client, free_port, start_server
from ec2bridge import catalogue

REGION = "us-east-1"
WINDOWS_2008 = "ami-12c6146b"  # the id moto-era test suites hard-code
AL2023 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
XENIAL = "/aws/service/canonical/ubuntu/server/16.04/stable/current/amd64/hvm/ebs-gp2/ami-id"
RUN = {"InstanceType": "t2.micro", "MinCount": 1, "MaxCount": 1}


def _error(call, **params) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**params)
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def _client(srv, service="ec2", key="AKIAPUBLICIMAGES", region=REGION):
    return boto3.client(service, endpoint_url=srv.url, region_name=region, aws_access_key_id=key,
                        aws_secret_access_key="anything")


def _catalogue_ids(region=REGION) -> set[str]:
    return {record["ami_id"] for record in catalogue.images(region)}


@pytest.fixture(scope="module")
def on_mariadb(tmp_path_factory):
    """An emulator on MariaDB: a launch's notes (the public AMI it named) are stored there."""
    from tests.conftest import database_url

    data_dir = str(tmp_path_factory.mktemp("mariadb"))
    url, cleanup = database_url("mysql", data_dir)
    srv = start_server(data_dir, db=url, env={"EC2BRIDGE_EMULATOR": "1"})
    yield srv
    srv.stop()
    cleanup()


# ------------------------------------------------------------------ DescribeImages

def test_describe_images_lists_the_catalogue_with_moto_s_ids_and_facts(emulator):
    ec2 = _client(emulator)
    listed = {i["ImageId"]: i for i in ec2.describe_images(Owners=["amazon"])["Images"]}
    assert _catalogue_ids() <= set(listed)
    assert {"ami-ekswin", "ami-ekslinux", "ami-0b301ce3ce3475r4f"} <= set(listed)  # not hex: still catalogue ids
    image = listed[WINDOWS_2008]
    assert {k: image.get(k) for k in ("Name", "OwnerId", "ImageOwnerAlias", "Architecture", "Platform",
                                      "PlatformDetails", "RootDeviceType", "RootDeviceName",
                                      "VirtualizationType", "Hypervisor", "Description", "State", "Public",
                                      "ImageLocation", "CreationDate", "ImageType")} == {
        "Name": "Windows_Server-2008-R2_SP1-English-64Bit-Base-2017.10.13", "OwnerId": "801119661308",
        "ImageOwnerAlias": "amazon", "Architecture": "x86_64", "Platform": "windows",
        "PlatformDetails": "Windows", "RootDeviceType": "ebs", "RootDeviceName": "/dev/sda1",
        "VirtualizationType": "hvm", "Hypervisor": "xen",
        "Description": "Microsoft Windows Server 2008 R2 SP1 Datacenter 64-bit Locale English Base AMI provided "
                       "by Amazon", "State": "available", "Public": True, "ImageLocation": "amazon/getting-started",
        "CreationDate": "2017-10-13T00:00:00.000Z", "ImageType": "machine"}
    assert image["BlockDeviceMappings"][0]["DeviceName"] == "/dev/sda1"
    # Every region serves its own latest images besides those moto serves everywhere.
    west = {i["ImageId"] for i in _client(emulator, region="eu-west-1").describe_images(Owners=["amazon"])["Images"]}
    assert _catalogue_ids("eu-west-1") <= west and WINDOWS_2008 in west
    assert _catalogue_ids("eu-west-1") != _catalogue_ids()


def test_owners_image_ids_and_executable_users(emulator):
    ec2 = _client(emulator, key="333333333333")
    canonical = ec2.describe_images(Owners=["099720109477"])["Images"]
    assert {i["ImageId"] for i in canonical} == {"ami-1e749f67", "ami-785db401"}
    assert not [i for i in ec2.describe_images(Owners=["self"])["Images"] if i["ImageId"] in _catalogue_ids()]
    assert not ec2.describe_images(Owners=["aws-marketplace"])["Images"]
    by_id = ec2.describe_images(ImageIds=["ami-ekswin", WINDOWS_2008])["Images"]
    assert sorted(i["ImageId"] for i in by_id) == ["ami-12c6146b", "ami-ekswin"]
    assert _error(ec2.describe_images, ImageIds=["ami-0badc0de"]) == \
        ("InvalidAMIID.NotFound", "The image id '[ami-0badc0de]' does not exist")
    assert _error(ec2.describe_images, ImageIds=["ami-nothere"])[0] == "InvalidAMIID.Malformed"
    public = {i["ImageId"] for i in ec2.describe_images(ExecutableUsers=["all"])["Images"]}
    assert _catalogue_ids() <= public
    # No account has been granted a launch permission here: explicit grants find nothing.
    assert ec2.describe_images(ExecutableUsers=["self"])["Images"] == []


@pytest.mark.parametrize("filters, expected", [
    ([{"Name": "name", "Values": ["Windows_Server-2016-English-Full-SQL_2017_*"]}],
     {"ami-56ec3e2f", "ami-84ee3cfd", "ami-86ee3cff", "ami-f0e83a89"}),
    ([{"Name": "name", "Values": ["ubuntu/images/hvm-ssd/ubuntu-*-1?.04-amd64-server-*"]}],
     {"ami-1e749f67", "ami-785db401"}),
    ([{"Name": "owner-alias", "Values": ["amazon"]}, {"Name": "name", "Values": ["suse-*"]}],
     {"ami-35e92e4c", "ami-fa7cdd89"}),
    ([{"Name": "platform", "Values": ["windows"]}, {"Name": "name", "Values": ["*EKS*"]}], {"ami-ekswin"}),
    ([{"Name": "root-device-type", "Values": ["instance-store"]}], {"ami-04681a1dbd79675b6"}),
    ([{"Name": "virtualization-type", "Values": ["paravirtual"]}, {"Name": "owner-id", "Values": ["013907871322"]}],
     {"ami-fa7cdd89"}),
    ([{"Name": "product-code", "Values": ["code123"]}], {"ami-0b301ce3ce3475r4f"}),
])
def test_filters_work_on_catalogue_images(emulator, filters, expected):
    found = {i["ImageId"] for i in _client(emulator).describe_images(Filters=filters)["Images"]}
    assert found == expected


def test_the_architecture_filter_finds_the_catalogue_s_arm64_images(emulator):
    arm = [r["ami_id"] for r in catalogue.images(REGION) if r.get("architecture") == "arm64"]
    found = _client(emulator).describe_images(Filters=[{"Name": "architecture", "Values": ["arm64"]}])["Images"]
    assert arm and sorted(i["ImageId"] for i in found) == sorted(arm)


def test_paging_runs_across_the_cloud_s_images_and_the_catalogue(emulator):
    ec2 = _client(emulator)
    whole = [i["ImageId"] for i in ec2.describe_images()["Images"]]
    paged = [i["ImageId"] for page in ec2.get_paginator("describe_images").paginate(
        PaginationConfig={"PageSize": 7}) for i in page["Images"]]
    assert paged == whole and len(set(whole)) == len(whole)
    assert _catalogue_ids() <= set(whole) and "debian-12" in {i["Name"] for i in ec2.describe_images()["Images"]}


def test_catalogue_images_are_amazon_s_not_the_caller_s(emulator):
    ec2 = _client(emulator)
    assert _error(ec2.deregister_image, ImageId=WINDOWS_2008) == \
        ("AuthFailure", f"Not authorized for image:{WINDOWS_2008}")
    assert _error(ec2.deregister_image, ImageId="ami-ekswin", DryRun=True)[0] == "AuthFailure"
    assert _error(ec2.create_tags, Resources=[WINDOWS_2008], Tags=[{"Key": "k", "Value": "v"}]) == \
        ("UnauthorizedOperation", f"You are not authorized to tag {WINDOWS_2008}, a public image of account "
                                  "801119661308")
    assert WINDOWS_2008 in {i["ImageId"] for i in ec2.describe_images(ImageIds=[WINDOWS_2008])["Images"]}


# ------------------------------------------------------------------ launches

def _described(ec2, instance_id: str) -> dict:
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


@pytest.mark.parametrize("mode", ["emulator", "validating", pytest.param("on_mariadb", marks=pytest.mark.mysql)])
def test_a_catalogue_ami_launches_after_a_reset_and_reports_its_facts(request, mode):
    srv = request.getfixturevalue(mode)
    ec2 = _client(srv, key="444444444444")
    assert requests.post(f"{srv.url}/moto-api/reset", timeout=60).status_code == 200
    assert _error(ec2.run_instances, ImageId=WINDOWS_2008, DryRun=True, **RUN)[0] == "DryRunOperation"
    launched = ec2.run_instances(ImageId=WINDOWS_2008, **RUN)["Instances"][0]
    instance = _described(ec2, launched["InstanceId"])
    facts = ("ImageId", "Architecture", "Platform", "PlatformDetails", "UsageOperation", "RootDeviceName",
             "RootDeviceType", "VirtualizationType")
    expected = {"ImageId": WINDOWS_2008, "Architecture": "x86_64", "Platform": "windows",
                "PlatformDetails": "Windows", "UsageOperation": "RunInstances:0002", "RootDeviceName": "/dev/sda1",
                "RootDeviceType": "ebs", "VirtualizationType": "hvm"}
    assert {k: launched.get(k) for k in facts} == expected
    assert {k: instance.get(k) for k in facts} == expected and instance["State"]["Name"] == "running"
    assert instance["BlockDeviceMappings"][0]["DeviceName"] == "/dev/sda1"
    assert [i["InstanceId"] for r in ec2.describe_instances(Filters=[
        {"Name": "platform", "Values": ["windows"]}, {"Name": "image-id", "Values": [WINDOWS_2008]}])["Reservations"]
        for i in r["Instances"]] == [launched["InstanceId"]]
    arm = next(r["ami_id"] for r in catalogue.images(REGION) if r.get("architecture") == "arm64")
    other = ec2.run_instances(ImageId=arm, **RUN)["Instances"][0]
    assert (other["ImageId"], other["Architecture"], other.get("Platform")) == (arm, "arm64", None)
    assert _described(ec2, other["InstanceId"])["RootDeviceName"] == "/dev/xvda"
    nonhex = ec2.run_instances(ImageId="ami-ekslinux", **RUN)["Instances"][0]
    assert (nonhex["ImageId"], nonhex["PlatformDetails"]) == ("ami-ekslinux", "Linux/UNIX")
    ec2.terminate_instances(InstanceIds=[launched["InstanceId"], other["InstanceId"], nonhex["InstanceId"]])


def test_validation_still_refuses_an_ami_outside_the_catalogue(validating):
    ec2 = _client(validating)
    assert _error(ec2.run_instances, ImageId="ami-0badc0de", **RUN) == \
        ("InvalidAMIID.NotFound", "The image id '[ami-0badc0de]' does not exist")
    assert _error(ec2.run_instances, ImageId="ami-xyz", **RUN)[0] == "InvalidAMIID.Malformed"


def test_strict_mode_serves_no_public_ami_nor_parameter(server):
    ec2 = ec2_client(server)
    assert not _catalogue_ids() & {i["ImageId"] for i in ec2.describe_images()["Images"]}
    assert _error(ec2.run_instances, ImageId=WINDOWS_2008, **RUN)[0] == "InvalidAMIID.NotFound"
    assert _error(ec2.run_instances, ImageId=f"resolve:ssm:{AL2023}", **RUN)[0] == "InvalidParameterValue"
    assert _error(ec2_client(server, service="ssm").get_parameter, Name=AL2023)[0] == "UnknownOperationException"


# ------------------------------------------------------------------ SSM

def test_get_parameter_and_get_parameters(emulator):
    ssm = _client(emulator, "ssm")
    published = {p["Name"]: p for p in catalogue.ssm_parameters(REGION)}
    parameter = ssm.get_parameter(Name=AL2023)["Parameter"]
    assert {k: parameter[k] for k in ("Name", "Value", "Type", "Version", "DataType")} == \
        {"Name": AL2023, "Value": published[AL2023]["Value"], "Type": "String",
         "Version": published[AL2023]["Version"], "DataType": "text"}
    assert parameter["ARN"] == f"arn:aws:ssm:{REGION}::parameter{AL2023}"
    assert parameter["LastModifiedDate"].timestamp() == pytest.approx(published[AL2023]["LastModifiedDate"])
    version = published[AL2023]["Version"]
    assert ssm.get_parameter(Name=f"{AL2023}:{version}")["Parameter"]["Selector"] == f":{version}"
    assert ssm.get_parameter(Name=parameter["ARN"])["Parameter"]["Value"] == parameter["Value"]
    assert ssm.get_parameter(Name=XENIAL)["Parameter"]["Value"] == "ami-785db401"
    both = ssm.get_parameters(Names=[AL2023, "/not/there", XENIAL])
    assert [p["Name"] for p in both["Parameters"]] == [AL2023, XENIAL]
    assert both["InvalidParameters"] == ["/not/there"]
    assert _error(ssm.get_parameter, Name="/not/there") == ("ParameterNotFound", "Parameter /not/there not found.")
    assert _error(ssm.get_parameter, Name=f"{AL2023}:{version + 1}")[0] == "ParameterVersionNotFound"
    assert _error(ssm.get_parameters, Names=[f"/p{i}" for i in range(11)])[0] == "ValidationException"
    # The parameters are the region's.
    west = _client(emulator, "ssm", region="eu-west-1").get_parameter(Name=AL2023)["Parameter"]["Value"]
    assert west == {p["Name"]: p for p in catalogue.ssm_parameters("eu-west-1")}[AL2023]["Value"] != \
        parameter["Value"]


def test_get_parameters_by_path_pages_and_recurses(emulator):
    ssm = _client(emulator, "ssm")
    latest = sorted(p["Name"] for p in catalogue.ssm_parameters(REGION))
    pages = list(ssm.get_paginator("get_parameters_by_path").paginate(
        Path="/aws/service/ami-amazon-linux-latest", PaginationConfig={"PageSize": 4}))
    assert [p["Name"] for page in pages for p in page["Parameters"]] == latest
    assert len(pages) == -(-len(latest) // 4) and all(len(page["Parameters"]) <= 4 for page in pages)
    assert ssm.get_parameters_by_path(Path="/aws/service")["Parameters"] == []  # one level only
    everything = [p["Name"] for page in ssm.get_paginator("get_parameters_by_path").paginate(
        Path="/aws/service/", Recursive=True) for p in page["Parameters"]]
    assert set(latest) < set(everything) and XENIAL in everything
    assert "/aws/service/canonical/ubuntu/server/xenial/stable/20170721/amd64/hvm/ebs-gp2/ami-id" in everything
    typed = ssm.get_parameters_by_path(Path="/aws/service/ami-amazon-linux-latest", MaxResults=10,
                                       ParameterFilters=[{"Key": "Type", "Values": ["String"]}])["Parameters"]
    assert len(typed) == min(10, len(latest))
    assert ssm.get_parameters_by_path(Path="/aws/service/ami-amazon-linux-latest", ParameterFilters=[
        {"Key": "Type", "Values": ["SecureString"]}])["Parameters"] == []
    assert _error(ssm.get_parameters_by_path, Path="/aws", MaxResults=11) == (
        "ValidationException", "1 validation error detected: Value '11' at 'maxResults' failed to satisfy "
                               "constraint: Member must have value less than or equal to 10")
    assert _error(ssm.get_parameters_by_path, Path="/aws", ParameterFilters=[
        {"Key": "Name", "Values": ["x"]}])[0] == "InvalidFilterKey"
    assert _error(ssm.get_parameters_by_path, Path="/aws", NextToken="garbage!")[0] == "InvalidNextToken"
    assert _error(ssm.put_parameter, Name="/mine", Value="v", Type="String")[0] == "UnknownOperationException"


def test_resolve_ssm_launches_the_image_the_parameter_names(emulator, validating):
    for srv in (emulator, validating):
        ec2, ssm = _client(srv, key="555555555555"), _client(srv, "ssm")
        for name in (XENIAL, f"{XENIAL}:1"):
            launched = ec2.run_instances(ImageId=f"resolve:ssm:{name}", **RUN)["Instances"][0]
            assert launched["ImageId"] == "ami-785db401"
            assert _described(ec2, launched["InstanceId"])["ImageId"] == "ami-785db401"
        al2023 = ssm.get_parameter(Name=AL2023)["Parameter"]["Value"]
        launched = ec2.run_instances(ImageId=f"resolve:ssm:{AL2023}", **RUN)["Instances"][0]
        assert launched["ImageId"] == al2023
        assert _error(ec2.run_instances, ImageId="resolve:ssm:/not/there", **RUN) == (
            "InvalidParameterValue", "Invalid value 'resolve:ssm:/not/there' for parameter ImageId: the SSM "
                                     "parameter /not/there does not exist or cannot be resolved")


def _aws(srv, *args):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIACLI", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": REGION,
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "aws"), "--endpoint-url", srv.url,
                             "--output", "json", *args], env=env, capture_output=True, text=True, timeout=120)
    return result.returncode, (json.loads(result.stdout) if result.returncode == 0 else result.stderr)


def test_awscli_lists_public_images_and_reads_parameters(emulator):
    code, ids = _aws(emulator, "ec2", "describe-images", "--owners", "amazon", "--query", "Images[].ImageId")
    assert code == 0 and _catalogue_ids() <= set(ids)
    code, names = _aws(emulator, "ec2", "describe-images", "--owners", "amazon", "--filters",
                       "Name=name,Values=amazon-eks-*", "--query", "Images[].[ImageId,Name]")
    assert (code, names) == (0, [["ami-ekslinux", "amazon-eks-node-linux"]])
    code, value = _aws(emulator, "ssm", "get-parameter", "--name", AL2023, "--query", "Parameter.Value")
    assert code == 0 and value == _client(emulator, "ssm").get_parameter(Name=AL2023)["Parameter"]["Value"]
    code, listed = _aws(emulator, "ssm", "get-parameters-by-path", "--path", "/aws/service/ami-amazon-linux-latest",
                        "--query", "Parameters[].Name")
    assert code == 0 and listed == sorted(p["Name"] for p in catalogue.ssm_parameters(REGION))
    code, error = _aws(emulator, "ssm", "get-parameter", "--name", "/not/there")
    assert code != 0 and "ParameterNotFound" in error
    code, image = _aws(emulator, "ec2", "run-instances", "--image-id", f"resolve:ssm:{XENIAL}", "--instance-type",
                       "t2.micro", "--query", "Instances[0].ImageId")
    assert (code, image) == (0, "ami-785db401")


# ------------------------------------------------------------------ moto

@pytest.fixture(scope="module")
def moto():
    moto_server = pytest.importorskip("moto.server")
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


FACTS = ("Name", "OwnerId", "ImageOwnerAlias", "Architecture", "RootDeviceType", "RootDeviceName",
         "VirtualizationType", "Hypervisor", "Description", "ImageLocation", "Public", "State", "ImageType")


def test_the_images_moto_serves_everywhere_are_served_alike(emulator, moto):
    """moto's own catalogue, compared image by image over its public AMIs of every region (``amis.json``).
    moto also serves its ECS-optimized AMIs (1,200 a region) and its latest-AMI data may be newer than the
    catalogue's build: those are compared where both have them."""
    ours = {i["ImageId"]: i for i in _client(emulator).describe_images(Owners=["amazon"])["Images"]}
    theirs = {i["ImageId"]: i for i in boto3.client(
        "ec2", endpoint_url=moto, region_name=REGION, aws_access_key_id="testing",
        aws_secret_access_key="testing").describe_images(Owners=["amazon"])["Images"]}
    everywhere = {r["ami_id"] for r in catalogue._load("images")["everywhere"]}
    shared = set(ours) & set(theirs)
    assert everywhere <= shared
    for image_id in sorted(shared):
        # moto leaves ImageLocation out where its data has none; AWS (and this server) say amazon/<name>.
        facts = [k for k in FACTS if k != "ImageLocation" or theirs[image_id].get(k) is not None]
        assert {k: ours[image_id].get(k) for k in facts} == {k: theirs[image_id].get(k) for k in facts}, image_id
        # moto says Platform "Linux/UNIX" for a few images; AWS (and this server) only ever says "windows".
        assert ours[image_id].get("Platform") == ("windows" if theirs[image_id].get("Platform") == "windows"
                                                  else None)


def test_public_images_and_parameters_are_every_account_s_and_launches_stay_the_launcher_s(emulator):
    first, second = _client(emulator, key="666666666666"), _client(emulator, key="777777777777")
    assert _catalogue_ids() <= {i["ImageId"] for i in second.describe_images(Owners=["amazon"])["Images"]}
    assert _client(emulator, "ssm", key="777777777777").get_parameter(Name=XENIAL)["Parameter"]["Value"] == \
        _client(emulator, "ssm", key="666666666666").get_parameter(Name=XENIAL)["Parameter"]["Value"]
    launched = first.run_instances(ImageId=WINDOWS_2008, **RUN)["Instances"][0]["InstanceId"]
    assert _error(second.describe_instances, InstanceIds=[launched])[0] == "InvalidInstanceID.NotFound"
    assert not second.describe_instances(Filters=[{"Name": "image-id", "Values": [WINDOWS_2008]}])["Reservations"]
    assert _error(second.terminate_instances, InstanceIds=[launched])[0] == "InvalidInstanceID.NotFound"
    assert _described(first, launched)["State"]["Name"] == "running"
