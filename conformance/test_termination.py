"""Terminated instances as in AWS (boto3), destroyed VMs as in CloudStack (cs), over a real server."""
from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError
from cs import CloudStackApiException

from conformance.conftest import wait_template_ready
from conformance.test_cs_client import pick, wait_job

WAIT = {"Delay": 1, "MaxAttempts": 60}


def _ec2_error(call, **params):
    with pytest.raises(ClientError) as info:
        call(**params)
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def _native_error(call, **params):
    with pytest.raises(CloudStackApiException) as info:
        call(**params)
    return info.value.error["errorcode"], info.value.error["errortext"]


def test_terminate_then_delete_group_key_and_image_at_once(ec2):
    suffix = uuid.uuid4().hex[:6]
    group = ec2.create_security_group(GroupName=f"term-{suffix}", Description="t")["GroupId"]
    ec2.create_key_pair(KeyName=f"term-{suffix}")
    image = ec2.register_image(Name=f"term-{suffix}", ImageLocation="http://images.example.org/term.qcow2")["ImageId"]
    ec2.get_waiter("image_available").wait(ImageIds=[image], WaiterConfig=WAIT)
    instance = ec2.run_instances(ImageId=image, InstanceType="t2.nano", MinCount=1, MaxCount=1,
                                 KeyName=f"term-{suffix}", SecurityGroupIds=[group])["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance], WaiterConfig=WAIT)

    # In use, the refusals name the instance that depends on them.
    assert _ec2_error(ec2.delete_security_group, GroupId=group) == (
        "DependencyViolation", f"resource {group} has a dependent object {instance}")
    code, message = _ec2_error(ec2.deregister_image, ImageId=image)
    assert code == "InvalidAMIID.InUse" and instance in message

    ec2.terminate_instances(InstanceIds=[instance])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[instance], WaiterConfig=WAIT)
    terminated = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert terminated["SecurityGroups"] == [] and terminated["NetworkInterfaces"] == []
    ec2.delete_security_group(GroupId=group)
    ec2.delete_key_pair(KeyName=f"term-{suffix}")
    assert ec2.deregister_image(ImageId=image)["Return"] is True

    # Still listed, terminated, for about an hour.
    listed = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert listed["State"]["Name"] == "terminated" and listed["ImageId"] == image
    assert not ec2.describe_security_groups(Filters=[{"Name": "group-id", "Values": [group]}])["SecurityGroups"]
    assert not ec2.describe_key_pairs(Filters=[{"Name": "key-name", "Values": [f"term-{suffix}"]}])["KeyPairs"]
    assert _ec2_error(ec2.describe_images, ImageIds=[image])[0] == "InvalidAMIID.NotFound"


def test_a_natively_destroyed_vm_keeps_its_group_and_template_until_expunged(user_cs, admin_cs):
    suffix = uuid.uuid4().hex[:6]
    zone, offering, _ = pick(user_cs)
    os_type = user_cs.listOsTypes(keyword="Debian")["ostype"][0]
    template = user_cs.registerTemplate(name=f"kept-{suffix}", displaytext="kept", format="QCOW2",
                                        hypervisor="Simulator", ostypeid=os_type["id"], zoneid=zone["id"],
                                        url="http://images.example.org/kept.qcow2")["template"][0]
    assert wait_template_ready(user_cs, template["id"])["isready"]
    group = user_cs.createSecurityGroup(name=f"kept-{suffix}")["securitygroup"]
    deployed = user_cs.deployVirtualMachine(zoneid=zone["id"], serviceofferingid=offering["id"],
                                            templateid=template["id"], securitygroupids=group["id"])
    assert wait_job(user_cs, deployed["jobid"])["jobstatus"] == 1
    assert wait_job(user_cs, user_cs.destroyVirtualMachine(id=deployed["id"])["jobid"])["jobstatus"] == 1

    # Destroyed, not expunged: CloudStack's expunge delay keeps the VM recoverable, so it still holds both.
    code, text = _native_error(user_cs.deleteSecurityGroup, id=group["id"])
    assert code == 536 and deployed["id"] in text
    code, text = _native_error(user_cs.deleteTemplate, id=template["id"])
    assert code == 536 and deployed["id"] in text

    assert wait_job(admin_cs, admin_cs.expungeVirtualMachine(id=deployed["id"])["jobid"])["jobstatus"] == 1
    assert user_cs.deleteSecurityGroup(id=group["id"])["success"]
    assert wait_job(user_cs, user_cs.deleteTemplate(id=template["id"])["jobid"])["jobstatus"] == 1


def test_an_ec2_termination_is_a_destroyed_vm_natively(ec2, user_cs, admin_cs):
    image = next(i for i in ec2.describe_images(Owners=["amazon"])["Images"] if i["Name"] == "debian-12")
    instance = ec2.run_instances(ImageId=image["ImageId"], InstanceType="t2.nano", MinCount=1,
                                 MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.terminate_instances(InstanceIds=[instance])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[instance], WaiterConfig=WAIT)
    vms = [vm for vm in admin_cs.listVirtualMachines(listall=True, state="Destroyed")["virtualmachine"]
           if vm["id"].replace("-", "").startswith(instance[2:])]
    assert [vm["state"] for vm in vms] == ["Destroyed"]
    # Terminated is final: its holds are given away, so it cannot be recovered.
    code, text = _native_error(admin_cs.recoverVirtualMachine, id=vms[0]["id"])
    assert code == 431 and "terminated" in text
