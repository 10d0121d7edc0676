"""The hypervisor contract: what the managers ask of the hosts that run VMs.

Reach a host and learn its capacity, tell whether it is alive and which VMs it runs, and start, stop,
reboot, destroy, migrate and scale VMs and hot-plug their disks. Disks themselves (creating, copying,
deleting them in a pool) are the storage contract's (storage.py); network services (the virtual router,
security groups) will be the network-element contract's (network_element.py).

Every method's docstring states what a real hypervisor must do; the simulator (simulator.py) is the
executable version of that text and libvirt.py the KVM one. A driver is thread-safe: the managers call it
from many job workers at once.
"""
from __future__ import annotations

import abc

from backends.drivers.specs import DiskSpec, HostInfo, HostRef, PowerReport, VmSpec

__all__ = ["HypervisorDriver"]


class HypervisorDriver(abc.ABC):
    """One kind of hypervisor (Simulator, KVM, ...)."""

    hypervisor_type: str = ""

    # ----------------------------------------------------------------- hosts
    @abc.abstractmethod
    def connect_host(self, host: HostRef) -> HostInfo:
        """Reach the host at ``host.url`` and report its identity and capacity.

        A real hypervisor connects (e.g. libvirt ``virConnectOpen``), reads CPU
        sockets/cores/MHz and memory, and returns a stable guid for the host.
        Raise DriverError when it cannot be reached or is not this hypervisor.
        """

    @abc.abstractmethod
    def ping(self, host: HostRef) -> PowerReport:
        """Check the host is alive and report the power state of the VMs on it.

        Only VMs the host knows are reported; a VM the cloud thinks is on the
        host but absent from the report is "missing". Raise DriverError when
        the host does not answer.
        """

    def disconnect_host(self, host: HostRef) -> None:
        """Forget the host (it is being removed). Must not fail if already gone."""

    # ------------------------------------------------------------------- VMs
    @abc.abstractmethod
    def start_vm(self, host: HostRef, vm: VmSpec) -> None:
        """Define and power on ``vm`` on ``host``.

        Disks exist already (see the storage contract's create_volume). If a
        stale definition with the same name exists it is replaced. Raise
        DriverError if the host lacks CPU/memory or the start fails; the VM
        must then not be running.
        """

    def start_vms(self, host: HostRef, vms: list[VmSpec]) -> None:
        """Start several VMs on ``host`` (a launch's): as :meth:`start_vm` for each. A driver may do it in
        one go; when it raises, any of them may have started (see ``Driver.batches_in_transaction``)."""
        for vm in vms:
            self.start_vm(host, vm)

    @abc.abstractmethod
    def stop_vm(self, host: HostRef, name: str, force: bool = False) -> None:
        """Power off VM ``name``: a graceful shutdown (ACPI) with a timeout,
        then a hard power-off; ``force`` skips the graceful step. Stopping a VM
        the host does not know, or one already off, succeeds."""

    @abc.abstractmethod
    def reboot_vm(self, host: HostRef, name: str) -> None:
        """Reboot a running VM in place. Raise DriverError if it is not running."""

    @abc.abstractmethod
    def destroy_vm(self, host: HostRef, name: str) -> None:
        """Power off (hard) and undefine VM ``name``; it leaves no trace on the
        host. Succeeds if the VM is already gone."""

    @abc.abstractmethod
    def migrate_vm(self, source: HostRef, destination: HostRef, vm: VmSpec) -> None:
        """Live-migrate running VM ``vm.name`` from source to destination (same
        cluster, shared storage). On success it runs only on destination; on
        failure it still runs on source and DriverError is raised."""

    @abc.abstractmethod
    def scale_vm(self, host: HostRef, name: str, cpus: int, cpu_speed: int, memory_mib: int) -> None:
        """Change the vCPUs/memory of a running VM in place (hot-plug)."""

    @abc.abstractmethod
    def vm_power_state(self, host: HostRef, name: str) -> str | None:
        """POWER_ON, POWER_OFF, or None when the host does not know the VM."""

    def console_output(self, host: HostRef, name: str) -> str:
        """The VM's serial console log so far (may be empty)."""
        return ""

    # ------------------------------------------------------- disks of a VM
    @abc.abstractmethod
    def attach_volume(self, host: HostRef, name: str, disk: DiskSpec) -> None:
        """Hot-plug the disk into running VM ``name`` at ``disk.device_id``.

        The disk exists in its pool already; this only changes what the VM
        sees. Raise DriverError when the VM is not on the host or the disk
        does not exist."""

    @abc.abstractmethod
    def detach_volume(self, host: HostRef, name: str, disk: DiskSpec) -> None:
        """Hot-unplug the disk from running VM ``name``; the disk stays in its
        pool. Raise DriverError when it is not attached to that VM."""
