"""find_owned: an EC2 id names a row only for callers who may see it; everyone else gets its NotFound."""
from __future__ import annotations

import pytest

from backends.models import ServiceOffering, Template, Zone
from ec2bridge.actions import Context
from ec2bridge.actions.lookup import find_owned
from ec2bridge.errors import Ec2Error
from ec2bridge.ids import to_ec2
from tests.integration.conftest import caller_of


def test_found_for_its_owner_not_found_for_another_tenant(cloud):
    demo = caller_of(cloud, "demo")
    vm = cloud.vms.deploy(demo, zone=Zone.get(Zone.name == "us-east-1a"),
                          offering=ServiceOffering.get(ServiceOffering.name == "t2.micro"),
                          template=Template.get(Template.name == "ubuntu-22.04"), name="mine")
    instance_id = to_ec2("i", vm.uuid)
    assert find_owned(Context(cloud, demo, "us-east-1"), "VirtualMachine", instance_id).id == vm.id
    other = cloud.accounts.create_account(caller_of(cloud, "admin"), username="eve", password="pw",
                                          email="e@example.com", firstname="E", lastname="V", account_type=0)
    eve = cloud.accounts.caller_for(other.users[0])
    with pytest.raises(Ec2Error) as info:
        find_owned(Context(cloud, eve, "us-east-1"), "VirtualMachine", instance_id)
    assert (info.value.code, info.value.message) == ("InvalidInstanceID.NotFound",
                                                      f"The instance ID '{instance_id}' does not exist")
    with pytest.raises(Ec2Error) as info:
        find_owned(Context(cloud, eve, "us-east-1"), "VirtualMachine", instance_id,
                   message="The ID '{}' does not exist")
    assert info.value.message == f"The ID '{instance_id}' does not exist"
    with pytest.raises(Ec2Error) as info:
        find_owned(Context(cloud, demo, "us-east-1"), "Template", "ami-nothex")
    assert info.value.code == "InvalidAMIID.Malformed"
