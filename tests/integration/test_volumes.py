"""Data volumes over the whole backend (VolumeManager): create, attach (materialising on a pool of the VM's
cluster), detach, resize, delete; limits, pool capacity, simulator faults, concurrent attaches."""
from __future__ import annotations

import threading

import pytest

from backends.core import resources
from backends.drivers.simulator_store import SimVolume
from backends.errors import (AccountLimitExceeded, CloudError, InsufficientCapacity, InvalidParameterValue,
                             InvalidState, NotFound)
from backends.models import DiskOffering, Event, StoragePool, VirtualMachine, Volume, Zone
from backends.storage.volume_attach import MAX_DATA_VOLUMES
from tests.integration.conftest import caller_of
from tests.integration.test_vm_lifecycle import _deploy, _run

GiB = 1 << 30


def _offering(name="Custom"):
    return DiskOffering.get(DiskOffering.name == name)


def _sized_offering():
    return DiskOffering.select().where(~DiskOffering.is_customized, DiskOffering.removed.is_null()).first()


def _create(cloud, caller, size_gb=2, name=None):
    owner = cloud.accounts.get_caller_account(caller)
    return cloud.volumes.create(caller, owner=owner, zone=Zone.get(Zone.name == "us-east-1a"),
                                disk_offering=_offering(), size_gb=size_gb, name=name)


def _attach(cloud, caller, volume, vm, device_id=None):
    job = _run(cloud, caller, "attachVolume", cloud.volumes.attach_work(caller, volume, vm, device_id), vm)
    return job, Volume.get_by_id(volume.id)


def _detach(cloud, caller, volume):
    vm, work = cloud.volumes.detach_work(caller, volume)
    job = _run(cloud, caller, "detachVolume", work, vm)
    return job, Volume.get_by_id(volume.id)


def _allocated(pool_id):
    return StoragePool.get_by_id(pool_id).allocated_bytes


def test_create_attach_detach_delete_running_vm(cloud):
    demo = caller_of(cloud, "demo")
    vm, _ = _deploy(cloud, demo)
    account = vm.account
    volumes_before = cloud.limits.count(account, resources.VOLUME)
    storage_before = cloud.limits.count(account, resources.PRIMARY_STORAGE)

    volume = _create(cloud, demo, size_gb=3, name="data1")
    assert (volume.state, volume.pool_id, volume.vm_id, volume.size) == ("Allocated", None, None, 3 * GiB)
    assert cloud.limits.count(account, resources.VOLUME) == volumes_before + 1
    assert cloud.limits.count(account, resources.PRIMARY_STORAGE) == storage_before + 3

    job, volume = _attach(cloud, demo, volume, vm)
    assert job.status == 1 and job.result_type == "Volume" and job.result_uuid == volume.uuid
    assert volume.state == "Ready" and volume.vm_id == vm.id and volume.device_id == 1
    pool = StoragePool.get_by_id(volume.pool_id)
    assert pool.cluster_id == vm.host.cluster_id or pool.scope == "ZONE"
    disk = SimVolume.get(SimVolume.path == volume.path)
    assert disk.size == 3 * GiB and disk.attached_to == vm.instance_name and disk.pool_url == pool.url
    allocated = _allocated(pool.id)

    job, volume = _detach(cloud, demo, volume)
    assert job.status == 1 and volume.state == "Ready" and volume.vm_id is None and volume.device_id is None
    assert SimVolume.get(SimVolume.path == volume.path).attached_to is None
    assert _allocated(pool.id) == allocated  # a detached volume keeps its disk and its bytes

    cloud.volumes.delete(demo, volume)
    volume = Volume.get_by_id(volume.id)
    assert volume.state == "Expunged" and volume.removed is not None
    assert not SimVolume.select().where(SimVolume.path == volume.path).exists()
    assert _allocated(pool.id) == allocated - 3 * GiB
    assert cloud.limits.count(account, resources.VOLUME) == volumes_before
    assert cloud.limits.count(account, resources.PRIMARY_STORAGE) == storage_before
    kinds = [e.event_type for e in Event.select().where(Event.resource_uuid == volume.uuid).order_by(Event.id)]
    assert kinds == ["VOLUME.CREATE", "VOLUME.ATTACH", "VOLUME.DETACH", "VOLUME.DELETE"]


