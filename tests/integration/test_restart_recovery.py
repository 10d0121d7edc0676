"""What a restart does with the deploys a dead process left behind: each VM ends explained by its job and holds
only what it runs on. A dead process is played by jobs created and never run (or run without being finished),
then ``jobs.recover()`` as start-up calls it."""
from __future__ import annotations

from backends.core.jobs import FAILED, PENDING, RESTART_TEXT, SUCCEEDED
from backends.db import write_tx
from backends.models import AsyncJob, Nic, StoragePool, VirtualMachine, Volume
from tests.integration.conftest import caller_of
from tests.integration.test_vm_lifecycle import MiB, _catalog, _total_used

RT_VM, RT_VOLUME, RT_CPU, RT_MEMORY, RT_PRIMARY = 0, 2, 8, 9, 10


def _counts(cloud, account):
    return {t: cloud.limits.count(account, t) for t in (RT_VM, RT_VOLUME, RT_CPU, RT_MEMORY, RT_PRIMARY)}


def _allocated_storage():
    return sum(p.allocated_bytes for p in StoragePool.select())


def _launch(cloud, caller, count, command="RunInstances"):
    zone, offering, template = _catalog()
    return cloud.vms.deploy_many(caller, count=count, zone=zone, offering=offering, template=template,
                                 job_command=command)


def test_a_deploy_whose_start_never_began_ends_in_error_with_everything_given_back(cloud):
    demo = caller_of(cloud, "demo")
    account = cloud.accounts.get_caller_account(demo)
    counts, storage = _counts(cloud, account), _allocated_storage()
    vms = _launch(cloud, demo, 3)
    # Capacity decided before answering (RunInstances): host and storage claims no start has used yet.
    cloud.vms.place(demo, vms, 3)
    assert _total_used() == 3 * vms[0].memory * MiB and _counts(cloud, account)[RT_VM] == counts[RT_VM] + 3

    assert cloud.jobs.recover() == 3
    for vm in vms:
        job = AsyncJob.get(AsyncJob.instance_uuid == vm.uuid)
        assert job.status == FAILED and job.error_text == RESTART_TEXT and job.command == "RunInstances"
        assert VirtualMachine.get_by_id(vm.id).state == "Error"
        assert not Nic.select().where(Nic.vm == vm.id).exists()
        assert not Volume.select().where(Volume.vm == vm.id, Volume.removed.is_null()).exists()
    assert _counts(cloud, account) == counts
    assert _total_used() == 0 and _allocated_storage() == storage


def test_a_deploy_that_completed_before_its_job_could_say_so_is_reported_done(cloud):
    demo = caller_of(cloud, "demo")
    vm = _launch(cloud, demo, 1, "deployVirtualMachine")[0]
    cloud.vms.start_work(demo, vm)()  # the start ran; the process died before it finished the job

    cloud.jobs.recover()
    job = AsyncJob.get(AsyncJob.instance_uuid == vm.uuid)
    assert (job.status, job.result_type, job.result_uuid, job.error_text) == (SUCCEEDED, "VirtualMachine",
                                                                                vm.uuid, None)
    assert VirtualMachine.get_by_id(vm.id).state == "Running" and _total_used() == vm.memory * MiB


def test_a_deploy_caught_starting_on_a_host_that_runs_it_ends_running(cloud):
    demo = caller_of(cloud, "demo")
    vm = _launch(cloud, demo, 1, "deployVirtualMachine")[0]
    cloud.vms.start_work(demo, vm)()
    # The process died after the host booted the VM, before recording it: still Starting, root disk unmade.
    VirtualMachine.update(state="Starting", first_start_pending=True).where(VirtualMachine.id == vm.id).execute()
    Volume.update(state="Allocated").where(Volume.vm == vm.id).execute()

    cloud.jobs.recover()
    vm = VirtualMachine.get_by_id(vm.id)
    assert vm.state == "Running" and not vm.first_start_pending and vm.last_host_id == vm.host_id
    assert Volume.get(Volume.vm == vm.id).state == "Ready"
    assert AsyncJob.get(AsyncJob.instance_uuid == vm.uuid).status == SUCCEEDED
    assert _total_used() == vm.memory * MiB


