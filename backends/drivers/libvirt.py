"""KVM hosts through libvirt: the second implementation of the hypervisor and storage contracts.

A host is a libvirt connection URI: ``qemu+ssh://host/system`` or ``qemu+tcp://host/system`` in
production, ``qemu:///system`` on a single box, ``test:///path/node.xml`` (libvirt's own test driver)
in tests. As CloudStack's KVM agent does, guests run as *transient* domains built from the cloud's
records at every start (the cloud's database is the source of truth). This module is the hypervisor
half and the driver's registration; pools, volumes and templates are libvirt_storage.py's.

Needs libvirt-python (``pip install 'ec2bridge[libvirt]'``); :data:`AVAILABLE` tells whether it is
importable; the registry lists KVM either way, and the cloud builds this driver only when it is.
"""
from __future__ import annotations

import io
import logging
import os
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urlparse

from backends.drivers import config_drive
from backends.drivers import libvirt_xml as lx
from backends.drivers import registry
from backends.drivers.base import (POWER_OFF, POWER_ON, DiskSpec, Driver, DriverError, HostInfo, HostRef,
                                   PowerReport, VmSpec)
from backends.drivers.image_store import LocalImageStore
from backends.drivers.libvirt_binding import (AVAILABLE, MISSING, NO_DOMAIN, NO_STORAGE_VOL, NO_SUPPORT,
                                              OPERATION_INVALID, MiB, code, libvirt, message)
from backends.drivers.libvirt_storage import LibvirtStorage

log = logging.getLogger(__name__)


