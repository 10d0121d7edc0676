"""Attaching data volumes to VMs and detaching them (backend.md section 4.2).

A volume still Allocated is materialised on its first attach: a pool reachable from the VM's cluster is
claimed for it (pool_allocator.py) and its disk created there, Allocated -> Creating -> Ready. The attach
itself is Ready -> Attaching -> Ready with the VM and device id set: a hot-plug through the hypervisor
driver when the VM runs, the database alone when it is stopped (its next start plugs every disk it has).
Both run as jobs in the VM's queue, so one VM's attaches and detaches never interleave; the unique
(VM, device id) index backs that up.
"""
from __future__ import annotations

from typing import Callable

import peewee as pw

from backends.context import Caller
from backends.core import fsm
from backends.core.events import EventManager
from backends.core.jobs import JobResult
from backends.db import write_tx
from backends.errors import InsufficientCapacity, InvalidParameterValue, InvalidState, PermissionDenied
from backends.models import Host, VirtualMachine, Volume, utcnow
from backends.storage.pool_allocator import PoolAllocator
from backends.storage.pool_capacity import PoolCapacity
from backends.storage.templates import Accounts
from backends.storage.volume_hosts import host_for_pool
from backends.storage.volume_lifecycle import disk_of

# Data disks a VM may have: CloudStack's hypervisor_capabilities.max_data_volumes_limit, whose fallback for a
# hypervisor (version) it has no row for is 6. Device id 0 is the root disk's, 3 the CD-ROM's.
MAX_DATA_VOLUMES = 6
CDROM_DEVICE_ID = 3


def device_ids(max_data_volumes: int = MAX_DATA_VOLUMES) -> list[int]:
    """The device ids a data disk may take, lowest first."""
    return [i for i in range(1, max_data_volumes + 2) if i != CDROM_DEVICE_ID]