def test_attach_to_a_stopped_vm_is_plugged_at_its_next_start_and_destroy_leaves_it_detached(cloud):
    demo = caller_of(cloud, "demo")
    vm, _ = _deploy(cloud, demo)
    _run(cloud, demo, "stopVirtualMachine", cloud.vms.stop_work(demo, vm), vm)
    vm = VirtualMachine.get_by_id(vm.id)
    volume = _create(cloud, demo)
    job, volume = _attach(cloud, demo, volume, vm, device_id=4)
    assert job.status == 1 and volume.state == "Ready" and volume.device_id == 4 and volume.path
    assert SimVolume.get(SimVolume.path == volume.path).attached_to is None  # the VM is not running

    _run(cloud, demo, "startVirtualMachine", cloud.vms.start_work(demo, vm), vm)
    vm = VirtualMachine.get_by_id(vm.id)
    # The start plugs every disk the VM has (the simulator refuses a start with a disk it does not hold).
    assert vm.state == "Running" and Volume.get_by_id(volume.id).vm_id == vm.id

    admin = caller_of(cloud, "admin")
    assert _run(cloud, admin, "destroyVirtualMachine", cloud.vms.destroy_work(admin, vm, expunge=True),
                vm).status == 1
    volume = Volume.get_by_id(volume.id)
    assert volume.state == "Ready" and volume.vm_id is None and volume.removed is None
    assert SimVolume.select().where(SimVolume.path == volume.path).exists()  # expunge spared the data disk
    cloud.volumes.delete(demo, volume)


def test_attach_and_delete_rules(cloud):
    demo = caller_of(cloud, "demo")
    vm, _ = _deploy(cloud, demo)
    root = Volume.get(Volume.vm == vm.id, Volume.volume_type == "ROOT")
    volume = _create(cloud, demo)
    for device_id in (0, 3, MAX_DATA_VOLUMES + 2):
        with pytest.raises(InvalidParameterValue):
            cloud.volumes.attach_work(demo, volume, vm, device_id)
    with pytest.raises(InvalidParameterValue):
        cloud.volumes.attach_work(demo, root, vm)
    with pytest.raises(InvalidState):
        cloud.volumes.delete(demo, root)
    _, volume = _attach(cloud, demo, volume, vm)
    with pytest.raises(InvalidState):
        cloud.volumes.delete(demo, volume)  # attached
    with pytest.raises(InvalidState):
        cloud.volumes.attach_work(demo, volume, vm)  # attached already
    with pytest.raises(InvalidParameterValue):
        cloud.volumes.attach_work(demo, _create(cloud, demo), vm, device_id=1)  # device 1 taken
    for _ in range(MAX_DATA_VOLUMES - 1):
        job, _ = _attach(cloud, demo, _create(cloud, demo, size_gb=1), vm)
        assert job.status == 1
    with pytest.raises(InvalidState):  # the hypervisor's limit of data disks
        cloud.volumes.attach_work(demo, _create(cloud, demo, size_gb=1), vm)
    assert sorted(v.device_id for v in Volume.select().where(Volume.vm == vm.id)) == [0, 1, 2, 4, 5, 6, 7]

    # Another account neither sees nor touches it.
    other = cloud.accounts.create_account(caller_of(cloud, "admin"), username="vol-other", password="pw",
                                          email="o@example.com", firstname="O", lastname="T", account_type=0,
                                          account_name="vol-other")
    outsider = caller_of(cloud, "vol-other")
    for act in (lambda v: cloud.volumes.delete(outsider, v), lambda v: cloud.volumes.detach_work(outsider, v),
                lambda v: cloud.volumes.resize_work(outsider, v, size_gb=9)):
        with pytest.raises(NotFound):  # as unknown as a missing one
            act(Volume.get_by_id(volume.id))
    assert other is not None


