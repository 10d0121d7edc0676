"""AMI ids a test suite can keep: the built-in images have the same ids after a reset, after a restart and on
a fresh database; in emulator mode a launch from an AMI id this cloud does not have runs on a stand-in image
and reports the id it was given (as moto's server mode does), unless AMI validation is on."""
from __future__ import annotations

import pytest
import requests
from botocore.exceptions import ClientError

from conformance.conftest import ec2_client, start_server

BUILT_IN = {"ubuntu-22.04", "debian-12", "amazon-linux-2023", "centos-7"}
UNKNOWN_AMI = "ami-0badc0de"  # no image of this cloud nor of the catalogue of AWS's public AMIs


def _error(call, **params) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**params)
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def _client(srv, key="AKIAAMIS"):
    import boto3

    return boto3.client("ec2", endpoint_url=srv.url, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key="anything")


def _image_ids(ec2) -> dict[str, str]:
    return {i["Name"]: i["ImageId"] for i in ec2.describe_images()["Images"] if i["Name"] in BUILT_IN}


def _launch(ec2, image_id: str) -> dict:
    return ec2.run_instances(ImageId=image_id, InstanceType="t2.micro", MinCount=1, MaxCount=1)["Instances"][0]


def test_recorded_ami_ids_launch_after_a_reset(emulator):
    ec2 = _client(emulator)
    recorded = _image_ids(ec2)
    assert set(recorded) == BUILT_IN
    assert requests.post(f"{emulator.url}/moto-api/reset", timeout=60).status_code == 200
    assert _image_ids(ec2) == recorded
    for image_id in recorded.values():
        instance = _launch(ec2, image_id)
        assert instance["ImageId"] == image_id


def test_ami_ids_survive_a_restart_and_match_a_fresh_database(tmp_path, emulator):
    data_dir = str(tmp_path / "strict")
    srv = start_server(data_dir)
    try:
        before = _image_ids(ec2_client(srv))
    finally:
        srv.stop()
    srv = start_server(data_dir)
    try:
        assert _image_ids(ec2_client(srv)) == before
    finally:
        srv.stop()
    # Derived from region and name: the emulator's fresh database has the same ids as the strict server's.
    assert _image_ids(_client(emulator)) == before


@pytest.mark.parametrize("image_id", [UNKNOWN_AMI, "ami-0123456789abcdef0"])
def test_an_unknown_ami_launches_on_a_stand_in_and_is_reported(emulator, image_id):
    ec2 = _client(emulator, key="111111111111")  # an account of its own (12 digits)
    instance = _launch(ec2, image_id)
    assert instance["ImageId"] == image_id
    described = ec2.describe_instances(InstanceIds=[instance["InstanceId"]])["Reservations"][0]["Instances"][0]
    assert (described["ImageId"], described["State"]["Name"]) == (image_id, "running")
    by_image = ec2.describe_instances(Filters=[{"Name": "image-id", "Values": [image_id]}])["Reservations"]
    assert [i["InstanceId"] for r in by_image for i in r["Instances"]] == [instance["InstanceId"]]
    ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])


def test_validate_amis_refuses_an_unknown_ami(validating):
    ec2 = _client(validating)
    assert _error(ec2.run_instances, ImageId=UNKNOWN_AMI, InstanceType="t2.micro", MinCount=1, MaxCount=1) == \
        ("InvalidAMIID.NotFound", f"The image id '[{UNKNOWN_AMI}]' does not exist")
    known = _image_ids(ec2)["debian-12"]
    assert _launch(ec2, known)["ImageId"] == known


def test_strict_mode_refuses_an_unknown_ami(server):
    ec2 = ec2_client(server)
    assert _error(ec2.run_instances, ImageId=UNKNOWN_AMI, InstanceType="t2.micro", MinCount=1, MaxCount=1) == \
        ("InvalidAMIID.NotFound", f"The image id '[{UNKNOWN_AMI}]' does not exist")


@pytest.mark.parametrize("image_id", ["ami-xyz", "ami-12c6146", "12c6146b"])
def test_a_malformed_ami_id_is_malformed_in_every_mode(server, emulator, validating, image_id):
    for ec2 in (ec2_client(server), _client(emulator), _client(validating)):
        assert _error(ec2.run_instances, ImageId=image_id, InstanceType="t2.micro", MinCount=1, MaxCount=1) == \
            ("InvalidAMIID.Malformed", f'Invalid id: "{image_id}" (expecting "ami-...")')


def test_awscli_launches_an_unknown_ami_in_emulator_mode(emulator):
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIACLI", "AWS_SECRET_ACCESS_KEY": "x",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}

    def aws(*args):
        result = subprocess.run([os.path.join(os.path.dirname(sys.executable), "aws"), "--endpoint-url",
                                 emulator.url, "--output", "json", "ec2", *args], env=env, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    instance_id = aws("run-instances", "--image-id", UNKNOWN_AMI, "--instance-type", "t2.micro",
                      "--query", "Instances[0].InstanceId")
    assert aws("describe-instances", "--instance-ids", instance_id,
               "--query", "Reservations[0].Instances[0].ImageId") == UNKNOWN_AMI


def test_a_stand_in_launch_is_rehearsed_and_repeated_by_its_own_id(emulator):
    ec2 = _client(emulator, key="222222222222")  # an account of its own (12 digits)
    run = dict(InstanceType="t2.micro", MinCount=1, MaxCount=1)
    assert _error(ec2.run_instances, ImageId=UNKNOWN_AMI, DryRun=True, **run)[0] == "DryRunOperation"
    assert not ec2.describe_instances()["Reservations"]
    first = ec2.run_instances(ImageId=UNKNOWN_AMI, ClientToken="t-1", **run)["Instances"][0]
    again = ec2.run_instances(ImageId=UNKNOWN_AMI, ClientToken="t-1", **run)["Instances"][0]
    assert (again["InstanceId"], again["ImageId"]) == (first["InstanceId"], UNKNOWN_AMI)
    # Another unknown AMI runs on the same stand-in, but is another request.
    assert _error(ec2.run_instances, ImageId="ami-0000beef", ClientToken="t-1", **run)[0] == \
        "IdempotentParameterMismatch"