class VolumeAttachment:
    def __init__(self, *, events: EventManager, accounts: Accounts, pools: PoolCapacity, allocator: PoolAllocator,
                 hypervisors):
        self.events = events
        self.accounts = accounts
        self.pools = pools
        self.allocator = allocator
        self.hypervisors = hypervisors

    # ---------------------------------------------------------------- attach
    def attach_work(self, caller: Caller, volume: Volume, vm: VirtualMachine,
                    device_id: int | None = None) -> Callable[[], JobResult]:
        """Checks for attaching ``volume`` to ``vm``; returns the job's work (run it in the VM's queue)."""
        self.accounts.check_access(caller, volume.account_id, volume.domain_id, entity="Volume", uuid=volume.uuid)
        self.accounts.check_access(caller, vm.account_id, vm.domain_id, entity="VirtualMachine", uuid=vm.uuid)
        if volume.account_id != vm.account_id:
            raise PermissionDenied(f"Unable to attach volume {volume.uuid}: its owner is not the owner of VM "
                                   f"{vm.uuid}")
        self._check_attach(volume, vm, device_id)
        return lambda: self.do_attach(caller, volume.id, vm.id, device_id)

    def _check_attach(self, volume: Volume, vm: VirtualMachine, device_id: int | None) -> None:
        if volume.volume_type != "DATADISK":
            raise InvalidParameterValue(f"Volume {volume.uuid} is a {volume.volume_type} volume; only data volumes "
                                        "can be attached")
        if volume.vm_id is not None:
            raise InvalidState(f"Volume {volume.uuid} is already attached to a VM; detach it first")
        if volume.state not in fsm.VOLUME_ATTACHABLE:
            raise InvalidState(f"Volume {volume.uuid} is in state {volume.state}; only volumes in state "
                               f"{', '.join(fsm.VOLUME_ATTACHABLE)} can be attached")
        if vm.state not in ("Running", "Stopped") or vm.removed is not None:
            raise InvalidState(f"VM {vm.uuid} is in state {vm.state}; volumes attach to Running or Stopped VMs")
        if vm.zone_id != volume.zone_id:
            raise InvalidParameterValue(f"Volume {volume.uuid} and VM {vm.uuid} are in different zones")
        if device_id is not None and device_id not in device_ids():
            raise InvalidParameterValue(f"deviceId must be one of {', '.join(map(str, device_ids()))} (0 is the "
                                        f"root disk's, {CDROM_DEVICE_ID} the CD-ROM's)")
        taken = self._taken_ids(vm)
        if device_id is not None and device_id in taken:
            raise InvalidParameterValue(f"deviceId {device_id} is used already by another volume of VM {vm.uuid}")
        if len(taken - {0}) >= MAX_DATA_VOLUMES:
            raise InvalidState(f"Maximum number of data volumes ({MAX_DATA_VOLUMES}) attached to VM {vm.uuid} "
                               "reached")
        if volume.pool_id is None and _cluster_of(vm) is None:
            raise InvalidState(f"VM {vm.uuid} has not been started yet: no cluster holds its disks. Start it once "
                               "before attaching data volumes to it")

    @staticmethod
    def _taken_ids(vm: VirtualMachine) -> set[int]:
        return {v.device_id for v in Volume.select(Volume.device_id).where(
            Volume.vm == vm.id, Volume.removed.is_null(), Volume.device_id.is_null(False))}

    def do_attach(self, caller: Caller | None, volume_id: int, vm_id: int, device_id: int | None) -> JobResult:
        volume, vm = Volume.get_by_id(volume_id), VirtualMachine.get_by_id(vm_id)
        self._check_attach(volume, vm, device_id)  # again: the VM's queue may have run other work since
        if device_id is None:
            taken = self._taken_ids(vm)
            device_id = next(i for i in device_ids() if i not in taken)
        host = vm.host if vm.host_id is not None else None
        if volume.pool_id is None:
            self._materialise(volume, vm)
        try:
            with write_tx():
                fsm.transition(volume, fsm.VOLUME, "AttachRequested", vm=vm.id, device_id=device_id)
        except pw.IntegrityError:
            raise InvalidParameterValue(f"deviceId {device_id} is used already by another volume of VM "
                                        f"{vm.uuid}") from None
        if vm.state == "Running" and host is not None:
            try:
                self.hypervisors.driver(host.hypervisor).attach_volume(self.hypervisors.ref(host), vm.instance_name,
                                                                       disk_of(volume))
            except Exception:
                with write_tx():
                    fsm.transition(volume, fsm.VOLUME, "OperationFailed", vm=None, device_id=None)
                raise
        with write_tx():
            fsm.transition(volume, fsm.VOLUME, "OperationSucceeded", attached=utcnow())
            self.events.record(caller, "VOLUME.ATTACH", f"Attached volume {volume.name} to VM {vm.name} as device "
                                                         f"{device_id}", resource=volume)
        return JobResult("Volume", volume.uuid)

    def _materialise(self, volume: Volume, vm: VirtualMachine) -> None:
        """Give an Allocated volume a pool reachable from the VM's cluster and create its disk there."""
        cluster_id = _cluster_of(vm)
        offering = volume.disk_offering
        with write_tx():
            pool = self.allocator.allocate(zone_id=vm.zone_id, cluster_id=cluster_id, nbytes=volume.size,
                                           tags=offering.tags if offering is not None else None)
            if pool is None:
                raise InsufficientCapacity(f"No storage pool reachable from VM {vm.uuid} has room for volume "
                                           f"{volume.uuid} ({volume.size} bytes)")
            fsm.transition(volume, fsm.VOLUME, "CreateRequested", pool=pool.id)
        try:
            host = _reaching_host(vm, cluster_id, pool)
            if host is None:
                raise InsufficientCapacity(f"No host is up to reach storage pool {pool.name}")
            volume.pool = pool
            path = self.hypervisors.driver(host.hypervisor).create_volume(self.hypervisors.ref(host),
                                                                          disk_of(volume))
        except Exception:
            with write_tx():
                self.pools.release(pool.id, volume.size)
                fsm.transition(volume, fsm.VOLUME, "OperationFailed", pool=None)
            raise
        with write_tx():
            fsm.transition(volume, fsm.VOLUME, "OperationSucceeded", path=path)

    # ---------------------------------------------------------------- detach
    def detach_work(self, caller: Caller, volume: Volume) -> tuple[VirtualMachine, Callable[[], JobResult]]:
        """Checks for detaching ``volume`` from its VM; returns that VM (whose queue runs the work) and the work."""
        self.accounts.check_access(caller, volume.account_id, volume.domain_id, entity="Volume", uuid=volume.uuid)
        vm = self._check_detach(volume)
        return vm, lambda: self.do_detach(caller, volume.id)

    def attached_at(self, caller: Caller, vm: VirtualMachine, device_id: int) -> Volume:
        """The volume attached to ``vm`` at ``device_id`` (detachVolume by VM and device)."""
        self.accounts.check_access(caller, vm.account_id, vm.domain_id, entity="VirtualMachine", uuid=vm.uuid)
        volume = Volume.get_or_none(Volume.vm == vm.id, Volume.device_id == device_id, Volume.removed.is_null())
        if volume is None:
            raise InvalidParameterValue(f"Unable to find volume with device id {device_id} on VM {vm.uuid}")
        return volume

    @staticmethod
    def _check_detach(volume: Volume) -> VirtualMachine:
        if volume.vm_id is None:
            raise InvalidState(f"Volume {volume.uuid} is not attached to any VM")
        if volume.volume_type != "DATADISK":
            raise InvalidParameterValue("Please specify a data volume; a ROOT volume cannot be detached")
        vm = volume.vm
        if vm.state not in ("Running", "Stopped"):
            raise InvalidState(f"VM {vm.uuid} is in state {vm.state}; volumes detach from Running or Stopped VMs")
        if volume.state != "Ready":
            raise InvalidState(f"Volume {volume.uuid} is in state {volume.state} and cannot be detached now")
        return vm

    def do_detach(self, caller: Caller | None, volume_id: int) -> JobResult:
        volume = Volume.get_by_id(volume_id)
        vm = self._check_detach(volume)
        with write_tx():
            fsm.transition(volume, fsm.VOLUME, "DetachRequested")
        if vm.state == "Running" and vm.host_id is not None:
            try:
                self.hypervisors.driver(vm.host.hypervisor).detach_volume(self.hypervisors.ref(vm.host),
                                                                          vm.instance_name, disk_of(volume))
            except Exception:
                with write_tx():
                    fsm.transition(volume, fsm.VOLUME, "OperationFailed")
                raise
        with write_tx():
            fsm.transition(volume, fsm.VOLUME, "OperationSucceeded", vm=None, device_id=None, attached=None)
            self.events.record(caller, "VOLUME.DETACH", f"Detached volume {volume.name} from VM {vm.name}",
                               resource=volume)
        return JobResult("Volume", volume.uuid)


