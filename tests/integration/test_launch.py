"""The launch of N VMs (RunInstances' policy) in compute's LaunchService: as many as fit between the counts,
nothing below the minimum, one launch per client token, and nothing left behind by what is not kept."""
from __future__ import annotations

import pytest

from backends.compute.launch import LaunchRequest, LaunchTokenReused, LaunchUnplaced
from backends.core.resources import USER_VM
from backends.errors import AccountLimitExceeded, InvalidParameterValue
from backends.models import AsyncJob, VirtualMachine
from tests.integration.conftest import caller_of
from tests.integration.test_vm_lifecycle import MiB, _catalog, _total_used


def _request(low, high, name="t2.micro", **extra):
    zone, offering, template = _catalog(name=name)
    return LaunchRequest(zone=zone, offering=offering, template=template, min_count=low, max_count=high,
                         job_command="RunInstances", **extra)


def _live_vms(account):
    return list(VirtualMachine.select().where(VirtualMachine.account == account.id,
                                              VirtualMachine.removed.is_null()))


def test_a_launch_keeps_the_largest_count_the_limits_allow(cloud):
    demo, admin = caller_of(cloud, "demo"), caller_of(cloud, "admin")
    account = cloud.accounts.get_caller_account(demo)
    cloud.limits.update_limit(admin, USER_VM, 3, account=account)
    launch = cloud.vms.launch(demo, _request(1, 5))
    assert len(launch.vms) == 3 and not launch.repeated
    assert [vm.id for vm in _live_vms(account)] == [vm.id for vm in launch.vms]  # smaller tries undone
    assert cloud.limits.count(account, USER_VM) == 3
    assert [vm for _, vm in launch.starts] == launch.vms and all(vm.deploy_job is not None for vm in launch.vms)
    assert len({vm.launch_group for vm in launch.vms}) == 1  # one reservation
    assert _total_used() == 3 * launch.vms[0].memory * MiB  # each has a host claimed before the answer
    with pytest.raises(AccountLimitExceeded):  # not even the minimum fits: the limit's refusal, nothing kept
        cloud.vms.launch(demo, _request(1, 2))
    assert len(_live_vms(account)) == 3


def test_below_the_minimum_of_hosts_nothing_is_launched_and_above_it_the_rest_is_undone(cloud):
    admin = caller_of(cloud, "admin")
    account = cloud.accounts.get_caller_account(admin)
    with pytest.raises(LaunchUnplaced):
        cloud.vms.launch(admin, _request(70, 70, name="m5.2xlarge"))  # a zone holds 64 of them
    assert _live_vms(account) == [] and _total_used() == 0
    assert not AsyncJob.select().exists()  # the jobs created with the VMs were withdrawn
    launch = cloud.vms.launch(admin, _request(1, 70, name="m5.2xlarge"))
    assert len(launch.vms) == 64 and len(_live_vms(account)) == 64
    assert AsyncJob.select().count() == 64


def test_a_client_token_repeats_its_launch_and_refuses_other_arguments(cloud):
    demo = caller_of(cloud, "demo")
    first = cloud.vms.launch(demo, _request(2, 2, client_token="abc"))
    again = cloud.vms.launch(demo, _request(1, 3, client_token="abc"))
    assert again.repeated and again.starts == [] and [vm.id for vm in again.vms] == [vm.id for vm in first.vms]
    with pytest.raises(LaunchTokenReused):
        cloud.vms.launched_before(demo, _request(2, 2, name="m5.2xlarge", client_token="abc"))
    with pytest.raises(LaunchTokenReused):
        cloud.vms.launch(demo, _request(3, 3, client_token="abc"))  # two VMs are not three


def test_tags_go_on_every_vm_and_a_refused_tag_leaves_nothing(cloud):
    demo = caller_of(cloud, "demo")
    account = cloud.accounts.get_caller_account(demo)
    launch = cloud.vms.launch(demo, _request(2, 2, tags={"team": "blue"}))
    assert all({t.key: t.value for t in vm.resource_tags} == {"team": "blue"} for vm in launch.vms)
    with pytest.raises(InvalidParameterValue):
        cloud.vms.launch(demo, _request(2, 2, tags={"x" * 200: "too long a key"}))
    assert len(_live_vms(account)) == 2