def test_sizes_offerings_and_limits(cloud):
    demo = caller_of(cloud, "demo")
    owner = cloud.accounts.get_caller_account(demo)
    zone = Zone.get(Zone.name == "us-east-1a")
    sized = _sized_offering()
    with pytest.raises(InvalidParameterValue):
        cloud.volumes.create(demo, owner=owner, zone=zone, disk_offering=sized, size_gb=5)
    with pytest.raises(InvalidParameterValue):
        cloud.volumes.create(demo, owner=owner, zone=zone, disk_offering=_offering(), size_gb=None)
    with pytest.raises(InvalidParameterValue):
        cloud.volumes.create(demo, owner=owner, zone=zone, disk_offering=None)
    with pytest.raises(InvalidParameterValue):
        cloud.volumes.create(demo, owner=owner, zone=zone, disk_offering=_offering(), size_gb=100000)
    volume = cloud.volumes.create(demo, owner=owner, zone=zone, disk_offering=sized)
    assert volume.size == sized.disk_size * GiB and volume.name == volume.uuid
    # primary storage is limited (200 GiB by default): 150 fit, 150 more do not.
    big = _create(cloud, demo, size_gb=150)
    with pytest.raises(AccountLimitExceeded):
        _create(cloud, demo, size_gb=150)
    for v in (volume, big):
        cloud.volumes.delete(demo, v)
    assert not Volume.select().where(Volume.account == owner.id, Volume.volume_type == "DATADISK",
                                     Volume.removed.is_null()).exists()


def test_resize_grows_and_shrinks_only_when_told(cloud):
    demo = caller_of(cloud, "demo")
    vm, _ = _deploy(cloud, demo)
    account = vm.account
    volume = _create(cloud, demo, size_gb=2)
    storage = cloud.limits.count(account, resources.PRIMARY_STORAGE)
    _run(cloud, demo, "resizeVolume", cloud.volumes.resize_work(demo, volume, size_gb=3), vm)  # Allocated: the row
    volume = Volume.get_by_id(volume.id)
    assert volume.size == 3 * GiB and cloud.limits.count(account, resources.PRIMARY_STORAGE) == storage + 1
    _, volume = _attach(cloud, demo, volume, vm)
    allocated = _allocated(volume.pool_id)
    job = _run(cloud, demo, "resizeVolume", cloud.volumes.resize_work(demo, volume, size_gb=5), vm)
    volume = Volume.get_by_id(volume.id)
    assert job.status == 1 and volume.state == "Ready" and volume.size == 5 * GiB
    assert SimVolume.get(SimVolume.path == volume.path).size == 5 * GiB
    assert _allocated(volume.pool_id) == allocated + 2 * GiB
    with pytest.raises(InvalidParameterValue):
        cloud.volumes.resize_work(demo, volume, size_gb=4)
    job = _run(cloud, demo, "resizeVolume", cloud.volumes.resize_work(demo, volume, size_gb=4, shrink_ok=True), vm)
    volume = Volume.get_by_id(volume.id)
    assert job.status == 1 and volume.size == 4 * GiB and SimVolume.get(SimVolume.path == volume.path).size == 4 * GiB
    assert _allocated(volume.pool_id) == allocated + GiB
    assert cloud.limits.count(account, resources.PRIMARY_STORAGE) == storage + 2

    cloud.configure_simulator("ResizeVolumeCommand", "result:fail")
    job = _run(cloud, demo, "resizeVolume", cloud.volumes.resize_work(demo, volume, size_gb=8), vm)
    volume = Volume.get_by_id(volume.id)
    assert job.status == 2 and volume.state == "Ready" and volume.size == 4 * GiB
    assert _allocated(volume.pool_id) == allocated + GiB  # the failed growth gave its bytes back
    assert cloud.limits.count(account, resources.PRIMARY_STORAGE) == storage + 2


def test_simulated_failures_lose_nothing(cloud):
    demo = caller_of(cloud, "demo")
    vm, _ = _deploy(cloud, demo)
    pools_before = {p.id: p.allocated_bytes for p in StoragePool.select()}
    volume = _create(cloud, demo)
    cloud.configure_simulator("CreateCommand", "result:fail", count=1)
    job, volume = _attach(cloud, demo, volume, vm)
    assert job.status == 2 and volume.state == "Allocated" and volume.pool_id is None and volume.vm_id is None
    assert {p.id: p.allocated_bytes for p in StoragePool.select()} == pools_before

    cloud.configure_simulator("AttachCommand", "result:fail", count=1)
    job, volume = _attach(cloud, demo, volume, vm)
    assert job.status == 2 and volume.state == "Ready" and volume.vm_id is None and volume.pool_id is not None
    job, volume = _attach(cloud, demo, volume, vm)
    assert job.status == 1 and volume.vm_id == vm.id

    cloud.configure_simulator("DettachCommand", "result:fail", count=1)
    job, volume = _detach(cloud, demo, volume)
    assert job.status == 2 and volume.state == "Ready" and volume.vm_id == vm.id
    assert SimVolume.get(SimVolume.path == volume.path).attached_to == vm.instance_name