class LibvirtDriver(LibvirtStorage, Driver):
    hypervisor_type = "KVM"

    def __init__(self, *, image_store: LocalImageStore | None = None, stop_timeout: float = 120.0,
                 poll_interval: float = 0.5, default_bridge: str = "cloudbr0", mount_root: str = "/mnt"):
        """``image_store`` downloads templates to secondary storage (not libvirt's job: CloudStack's
        secondary storage VM does it); ``stop_timeout`` bounds a graceful shutdown before the power-off."""
        if libvirt is None:
            raise DriverError(MISSING)
        self.image_store = image_store
        self.stop_timeout, self.poll_interval = stop_timeout, poll_interval
        self.default_bridge, self.mount_root = default_bridge, mount_root
        self._connections: dict[str, object] = {}
        self._domain_types: dict[str, str] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------- connections
    def connection(self, uri: str):
        """The open libvirt connection to a host: one per URI, kept open (a ``test:///file.xml`` host's
        state lives in it) and opened again when it has died. Operators' tools and tests use it too."""
        with self._lock:
            conn = self._connections.get(uri)
        if conn is not None:
            try:
                if conn.isAlive():
                    return conn
            except libvirt.libvirtError:
                pass
            self._forget(uri)
        try:
            conn = libvirt.open(uri)
        except libvirt.libvirtError as exc:
            raise DriverError(f"Unable to connect to host at {uri}: {message(exc)}") from None
        with self._lock:
            self._connections[uri] = conn
        return conn

    def _forget(self, uri: str) -> None:
        with self._lock:
            conn = self._connections.pop(uri, None)
            self._domain_types.pop(uri, None)
        if conn is not None:
            try:
                conn.close()
            except libvirt.libvirtError:
                pass

    def _domain_type(self, uri: str, conn) -> str:
        """kvm where the host offers it, else qemu (TCG), else what the host's capabilities name first."""
        found = self._domain_types.get(uri)
        if found is None:
            caps = ET.fromstring(conn.getCapabilities())
            offered = [d.get("type") for d in caps.iter("domain")]
            found = next((t for t in ("kvm", "qemu") if t in offered), offered[0] if offered else "kvm")
            self._domain_types[uri] = found
        return found

    def _domain(self, conn, name: str):
        """The domain named ``name``, or None."""
        try:
            return conn.lookupByName(name)
        except libvirt.libvirtError as exc:
            if code(exc) == NO_DOMAIN:
                return None
            raise

    def _fail(self, host: HostRef, doing: str, exc) -> DriverError:
        if code(exc) not in (NO_SUPPORT, NO_DOMAIN, NO_STORAGE_VOL, OPERATION_INVALID):
            self._forget(host.url)  # the connection may be what broke: reconnect next time
        return DriverError(f"Unable to {doing} on host {host.url}: {message(exc)}")

    # ------------------------------------------------------------------ hosts
    def connect_host(self, host: HostRef) -> HostInfo:
        """Open the URI and read the node: CPU sockets/cores/MHz and memory (contract: connect_host)."""
        conn = self.connection(host.url)
        try:
            _, memory_mib, cpus, mhz, _, sockets, cores, threads = conn.getInfo()
            hostname = conn.getHostname()
            parsed = urlparse(host.url)
            if parsed.scheme == "test":  # every test host runs on this machine: name it by its node file
                hostname = f"{hostname}-{parsed.path.rsplit('/', 1)[-1].rsplit('.', 1)[0]}"
            version = conn.getLibVersion()
        except libvirt.libvirtError as exc:
            raise self._fail(host, "read the host's capacity", exc) from None
        # One stable id per URI: two test:/// files or two qemu+ssh hosts are two hosts.
        guid = str(uuid.uuid5(uuid.NAMESPACE_URL, host.url)) + "-LibvirtComputingResource"
        return HostInfo(guid=guid, name=hostname, cpu_sockets=max(1, sockets), cpu_cores=max(1, cpus),
                        cpu_speed=max(1, mhz), memory_bytes=memory_mib * MiB, ip_address=_address_of(host.url),
                        hypervisor_version=f"libvirt-{version // 1000000}.{version // 1000 % 1000}.{version % 1000}")

    def ping(self, host: HostRef) -> PowerReport:
        """Every domain on the host with its power state (contract: ping)."""
        conn = self.connection(host.url)
        try:
            return PowerReport(vms={d.name(): POWER_ON if d.isActive() else POWER_OFF
                                    for d in conn.listAllDomains(0)})
        except libvirt.libvirtError as exc:
            raise self._fail(host, "list the domains", exc) from None

    def disconnect_host(self, host: HostRef) -> None:
        self._forget(host.url)

    # -------------------------------------------------------------------- VMs
    def start_vm(self, host: HostRef, vm: VmSpec) -> None:
        """Build the domain from the VM's records and create it (transient), replacing a stale
        definition; a host without the free memory refuses it (contract: start_vm)."""
        conn = self.connection(host.url)
        try:
            paths = [self._volume(conn, disk).path() for disk in vm.disks]
        except libvirt.libvirtError as exc:
            raise DriverError(f"Cannot start {vm.name}: a disk is missing on host {host.url}: "
                              f"{message(exc)}") from None
        try:
            stale = self._domain(conn, vm.name)
            if stale is not None:
                if stale.isActive():
                    stale.destroy()
                if stale.isPersistent():
                    stale.undefine()
            free = self._free_memory(conn)
            if free < vm.memory_mib * MiB:
                raise DriverError(f"Cannot start {vm.name}: host {host.url} has {free // MiB} MiB free, "
                                  f"the VM needs {vm.memory_mib} MiB")
            drive = self._config_drive(conn, vm) if config_drive.needed(vm) and vm.disks else None
            conn.createXML(lx.domain_xml(vm, paths, domain_type=self._domain_type(host.url, conn),
                                         default_bridge=self.default_bridge, config_drive=drive), 0)
        except libvirt.libvirtError as exc:
            raise self._fail(host, f"start {vm.name}", exc) from None

    def _config_drive(self, conn, vm: VmSpec) -> str | None:
        """Write the VM's config drive into the pool of its root disk; its path, or None where the host
        takes no volume uploads (libvirt's test driver): the VM then starts without one."""
        pool = self._pool(conn, vm.disks[0].pool_url)
        name = config_drive_volume(vm.name)
        data = config_drive.build(vm, lx.domain_uuid(vm.name))
        self._delete_if_there(pool, name)  # a drive of an earlier start may carry old data
        volume = pool.createXML(lx.volume_xml(name, len(data), "raw"), 0)
        if not self._upload(conn, volume, io.BytesIO(data), len(data), f"the config drive of {vm.name}"):
            volume.delete(0)
            return None
        return volume.path()

    @staticmethod
    def _free_memory(conn) -> int:
        """Free memory in bytes as the host reports it; a host reporting none per NUMA cell (libvirt's
        test driver on a node file) is judged by its memory less that of its running domains."""
        free = conn.getFreeMemory()
        if free > 0:
            return free
        # info()[2]: the memory a domain has now (KiB), not the maximum it could be scaled to.
        used = sum(d.info()[2] for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE))
        return conn.getInfo()[1] * MiB - used * 1024

    def stop_vm(self, host: HostRef, name: str, force: bool = False) -> None:
        """ACPI shutdown, polled up to the stop timeout, then destroy; gone or off already is success
        (contract: stop_vm)."""
        conn = self.connection(host.url)
        try:
            domain = self._domain(conn, name)
            if domain is None:
                return
            if not force and self._active(domain):
                try:
                    domain.shutdown()
                except libvirt.libvirtError as exc:
                    if code(exc) == NO_DOMAIN:
                        return
                deadline = time.monotonic() + self.stop_timeout
                while self._active(domain) and time.monotonic() < deadline:
                    time.sleep(self.poll_interval)
            if self._active(domain):
                domain.destroy()
            self._undefine(domain)
        except libvirt.libvirtError as exc:
            raise self._fail(host, f"stop {name}", exc) from None

    def reboot_vm(self, host: HostRef, name: str) -> None:
        """Reboot a running domain in place (contract: reboot_vm)."""
        conn = self.connection(host.url)
        try:
            domain = self._domain(conn, name)
            if domain is None or not self._active(domain):
                raise DriverError(f"Cannot reboot {name}: it is not running on host {host.url}")
            domain.reboot(0)
        except libvirt.libvirtError as exc:
            raise self._fail(host, f"reboot {name}", exc) from None

    def destroy_vm(self, host: HostRef, name: str) -> None:
        """Power off and undefine; nothing left of the domain, an unknown one is success (contract:
        destroy_vm). Its volumes are deleted through delete_volume; its config drive goes here."""
        conn = self.connection(host.url)
        try:
            domain = self._domain(conn, name)
            if domain is not None:
                if self._active(domain):
                    domain.destroy()
                self._undefine(domain)
        except libvirt.libvirtError as exc:
            raise self._fail(host, f"destroy {name}", exc) from None
        try:
            for pool in conn.listAllStoragePools(libvirt.VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE):
                if pool.name().startswith("ec2bridge-"):
                    self._delete_if_there(pool, config_drive_volume(name))
        except libvirt.libvirtError as exc:
            raise self._fail(host, f"delete the config drive of {name}", exc) from None

    def migrate_vm(self, source: HostRef, destination: HostRef, vm: VmSpec) -> None:
        """Live-migrate with virDomainMigrate3 and the flags CloudStack uses (contract: migrate_vm)."""
        conn = self.connection(source.url)
        target = self.connection(destination.url)
        try:
            domain = self._domain(conn, vm.name)
            if domain is None or not self._active(domain):
                raise DriverError(f"Cannot migrate {vm.name}: it is not running on host {source.url}")
            params, flags = migration_request(vm.name, domain.XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE))
            domain.migrate3(target, params, flags)
        except libvirt.libvirtError as exc:
            raise self._fail(source, f"migrate {vm.name}", exc) from None

    def scale_vm(self, host: HostRef, name: str, cpus: int, cpu_speed: int, memory_mib: int) -> None:
        """Hot-plug vCPUs and memory into the running domain (contract: scale_vm)."""
        conn = self.connection(host.url)
        try:
            domain = self._domain(conn, name)
            if domain is None or not self._active(domain):
                raise DriverError(f"Cannot scale {name}: it is not running on host {host.url}")
            domain.setVcpusFlags(cpus, libvirt.VIR_DOMAIN_AFFECT_LIVE)
            domain.setMemoryFlags(memory_mib * 1024, libvirt.VIR_DOMAIN_AFFECT_LIVE)
        except libvirt.libvirtError as exc:
            raise self._fail(host, f"scale {name}", exc) from None

    def vm_power_state(self, host: HostRef, name: str) -> str | None:
        conn = self.connection(host.url)
        try:
            domain = self._domain(conn, name)
            if domain is None:
                return None
            return POWER_ON if self._active(domain) else POWER_OFF
        except libvirt.libvirtError as exc:
            raise self._fail(host, f"read the state of {name}", exc) from None

    @staticmethod
    def _active(domain) -> bool:
        """Whether the domain runs; a transient one that shut down has vanished, which is not running."""
        try:
            return bool(domain.isActive())
        except libvirt.libvirtError as exc:
            if code(exc) == NO_DOMAIN:
                return False
            raise

    @staticmethod
    def _undefine(domain) -> None:
        try:
            if domain.isPersistent():
                domain.undefine()
        except libvirt.libvirtError as exc:
            if code(exc) != NO_DOMAIN:
                raise

    # ------------------------------------------------------- disks of a VM
    def attach_volume(self, host: HostRef, name: str, disk: DiskSpec) -> None:
        """attachDeviceFlags with the disk's ``<disk>`` fragment, live (contract: attach_volume)."""
        self._device(host, name, disk, attach=True)

    def detach_volume(self, host: HostRef, name: str, disk: DiskSpec) -> None:
        """detachDeviceFlags with the same fragment (contract: detach_volume)."""
        self._device(host, name, disk, attach=False)

    def _device(self, host: HostRef, name: str, disk: DiskSpec, *, attach: bool) -> None:
        verb = "attach" if attach else "detach"
        conn = self.connection(host.url)
        try:
            domain = self._domain(conn, name)
            if domain is None:
                raise DriverError(f"Cannot {verb} a disk: VM {name} is not on host {host.url}")
            fragment = lx.disk_xml(disk, self._volume(conn, disk).path())
            call = domain.attachDeviceFlags if attach else domain.detachDeviceFlags
            call(fragment, libvirt.VIR_DOMAIN_AFFECT_LIVE)
        except libvirt.libvirtError as exc:
            raise self._fail(host, f"{verb} disk {disk.path} to {name}", exc) from None


