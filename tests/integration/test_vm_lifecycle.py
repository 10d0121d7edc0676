"""VmManager over the whole backend: lifecycle, rollback, recovery, scavenging, power sync."""
from __future__ import annotations

import pytest

from backends.errors import InvalidParameterValue, InvalidState, PermissionDenied
from backends.models import HostCapacity, Nic, ServiceOffering, Template, VirtualMachine, Volume, Zone
from tests.integration.conftest import caller_of

MiB = 1 << 20


def _catalog(name="t2.micro", zone_name="us-east-1a"):
    zone = Zone.get(Zone.name == zone_name)
    offering = ServiceOffering.get(ServiceOffering.name == name)
    template = Template.get(Template.name == "ubuntu-22.04")
    return zone, offering, template


def _run(cloud, caller, command, work, vm):
    """Run ``work`` as a real job and return the finished job row."""
    job = cloud.jobs.submit(caller, command, work, instance_uuid=vm.uuid, sync_key=cloud.vms.sync_key(vm))
    assert cloud.jobs.wait(job.uuid, timeout=30)
    return type(job).get_by_id(job.id)


def _deploy(cloud, caller, **kw):
    zone, offering, template = _catalog(**kw)
    vm = cloud.vms.deploy(caller, zone=zone, offering=offering, template=template)
    job = _run(cloud, caller, "deployVirtualMachine", cloud.vms.start_work(caller, vm), vm)
    return VirtualMachine.get_by_id(vm.id), job


def _used(host_id):
    rows = {r.capacity_type: r.used for r in HostCapacity.select().where(HostCapacity.host == host_id)}
    return rows[HostCapacity.CPU], rows[HostCapacity.MEMORY]


def _total_used():
    return sum(r.used for r in HostCapacity.select().where(HostCapacity.capacity_type == HostCapacity.MEMORY))


def test_deploy_stop_start_destroy_recover_expunge(cloud):
    demo = caller_of(cloud, "demo")
    admin = caller_of(cloud, "admin")
    vm, job = _deploy(cloud, demo)
    assert job.status == 1 and vm.state == "Running" and vm.host_id is not None
    assert _used(vm.host_id) == (vm.cpu_number * vm.cpu_speed, vm.memory * MiB)
    nic = Nic.get(Nic.vm == vm.id)
    assert nic.ip_address.startswith("10.1.")
    root = Volume.get(Volume.vm == vm.id)
    assert root.state == "Ready" and root.pool_id is not None

    host = vm.host_id
    assert _run(cloud, demo, "stopVirtualMachine", cloud.vms.stop_work(demo, vm), vm).status == 1
    vm = VirtualMachine.get_by_id(vm.id)
    assert vm.state == "Stopped" and vm.host_id is None and _used(host) == (0, 0)

    assert _run(cloud, demo, "startVirtualMachine", cloud.vms.start_work(demo, vm), vm).status == 1
    vm = VirtualMachine.get_by_id(vm.id)
    assert vm.state == "Running"
    assert cloud.simulator.vm_power_state(cloud.infra.host_ref(vm.host), vm.instance_name) == "PowerOn"

    assert _run(cloud, demo, "destroyVirtualMachine", cloud.vms.destroy_work(demo, vm), vm).status == 1
    vm = VirtualMachine.get_by_id(vm.id)
    assert vm.state == "Destroyed" and _total_used() == 0
    with pytest.raises(PermissionDenied):
        cloud.vms.recover(demo, vm)
    assert cloud.vms.recover(admin, vm).state == "Stopped"

    vm = VirtualMachine.get_by_id(vm.id)
    assert _run(cloud, admin, "destroyVirtualMachine", cloud.vms.destroy_work(admin, vm, expunge=True),
                vm).status == 1
    vm = VirtualMachine.get_by_id(vm.id)
    assert vm.removed is not None
    assert not Nic.select().where(Nic.vm == vm.id).exists()
    assert Volume.get_by_id(root.id).state == "Expunged"
    assert cloud.limits.count(vm.account, 0) == 0


def test_failed_first_start_gives_everything_back(cloud):
    demo = caller_of(cloud, "demo")
    zone = Zone.get(Zone.name == "us-east-1a")
    cloud.simulator.configure("StartCommand", "result:fail", zone=zone.uuid)
    vm, job = _deploy(cloud, demo)
    assert job.status == 2 and job.error_kind == "InsufficientCapacity"
    assert vm.state == "Error"
    assert _total_used() == 0
    assert not Nic.select().where(Nic.vm == vm.id).exists()
    assert cloud.limits.count(vm.account, 0) == 0
    cloud.simulator.configure("StartCommand", "clear", zone=zone.uuid)


def test_start_retries_on_another_host_when_one_fails(cloud):
    demo = caller_of(cloud, "demo")
    zone = Zone.get(Zone.name == "us-east-1a")
    cloud.simulator.configure("StartCommand", "result:fail", zone=zone.uuid, count=2)
    vm, job = _deploy(cloud, demo)
    assert job.status == 1 and vm.state == "Running"
    assert _total_used() == vm.memory * MiB  # the failed hosts gave their claim back


