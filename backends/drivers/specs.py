"""The values drivers are handed and give back: plain data, no database rows.

A driver knows nothing of accounts, offerings, jobs or the cloud's database: the managers turn their rows
into these specs (which host, which VM name, how many CPUs, which disks) and the driver either does the work
or raises :class:`DriverError`.

Identifiers: a host is addressed by :class:`HostRef` (its URL plus the zone/pod/cluster it sits in, so fault
injection can be scoped); a VM by its instance name (``i-<account>-<vm>-VM``); a volume by its path in its
pool.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from backends.errors import DriverError

__all__ = [
    "DriverError", "HostRef", "HostInfo", "DiskSpec", "NicSpec", "VmSpec", "PowerReport", "TemplateInfo",
    "POWER_ON", "POWER_OFF",
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
    """Where a downloaded template landed in the image store, and its sizes."""

    install_path: str
    size: int  # virtual size, bytes
    physical_size: int