def test_concurrent_attaches_never_over_allocate_a_pool(cloud):
    """Ten volumes of 1 GiB attached at once (each straight through its work, not one VM queue) to VMs whose
    cluster's pools have room for four: four attach, the rest fail for capacity, and the pools' allocated
    bytes never pass what the rules allow."""
    demo = caller_of(cloud, "demo")
    vms = [_deploy(cloud, demo)[0] for _ in range(2)]
    factor = (cloud.config.get_float("storage.overprovisioning.factor")
              * cloud.config.get_float("pool.storage.allocated.capacity.disablethreshold"))
    cluster = vms[0].host.cluster_id
    reachable = list(cloud.volumes.allocator.candidates(zone_id=vms[0].zone_id, cluster_id=cluster))
    for vm in vms[1:]:  # every VM's cluster reaches the same pools
        assert [p.id for p in cloud.volumes.allocator.candidates(zone_id=vm.zone_id, cluster_id=vm.host.cluster_id)] \
            == [p.id for p in reachable] or vm.host.cluster_id != cluster
    vms = [vm for vm in vms if vm.host.cluster_id == cluster]
    first = reachable[0]
    capacity = int((first.allocated_bytes + 4.5 * GiB) / factor) + 1
    StoragePool.update(capacity_bytes=capacity).where(StoragePool.id == first.id).execute()
    StoragePool.update(status="Maintenance").where(StoragePool.id.in_([p.id for p in reachable[1:]])).execute()
    limit = int(capacity * factor)

    volumes = [_create(cloud, demo, size_gb=1) for _ in range(10)]
    outcomes, lock = [], threading.Lock()

    def attach(i, volume):
        vm = vms[i % len(vms)]
        try:
            cloud.volumes.attachment.do_attach(demo, volume.id, vm.id, [1, 2, 4, 5, 6][i // len(vms) % 5])
            result = "attached"
        except CloudError as exc:
            result = type(exc).__name__
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attach, args=(i, v)) for i, v in enumerate(volumes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("attached") == 4, outcomes
    assert set(outcomes) - {"attached"} <= {InsufficientCapacity.__name__, "ConcurrentOperation"}
    assert _allocated(first.id) <= limit
    ready = Volume.select().where(Volume.id.in_([v.id for v in volumes]), Volume.state == "Ready")
    assert ready.count() == 4 and all(v.pool_id == first.id for v in ready)
    assert Volume.select().where(Volume.id.in_([v.id for v in volumes]), Volume.state == "Allocated",
                                 Volume.pool.is_null()).count() == 6


def test_a_restart_settles_volumes_caught_mid_operation(cloud):
    """What a crash leaves (rows moved into the transitional states, as a dead job would have left them) is
    settled by the start-up recovery: none stays in a state nothing moves it out of, and counts are right."""
    demo = caller_of(cloud, "demo")
    vm, _ = _deploy(cloud, demo)
    creating, attaching, detaching, resizing = (_create(cloud, demo, size_gb=1) for _ in range(4))
    for volume in (attaching, detaching, resizing):
        _attach(cloud, demo, volume, vm)
    _detach(cloud, demo, Volume.get_by_id(attaching.id))  # on a pool now: an attach in flight always is
    pool = Volume.get_by_id(detaching.id).pool_id
    assert cloud.volumes.pools.claim(pool, GiB)  # the claim the cut-short materialisation had made
    allocated = _allocated(pool)
    Volume.update(state="Creating", pool=pool).where(Volume.id == creating.id).execute()
    Volume.update(state="Attaching", vm=vm.id, device_id=7, attached=None).where(Volume.id == attaching.id).execute()
    Volume.update(state="Detaching").where(Volume.id == detaching.id).execute()
    Volume.update(state="Resizing").where(Volume.id == resizing.id).execute()
    storage = cloud.limits.count(vm.account, resources.PRIMARY_STORAGE)

    assert cloud.volumes.recover_after_restart() == 4
    rows = {v.id: v for v in Volume.select().where(Volume.id.in_([creating.id, attaching.id, detaching.id,
                                                                  resizing.id]))}
    assert (rows[creating.id].state, rows[creating.id].pool_id) == ("Allocated", None)
    assert _allocated(pool) == allocated - GiB
    assert rows[attaching.id].state == "Ready" and rows[attaching.id].vm_id == vm.id and rows[attaching.id].attached
    assert rows[detaching.id].state == "Ready" and rows[detaching.id].vm_id == vm.id
    assert rows[resizing.id].state == "Ready" and rows[resizing.id].size == GiB
    assert cloud.limits.count(vm.account, resources.PRIMARY_STORAGE) == storage
    # and they work on: the attached ones detach, the Allocated one attaches.
    job, _ = _detach(cloud, demo, rows[detaching.id])
    assert job.status == 1
    job, volume = _attach(cloud, demo, rows[creating.id], vm)
    assert job.status == 1 and volume.state == "Ready"


def test_a_tagged_disk_offering_lands_only_on_a_pool_with_its_tags(cloud):
    demo, admin = caller_of(cloud, "demo"), caller_of(cloud, "admin")
    vm, _ = _deploy(cloud, demo)
    ssd = cloud.offerings.create_disk_offering(admin, name="ssd", disk_size=1, tags="ssd")
    owner = cloud.accounts.get_caller_account(demo)
    volume = cloud.volumes.create(demo, owner=owner, zone=Zone.get_by_id(vm.zone_id), disk_offering=ssd)
    job, volume = _attach(cloud, demo, volume, vm)
    assert job.status == 2 and job.error_kind == "InsufficientCapacity" and volume.state == "Allocated"
    pools = cloud.volumes.allocator.candidates(zone_id=vm.zone_id, cluster_id=vm.host.cluster_id)
    tagged = pools[-1]
    StoragePool.update(tags="fast,ssd").where(StoragePool.id == tagged.id).execute()
    job, volume = _attach(cloud, demo, volume, vm)
    assert job.status == 1 and volume.pool_id == tagged.id


def test_deleting_an_account_deletes_its_data_volumes(cloud):
    admin = caller_of(cloud, "admin")
    account = cloud.accounts.create_account(admin, username="vol-gone", password="pw", email="g@example.com",
                                            firstname="G", lastname="O", account_type=0, account_name="vol-gone")
    owner = caller_of(cloud, "vol-gone")
    vm, _ = _deploy(cloud, owner)
    attached, loose = _create(cloud, owner, size_gb=1), _create(cloud, owner, size_gb=1)
    _, attached = _attach(cloud, owner, attached, vm)
    pool, allocated = attached.pool_id, _allocated(attached.pool_id)
    job = cloud.jobs.submit(admin, "deleteAccount", cloud.accounts.delete_account_work(admin, account))
    assert cloud.jobs.wait(job.uuid, timeout=30) and type(job).get_by_id(job.id).status == 1
    for volume in (attached, loose):
        assert Volume.get_by_id(volume.id).state == "Expunged"
    assert not SimVolume.select().where(SimVolume.path == attached.path).exists()
    assert _allocated(pool) <= allocated - GiB  # the data disk's bytes (and the root disk's) are back


def test_concurrent_creates_never_pass_the_volume_limit(cloud):
    admin, demo = caller_of(cloud, "admin"), caller_of(cloud, "demo")
    owner = cloud.accounts.get_caller_account(demo)
    held = cloud.limits.count(owner, resources.VOLUME)
    cloud.limits.update_limit(admin, resources.VOLUME, held + 3, account=owner)
    outcomes, lock = [], threading.Lock()

    def create():
        try:
            _create(cloud, demo, size_gb=1)
            result = "created"
        except CloudError as exc:
            result = type(exc).__name__
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["AccountLimitExceeded"] * 5 + ["created"] * 3
    assert cloud.limits.count(owner, resources.VOLUME) == held + 3
    assert Volume.select().where(Volume.account == owner.id, Volume.volume_type == "DATADISK",
                                 Volume.removed.is_null()).count() == 3