def _schedule(cloud, caller, launch):
    """What RunInstances does with a launch: its starts as one piece of work, each VM's job standing for its own."""
    assert launch.together is not None  # the simulator without injected faults starts a launch in bulk
    cloud.jobs.schedule_together([(vm.deploy_job, work) for work, vm in launch.starts], launch.together)


def _finished(cloud, launch) -> list[AsyncJob]:
    for vm in launch.vms:
        assert cloud.jobs.wait(vm.deploy_job.uuid, timeout=60)
    return [AsyncJob.get_by_id(vm.deploy_job.id) for vm in launch.vms]


def _sim_vms(vms) -> set[str]:
    from backends.drivers.simulator_store import SimVm

    return {s.name for s in SimVm.select().where(SimVm.name.in_([vm.instance_name for vm in vms]),
                                                 SimVm.power_state == "PowerOn")}


def test_a_launch_starts_its_vms_together_on_their_claims_each_job_finished_for_its_vm(cloud):
    demo = caller_of(cloud, "demo")
    launch = cloud.vms.launch(demo, _request(5, 5))
    claimed = _total_used()
    _schedule(cloud, demo, launch)
    jobs = _finished(cloud, launch)
    assert [(j.status, j.result_type, j.result_uuid) for j in jobs] == [(1, "VirtualMachine", vm.uuid)
                                                                        for vm in launch.vms]
    vms = [VirtualMachine.get_by_id(vm.id) for vm in launch.vms]
    assert {vm.state for vm in vms} == {"Running"} and all(vm.host_id and vm.last_host_id == vm.host_id
                                                           for vm in vms)
    assert _total_used() == claimed  # started on the claims made at launch, nothing claimed twice
    assert _sim_vms(vms) == {vm.instance_name for vm in vms}  # the hypervisor runs them
    from backends.models import Volume

    roots = list(Volume.select().where(Volume.vm.in_([vm.id for vm in vms]), Volume.volume_type == "ROOT"))
    assert {(r.state, r.pool_id is not None, r.path is not None) for r in roots} == {("Ready", True, True)}
    from backends.drivers.simulator_store import SimVolume
    from backends.models import Event

    # Each root disk its own path, the one the hypervisor made; one start event per VM, each its owner's.
    assert len({r.path for r in roots}) == 5 and {r.path for r in roots} <= {v.path for v in SimVolume.select()}
    started = Event.select().where(Event.event_type == "VM.START")
    assert sorted((e.resource_uuid, e.account_id) for e in started) == sorted((vm.uuid, vm.account_id) for vm in vms)


def test_a_start_fault_in_a_launch_is_met_by_each_start_alone(cloud):
    """Injected faults apply per operation: the launch's starts run one by one, the host that fails is
    avoided by the retries, and what a failed start held goes back."""
    admin = caller_of(cloud, "admin")
    from backends.drivers.simulator_store import SimMock

    launch = cloud.vms.launch(admin, _request(4, 4))
    cloud.simulator.configure("StartCommand", "result:fail;message:boom", count=1)
    _schedule(cloud, admin, launch)
    jobs = _finished(cloud, launch)
    assert [j.status for j in jobs] == [1, 1, 1, 1]
    assert [m.remaining for m in SimMock.select()] == [0]  # one start met the fault, and retried elsewhere
    vms = [VirtualMachine.get_by_id(vm.id) for vm in launch.vms]
    assert {vm.state for vm in vms} == {"Running"}
    assert _total_used() == sum(vm.memory for vm in vms) * MiB  # the failed attempt's host claim given back
    assert _sim_vms(vms) == {vm.instance_name for vm in vms}


