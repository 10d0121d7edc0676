"""The libvirt driver against libvirt's own test driver: every host a ``test:///<node>.xml`` of its own.

What the test driver cannot do (hot-plug, live migration) is said so here: those calls must fail with a
clear DriverError, and the XML they would send is checked instead.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from backends.drivers import libvirt_xml as lx
from backends.drivers.base import POWER_ON, DiskSpec, DriverError, HostRef, NicSpec, VmSpec
from tests.libvirt_nodes import node_uri, require_libvirt

GiB = 1 << 30
POOL = "file:///var/lib/ec2bridge-test/primary1"


@pytest.fixture
def driver():
    module = require_libvirt()
    return module.LibvirtDriver(stop_timeout=0.2, poll_interval=0.05)


@pytest.fixture
def host(tmp_path):
    return HostRef(url=node_uri(str(tmp_path), "kvm1", cpus=8, mhz=2600, memory_gib=16))


def _vm(name="i-2-7-VM", memory_mib=1024, disks=None):
    return VmSpec(name=name, cpus=2, cpu_speed=2000, memory_mib=memory_mib, hostname="web-1",
                  disks=disks or [], user_data="I2Nsb3VkLWNvbmZpZw==", ssh_public_key="ssh-ed25519 AAAA test",
                  nics=[NicSpec(mac_address="02:00:12:34:56:78", ip_address="10.1.0.5", netmask="255.255.0.0",
                                gateway="10.1.0.1", broadcast_uri="vlan://untagged")])


def _root(path="root-7"):
    return DiskSpec(path=path, pool_url=POOL, size=8 * GiB, device_id=0,
                    template_path="template/tmpl/zone/ubuntu/ubuntu.qcow2")


def _domain(driver, host, name):
    return driver.connection(host.url).lookupByName(name)


def test_connect_reads_the_node_and_two_files_are_two_hosts(driver, host, tmp_path):
    info = driver.connect_host(host)
    assert (info.cpu_cores, info.cpu_speed, info.memory_bytes) == (8, 2600, 16 * GiB)
    assert info.guid.endswith("-LibvirtComputingResource") and info.hypervisor_version.startswith("libvirt-")
    other = HostRef(url=node_uri(str(tmp_path), "kvm2"))
    assert driver.connect_host(other).guid != info.guid
    with pytest.raises(DriverError, match="Unable to connect"):
        driver.connect_host(HostRef(url=f"test://{tmp_path}/missing.xml"))


def test_start_stop_reboot_destroy_a_domain_built_from_the_vm(driver, host):
    driver.connect_host(host)
    root = _root()
    assert driver.create_volume(host, root) == root.path
    assert driver.create_volume(host, root) == root.path  # idempotent
    vm = _vm(disks=[root])
    vm.max_cpus, vm.max_memory_mib = 4, 4096  # headroom for hot-plug
    driver.start_vm(host, vm)
    assert driver.vm_power_state(host, vm.name) == POWER_ON
    assert driver.ping(host).vms[vm.name] == POWER_ON

    xml = ET.fromstring(_domain(driver, host, vm.name).XMLDesc(0))
    assert xml.find("vcpu").get("current") == "2" and xml.findtext("vcpu") == "4"
    assert int(xml.findtext("currentMemory")) == 1024 * 1024 and int(xml.findtext("memory")) == 4096 * 1024  # KiB
    disk = xml.find("devices/disk[@device='disk']")
    assert disk.find("source").get("file").endswith("/root-7") and disk.find("target").get("dev") == "vda"
    assert xml.find("devices/interface/mac").get("address") == "02:00:12:34:56:78"
    assert xml.find("devices/interface/source").get("bridge") == "cloudbr0"

    driver.reboot_vm(host, vm.name)
    assert driver.vm_power_state(host, vm.name) == POWER_ON
    driver.scale_vm(host, vm.name, 3, 2000, 2048)
    scaled = ET.fromstring(_domain(driver, host, vm.name).XMLDesc(0))
    assert scaled.find("vcpu").get("current") == "3" and int(scaled.findtext("currentMemory")) == 2048 * 1024

    driver.stop_vm(host, vm.name)
    assert driver.vm_power_state(host, vm.name) is None  # a transient domain is gone once off
    assert vm.name not in driver.ping(host).vms
    driver.stop_vm(host, vm.name)  # stopping a stopped VM succeeds
    with pytest.raises(DriverError, match="not running"):
        driver.reboot_vm(host, vm.name)

    driver.start_vm(host, vm)
    driver.stop_vm(host, vm.name, force=True)
    assert driver.vm_power_state(host, vm.name) is None
    driver.start_vm(host, vm)
    driver.destroy_vm(host, vm.name)
    driver.destroy_vm(host, vm.name)  # already gone
    driver.delete_volume(host, root)
    driver.delete_volume(host, root)
    with pytest.raises(DriverError, match="disk is missing"):
        driver.start_vm(host, vm)


def test_root_disks_are_backed_by_the_pools_template_copy(driver, host):
    driver.connect_host(host)
    first, second = _root("root-a"), _root("root-b")
    driver.create_volume(host, first)
    driver.create_volume(host, second)
    pool = driver.connection(host.url).storagePoolLookupByName(lx.pool_name(POOL))
    names = set(pool.listVolumes())
    copy = lx.template_volume_name(first.template_path)
    assert {"root-a", "root-b", copy} <= names
    volume = ET.fromstring(pool.storageVolLookupByName("root-a").XMLDesc(0))
    assert volume.findtext("backingStore/path", "").endswith(copy)


def test_a_host_without_the_memory_refuses_the_vm(driver, host):
    driver.connect_host(host)
    with pytest.raises(DriverError, match="MiB free"):
        driver.start_vm(host, _vm(name="i-2-8-VM", memory_mib=64 * 1024))
    assert driver.vm_power_state(host, "i-2-8-VM") is None


def test_a_domain_defined_outside_the_cloud_is_replaced_at_start(driver, host):
    driver.connect_host(host)
    vm = _vm(name="i-2-9-VM")
    conn = driver.connection(host.url)
    conn.defineXML(lx.domain_xml(_vm(name="i-2-9-VM", memory_mib=512), [], domain_type="test"))
    driver.start_vm(host, vm)
    assert int(ET.fromstring(_domain(driver, host, vm.name).XMLDesc(0)).findtext("memory")) == 1024 * 1024
    assert not _domain(driver, host, vm.name).isPersistent()


def test_hot_plug_and_migration_are_unsupported_by_the_test_driver_and_their_xml_is_checked(driver, host, tmp_path):
    """libvirt's test driver answers VIR_ERR_NO_SUPPORT for attachDevice and migrate3: the driver
    reports that as a DriverError (the VM keeps running) and the documents it sends are checked here."""
    module = require_libvirt()
    driver.connect_host(host)
    root, data = _root("root-c"), DiskSpec(path="data-c", pool_url=POOL, size=GiB, device_id=1,
                                           volume_type="DATADISK")
    driver.create_volume(host, root)
    driver.create_volume(host, data)
    vm = _vm(name="i-2-10-VM", disks=[root])
    driver.start_vm(host, vm)
    with pytest.raises(DriverError, match="(?i)support"):
        driver.attach_volume(host, vm.name, data)
    fragment = ET.fromstring(lx.disk_xml(data, "/pool/data-c"))
    assert fragment.find("target").attrib == {"dev": "vdb", "bus": "virtio"}
    assert fragment.find("source").get("file") == "/pool/data-c"

    destination = HostRef(url=node_uri(str(tmp_path), "kvm3"))
    driver.connect_host(destination)
    with pytest.raises(DriverError, match="(?i)support"):
        driver.migrate_vm(host, destination, vm)
    assert driver.vm_power_state(host, vm.name) == POWER_ON
    params, flags = module.migration_request(vm.name, "<domain/>")
    assert params[module.libvirt.VIR_MIGRATE_PARAM_DEST_NAME] == vm.name
    assert flags & module.libvirt.VIR_MIGRATE_LIVE


def test_domain_xml_carries_user_data_key_and_vlan_bridges():
    vm = _vm()
    vm.nics.append(NicSpec(mac_address="02:00:00:00:00:02", ip_address="10.9.0.2", netmask="255.255.255.0",
                           gateway="10.9.0.1", device_id=1, broadcast_uri="vlan://100"))
    xml = ET.fromstring(lx.domain_xml(vm, [], default_bridge="cloudbr0"))
    ns = {"e": lx.METADATA_NS}
    assert xml.find("metadata/e:instance/e:user-data", ns).text == vm.user_data
    assert xml.find("metadata/e:instance/e:public-key", ns).text == vm.ssh_public_key
    assert [i.find("source").get("bridge") for i in xml.findall("devices/interface")] == ["cloudbr0",
                                                                                         "brcloudbr0-100"]
    assert xml.find("devices/serial").get("type") == "pty"
    assert ET.fromstring(lx.pool_xml("nfs://storage.example/export/primary")).get("type") == "netfs"
    with pytest.raises(ValueError):
        lx.pool_xml("rbd://ceph/pool")


def test_the_config_drive_carries_hostname_key_and_user_data():
    import io

    pycdlib = pytest.importorskip("pycdlib")
    from backends.drivers import config_drive

    vm = _vm()
    image = config_drive.build(vm, lx.domain_uuid(vm.name))
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(image))
    try:
        assert iso.pvd.volume_identifier.decode().strip() == "config-2"

        def read(path):
            out = io.BytesIO()
            iso.get_file_from_iso_fp(out, rr_path=path)
            return out.getvalue()

        import json

        meta = json.loads(read("/openstack/latest/meta_data.json"))
        assert meta["hostname"] == "web-1" and meta["public_keys"] == {"key": vm.ssh_public_key}
        assert read("/openstack/latest/user_data") == b"#cloud-config"
    finally:
        iso.close()
    assert not config_drive.needed(VmSpec(name="x", cpus=1, cpu_speed=1000, memory_mib=64))


def test_a_host_that_takes_no_uploads_starts_the_vm_without_a_config_drive(driver, host):
    """libvirt's test driver has no virStorageVolUpload: the VM starts, without the drive, and no
    half-written volume is left in the pool."""
    driver.connect_host(host)
    root = _root("root-d")
    driver.create_volume(host, root)
    vm = _vm(name="i-2-11-VM", disks=[root])
    driver.start_vm(host, vm)
    xml = ET.fromstring(_domain(driver, host, vm.name).XMLDesc(0))
    assert xml.find("devices/disk[@device='cdrom']") is None
    pool = driver.connection(host.url).storagePoolLookupByName(lx.pool_name(POOL))
    assert f"{vm.name}-config.iso" not in pool.listVolumes()
    with_drive = ET.fromstring(lx.domain_xml(vm, ["/pool/root-d"], config_drive="/pool/i-2-11-VM-config.iso"))
    cdrom = with_drive.find("devices/disk[@device='cdrom']")
    assert cdrom.find("source").get("file") == "/pool/i-2-11-VM-config.iso" and cdrom.find("readonly") is not None


def test_a_blank_data_disk_is_made_and_deleted_and_resize_is_not_yet_there(driver, host):
    """Data volumes on KVM: a blank qcow2 of the volume's size (no backing file); resizing is a later
    session's (virDomainBlockResize / qemu-img resize) and says so."""
    driver.connect_host(host)
    data = DiskSpec(path="data-9", pool_url=POOL, size=3 * GiB, device_id=1, volume_type="DATADISK")
    assert driver.create_volume(host, data) == "data-9"
    volume = driver._volume(driver.connection(host.url), data)
    assert volume.info()[1] == 3 * GiB
    assert ET.fromstring(volume.XMLDesc(0)).find("backingStore/path") is None
    with pytest.raises(DriverError, match="cannot resize volumes yet"):
        driver.resize_volume(host, data, 4 * GiB)
    driver.delete_volume(host, data)
    driver.delete_volume(host, data)  # already gone: success