def _unlimit(cloud, admin, user):
    for resource_type in (0, 2, 8, 9, 10):
        cloud.limits.update_limit(admin, resource_type, -1, account=cloud.accounts.get_caller_account(user))


def test_no_capacity_fails_the_job_and_leaks_nothing(cloud):
    demo = caller_of(cloud, "demo")
    admin = caller_of(cloud, "admin")
    _unlimit(cloud, admin, demo)
    huge = cloud.offerings.create_service_offering(admin, name="huge", display_text="huge", cpu_number=1,
                                                   cpu_speed=1000, memory=300 * 1024)
    zone, _, template = _catalog()
    vm = cloud.vms.deploy(demo, zone=zone, offering=huge, template=template)
    job = _run(cloud, demo, "deployVirtualMachine", cloud.vms.start_work(demo, vm), vm)
    assert job.status == 2 and job.error_kind == "InsufficientCapacity"
    assert _total_used() == 0 and VirtualMachine.get_by_id(vm.id).state == "Error"


def test_concurrent_deploys_never_overcommit(cloud):
    """16 hosts of 256 GiB; 40 VMs of 120 GiB: only 2 fit per host, so 32 run and 8 fail."""
    demo = caller_of(cloud, "demo")
    admin = caller_of(cloud, "admin")
    _unlimit(cloud, admin, demo)
    big = cloud.offerings.create_service_offering(admin, name="big", display_text="big", cpu_number=1,
                                                  cpu_speed=100, memory=120 * 1024)
    _, _, template = _catalog()
    jobs = []
    for i in range(40):
        zone = Zone.get(Zone.name == ("us-east-1a" if i % 2 else "us-east-1b"))
        vm = cloud.vms.deploy(demo, zone=zone, offering=big, template=template)
        jobs.append(cloud.jobs.submit(demo, "deployVirtualMachine", cloud.vms.start_work(demo, vm),
                                      sync_key=cloud.vms.sync_key(vm)))
    for job in jobs:
        assert cloud.jobs.wait(job.uuid, timeout=60)
    statuses = [type(j).get_by_id(j.id).status for j in jobs]
    assert statuses.count(1) == 32 and statuses.count(2) == 8
    for row in HostCapacity.select():
        assert row.used <= row.capacity_limit
    running = VirtualMachine.select().where(VirtualMachine.state == "Running").count()
    assert _total_used() == running * 120 * 1024 * MiB


def test_operations_on_one_vm_never_interleave(cloud):
    demo = caller_of(cloud, "demo")
    vm, _ = _deploy(cloud, demo)
    jobs = []
    for _ in range(3):
        jobs.append(cloud.jobs.submit(demo, "stopVirtualMachine", cloud.vms.stop_work(demo, vm),
                                      sync_key=cloud.vms.sync_key(vm)))
        jobs.append(cloud.jobs.submit(demo, "startVirtualMachine", cloud.vms.start_work(demo, vm),
                                      sync_key=cloud.vms.sync_key(vm)))
    for job in jobs:
        cloud.jobs.wait(job.uuid, timeout=30)
    assert all(type(j).get_by_id(j.id).status == 1 for j in jobs)
    assert VirtualMachine.get_by_id(vm.id).state == "Running"
    assert _total_used() == vm.memory * MiB


def test_restart_recovers_vms_caught_starting(cloud):
    demo = caller_of(cloud, "demo")
    zone, offering, template = _catalog()
    vm = cloud.vms.deploy(demo, zone=zone, offering=offering, template=template)
    # A dead process left it Starting with a claim on a host that never ran it.
    host = cloud.planner.plan(zone=zone, cpu_number=vm.cpu_number, cpu_speed=vm.cpu_speed, memory_mib=vm.memory)
    VirtualMachine.update(state="Starting", host=host.host.id).where(VirtualMachine.id == vm.id).execute()
    cloud.vms.recover_after_restart()
    vm = VirtualMachine.get_by_id(vm.id)
    assert vm.state == "Error" and vm.host_id is None
    assert _total_used() == 0
    assert not Nic.select().where(Nic.vm == vm.id).exists()


def test_scavenger_expunges_after_delay(cloud):
    demo = caller_of(cloud, "demo")
    vm, _ = _deploy(cloud, demo)
    _run(cloud, demo, "destroyVirtualMachine", cloud.vms.destroy_work(demo, vm), vm)
    assert cloud.vms.expunge_due() == 0  # expunge.delay is a day
    cloud.config.update("expunge.delay", "0")
    assert cloud.vms.expunge_due() == 1
    assert VirtualMachine.get_by_id(vm.id).removed is not None


def test_power_sync_marks_a_vm_stopped_behind_our_back(cloud):
    demo = caller_of(cloud, "demo")
    vm, _ = _deploy(cloud, demo)
    cloud.simulator.stop_vm(cloud.infra.host_ref(vm.host), vm.instance_name, force=True)
    cloud.infra.ping_hosts()
    vm = VirtualMachine.get_by_id(vm.id)
    assert vm.state == "Stopped" and _total_used() == 0