def test_work_on_a_vm_after_its_launch_waits_for_the_launch_s_start(cloud):
    demo = caller_of(cloud, "demo")
    launch = cloud.vms.launch(demo, _request(3, 3))
    _schedule(cloud, demo, launch)
    vm = launch.vms[1]
    stop = cloud.jobs.submit(demo, "StopInstances", cloud.vms.stop_work(demo, VirtualMachine.get_by_id(vm.id)),
                             instance_uuid=vm.uuid, sync_key=cloud.vms.sync_key(vm))
    assert cloud.jobs.wait(stop.uuid, timeout=60)
    assert [j.status for j in _finished(cloud, launch)] == [1, 1, 1]
    assert AsyncJob.get_by_id(stop.id).status == 1  # it found the VM started, not still Stopped
    assert [VirtualMachine.get_by_id(v.id).state for v in launch.vms] == ["Running", "Stopped", "Running"]


def test_alike_vms_planned_together_get_the_hosts_and_pools_one_by_one_planning_gives(cloud):
    from backends.compute.capacity import MiB as CAP_MiB
    from backends.models import StoragePool

    zone, offering, _ = _catalog(name="m5.2xlarge")
    spec = dict(zone=zone, cpu_number=offering.cpu_number, cpu_speed=offering.cpu_speed, memory_mib=offering.memory,
                root_size_bytes=8 << 30, hypervisor="Simulator")

    def give_back(placements):
        for p in placements:
            cloud.capacity.release(p.host.id, offering.cpu_number * offering.cpu_speed, offering.memory * CAP_MiB)
            cloud.capacity.release_storage(p.pool.id, 8 << 30)

    def pools():
        return {p.id: p.allocated_bytes for p in StoragePool.select()}

    before = pools()
    together = cloud.planner.plan_many(40, **spec)
    claimed = (_total_used(), pools())
    give_back(together)
    assert (_total_used(), pools()) == (0, before)
    one_by_one = [cloud.planner.plan(**spec) for _ in range(40)]
    assert (_total_used(), pools()) == claimed
    assert [(p.host.id, p.pool.id) for p in together] == [(p.host.id, p.pool.id) for p in one_by_one]
    assert len(cloud.planner.plan_many(100, **spec)) == 64 - 40  # what is left of the zone, no more


def test_alike_vms_deployed_together_have_the_rows_one_deploy_makes(cloud):
    from backends.models import Event, Nic, VmSecurityGroup, Volume

    demo = caller_of(cloud, "demo")
    single = cloud.vms.launch(demo, _request(1, 1)).vms[0]
    many = cloud.vms.launch(demo, _request(12, 12)).vms
    assert len(many) == 12

    def facts(vm):
        vm = VirtualMachine.get_by_id(vm.id)
        nic = Nic.get(Nic.vm == vm.id)
        root = Volume.get(Volume.vm == vm.id)
        return {
            "vm": (vm.state, vm.instance_name == f"i-{vm.account_id}-{vm.id}-VM", vm.name == f"VM-{vm.uuid}",
                   vm.display_name == vm.name, vm.cpu_number, vm.memory, vm.template_id, vm.details, vm.user_id),
            "nic": (nic.network_id, nic.netmask, nic.gateway, nic.device_id, nic.is_default, nic.traffic_type,
                    nic.broadcast_uri, nic.isolation_uri, nic.ip_address == str(__import__("ipaddress").IPv4Address(
                        nic.ip_int)), len(nic.mac_address)),
            "root": (root.name == f"ROOT-{vm.id}", root.volume_type, root.state, root.size, root.template_id,
                     root.device_id),
            "groups": [link.group_id for link in VmSecurityGroup.select().where(VmSecurityGroup.vm == vm.id)],
            "events": [(e.event_type, e.account_id, e.resource_type) for e in Event.select().where(
                Event.resource_uuid == vm.uuid, Event.event_type == "VM.CREATE")],
        }

    expected = facts(single)
    assert all(facts(vm) == expected for vm in many)
    nics = list(Nic.select().where(Nic.vm.in_([vm.id for vm in [single, *many]])))
    assert len({n.ip_int for n in nics}) == len({n.mac_address for n in nics}) == 13
    account = cloud.accounts.get_caller_account(demo)
    assert cloud.limits.count(account, USER_VM) == 13
    assert len({vm.deploy_job.id for vm in many}) == 12
    assert [AsyncJob.get_by_id(vm.deploy_job.id).instance_uuid for vm in many] == [vm.uuid for vm in many]
