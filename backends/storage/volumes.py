"""Volumes: the disks of VMs. A VM's ROOT volume is created and removed with it (compute's deploy and
expunge); data volumes are this area's: created (volume_lifecycle.py), attached and detached
(volume_attach.py), on pools chosen by pool_allocator.py within pool_capacity.py's rules. VolumeManager is
the facade the front doors call; snapshots join here."""
from __future__ import annotations

from backends.context import Caller
from backends.core import prefetch
from backends.db import page_of
from backends.core.jobs import JobResult
from backends.core.kinds import KINDS
from backends.core.tags import TagManager
from backends.errors import InvalidParameterValue
from backends.models import StoragePool, VirtualMachine, Volume
from backends.storage.pool_allocator import PoolAllocator
from backends.storage.pool_capacity import PoolCapacity
from backends.storage.volume_attach import VolumeAttachment
from backends.storage.volume_lifecycle import VolumeLifecycle
from backends.storage.volume_recovery import VolumeRecovery

VOLUME_TAGS = KINDS["Volume"].tag_type


class VolumeManager:
    def __init__(self, *, config, events, accounts, limits, hypervisors, jobs, tags: TagManager):
        """``accounts``/``limits``: identity's managers (see templates.Accounts, templates.Limits);
        ``hypervisors``: infra's Hypervisors; ``jobs``: core's JobManager."""
        self.tags = tags
        self.pools = PoolCapacity(config)
        self.allocator = PoolAllocator(config, self.pools)
        self.lifecycle = VolumeLifecycle(config=config, events=events, accounts=accounts, limits=limits,
                                         pools=self.pools, hypervisors=hypervisors, tags=tags)
        self.attachment = VolumeAttachment(events=events, accounts=accounts, pools=self.pools,
                                           allocator=self.allocator, hypervisors=hypervisors)
        self.recovery = VolumeRecovery(jobs=jobs, limits=limits, pools=self.pools)
        self.recover_after_restart = self.recovery.recover_after_restart
        self.create = self.lifecycle.create
        self.delete = self.lifecycle.delete
        self.resize_work = self.lifecycle.resize_work
        self.attach_work = self.attachment.attach_work
        self.detach_work = self.attachment.detach_work
        self.attached_at = self.attachment.attached_at

    def check_deletable_with(self, caller, vm, volumes: list[Volume]) -> None:
        """destroyVirtualMachine's ``volumeids``: data volumes attached to ``vm``, deleted after the destroy."""
        for volume in volumes:
            self.lifecycle.check_owner(caller, volume)
            if volume.vm_id != vm.id or volume.volume_type != "DATADISK":
                raise InvalidParameterValue(f"Volume {volume.uuid} is not a data volume attached to VM {vm.uuid}")

    def delete_owned_by(self, caller, account) -> int:
        """Delete every data volume of ``account`` (deleteAccount's cleanup, after its VMs were expunged, which
        let their data volumes go); returns how many."""
        volumes = list(Volume.select().where(Volume.account == account.id, Volume.volume_type == "DATADISK",
                                             Volume.removed.is_null(), Volume.vm.is_null()))
        self.delete_many(caller, volumes)
        return len(volumes)

    def delete_many(self, caller, volumes: list[Volume]) -> None:
        """Delete these volumes as they are now (each re-read: a VM's destroy has just let them go)."""
        for volume in volumes:
            self.delete(caller, Volume.get_by_id(volume.id))

    @staticmethod
    def created_work(volume: Volume):
        """createVolume's job: the volume is made already (Allocated, its disk comes on first attach); the job
        answers with it, as CloudStack's does."""
        return lambda: JobResult("Volume", volume.uuid)

    def list(self, caller: Caller, *, scope, id=None, ids=None, name=None, volume_type=None, vm=None,
             zone=None, pod=None, cluster=None, host=None, state=None, any_tag=None, keyword=None, page=None,
             pagesize=None):
        """Volumes the caller's ``scope`` shows (listVolumes), newest first, with what their view shows."""
        query = scope.apply(Volume.select().where(Volume.removed.is_null()), Volume)
        if id is not None:
            query = query.where(Volume.id == id.id)
        if ids:
            query = query.where(Volume.id.in_([v.id for v in ids]))
        if name:
            query = query.where(Volume.name == name)
        if volume_type:
            query = query.where(Volume.volume_type == volume_type.upper())
        if vm is not None:
            query = query.where(Volume.vm == vm.id)
        if zone is not None:
            query = query.where(Volume.zone == zone.id)
        if pod is not None:
            query = query.where(Volume.pool.in_(StoragePool.select(StoragePool.id).where(StoragePool.pod == pod.id)))
        if cluster is not None:
            query = query.where(Volume.pool.in_(StoragePool.select(StoragePool.id).where(
                StoragePool.cluster == cluster.id)))
        if host is not None:  # the disks of the VMs running there
            query = query.where(Volume.vm.in_(VirtualMachine.select(VirtualMachine.id).where(
                VirtualMachine.host == host.id)))
        if state:
            query = query.where(Volume.state == state)
        if keyword:
            query = query.where(Volume.name.contains(keyword))
        query = TagManager.where_tagged_any(query, VOLUME_TAGS, Volume.uuid, any_tag)
        total, rows = page_of(query.order_by(Volume.id.desc()), page, pagesize)
        tags = self.tags.tags_of(VOLUME_TAGS, [v.uuid for v in rows])
        for volume in rows:
            volume.__dict__["_tags"] = tags.get(volume.uuid, [])
        prefetch.attach(rows, "account", "domain", "zone", "vm.service_offering", "disk_offering", "template", "pool")
        return total, rows