def config_drive_volume(name: str) -> str:
    return f"{name}-config.iso"


def migration_request(name: str, domain_xml: str, *, bandwidth_mib: int = 0) -> tuple[dict, int]:
    """virDomainMigrate3's parameters and flags as CloudStack sends them for a live migration on shared
    storage: the domain's migratable XML under its own name, live, compressed, auto-converging."""
    params = {libvirt.VIR_MIGRATE_PARAM_DEST_NAME: name, libvirt.VIR_MIGRATE_PARAM_DEST_XML: domain_xml}
    if bandwidth_mib:
        params[libvirt.VIR_MIGRATE_PARAM_BANDWIDTH] = bandwidth_mib
    flags = libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_COMPRESSED | libvirt.VIR_MIGRATE_AUTO_CONVERGE
    return params, flags


def _address_of(uri: str) -> str:
    return urlparse(uri).hostname or "127.0.0.1"


BRIDGE = registry.DriverSetting("kvm_bridge", "cloudbr0", "the KVM hosts' bridge for untagged guest traffic",
                                metavar="BRIDGE")


def _build(context: registry.DriverContext) -> LibvirtDriver:
    # KVM boots real images: its templates are really downloaded into secondary storage here.
    return LibvirtDriver(image_store=LocalImageStore(os.path.join(context.data_dir, "secondary")),
                         default_bridge=context.setting(BRIDGE))


ZONE = registry.HostsZone(prefix="kvm", description="KVM hosts driven by libvirt",
                          host_help="libvirt URI of a KVM host (qemu+ssh://host/system, qemu:///system, "
                                    "test:///node.xml)")
registry.register(registry.HypervisorEntry(name=LibvirtDriver.hypervisor_type, factory=_build,
                                           available=lambda: AVAILABLE, install_hint=MISSING, settings=(BRIDGE,),
                                           zone=ZONE))
