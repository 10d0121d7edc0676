"""The simulator: the executable version of the hypervisor and storage contracts.

Modelled on Apache CloudStack's simulator. Hosts are URLs such as
``http://sim/zone-a/c1/h1?cpucore=64&cpuspeed=2000&memory=274877906944``;
VMs and disks are rows (see simulator_store) so they survive a management
server crash exactly as they would on real hypervisors. Operators inject
latency and faults per command name and scope with ``configure`` (the native
``configureSimulator`` command), e.g. ``StartCommand`` / ``wait:4000`` or
``PingCommand`` / ``result:fail`` on one host to take it down.
"""
from __future__ import annotations

import hashlib
import time
import uuid
from urllib.parse import parse_qs, urlparse

import peewee as pw

from backends.db import Compiled, insert_rows, write_tx
from backends.drivers import registry
from backends.drivers.base import (POWER_OFF, POWER_ON, DiskSpec, Driver, DriverError, HostInfo, HostRef,
                                   PowerReport, TemplateInfo, VmSpec)
from backends.drivers.simulator_store import SimHost, SimMock, SimVm, SimVolume, _now

GiB = 1 << 30
MiB = 1 << 20
COMMANDS = ("StartCommand", "StopCommand", "RebootCommand", "MigrateCommand", "CreateCommand", "DeleteCommand",
            "DestroyCommand", "ScaleVmCommand", "PingCommand", "DownloadCommand", "AttachCommand",
            "DettachCommand", "ResizeVolumeCommand")
TEMPLATE_FORMATS = ("QCOW2", "RAW", "VHD", "VHDX", "OVA", "VMDK", "ISO")


