"""Emulator mode's ``POST /moto-api/reset`` and ``POST /moto-api/seed``, as a test suite written for moto's server
uses them: a reset leaves nothing a test made (instances, groups, key pairs, images, regions made on first use)
and the same demo credentials working, on SQLite and MariaDB; after ``seed?a=N`` the same calls give the same ids,
through boto3 and awscli."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import boto3
import pytest
import requests
from cs import CloudStack

from conformance.conftest import ON_EACH_DATABASE, start_server

AWS = os.path.join(os.path.dirname(sys.executable), "aws")


@pytest.fixture(scope="module", params=ON_EACH_DATABASE)
def emulator(request, tmp_path_factory):
    from tests.conftest import database_url

    data_dir = str(tmp_path_factory.mktemp(f"emulator-reset-{request.param}"))
    url, cleanup = (None, lambda: None) if request.param == "sqlite" else database_url(request.param, data_dir)
    srv = start_server(data_dir, db=url, env={"EC2BRIDGE_EMULATOR": "1"})
    yield srv
    srv.stop()
    cleanup()


def _client(srv, key="AKIDRESETTEST", region="us-east-1"):
    return boto3.client("ec2", endpoint_url=srv.url, region_name=region, aws_access_key_id=key,
                        aws_secret_access_key="anything")


def _cs(srv, profile: str) -> CloudStack:
    key, secret = srv.keys(profile)
    return CloudStack(endpoint=srv.api_url, key=key, secret=secret)


def _reset(srv) -> None:
    reply = requests.post(f"{srv.url}/moto-api/reset", timeout=60)
    assert reply.status_code == 200, reply.text


def _seed(srv, a) -> requests.Response:
    return requests.post(f"{srv.url}/moto-api/seed", params={"a": a}, timeout=10)


def _image_id(ec2) -> str:
    return next(i for i in ec2.describe_images(Owners=["amazon"])["Images"] if i["Name"] == "debian-12")["ImageId"]


def _allocated(admin: CloudStack) -> tuple[int, int]:
    """CPU MHz and memory bytes allocated over all hosts."""
    hosts = admin.listHosts(type="Routing", fetch_list=True)
    return sum(h["cpuallocatedvalue"] for h in hosts), sum(h["memoryallocated"] for h in hosts)


def test_a_reset_leaves_nothing_made_before_and_the_demo_keys_working(emulator):
    admin = _cs(emulator, "admin")
    zones_before = sorted(z["name"] for z in admin.listZones()["zone"])
    allocated_before = _allocated(admin)
    ec2 = _client(emulator)
    image = _image_id(ec2)
    group = ec2.create_security_group(GroupName="web", Description="before the reset")["GroupId"]
    ec2.create_key_pair(KeyName="before")
    launched = ec2.run_instances(ImageId=image, InstanceType="t2.micro", MinCount=3, MaxCount=3,
                                 SecurityGroupIds=[group])["Instances"]
    image_made = ec2.register_image(Name="made-before", ImageLocation="http://images.example/made.qcow2")["ImageId"]
    ec2.create_tags(Resources=[launched[0]["InstanceId"]], Tags=[{"Key": "Name", "Value": "before"}])
    paris = _client(emulator, region="eu-west-3")  # a region made on first use
    paris.run_instances(ImageId=_image_id(paris), InstanceType="t2.micro", MinCount=1, MaxCount=1)
    assert "eu-west-3a" in {z["name"] for z in admin.listZones()["zone"]}
    assert _allocated(admin) != allocated_before

    _reset(emulator)

    assert not ec2.describe_instances()["Reservations"]
    assert "web" not in {g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]}
    assert not ec2.describe_key_pairs()["KeyPairs"]
    assert image_made not in {i["ImageId"] for i in ec2.describe_images()["Images"]}
    assert not ec2.describe_tags()["Tags"]
    # The same demo keys still sign both APIs; regions made on first use are gone, hosts hold nothing.
    admin, demo = _cs(emulator, "admin"), _cs(emulator, "demo")
    assert sorted(z["name"] for z in admin.listZones()["zone"]) == zones_before
    assert _allocated(admin) == allocated_before
    assert not demo.listVirtualMachines().get("virtualmachine")
    demo_key, demo_secret = emulator.keys("demo")
    assert boto3.client("ec2", endpoint_url=emulator.url, region_name="us-east-1", aws_access_key_id=demo_key,
                        aws_secret_access_key=demo_secret).describe_instances()["Reservations"] == []
    # Everything works on the restored cloud: an EC2 launch in place of the old one, a native deploy's job.
    again = ec2.run_instances(ImageId=image, InstanceType="t2.micro", MinCount=1, MaxCount=1)["Instances"][0]
    state = ec2.describe_instances(InstanceIds=[again["InstanceId"]])["Reservations"][0]["Instances"][0]["State"]
    assert state["Name"] == "running"
    template = demo.listTemplates(templatefilter="featured", name="debian-12")["template"][0]
    offering = demo.listServiceOfferings(name="t2.micro")["serviceoffering"][0]
    zone = demo.listZones(name="us-east-1a")["zone"][0]
    deployed = demo.deployVirtualMachine(templateid=template["id"], serviceofferingid=offering["id"],
                                         zoneid=zone["id"], fetch_result=True)["virtualmachine"]
    assert deployed["state"] == "Running"
    # A region used again after the reset is made again.
    assert [z["ZoneName"] for z in paris.describe_availability_zones()["AvailabilityZones"]] == \
        ["eu-west-3a", "eu-west-3b", "eu-west-3c"]


def _ids_of_a_session(ec2, image: str) -> dict:
    """Launch, make a group, a key pair and an image; every id the answers carry."""
    reservation = ec2.run_instances(ImageId=image, InstanceType="t2.micro", MinCount=2, MaxCount=2)
    instances = [i["InstanceId"] for i in reservation["Instances"]]
    described = [i for r in ec2.describe_instances(InstanceIds=instances)["Reservations"] for i in r["Instances"]]
    return {
        "reservation": reservation["ReservationId"],
        "instances": instances,
        "root volumes": sorted(m["Ebs"]["VolumeId"] for i in described for m in i["BlockDeviceMappings"]),
        "interfaces": sorted((n["NetworkInterfaceId"], n["MacAddress"]) for i in described
                             for n in i["NetworkInterfaces"]),
        "group": ec2.create_security_group(GroupName="seeded", Description="seeded")["GroupId"],
        "key pair": ec2.create_key_pair(KeyName="seeded")["KeyPairId"],
        "image": ec2.register_image(Name="seeded", ImageLocation="http://images.example/seeded.qcow2")["ImageId"],
    }


def test_the_same_seed_and_calls_give_the_same_ids(emulator):
    ec2 = _client(emulator)
    image = _image_id(ec2)
    _reset(emulator)
    assert _seed(emulator, 42).status_code == 200
    first = _ids_of_a_session(ec2, image)
    _reset(emulator)
    assert _seed(emulator, 42).status_code == 200
    assert _ids_of_a_session(ec2, image) == first
    _reset(emulator)
    assert _seed(emulator, 43).status_code == 200
    other = _ids_of_a_session(ec2, image)
    assert set(other["instances"]).isdisjoint(first["instances"]) and other["group"] != first["group"]


def test_a_seed_that_is_no_integer_is_refused(emulator):
    for bad in ("", "x", "1.5"):
        reply = _seed(emulator, bad)
        assert reply.status_code == 400 and "integer" in reply.json()["error"]


def _aws(srv, *args):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIDAWSCLI", "AWS_SECRET_ACCESS_KEY": "x",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    result = subprocess.run([AWS, "--endpoint-url", srv.url, "--output", "json", "ec2", *args], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_awscli_gets_the_same_instance_id_after_the_same_seed(emulator):
    image = _image_id(_client(emulator))
    ids = []
    for _ in range(2):
        _reset(emulator)
        assert _seed(emulator, 7).status_code == 200
        ids.append(_aws(emulator, "run-instances", "--image-id", image, "--instance-type", "t2.micro",
                        "--query", "Instances[0].InstanceId"))
    assert ids[0] == ids[1] and ids[0].startswith("i-")