def detach_from_destroyed(caller: Caller | None, vm: VirtualMachine, events: EventManager) -> list[Volume]:
    """Let a VM being destroyed go of its data volumes: they stay, Ready and counted, detached (CloudStack's
    way; the VM is stopped by now, so only the rows change). Call inside the destroy's transaction."""
    volumes = list(Volume.select().where(Volume.vm == vm.id, Volume.volume_type == "DATADISK",
                                         Volume.removed.is_null()))
    for volume in volumes:
        Volume.update(vm=None, device_id=None, attached=None, update_count=Volume.update_count + 1).where(
            Volume.id == volume.id).execute()
        events.record(caller, "VOLUME.DETACH", f"Detached volume {volume.name} from destroyed VM {vm.name}",
                      resource=volume)
    return volumes


def _cluster_of(vm: VirtualMachine) -> int | None:
    """The cluster holding the VM's disks: its host's, its last host's, or its root disk's pool's."""
    for host_id in (vm.host_id, vm.last_host_id):
        if host_id is not None:
            return Host.get_by_id(host_id).cluster_id
    root = Volume.get_or_none(Volume.vm == vm.id, Volume.volume_type == "ROOT", Volume.removed.is_null())
    if root is not None and root.pool_id is not None:
        return root.pool.cluster_id
    return None


def _reaching_host(vm: VirtualMachine, cluster_id: int, pool) -> Host | None:
    """The host the disk is created through: the VM's own (or last) when it reaches the pool, else one of its
    cluster's that is up."""
    for host_id in (vm.host_id, vm.last_host_id):
        if host_id is not None:
            host = Host.get_by_id(host_id)
            if host.removed is None and host.status == "Up":
                return host
    return host_for_pool(pool)