def test_migrate_within_cluster_moves_capacity(cloud):
    demo = caller_of(cloud, "demo")
    admin = caller_of(cloud, "admin")
    vm, _ = _deploy(cloud, demo)
    source = vm.host_id
    job = _run(cloud, admin, "migrateVirtualMachine", cloud.vms.migrate_work(admin, vm), vm)
    assert job.status == 1
    vm = VirtualMachine.get_by_id(vm.id)
    assert vm.host_id != source and vm.host.cluster_id == vm.cluster_id
    assert _used(source) == (0, 0) and _used(vm.host_id)[1] == vm.memory * MiB
    with pytest.raises(PermissionDenied):
        cloud.vms.migrate_work(demo, vm)


def test_scale_stopped_vm_and_refuse_running_without_dynamic_scaling(cloud):
    demo = caller_of(cloud, "demo")
    vm, _ = _deploy(cloud, demo)
    bigger = ServiceOffering.get(ServiceOffering.name == "t3.medium")
    with pytest.raises(InvalidParameterValue):  # enable.dynamic.scale.vm is false
        cloud.vms.scale(demo, vm, bigger)
    _run(cloud, demo, "stopVirtualMachine", cloud.vms.stop_work(demo, vm), vm)
    cloud.vms.scale(demo, VirtualMachine.get_by_id(vm.id), bigger)
    vm = VirtualMachine.get_by_id(vm.id)
    assert vm.memory == bigger.memory and vm.cpu_number == bigger.cpu_number


def test_reboot_requires_running(cloud):
    demo = caller_of(cloud, "demo")
    zone, offering, template = _catalog()
    vm = cloud.vms.deploy(demo, zone=zone, offering=offering, template=template)
    with pytest.raises(InvalidState):
        cloud.vms.reboot_work(demo, vm)


def test_a_vm_destroyed_with_a_retention_is_expunged_at_its_own_time(cloud):
    demo = caller_of(cloud, "demo")
    kept, _ = _deploy(cloud, demo)
    due, _ = _deploy(cloud, demo)
    _run(cloud, demo, "destroyVirtualMachine", cloud.vms.destroy_work(demo, kept, retention_seconds=3600), kept)
    _run(cloud, demo, "destroyVirtualMachine", cloud.vms.destroy_work(demo, due, retention_seconds=0), due)
    cloud.config.update("expunge.delay", "0")  # the general delay does not shorten a VM's own retention
    assert cloud.vms.expunge_due(scheduled_only=True) == 1
    assert VirtualMachine.get_by_id(due.id).removed is not None
    assert cloud.vms.expunge_due() == 0
    assert VirtualMachine.get_by_id(kept.id).removed is None and VirtualMachine.get_by_id(kept.id).state == "Destroyed"


def test_placing_a_launch_claims_now_and_the_start_uses_the_claim(cloud):
    from backends.errors import InsufficientCapacity
    from backends.models import StoragePool

    admin = caller_of(cloud, "admin")
    zone, offering, template = _catalog(name="m5.2xlarge")
    storage_before = sum(p.allocated_bytes for p in StoragePool.select())
    vms = cloud.vms.deploy_many(admin, count=70, zone=zone, offering=offering, template=template)
    with pytest.raises(InsufficientCapacity):
        cloud.vms.place(admin, vms, 70)  # a zone holds 64 of them
    assert _total_used() == 0 and sum(p.allocated_bytes for p in StoragePool.select()) == storage_before
    claims = cloud.vms.place(admin, vms, 1)
    assert len(claims) == 64 and _total_used() == 64 * offering.memory * MiB
    first = vms[0]
    claimed_host = claims[first.id].placement.host.id
    job = _run(cloud, admin, "deployVirtualMachine", cloud.vms.start_work(admin, first, placement=claims[first.id]),
               first)
    assert job.status == 1 and VirtualMachine.get_by_id(first.id).host_id == claimed_host
    assert _total_used() == 64 * offering.memory * MiB  # the start used its claim, not a second one
    # A VM terminated between its launch and its start gives its claim back when the start finds it gone.
    second = vms[1]
    work = cloud.vms.start_work(admin, second, placement=claims[second.id])
    cloud.vms.discard(admin, second)
    assert _run(cloud, admin, "deployVirtualMachine", work, second).status == 2
    assert _total_used() == 63 * offering.memory * MiB


def test_user_data_up_to_the_limit_is_stored_whole(cloud):
    """1 MiB of base64 is what CloudStack takes by POST; MySQL's plain TEXT would refuse past 64 KiB."""
    import base64

    zone, offering, template = _catalog()
    user_data = base64.b64encode(b"#cloud-config\n" + b"x" * (786_000)).decode()
    assert 65_536 < len(user_data) <= 1_048_576
    vm = cloud.vms.deploy(caller_of(cloud, "demo"), zone=zone, offering=offering, template=template,
                          user_data=user_data)
    assert VirtualMachine.get_by_id(vm.id).user_data == user_data
