"""The storage contract: what the managers ask of image stores and primary storage pools.

Templates are downloaded into a zone's image store (secondary storage) and copied into a primary pool on
first use; volumes are created (thin, backed by that copy for a root disk), copied, resized and deleted in
their pool; snapshots are taken of them. The hypervisor contract (hypervisor.py) only plugs existing disks
into VMs.

Every method's docstring states what real storage must do; the simulator (simulator.py) is the executable
version of that text and libvirt.py the KVM one. The methods below the ``seams`` line are declared for the
storage work to come (volumes as API objects, snapshots): no driver implements them yet, and calling one
raises a DriverError that says so, which the API reports as a failed operation.
"""
from __future__ import annotations

import abc

from backends.drivers.specs import DiskSpec, DriverError, HostRef, TemplateInfo

__all__ = ["StorageDriver"]


class StorageDriver(abc.ABC):
    """The storage a kind of hypervisor reaches (its hosts' pools, the zone's image store)."""

    # ------------------------------------------------------------- templates
    @abc.abstractmethod
    def download_template(self, image_store_url: str, zone: str, template_uuid: str, url: str,
                          format: str) -> TemplateInfo:
        """Fetch the image at ``url`` into the zone's image store (secondary
        storage) and report where it landed and its sizes. Raise DriverError
        for an unreachable URL or an image of the wrong format."""

    # --------------------------------------------------------------- volumes
    @abc.abstractmethod
    def create_volume(self, host: HostRef, disk: DiskSpec) -> str:
        """Create the disk in its pool (thin, backed by ``template_path`` when
        given; a blank disk of ``disk.size`` bytes for a data volume) and return
        its path. Idempotent for an existing path. Raise DriverError when the
        pool cannot be reached from ``host``.

        A root disk's template is copied from the image store into the pool
        the first time a disk of that pool needs it (see copy_template); later
        disks reuse the pool's copy."""

    def create_volumes(self, host: HostRef, disks: list[DiskSpec]) -> list[str]:
        """:meth:`create_volume` for each disk (a launch's root disks); their paths, in order."""
        return [self.create_volume(host, disk) for disk in disks]

    @abc.abstractmethod
    def delete_volume(self, host: HostRef, disk: DiskSpec) -> None:
        """Delete the disk from its pool, with its content. Succeeds if already gone.
        The disk is attached to no running VM (the managers detach first).

        Attaching a disk to a VM and detaching it are the hypervisor contract's
        (hypervisor.py: attach_volume, detach_volume): storage makes disks, the
        hypervisor plugs them in."""

    # ----------------------------------------------------------------- seams
    def copy_template(self, host: HostRef, template_path: str, pool_url: str, format: str) -> str:
        """Copy the template at ``template_path`` in the image store into the
        pool at ``pool_url`` as seen from ``host``, once, and return its path
        in the pool; a copy already there is returned as is. Drivers that copy
        on first use inside create_volume need not offer it separately."""
        raise self._unsupported("copy a template into a pool")

    def copy_volume(self, host: HostRef, source: DiskSpec, destination: DiskSpec) -> str:
        """Copy the disk ``source`` to ``destination`` (another path, possibly
        another pool) as a full, independent disk and return its path. The
        source must not change while it is copied: it is detached or its VM
        stopped. Raise DriverError when either pool cannot be reached."""
        raise self._unsupported("copy volumes")

    def resize_volume(self, host: HostRef, disk: DiskSpec, size: int, shrink: bool = False) -> None:
        """Change the disk's virtual size to ``size`` bytes. Growing keeps its content; shrinking is done only
        with ``shrink`` (the caller signed off on losing what lies past the new end), else DriverError. A disk
        attached to a running VM is resized live where the hypervisor can (KVM: virDomainBlockResize, else
        ``qemu-img resize`` on a detached disk); the guest sees the new size, its file systems are its own.
        Raise DriverError when the disk does not exist or its pool cannot hold the new size."""
        raise self._unsupported("resize volumes")

    def create_snapshot(self, host: HostRef, disk: DiskSpec, snapshot: str) -> str:
        """Take a crash-consistent point-in-time snapshot named ``snapshot`` of
        the disk and return where it is kept (its path in the pool, or in the
        image store once backed up). The disk stays usable throughout."""
        raise self._unsupported("take snapshots")

    def delete_snapshot(self, host: HostRef, disk: DiskSpec, snapshot: str) -> None:
        """Delete the snapshot; the disk and its other snapshots are unchanged.
        Succeeds if already gone."""
        raise self._unsupported("delete snapshots")

    def revert_snapshot(self, host: HostRef, disk: DiskSpec, snapshot: str) -> None:
        """Bring the disk back to the content it had at ``snapshot``; its VM is
        stopped. Later snapshots of the disk are kept."""
        raise self._unsupported("revert to snapshots")

    def _unsupported(self, what: str) -> DriverError:
        kind = getattr(self, "hypervisor_type", "") or type(self).__name__
        return DriverError(f"The {kind} driver cannot {what} yet")