class SimulatorDriver(Driver):
    hypervisor_type = "Simulator"

    def batches_in_transaction(self) -> bool:
        """Its hosts, VMs and disks are rows of the cloud's database (simulator_store); an injected fault or
        delay must meet each operation alone, outside any transaction, as on a real hypervisor."""
        return _ANY_MOCK.first("StartCommand") is None and _ANY_MOCK.first("CreateCommand") is None

    # --------------------------------------------------------- fault injection
    def configure(self, name: str, value: str, *, zone: str | None = None, pod: str | None = None,
                  cluster: str | None = None, host: str | None = None, count: int | None = None) -> None:
        """Delay and/or fail the next ``count`` (default: all) ``name`` operations in a scope.

        ``value`` is CloudStack's ``key:value;key:value`` form: ``wait:<ms>``,
        ``result:fail|success``, ``message:<text>``; ``clear`` removes the
        mocks of this command and scope. Raises ValueError on bad input."""
        if name not in COMMANDS:
            raise ValueError(f"Unknown simulator command {name}; valid: {', '.join(COMMANDS)}")
        scope = dict(zone=zone, pod=pod, cluster=cluster, host=host)
        if value.strip().lower() == "clear":
            with write_tx():
                query = SimMock.delete().where(SimMock.command == name)
                for column, wanted in scope.items():
                    field = getattr(SimMock, column)
                    query = query.where(field.is_null() if wanted is None else field == wanted)
                query.execute()
            return
        wait_ms, fail, message = 0, False, ""
        for option in filter(None, (part.strip() for part in value.split(";"))):
            key, sep, arg = option.partition(":")
            if not sep:
                raise ValueError(f"Malformed simulator option {option!r}: use key:value")
            key = key.strip().lower()
            if key == "wait":
                try:
                    wait_ms = int(arg)
                except ValueError:
                    raise ValueError(f"wait needs milliseconds, got {arg!r}") from None
                if wait_ms < 0:
                    raise ValueError("wait must not be negative")
            elif key == "result":
                if arg.strip().lower() not in ("fail", "success"):
                    raise ValueError("result must be fail or success")
                fail = arg.strip().lower() == "fail"
            elif key == "message":
                message = arg
            else:
                raise ValueError(f"Unknown simulator option {key!r}: use wait, result or message")
        if count is not None and count < 1:
            raise ValueError("count must be at least 1")
        with write_tx():
            SimMock.create(command=name, wait_ms=wait_ms, fail=fail, message=message, remaining=count, **scope)

    def clear_mocks(self) -> None:
        with write_tx():
            SimMock.delete().execute()

    def _apply_mocks(self, command: str, host: HostRef | None) -> None:
        """Sleep and/or raise as the most specific matching mock says; consume one use of it."""
        if _ANY_MOCK.first(command) is None:  # the common case, on every driver call: one cheap query
            return
        mocks = list(SimMock.select().where(SimMock.command == command,
                                            SimMock.remaining.is_null() | (SimMock.remaining > 0)))
        if not mocks:
            return
        ref = host or HostRef(url="")
        matching = [m for m in mocks if (m.zone in (None, ref.zone) and m.pod in (None, ref.pod)
                                         and m.cluster in (None, ref.cluster) and m.host in (None, ref.guid))]
        if not matching:
            return
        mock = max(matching, key=lambda m: (sum(x is not None for x in (m.host, m.cluster, m.pod, m.zone)), m.id))
        if mock.remaining is not None:
            with write_tx():
                consumed = (SimMock.update(remaining=SimMock.remaining - 1)
                            .where(SimMock.id == mock.id, SimMock.remaining > 0).execute())
            if not consumed:
                return  # another operation used its last application
        if mock.wait_ms:
            time.sleep(mock.wait_ms / 1000.0)
        if mock.fail:
            where = f" on host {_host_name(ref)}" if ref.url else ""
            raise DriverError(mock.message or f"Simulated failure of {command}{where}")

    # ------------------------------------------------------------------ hosts
    def connect_host(self, host: HostRef) -> HostInfo:
        """Parse the simulator URL, register the host and report its capacity (contract: connect_host)."""
        parsed = urlparse(host.url)
        if parsed.scheme not in ("http", "https", "sim") or not (parsed.netloc or parsed.path).startswith("sim"):
            raise DriverError(f"Unable to connect to host at {host.url}: not a simulator URL")
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        try:
            cores = int(query.get("cpucore", 16))
            speed = int(query.get("cpuspeed", 2000))
            memory = int(query.get("memory", 64 * GiB))
            sockets = int(query.get("sockets", 1))
        except ValueError:
            raise DriverError(f"Unable to connect to host at {host.url}: bad capacity parameters") from None
        if min(cores, speed, memory, sockets) < 1:
            raise DriverError(f"Unable to connect to host at {host.url}: capacity must be positive")
        guid = str(uuid.uuid5(uuid.NAMESPACE_URL, host.url)) + "-Simulator"
        digest = hashlib.sha256(host.url.encode()).digest()
        info = HostInfo(guid=guid, name=_host_name(host), cpu_sockets=sockets, cpu_cores=cores, cpu_speed=speed,
                        memory_bytes=memory, ip_address=f"172.31.{digest[0]}.{1 + digest[1] % 254}",
                        hypervisor_version="4.20-sim")
        values = dict(url=host.url, name=info.name, cpu_sockets=sockets, cpu_cores=cores, cpu_speed=speed,
                      memory_bytes=memory, ip_address=info.ip_address, zone=host.zone, pod=host.pod,
                      cluster=host.cluster)
        with write_tx():
            try:
                with SimHost._meta.database.atomic():
                    SimHost.create(guid=guid, **values)
            except pw.IntegrityError:  # reconnecting a known host
                SimHost.update(**values).where(SimHost.guid == guid).execute()
        return info

    def ping(self, host: HostRef) -> PowerReport:
        """Answer for a known host with the power state of every VM on it (contract: ping)."""
        self._apply_mocks("PingCommand", host)
        guid = self._guid(host)
        if not SimHost.select().where(SimHost.guid == guid).exists():
            raise DriverError(f"Host {host.url} is not known to the simulator")
        return PowerReport(vms={vm.name: vm.power_state
                                for vm in SimVm.select(SimVm.name, SimVm.power_state).where(SimVm.host_guid == guid)})

    def disconnect_host(self, host: HostRef) -> None:
        with write_tx():
            SimHost.delete().where(SimHost.guid == self._guid(host)).execute()

    # -------------------------------------------------------------------- VMs
    def start_vm(self, host: HostRef, vm: VmSpec) -> None:
        """Define and power on the VM on this host, replacing a stale definition (contract: start_vm)."""
        self._apply_mocks("StartCommand", host)
        paths = [d.path for d in vm.disks]
        if paths:
            known = {v.path for v in SimVolume.select(SimVolume.path).where(SimVolume.path.in_(paths))}
            missing = [p for p in paths if p not in known]
            if missing:
                raise DriverError(f"Cannot start {vm.name}: disk {missing[0]} does not exist")
        values = dict(host_guid=self._guid(host), power_state=POWER_ON, cpus=vm.cpus, cpu_speed=vm.cpu_speed,
                      memory_mib=vm.memory_mib, updated=_now())
        with write_tx():
            # Insert first: an UPDATE of a missing row would take a gap lock on MariaDB, and two
            # such starts then deadlock on their inserts.
            try:
                with SimVm._meta.database.atomic():
                    SimVm.create(name=vm.name, **values)
            except pw.IntegrityError:  # a stale definition: replace it
                SimVm.update(**values).where(SimVm.name == vm.name).execute()

    def start_vms(self, host: HostRef, vms: list[VmSpec]) -> None:
        """:meth:`start_vm` for each, in one transaction and a few statements (contract: start_vms); one by
        one when a fault is injected for starts, so each start meets it as it would alone."""
        if _ANY_MOCK.first("StartCommand") is not None:
            return super().start_vms(host, vms)
        paths = [d.path for vm in vms for d in vm.disks]
        known = set()
        for start in range(0, len(paths), 500):
            known |= {v.path for v in SimVolume.select(SimVolume.path).where(SimVolume.path.in_(paths[start:start + 500]))}
        missing = next(((vm, p) for vm in vms for p in (d.path for d in vm.disks) if p not in known), None)
        if missing:
            raise DriverError(f"Cannot start {missing[0].name}: disk {missing[1]} does not exist")
        guid, now = self._guid(host), _now()
        rows = [dict(name=vm.name, host_guid=guid, power_state=POWER_ON, cpus=vm.cpus, cpu_speed=vm.cpu_speed,
                     memory_mib=vm.memory_mib, updated=now) for vm in vms]
        with write_tx():
            for start in range(0, len(rows), 100):
                chunk = rows[start:start + 100]
                SimVm.delete().where(SimVm.name.in_([r["name"] for r in chunk])).execute()  # stale definitions
                insert_rows(SimVm, chunk)

    def stop_vm(self, host: HostRef, name: str, force: bool = False) -> None:
        """Power the VM off; unknown or already-off VMs succeed (contract: stop_vm)."""
        self._apply_mocks("StopCommand", host)
        with write_tx():
            SimVm.update(power_state=POWER_OFF, updated=_now()).where(
                SimVm.name == name, SimVm.host_guid == self._guid(host)).execute()

    def reboot_vm(self, host: HostRef, name: str) -> None:
        """Reboot in place; only a VM running on this host can be rebooted (contract: reboot_vm)."""
        self._apply_mocks("RebootCommand", host)
        if not self.vm_power_state(host, name) == POWER_ON:
            raise DriverError(f"Cannot reboot {name}: it is not running on host {_host_name(host)}")

    def destroy_vm(self, host: HostRef, name: str) -> None:
        """Power off and undefine; an unknown VM succeeds (contract: destroy_vm)."""
        self._apply_mocks("DestroyCommand", host)
        with write_tx():
            SimVm.delete().where(SimVm.name == name).execute()
            SimVolume.update(attached_to=None).where(SimVolume.attached_to == name).execute()

    def migrate_vm(self, source: HostRef, destination: HostRef, vm: VmSpec) -> None:
        """Move a running VM to the destination; on failure it stays on source (contract: migrate_vm)."""
        self._apply_mocks("MigrateCommand", source)
        with write_tx():
            moved = (SimVm.update(host_guid=self._guid(destination), updated=_now())
                     .where(SimVm.name == vm.name, SimVm.host_guid == self._guid(source),
                            SimVm.power_state == POWER_ON).execute())
        if not moved:
            raise DriverError(f"Cannot migrate {vm.name}: it is not running on host {_host_name(source)}")

    def scale_vm(self, host: HostRef, name: str, cpus: int, cpu_speed: int, memory_mib: int) -> None:
        """Hot-plug CPUs/memory into a running VM (contract: scale_vm)."""
        self._apply_mocks("ScaleVmCommand", host)
        with write_tx():
            changed = (SimVm.update(cpus=cpus, cpu_speed=cpu_speed, memory_mib=memory_mib, updated=_now())
                       .where(SimVm.name == name, SimVm.host_guid == self._guid(host),
                              SimVm.power_state == POWER_ON).execute())
        if not changed:
            raise DriverError(f"Cannot scale {name}: it is not running on host {_host_name(host)}")

    def vm_power_state(self, host: HostRef, name: str) -> str | None:
        vm = SimVm.get_or_none(SimVm.name == name, SimVm.host_guid == self._guid(host))
        return vm.power_state if vm else None

    def console_output(self, host: HostRef, name: str) -> str:
        vm = SimVm.get_or_none(SimVm.name == name, SimVm.host_guid == self._guid(host))
        if vm is None or vm.power_state != POWER_ON:
            return ""
        return (f"[    0.000000] Linux version 6.1.0-sim ({name})\n"
                f"[    0.100000] smpboot: {vm.cpus} CPUs, {vm.memory_mib} MiB\n"
                f"cloud-init: {name} reached multi-user.target\n")

    # ------------------------------------------------------- disks of a VM
    def attach_volume(self, host: HostRef, name: str, disk: DiskSpec) -> None:
        self._apply_mocks("AttachCommand", host)
        if self.vm_power_state(host, name) is None:
            raise DriverError(f"Cannot attach a disk: VM {name} is not on host {_host_name(host)}")
        with write_tx():
            if not SimVolume.update(attached_to=name).where(SimVolume.path == disk.path).execute():
                raise DriverError(f"Cannot attach disk {disk.path}: it does not exist")

    def detach_volume(self, host: HostRef, name: str, disk: DiskSpec) -> None:
        self._apply_mocks("DettachCommand", host)
        with write_tx():
            if not SimVolume.update(attached_to=None).where(SimVolume.path == disk.path,
                                                            SimVolume.attached_to == name).execute():
                raise DriverError(f"Cannot detach disk {disk.path}: it is not attached to {name}")

    # ---------------------------------------------------------------- storage
    def create_volume(self, host: HostRef, disk: DiskSpec) -> str:
        """Create the (thin) disk; an existing path is returned as is (contract: create_volume)."""
        self._apply_mocks("CreateCommand", host)
        path = disk.path or str(uuid.uuid4())
        with write_tx():
            try:
                with SimVolume._meta.database.atomic():
                    SimVolume.create(path=path, pool_url=disk.pool_url, size=disk.size,
                                     template_path=disk.template_path, format=disk.format)
            except pw.IntegrityError:
                pass  # exists already: idempotent
        return path

    def create_volumes(self, host: HostRef, disks: list[DiskSpec]) -> list[str]:
        """:meth:`create_volume` for each, in one transaction (contract: create_volumes); one by one when a
        fault is injected for creates."""
        if _ANY_MOCK.first("CreateCommand") is not None:
            return super().create_volumes(host, disks)
        paths = [disk.path or str(uuid.uuid4()) for disk in disks]
        rows = [dict(path=path, pool_url=disk.pool_url, size=disk.size, template_path=disk.template_path,
                     format=disk.format) for path, disk in zip(paths, disks)]
        with write_tx():
            known = set()
            for start in range(0, len(paths), 500):
                known |= {v.path for v in SimVolume.select(SimVolume.path).where(
                    SimVolume.path.in_(paths[start:start + 500]))}
            insert_rows(SimVolume, [row for row in rows if row["path"] not in known])  # idempotent
        return paths

    def resize_volume(self, host: HostRef, disk: DiskSpec, size: int, shrink: bool = False) -> None:
        """Record the disk's new size (contract: resize_volume); shrinking only with ``shrink``."""
        self._apply_mocks("ResizeVolumeCommand", host)
        with write_tx():
            current = SimVolume.get_or_none(SimVolume.path == disk.path)
            if current is None:
                raise DriverError(f"Cannot resize disk {disk.path}: it does not exist")
            if size < current.size and not shrink:
                raise DriverError(f"Cannot shrink disk {disk.path} from {current.size} to {size} bytes")
            SimVolume.update(size=size).where(SimVolume.id == current.id).execute()

    def delete_volume(self, host: HostRef, disk: DiskSpec) -> None:
        self._apply_mocks("DeleteCommand", host)
        with write_tx():
            SimVolume.delete().where(SimVolume.path == disk.path).execute()

    def download_template(self, image_store_url: str, zone: str, template_uuid: str, url: str,
                          format: str) -> TemplateInfo:
        """Pretend to fetch the image; the URL's scheme and the format are checked as a real
        secondary storage would, and ``size=<bytes>`` in the URL sets its size."""
        self._apply_mocks("DownloadCommand", HostRef(url=image_store_url, zone=zone))
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https", "ftp"):
            raise DriverError(f"Unable to download from URL {url}: unsupported scheme")
        fmt = (format or "").upper()
        if fmt not in TEMPLATE_FORMATS:
            raise DriverError(f"Unable to download from URL {url}: unsupported format {format}")
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        try:
            size = int(query.get("size", 300 * MiB if fmt == "ISO" else 2 * GiB))
        except ValueError:
            raise DriverError(f"Unable to download from URL {url}: bad size") from None
        return TemplateInfo(install_path=f"template/tmpl/{zone}/{template_uuid}/{template_uuid}.{fmt.lower()}",
                            size=size, physical_size=size // 4)

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def _guid(host: HostRef) -> str:
        return host.guid or str(uuid.uuid5(uuid.NAMESPACE_URL, host.url)) + "-Simulator"


def _host_name(host: HostRef) -> str:
    parsed = urlparse(host.url)
    parts = [p for p in parsed.path.split("/") if p]
    return "-".join(parts) if parts else f"SimulatedHost-{hashlib.sha256(host.url.encode()).hexdigest()[:8]}"


_ANY_MOCK = Compiled(lambda command: SimMock.select(SimMock.id).where(
    SimMock.command == command, SimMock.remaining.is_null() | (SimMock.remaining > 0)).limit(1))


registry.register(registry.HypervisorEntry(name=SimulatorDriver.hypervisor_type,
                                           factory=lambda _context: SimulatorDriver()))
