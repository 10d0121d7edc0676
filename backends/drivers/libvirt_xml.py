"""The XML the libvirt driver sends: domains, disks, interfaces, storage pools and volumes.

Pure functions of the specs, kept apart from the connection handling so that the documents
libvirt's ``test:///`` driver cannot act on (hot-plug, migration) are still checked by tests.
The shapes follow what CloudStack's KVM agent (LibvirtComputingResource) emits.
"""
from __future__ import annotations

import hashlib
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urlparse

from backends.drivers.specs import DiskSpec, NicSpec, VmSpec

METADATA_NS = "https://ec2bridge.dev/xmlns/libvirt/vm/1.0"
DISK_BUSES = "vd"  # virtio disks: vda, vdb, ...
TEMPLATE_PREFIX = "tmpl-"


def _text(parent: ET.Element, tag: str, text, **attrs) -> ET.Element:
    node = ET.SubElement(parent, tag, {k: str(v) for k, v in attrs.items()})
    if text is not None:
        node.text = str(text)
    return node


def _render(root: ET.Element) -> str:
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


# ---------------------------------------------------------------------- storage

def pool_name(pool_url: str) -> str:
    """The libvirt pool that stands for a primary storage URL (the same name on every host)."""
    return "ec2bridge-" + hashlib.sha256(pool_url.encode()).hexdigest()[:16]


def pool_xml(pool_url: str, mount_root: str = "/mnt") -> str:
    """A transient pool for primary storage: ``nfs://server/export`` is a netfs pool mounted under
    ``mount_root`` (as CloudStack mounts NFS primary storage), ``file:///path`` or a bare path a
    directory pool."""
    name = pool_name(pool_url)
    parsed = urlparse(pool_url)
    if parsed.scheme == "nfs":
        root = ET.Element("pool", type="netfs")
        _text(root, "name", name)
        source = ET.SubElement(root, "source")
        ET.SubElement(source, "host", name=parsed.hostname or "")
        ET.SubElement(source, "dir", path=parsed.path or "/")
        ET.SubElement(source, "format", type="nfs")
        path = f"{mount_root.rstrip('/')}/{name}"
    elif parsed.scheme in ("file", ""):
        root = ET.Element("pool", type="dir")
        _text(root, "name", name)
        path = parsed.path or pool_url
    else:
        raise ValueError(f"unsupported primary storage URL for libvirt: {pool_url}")
    target = ET.SubElement(root, "target")
    _text(target, "path", path)
    return _render(root)


def template_volume_name(template_path: str) -> str:
    """The pool's copy of a template (copied there on first use, then the backing file of root disks)."""
    return TEMPLATE_PREFIX + hashlib.sha256(template_path.encode()).hexdigest()[:24]


def volume_xml(name: str, capacity: int, fmt: str = "qcow2", backing_path: str | None = None) -> str:
    root = ET.Element("volume")
    _text(root, "name", name)
    _text(root, "capacity", capacity, unit="bytes")
    target = ET.SubElement(root, "target")
    ET.SubElement(target, "format", type=fmt)
    if backing_path:
        backing = ET.SubElement(root, "backingStore")
        _text(backing, "path", backing_path)
        ET.SubElement(backing, "format", type="qcow2")
    return _render(root)


def disk_format(disk: DiskSpec) -> str:
    return "raw" if (disk.format or "").upper() == "RAW" else "qcow2"


# ---------------------------------------------------------------------- domains

def domain_uuid(name: str) -> str:
    """Stable per instance name, so a redefinition keeps the guest's SMBIOS identity."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"ec2bridge:vm:{name}"))


def disk_element(disk: DiskSpec, source_path: str) -> ET.Element:
    node = ET.Element("disk", type="file", device="disk")
    ET.SubElement(node, "driver", name="qemu", type=disk_format(disk), cache="none")
    ET.SubElement(node, "source", file=source_path)
    ET.SubElement(node, "target", dev=f"{DISK_BUSES}{chr(ord('a') + disk.device_id)}", bus="virtio")
    _text(node, "serial", disk.path.replace("-", "")[:20])
    return node


def disk_xml(disk: DiskSpec, source_path: str) -> str:
    """The ``<disk>`` fragment for attachDevice/detachDevice."""
    return _render(disk_element(disk, source_path))


def bridge_for(nic: NicSpec, default_bridge: str) -> tuple[str, str | None]:
    """The host bridge a NIC plugs into and its VLAN: untagged guest traffic uses the default bridge,
    ``vlan://N`` a bridge of its own per VLAN (CloudStack's BridgeVifDriver names it ``br<pif>-<N>``)."""
    uri = nic.broadcast_uri or ""
    if uri.startswith("vlan://") and uri[7:] not in ("", "untagged"):
        vlan = uri[7:]
        return f"br{default_bridge}-{vlan}", vlan
    if uri.startswith("bridge://"):
        return uri[9:], None
    return default_bridge, None