def test_a_later_job_cancelled_by_the_restart_stays_failed(cloud):
    demo = caller_of(cloud, "demo")
    vm = _launch(cloud, demo, 1, "deployVirtualMachine")[0]
    cloud.vms.start_work(demo, vm)()
    AsyncJob.update(status=SUCCEEDED).where(AsyncJob.instance_uuid == vm.uuid).execute()
    with write_tx():  # a stop accepted and queued, that never ran
        stop = cloud.jobs.create(demo, "stopVirtualMachine", [("VirtualMachine", vm.uuid, cloud.vms.sync_key(vm))])[0]

    cloud.jobs.recover()
    assert AsyncJob.get_by_id(stop.id).status == FAILED
    assert VirtualMachine.get_by_id(vm.id).state == "Running"


def test_work_pending_on_another_node_is_left_to_that_node(cloud):
    demo = caller_of(cloud, "demo")
    zone = _catalog()[0]
    vm = _launch(cloud, demo, 1, "deployVirtualMachine")[0]
    # Another node, alive, is starting it: its job pending there, the VM Starting on a claimed host.
    AsyncJob.update(node_id="other-node").where(AsyncJob.instance_uuid == vm.uuid).execute()
    host = cloud.planner.plan(zone=zone, cpu_number=vm.cpu_number, cpu_speed=vm.cpu_speed, memory_mib=vm.memory)
    VirtualMachine.update(state="Starting", host=host.host.id).where(VirtualMachine.id == vm.id).execute()

    assert cloud.jobs.recover() == 0
    assert AsyncJob.get(AsyncJob.instance_uuid == vm.uuid).status == PENDING
    assert VirtualMachine.get_by_id(vm.id).state == "Starting" and Nic.select().where(Nic.vm == vm.id).exists()


def test_a_launch_undone_before_answering_leaves_neither_vm_nor_job(cloud):
    demo = caller_of(cloud, "demo")
    vm = _launch(cloud, demo, 1)[0]
    cloud.vms.discard(demo, vm)
    assert VirtualMachine.get_by_id(vm.id).removed is not None
    assert not AsyncJob.select().where(AsyncJob.instance_uuid == vm.uuid).exists()


def test_a_deploy_not_asked_to_start_and_completed_stays_stopped(cloud):
    demo = caller_of(cloud, "demo")
    vm = _launch(cloud, demo, 1, "deployVirtualMachine")[0]
    cloud.jobs.schedule([(vm.deploy_job, cloud.vms.created_work(vm))])
    assert cloud.jobs.wait(vm.deploy_job.uuid, timeout=30)

    cloud.jobs.recover()
    assert AsyncJob.get_by_id(vm.deploy_job.id).status == SUCCEEDED
    vm = VirtualMachine.get_by_id(vm.id)
    assert vm.state == "Stopped" and Nic.select().where(Nic.vm == vm.id).exists()


def test_an_expunge_cut_short_is_finished_by_the_next_sweep(cloud):
    demo = caller_of(cloud, "demo")
    vm = _launch(cloud, demo, 1)[0]
    # The process died undoing the launch, between the destroy and the end of the expunge.
    cloud.vms.destroy_work(demo, vm)()
    VirtualMachine.update(state="Expunging").where(VirtualMachine.id == vm.id).execute()

    cloud.jobs.recover()
    assert AsyncJob.get(AsyncJob.instance_uuid == vm.uuid).status == FAILED
    assert cloud.vms.expunge_due(scheduled_only=True) == 1
    assert VirtualMachine.get_by_id(vm.id).removed is not None and not Nic.select().where(Nic.vm == vm.id).exists()
