"""The hypervisor driver contract.

A driver is what the managers use to reach hypervisors and storage. It knows
nothing of accounts, offerings, jobs or the database of the cloud: it is handed
plain specs (which host, which VM name, how many CPUs, which disks) and either
does the work or raises :class:`DriverError`. Every method's docstring states
what a real hypervisor must do; the simulator is the executable version of it.

Identifiers: a host is addressed by :class:`HostRef` (its URL plus the
zone/pod/cluster it sits in, so fault injection can be scoped); a VM by its
instance name (``i-<account>-<vm>-VM``); a volume by its path in its pool.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field

from backends.errors import DriverError

__all__ = [
    "DriverError", "HostRef", "HostInfo", "DiskSpec", "NicSpec", "VmSpec", "PowerReport",
    "TemplateInfo", "HypervisorDriver", "POWER_ON", "POWER_OFF",
]

POWER_ON = "PowerOn"
POWER_OFF = "PowerOff"


@dataclass(frozen=True)
class HostRef:
    """Where a host is: its connection URL and its place in the zone tree."""

    url: str
    guid: str = ""
    zone: str = ""  # zone uuid
    pod: str = ""  # pod uuid
    cluster: str = ""  # cluster uuid


@dataclass
class HostInfo:
    """What discovery learns from a host."""

    guid: str
    name: str
    cpu_sockets: int
    cpu_cores: int
    cpu_speed: int  # MHz per core
    memory_bytes: int
    ip_address: str
    hypervisor_version: str = ""
    capabilities: str = "hvm"


@dataclass
class DiskSpec:
    path: str  # volume path inside its pool
    pool_url: str
    size: int  # bytes
    device_id: int
    volume_type: str = "ROOT"  # ROOT | DATADISK
    template_path: str | None = None  # backing image for a root disk
    format: str = "QCOW2"


@dataclass
class NicSpec:
    mac_address: str
    ip_address: str
    netmask: str
    gateway: str
    device_id: int = 0
    broadcast_uri: str | None = None  # e.g. vlan://100 or a bridge name


@dataclass
class VmSpec:
    """Everything a hypervisor needs to run one VM."""

    name: str  # instance name, unique per cloud
    cpus: int
    cpu_speed: int  # MHz per vCPU
    memory_mib: int
    disks: list[DiskSpec] = field(default_factory=list)
    nics: list[NicSpec] = field(default_factory=list)
    hostname: str = ""
    user_data: str | None = None  # base64, as the API received it
    ssh_public_key: str | None = None
    boot_iso: str | None = None
    # Headroom for hot-plug (scale_vm): a hypervisor reserves up to these; None means none beyond the above.
    max_cpus: int | None = None
    max_memory_mib: int | None = None


@dataclass
class PowerReport:
    """A host's answer to a ping: it is alive, and these VMs have this power state."""

    vms: dict[str, str]  # instance name -> POWER_ON | POWER_OFF


@dataclass
class TemplateInfo:
    install_path: str
    size: int  # virtual size, bytes
    physical_size: int


class HypervisorDriver(abc.ABC):
    """One kind of hypervisor (Simulator, KVM, ...). Thread-safe: the managers
    call it from many job workers at once."""

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

        Disks exist already (see create_volume). If a stale definition with
        the same name exists it is replaced. Raise DriverError if the host
        lacks CPU/memory or the start fails; the VM must then not be running.
        """

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

    # --------------------------------------------------------------- storage
    @abc.abstractmethod
    def create_volume(self, host: HostRef, disk: DiskSpec) -> str:
        """Create the disk in its pool (thin, backed by ``template_path`` when
        given) and return its path. Idempotent for an existing path."""

    @abc.abstractmethod
    def delete_volume(self, host: HostRef, disk: DiskSpec) -> None:
        """Delete the disk from its pool. Succeeds if already gone."""

    @abc.abstractmethod
    def attach_volume(self, host: HostRef, name: str, disk: DiskSpec) -> None:
        """Hot-plug the disk into running VM ``name`` at ``disk.device_id``."""

    @abc.abstractmethod
    def detach_volume(self, host: HostRef, name: str, disk: DiskSpec) -> None:
        """Hot-unplug the disk from running VM ``name``."""

    @abc.abstractmethod
    def download_template(self, image_store_url: str, zone: str, template_uuid: str, url: str,
                          format: str) -> TemplateInfo:
        """Fetch the image at ``url`` into the zone's image store (secondary
        storage) and report where it landed and its sizes. Raise DriverError
        for an unreachable URL or an image of the wrong format."""

    def console_output(self, host: HostRef, name: str) -> str:
        """The VM's serial console log so far (may be empty)."""
        return ""
