"""Optional: a small cloud image booted end to end on a real hypervisor through the EC2 API.

Skipped unless the machine has one: set EC2BRIDGE_TEST_QEMU_URI (``qemu:///system``, or
``qemu:///session`` with KVM or TCG), EC2BRIDGE_TEST_IMAGE_URL (a small qcow2 cloud image over HTTP,
e.g. a CirrOS or Alpine cloud image on a local web server) and, when the host has no ``cloudbr0``,
EC2BRIDGE_TEST_BRIDGE (say ``virbr0``). CI machines have none of these; libvirt's test driver covers
the rest in test_kvm_zone.py.
"""
from __future__ import annotations

import os
import threading
import time

import pytest

from conformance.conftest import free_port, wait_template_ready
from tests.libvirt_nodes import require_libvirt

URI = os.environ.get("EC2BRIDGE_TEST_QEMU_URI")
IMAGE = os.environ.get("EC2BRIDGE_TEST_IMAGE_URL")

pytestmark = pytest.mark.skipif(not (URI and IMAGE), reason="no real hypervisor configured "
                                                             "(EC2BRIDGE_TEST_QEMU_URI, EC2BRIDGE_TEST_IMAGE_URL)")


def test_a_cloud_image_boots_on_a_real_host(tmp_path):
    require_libvirt()
    import boto3
    from cs import CloudStack
    from werkzeug.serving import make_server

    from server.app import create_app, create_cloud
    from server.settings import Settings

    settings = Settings(data_dir=str(tmp_path), port=free_port(), zone_hosts={"KVM": (URI,)},
                        zone_primary={"KVM": f"file://{tmp_path}/primary"},
                        driver_settings={"kvm_bridge": os.environ.get("EC2BRIDGE_TEST_BRIDGE", "cloudbr0")})
    cloud = create_cloud(settings)
    server = make_server("127.0.0.1", settings.port, create_app(settings, cloud), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        import configparser

        keys = configparser.ConfigParser()
        keys.read(os.path.join(str(tmp_path), "credentials"))
        key, secret = keys["demo"]["aws_access_key_id"], keys["demo"]["aws_secret_access_key"]
        url = f"http://127.0.0.1:{settings.port}"
        cs = CloudStack(endpoint=f"{url}/client/api", key=key, secret=secret)
        zone = next(z for z in cs.listZones()["zone"] if z["name"] == "us-east-1c")
        registered = cs.registerTemplate(name="real-image", displaytext="real", format="QCOW2", hypervisor="KVM",
                                         ostypeid=cs.listOsTypes()["ostype"][0]["id"], zoneid=zone["id"],
                                         url=IMAGE)["template"][0]
        assert wait_template_ready(cs, registered["id"], timeout=600)["isready"]
        ec2 = boto3.client("ec2", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key,
                           aws_secret_access_key=secret)
        image = next(i for i in ec2.describe_images(Owners=["self"])["Images"] if i["Name"] == "real-image")
        instance = ec2.run_instances(ImageId=image["ImageId"], InstanceType="t2.micro", MinCount=1, MaxCount=1,
                                     Placement={"AvailabilityZone": "us-east-1c"})["Instances"][0]["InstanceId"]
        ec2.get_waiter("instance_running").wait(InstanceIds=[instance], WaiterConfig={"Delay": 2, "MaxAttempts": 60})
        vm = next(v for v in cs.listVirtualMachines()["virtualmachine"]
                  if v["id"].replace("-", "")[:17] == instance[2:])
        domain = cloud.drivers["KVM"].connection(URI).lookupByName(cloud.lookup("VirtualMachine", vm["id"]).instance_name)
        deadline = time.time() + 120
        while time.time() < deadline and domain.info()[4] < 5 * 10**9:  # five seconds of guest CPU: it booted
            time.sleep(2)
        assert domain.isActive() and domain.info()[4] >= 5 * 10**9
        ec2.terminate_instances(InstanceIds=[instance])
        ec2.get_waiter("instance_terminated").wait(InstanceIds=[instance], WaiterConfig={"Delay": 2, "MaxAttempts": 60})
    finally:
        server.shutdown()
        cloud.stop()
