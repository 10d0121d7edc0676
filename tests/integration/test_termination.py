"""Terminated (EC2) and destroyed (native) VMs and the shared objects they were launched with."""
from __future__ import annotations

import datetime as dt

import pytest

from backends.errors import InvalidState, ResourceInUse
from backends.models import OsType, ServiceOffering, VirtualMachine, Zone, utcnow
from tests.integration.conftest import caller_of

HOUR = 3600


def _launch(cloud, caller, template, group, key):
    """A running VM from ``template`` in ``group`` with ``key``, through real jobs."""
    zone = Zone.get(Zone.name == "us-east-1a")
    offering = ServiceOffering.get(ServiceOffering.name == "t2.micro")
    vm = cloud.vms.deploy(caller, zone=zone, offering=offering, template=template, key_pair=key.name,
                          security_groups=[group])
    _run(cloud, caller, "deployVirtualMachine", cloud.vms.start_work(caller, vm), vm)
    return VirtualMachine.get_by_id(vm.id)


def _run(cloud, caller, command, work, vm):
    job = cloud.jobs.submit(caller, command, work, instance_uuid=vm.uuid, sync_key=cloud.vms.sync_key(vm))
    assert cloud.jobs.wait(job.uuid, timeout=30)
    assert type(job).get_by_id(job.id).status == 1


def _own_image(cloud, caller, name):
    zone = Zone.get(Zone.name == "us-east-1a")
    os_type = OsType.get(OsType.name == "Debian GNU/Linux 12 (64-bit)")
    image = cloud.templates.register(caller, name=name, display_text=name, url=f"http://img/{name}.qcow2",
                                     format="QCOW2", hypervisor="Simulator", os_type=os_type, zone=zone)
    cloud.templates.wait_for_downloads(timeout=30)
    return image


def _listed(cloud, caller, vm):
    _, rows = cloud.vms.list(caller, scope=cloud.accounts.scope(caller), id=vm, include_destroyed=True)
    return [row.state for row in rows]


def test_a_terminated_vm_lets_go_of_its_image_group_and_key_at_once(cloud):
    demo = caller_of(cloud, "demo")
    image = _own_image(cloud, demo, "app-image")
    group = cloud.security_groups.create(demo, "web")
    key, _ = cloud.keypairs.create(demo, "deploy-key")
    vm = _launch(cloud, demo, image, group, key)

    # While it runs, the group and the image are in use, and the refusal names the VM.
    with pytest.raises(ResourceInUse, match=f"in use by VM {vm.uuid}") as held:
        cloud.security_groups.delete(demo, group)
    assert held.value.dependent == ("VirtualMachine", vm.uuid)
    with pytest.raises(ResourceInUse, match=f"in use by VM {vm.uuid}"):
        cloud.templates.delete(demo, image)

    # EC2's TerminateInstances: destroyed with an expunge time of its own.
    _run(cloud, demo, "TerminateInstances", cloud.vms.destroy_work(demo, vm, retention_seconds=HOUR), vm)
    cloud.security_groups.delete(demo, group)
    assert cloud.keypairs.delete(demo, "deploy-key")
    cloud.templates.delete(demo, image)
    # Still listed (as terminated) until its hour is up; never recovered with its holds given away.
    assert _listed(cloud, demo, vm) == ["Destroyed"]
    assert cloud.vms.expunge_due(scheduled_only=True) == 0
    with pytest.raises(InvalidState, match="terminated"):
        cloud.vms.recover(caller_of(cloud, "admin"), VirtualMachine.get_by_id(vm.id))
    # The hour passes (moved, not waited for).
    VirtualMachine.update(expunge_after=utcnow() - dt.timedelta(seconds=1)).where(
        VirtualMachine.id == vm.id).execute()
    assert cloud.vms.expunge_due(scheduled_only=True) == 1
    assert _listed(cloud, demo, vm) == []


def test_a_natively_destroyed_vm_keeps_its_hold_until_expunged(cloud):
    demo, admin = caller_of(cloud, "demo"), caller_of(cloud, "admin")
    image = _own_image(cloud, demo, "kept-image")
    group = cloud.security_groups.create(demo, "db")
    key, _ = cloud.keypairs.create(demo, "ops-key")
    first = _launch(cloud, demo, image, group, key)
    second = _launch(cloud, demo, image, group, key)

    _run(cloud, demo, "destroyVirtualMachine", cloud.vms.destroy_work(demo, first), first)
    # CloudStack's expunge delay: a destroyed VM may be recovered, so it still holds what it uses.
    with pytest.raises(ResourceInUse, match=f"in use by VM {first.uuid} and 1 other VM"):
        cloud.security_groups.delete(demo, group)
    with pytest.raises(ResourceInUse, match=f"in use by VM {first.uuid} and 1 other VM"):
        cloud.templates.delete(demo, image)
    recovered = cloud.vms.recover(admin, VirtualMachine.get_by_id(first.id))
    assert recovered.state == "Stopped"

    for vm in (first, second):  # the admin destroys with expunge: nothing holds them any more
        _run(cloud, admin, "destroyVirtualMachine",
             cloud.vms.destroy_work(admin, VirtualMachine.get_by_id(vm.id), expunge=True), vm)
    cloud.security_groups.delete(demo, group)
    cloud.templates.delete(demo, image)


def test_another_tenants_vm_on_a_public_image_is_counted_not_named(cloud):
    demo, admin = caller_of(cloud, "demo"), caller_of(cloud, "admin")
    image = _own_image(cloud, admin, "shared-image")
    image.is_public = True
    image.save()
    group = cloud.security_groups.default_group(cloud.accounts.get_caller_account(demo))
    key, _ = cloud.keypairs.create(demo, "k")
    vm = _launch(cloud, demo, image, group, key)
    other = cloud.accounts.create_account(admin, username="carol", password="pw", email="c@example.com",
                                          firstname="C", lastname="L", account_type=0)
    carol = caller_of(cloud, other.name)
    public_by_carol = _own_image(cloud, carol, "carol-image")
    public_by_carol.is_public = True
    public_by_carol.save()
    demo_vm = _launch(cloud, demo, public_by_carol, group, key)
    with pytest.raises(ResourceInUse) as refused:
        cloud.templates.delete(carol, public_by_carol)
    assert str(refused.value) == f"Template {public_by_carol.uuid} is in use by 1 VM(s)"
    assert refused.value.dependent is None and demo_vm.uuid not in str(refused.value)
    with pytest.raises(ResourceInUse, match=f"in use by VM {vm.uuid}"):  # the root admin sees every VM
        cloud.templates.delete(admin, image)
