"""The hypervisor driver registry: which hypervisors this server can drive, and what a missing one needs."""
from __future__ import annotations

import pytest

from backends.cloud import Cloud
from backends.drivers import libvirt as libvirt_driver
from backends.drivers import registry
from backends.drivers.hypervisor import HypervisorDriver
from backends.drivers.registry import DriverContext, HypervisorEntry
from backends.drivers.simulator import SimulatorDriver
from backends.drivers.storage import StorageDriver
from backends.errors import DriverError, InvalidParameterValue
from server.settings import Settings

FAKE_HINT = "The Fake driver needs fakevirt: pip install fakevirt"


@pytest.fixture
def fake_hypervisor():
    """A registered hypervisor that cannot run here."""
    entry = registry.register(HypervisorEntry(name="Fake", factory=lambda _context: pytest.fail("built"),
                                              available=lambda: False, install_hint=FAKE_HINT))
    yield entry
    registry.unregister("Fake")


@pytest.fixture
def started_cloud(tmp_path):
    cloud = Cloud(f"sqlite:///{tmp_path}/cloud.db", data_dir=str(tmp_path / "data"), job_workers=1,
                  background=False).start()
    yield cloud
    cloud.stop()


def test_the_simulator_and_kvm_are_listed_and_the_available_ones_built(tmp_path):
    names = [e.name for e in registry.entries()]
    assert {"Simulator", "KVM"} <= set(names)  # KVM is listed where libvirt is missing too: for its hint
    drivers = registry.build_drivers(DriverContext(data_dir=str(tmp_path)))
    assert isinstance(drivers["Simulator"], SimulatorDriver)
    assert ("KVM" in drivers) == libvirt_driver.AVAILABLE
    for driver in drivers.values():  # one object per hypervisor answers both contracts
        assert isinstance(driver, HypervisorDriver) and isinstance(driver, StorageDriver)


def test_kvm_is_built_where_libvirt_imports_with_its_settings(tmp_path):
    if not libvirt_driver.AVAILABLE:
        pytest.skip("libvirt-python is not installed")
    drivers = registry.build_drivers(DriverContext(data_dir=str(tmp_path)))
    assert isinstance(drivers["KVM"], libvirt_driver.LibvirtDriver)
    assert drivers["KVM"].default_bridge == "cloudbr0"
    assert drivers["KVM"].image_store.root == str(tmp_path / "secondary")
    built = registry.build_drivers(DriverContext(data_dir=str(tmp_path), settings={"kvm_bridge": "br42"}))
    assert built["KVM"].default_bridge == "br42"


def test_hypervisor_names_are_found_in_any_case():
    assert registry.find("kvm").name == "KVM"
    assert registry.find("SIMULATOR").name == "Simulator"
    assert registry.find("XenServer") is None and registry.find(None) is None


def test_an_unavailable_hypervisor_is_not_built_and_gives_its_install_hint(tmp_path, fake_hypervisor):
    assert "Fake" in [e.name for e in registry.entries()]
    assert "Fake" not in registry.build_drivers(DriverContext(data_dir=str(tmp_path)))
    assert registry.install_hints()["Fake"] == FAKE_HINT
    assert registry.install_hints()["KVM"] == libvirt_driver.MISSING


def test_the_cloud_names_what_to_install_for_a_hypervisor_it_cannot_drive(fake_hypervisor, started_cloud):
    assert "Fake" not in started_cloud.drivers
    with pytest.raises(InvalidParameterValue) as info:
        started_cloud.driver("Fake")
    assert info.value.message == FAKE_HINT
    assert started_cloud.driver("Simulator") is started_cloud.simulator
    with pytest.raises(InvalidParameterValue) as info:
        started_cloud.driver("Hyperv")
    assert info.value.message == "Hypervisor Hyperv is not available on this management server"


def test_without_libvirt_kvm_is_missing_and_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(libvirt_driver, "AVAILABLE", False)
    cloud = Cloud(f"sqlite:///{tmp_path}/cloud.db", data_dir=str(tmp_path / "data"), job_workers=1,
                  background=False).start()
    try:
        assert sorted(cloud.drivers) == ["Simulator"]
        with pytest.raises(InvalidParameterValue) as info:
            cloud.driver("KVM")
        assert "pip install 'ec2bridge[libvirt]'" in info.value.message
    finally:
        cloud.stop()


def test_driver_settings_come_from_the_environment_and_flags(monkeypatch):
    monkeypatch.setenv("EC2BRIDGE_KVM_BRIDGE", "br-env")
    assert Settings.from_env().driver_settings == {"kvm_bridge": "br-env"}
    assert Settings.from_env(driver_settings={"kvm_bridge": "br-flag"}).driver_settings == {"kvm_bridge": "br-flag"}
    monkeypatch.delenv("EC2BRIDGE_KVM_BRIDGE")
    assert Settings.from_env().driver_settings == {}


def test_storage_seams_no_driver_offers_yet_say_so():
    from backends.drivers.specs import DiskSpec, HostRef

    disk = DiskSpec(path="v1", pool_url="nfs://s/p", size=1 << 30, device_id=0)
    with pytest.raises(DriverError) as info:
        SimulatorDriver().create_snapshot(HostRef(url="http://sim/z/c/h"), disk, "s1")
    assert info.value.message == "The Simulator driver cannot take snapshots yet"


def test_the_zone_of_real_hosts_comes_from_the_environment_and_flags(monkeypatch, tmp_path):
    monkeypatch.setenv("EC2BRIDGE_KVM_HOSTS", "qemu+ssh://a/system, qemu+ssh://b/system,")
    monkeypatch.setenv("EC2BRIDGE_KVM_PRIMARY", "nfs://storage/primary")
    settings = Settings.from_env(data_dir=str(tmp_path))
    assert settings.zone_hosts == {"KVM": ("qemu+ssh://a/system", "qemu+ssh://b/system")}
    assert settings.zone_primary_url("KVM") == "nfs://storage/primary"
    flagged = Settings.from_env(data_dir=str(tmp_path), zone_hosts={"KVM": ("qemu:///system",)})
    assert flagged.zone_hosts == {"KVM": ("qemu:///system",)}
    monkeypatch.delenv("EC2BRIDGE_KVM_HOSTS")
    monkeypatch.delenv("EC2BRIDGE_KVM_PRIMARY")
    settings = Settings.from_env(data_dir=str(tmp_path))
    assert settings.zone_hosts == {}
    assert settings.zone_primary_url("KVM") == f"file://{tmp_path}/kvm-primary"