def interface_element(nic: NicSpec, default_bridge: str) -> ET.Element:
    node = ET.Element("interface", type="bridge")
    ET.SubElement(node, "mac", address=nic.mac_address)
    bridge, _ = bridge_for(nic, default_bridge)
    ET.SubElement(node, "source", bridge=bridge)
    ET.SubElement(node, "model", type="virtio")
    return node


def domain_xml(vm: VmSpec, disk_paths: list[str], *, domain_type: str = "kvm", default_bridge: str = "cloudbr0",
               config_drive: str | None = None) -> str:
    """The whole domain of a VM: vCPUs (with CPU shares from their speed), memory, its disks in pool order,
    NICs with their MACs on the guest bridge, a serial console, and the user data and SSH key in the
    domain's metadata (for the config drive built from them)."""
    root = ET.Element("domain", type=domain_type)
    _text(root, "name", vm.name)
    _text(root, "uuid", domain_uuid(vm.name))
    _text(root, "description", vm.hostname or vm.name)
    metadata = ET.SubElement(root, "metadata")
    ET.register_namespace("ec2bridge", METADATA_NS)
    meta = ET.SubElement(metadata, f"{{{METADATA_NS}}}instance")
    _text(meta, f"{{{METADATA_NS}}}hostname", vm.hostname or vm.name)
    if vm.user_data:
        _text(meta, f"{{{METADATA_NS}}}user-data", vm.user_data)
    if vm.ssh_public_key:
        _text(meta, f"{{{METADATA_NS}}}public-key", vm.ssh_public_key)
    _text(root, "memory", max(vm.memory_mib, vm.max_memory_mib or 0), unit="MiB")
    _text(root, "currentMemory", vm.memory_mib, unit="MiB")
    _text(root, "vcpu", max(vm.cpus, vm.max_cpus or 0), placement="static", current=vm.cpus)
    tune = ET.SubElement(root, "cputune")
    _text(tune, "shares", vm.cpus * vm.cpu_speed)
    os_node = ET.SubElement(root, "os")
    _text(os_node, "type", "hvm", arch="x86_64")
    ET.SubElement(os_node, "boot", dev="cdrom" if vm.boot_iso else "hd")
    features = ET.SubElement(root, "features")
    ET.SubElement(features, "acpi")
    ET.SubElement(features, "apic")
    ET.SubElement(root, "clock", offset="utc")
    _text(root, "on_poweroff", "destroy")
    _text(root, "on_reboot", "restart")
    _text(root, "on_crash", "destroy")
    devices = ET.SubElement(root, "devices")
    for disk, path in zip(vm.disks, disk_paths):
        devices.append(disk_element(disk, path))
    if config_drive:
        cdrom = ET.SubElement(devices, "disk", type="file", device="cdrom")
        ET.SubElement(cdrom, "driver", name="qemu", type="raw")
        ET.SubElement(cdrom, "source", file=config_drive)
        ET.SubElement(cdrom, "target", dev="hdd", bus="ide")
        ET.SubElement(cdrom, "readonly")
    for nic in sorted(vm.nics, key=lambda n: n.device_id):
        devices.append(interface_element(nic, default_bridge))
    serial = ET.SubElement(devices, "serial", type="pty")
    ET.SubElement(serial, "target", port="0")
    console = ET.SubElement(devices, "console", type="pty")
    ET.SubElement(console, "target", type="serial", port="0")
    ET.SubElement(devices, "graphics", type="vnc", autoport="yes", listen="127.0.0.1")
    return _render(root)
