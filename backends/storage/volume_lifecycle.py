"""Data volumes' own life: create (Allocated, on no pool yet), resize, delete (backend.md section 4.2).

Creating a volume only records it and counts it against its owner's volume and primary storage limits; it
gets a pool and a disk when first attached (volume_attach.py). The ``*_work`` methods check now and return
the work a job runs later.
"""
from __future__ import annotations

from typing import Callable

from backends.context import Caller
from backends.core import fsm, resources
from backends.core.config import ConfigManager
from backends.core.events import EventManager
from backends.core.jobs import JobResult
from backends.core.kinds import KINDS
from backends.core.tags import TagManager
from backends.db import write_tx
from backends.drivers.specs import DiskSpec
from backends.errors import (DriverError, InsufficientCapacity, InvalidParameterValue, InvalidState,
                             PermissionDenied)
from backends.models import Account, DiskOffering, Volume, Zone, utcnow
from backends.storage.pool_capacity import PoolCapacity
from backends.storage.templates import Accounts, Limits
from backends.storage.volume_hosts import host_for_pool

GiB = 1 << 30


def gib(nbytes: int) -> int:
    """What a size counts against the primary storage limit: whole GiB, rounded up."""
    return -(-nbytes // GiB)


class VolumeLifecycle:
    def __init__(self, *, config: ConfigManager, events: EventManager, accounts: Accounts, limits: Limits,
                 pools: PoolCapacity, hypervisors, tags: TagManager):
        """``hypervisors``: infra's Hypervisors (drivers by name, host references)."""
        self.config = config
        self.events = events
        self.accounts = accounts
        self.limits = limits
        self.pools = pools
        self.hypervisors = hypervisors
        self.tags = tags

    # ---------------------------------------------------------------- create
    def create(self, caller: Caller, *, owner: Account, zone: Zone | None, disk_offering: DiskOffering | None,
               size_gb: int | None = None, name: str | None = None) -> Volume:
        """A new data volume, Allocated (no pool, no disk yet), counted against ``owner``'s limits."""
        self.accounts.check_access(caller, owner.id, owner.domain_id, entity="Account", uuid=owner.uuid)
        if zone is None:
            raise InvalidParameterValue("Please specify the zone (zoneid) of the new volume")
        if zone.removed is not None:
            raise InvalidParameterValue(f"Unable to find zone by id {zone.uuid}")
        if zone.allocation_state != "Enabled" and not caller.is_root_admin:
            raise PermissionDenied(f"Cannot perform this operation, Zone {zone.name} is currently disabled")
        size = self.size_of(disk_offering, size_gb, zone)
        with write_tx():
            self.limits.reserve(owner, {resources.VOLUME: 1, resources.PRIMARY_STORAGE: gib(size)})
            volume = Volume.create(
                name="", account=owner.id, domain=owner.domain_id, zone=zone.id, volume_type="DATADISK",
                state="Allocated", size=size, disk_offering=disk_offering.id,
                provisioning_type=disk_offering.provisioning_type)
            volume.name = name or volume.uuid  # CloudStack names an unnamed volume by its id
            Volume.update(name=volume.name).where(Volume.id == volume.id).execute()
            self.events.record(caller, "VOLUME.CREATE", f"Created volume {volume.name}", resource=volume)
        return volume

    def size_of(self, offering: DiskOffering | None, size_gb: int | None, zone: Zone) -> int:
        """Bytes of a new volume of ``offering``: its own size, or ``size_gb`` for a customised offering."""
        if offering is None:
            raise InvalidParameterValue("Either disk Offering Id or snapshot Id must be passed whilst creating "
                                        "volume")
        if offering.removed is not None or offering.state != "Active":
            raise InvalidParameterValue(f"Unable to find disk offering by id {offering.uuid}")
        if offering.zone_id is not None and offering.zone_id != zone.id:
            raise InvalidParameterValue(f"Disk offering {offering.uuid} is not available in zone {zone.name}")
        if not offering.is_customized:
            if size_gb is not None:
                raise InvalidParameterValue("This disk offering does not allow custom size")
            return offering.disk_size * GiB
        if size_gb is None:
            raise InvalidParameterValue("This disk offering requires a custom size specified")
        low, high = self.config.get_int("custom.diskoffering.size.min"), self.config.get_int(
            "custom.diskoffering.size.max")
        if not low <= size_gb <= high:
            raise InvalidParameterValue(f"Invalid disk size: {size_gb} GB; it must be between {low} and {high} GB")
        return size_gb * GiB

    # ---------------------------------------------------------------- delete
    def delete(self, caller: Caller, volume: Volume) -> None:
        """Destroy and expunge a detached data volume now: its disk deleted, its pool bytes and limits given
        back. A failing driver leaves it in Destroy (still counted as gone) for a later attempt to finish."""
        self.check_owner(caller, volume)
        if volume.vm_id is not None:
            raise InvalidState("Please specify a volume that is not attached to any VM.")
        if volume.volume_type != "DATADISK":
            raise InvalidState(f"Volume {volume.uuid} is a {volume.volume_type} volume; it goes with its VM")
        if volume.state not in fsm.VOLUME_DELETABLE and volume.state != "Destroy":
            raise InvalidState(f"Volume {volume.uuid} is in state {volume.state} and cannot be deleted")
        with write_tx():
            if volume.state != "Destroy":
                fsm.transition(volume, fsm.VOLUME, "DestroyRequested")
                self.limits.release(volume.account, {resources.VOLUME: 1, resources.PRIMARY_STORAGE: gib(volume.size)})
                self.events.record(caller, "VOLUME.DELETE", f"Deleted volume {volume.name}", resource=volume)
            fsm.transition(volume, fsm.VOLUME, "ExpungingRequested")
        try:
            if volume.path and volume.pool_id is not None:
                host = host_for_pool(volume.pool)
                if host is not None:
                    self.hypervisors.driver(host.hypervisor).delete_volume(self.hypervisors.ref(host),
                                                                           disk_of(volume))
        except DriverError:
            with write_tx():
                fsm.transition(volume, fsm.VOLUME, "OperationFailed")
            raise
        with write_tx():
            if volume.pool_id is not None:
                self.pools.release(volume.pool_id, volume.size)
            fsm.transition(volume, fsm.VOLUME, "OperationSucceeded", removed=utcnow())
            self.tags.forget(KINDS["Volume"].tag_type, volume.uuid)

    # ---------------------------------------------------------------- resize
    def resize_work(self, caller: Caller, volume: Volume, *, size_gb: int | None = None,
                    disk_offering: DiskOffering | None = None, shrink_ok: bool = False) -> Callable[[], JobResult]:
        """Checks for a resize to ``size_gb`` (a customised offering's) or to ``disk_offering``'s size; returns
        the job's work. Shrinking needs ``shrink_ok``."""
        self.check_owner(caller, volume)
        if volume.volume_type != "DATADISK":
            raise InvalidParameterValue("Only data volumes can be resized here; a root disk is resized with its VM")
        if volume.state not in ("Allocated", "Ready"):
            raise InvalidState(f"Volume {volume.uuid} is in state {volume.state}; it must be Allocated or Ready "
                               "to be resized")
        offering = disk_offering or volume.disk_offering
        if disk_offering is None and size_gb is None:
            raise InvalidParameterValue("Either a new disk offering or a size must be given")
        if disk_offering is not None and not disk_offering.is_customized:
            new_size = self.size_of(disk_offering, None, volume.zone)
            if size_gb is not None and size_gb * GiB != new_size:
                raise InvalidParameterValue("This disk offering does not allow custom size")
        elif offering is None or not offering.is_customized:
            raise InvalidParameterValue("The volume's disk offering does not allow custom size; give a new disk "
                                        "offering")
        else:
            new_size = self.size_of(offering, size_gb, volume.zone)
        if new_size < volume.size and not shrink_ok:
            raise InvalidParameterValue(f"Going from existing size of {volume.size} to size of {new_size} would "
                                        "shrink the volume. Need to sign off by supplying the shrinkok parameter "
                                        "with value of true.")
        return lambda: self.do_resize(caller, volume.id, new_size, offering, shrink_ok)

    def do_resize(self, caller: Caller | None, volume_id: int, new_size: int, offering: DiskOffering,
                  shrink_ok: bool) -> JobResult:
        volume = Volume.get_by_id(volume_id)
        delta = new_size - volume.size
        if volume.state == "Allocated":  # no disk yet: the row is all there is
            with write_tx():
                self.limits.reserve(volume.account, {resources.PRIMARY_STORAGE: gib(new_size) - gib(volume.size)})
                fsm.transition(volume, fsm.VOLUME, "OperationSucceeded", size=new_size, disk_offering=offering.id)
                self._resized_event(caller, volume)
            return JobResult("Volume", volume.uuid)
        with write_tx():
            self.limits.reserve(volume.account, {resources.PRIMARY_STORAGE: gib(new_size) - gib(volume.size)})
            fsm.transition(volume, fsm.VOLUME, "ResizeRequested")
        claimed = delta > 0 and volume.pool_id is not None
        try:
            if claimed and not self.pools.claim(volume.pool_id, delta):
                claimed = False
                raise InsufficientCapacity(f"Storage pool {volume.pool.name} has no room to grow volume "
                                           f"{volume.uuid} by {delta} bytes")
            host = host_for_pool(volume.pool) if volume.pool_id is not None else None
            if host is None:
                raise InsufficientCapacity(f"No host is up to reach the pool of volume {volume.uuid}")
            self.hypervisors.driver(host.hypervisor).resize_volume(self.hypervisors.ref(host), disk_of(volume),
                                                                   new_size, shrink=shrink_ok)
        except Exception:
            with write_tx():
                if claimed:
                    self.pools.release(volume.pool_id, delta)
                self.limits.release(volume.account, {resources.PRIMARY_STORAGE: gib(new_size) - gib(volume.size)})
                fsm.transition(volume, fsm.VOLUME, "OperationFailed")
            raise
        with write_tx():
            if delta < 0 and volume.pool_id is not None:
                self.pools.release(volume.pool_id, -delta)
            fsm.transition(volume, fsm.VOLUME, "OperationSucceeded", size=new_size, disk_offering=offering.id)
            self._resized_event(caller, volume)
        return JobResult("Volume", volume.uuid)

    def _resized_event(self, caller, volume: Volume) -> None:
        self.events.record(caller, "VOLUME.RESIZE", f"Resized volume {volume.name} to {volume.size} bytes",
                           resource=volume)

    def check_owner(self, caller: Caller, volume: Volume) -> None:
        self.accounts.check_access(caller, volume.account_id, volume.domain_id, entity="Volume", uuid=volume.uuid)


def disk_of(volume: Volume) -> DiskSpec:
    """What a driver is told of a volume's disk."""
    return DiskSpec(path=volume.path or volume.uuid, pool_url=volume.pool.url if volume.pool_id else "",
                    size=volume.size, device_id=volume.device_id or 0, volume_type=volume.volume_type,
                    format=volume.format)
