"""The simulator as the executable driver contract: power states, persistence, fault injection."""
from __future__ import annotations

import threading
import types

import pytest

from backends.db import database
from backends.drivers.base import POWER_OFF, POWER_ON, DiskSpec, DriverError, HostRef, VmSpec
from backends.drivers import simulator
from backends.drivers.simulator import SimulatorDriver
from backends.drivers.simulator_store import SimMock

URL = "http://sim/z1/c1/h{n}?cpucore=8&cpuspeed=2000&memory=17179869184"


def host(n=1, cluster="c1") -> HostRef:
    url = URL.format(n=n)
    return HostRef(url=url, guid="", zone="z1", pod="p1", cluster=cluster)


def vm(name="i-2-1-VM", disks=()):
    return VmSpec(name=name, cpus=1, cpu_speed=1000, memory_mib=512, disks=list(disks))


@pytest.fixture
def sim(db):
    return SimulatorDriver()


def test_connect_reports_capacity_and_a_stable_guid(sim):
    info = sim.connect_host(host())
    assert (info.cpu_cores, info.cpu_speed, info.memory_bytes) == (8, 2000, 16 << 30)
    assert info.name == "z1-c1-h1" and sim.connect_host(host()).guid == info.guid
    with pytest.raises(DriverError):
        sim.connect_host(HostRef(url="qemu+ssh://kvm1/system"))


def test_lifecycle_power_states_and_ping(sim):
    ref = host()
    sim.connect_host(ref)
    disk = DiskSpec(path="vol-1", pool_url="nfs://nas/p", size=1 << 30, device_id=0)
    assert sim.create_volume(ref, disk) == "vol-1" and sim.create_volume(ref, disk) == "vol-1"
    sim.start_vm(ref, vm(disks=[disk]))
    assert sim.ping(ref).vms == {"i-2-1-VM": POWER_ON}
    sim.reboot_vm(ref, "i-2-1-VM")
    sim.stop_vm(ref, "i-2-1-VM")
    assert sim.vm_power_state(ref, "i-2-1-VM") == POWER_OFF
    with pytest.raises(DriverError):
        sim.reboot_vm(ref, "i-2-1-VM")
    sim.stop_vm(ref, "unknown")  # stopping what is not there succeeds
    sim.destroy_vm(ref, "i-2-1-VM")
    sim.destroy_vm(ref, "i-2-1-VM")
    assert sim.vm_power_state(ref, "i-2-1-VM") is None and sim.ping(ref).vms == {}
    with pytest.raises(DriverError, match="does not exist"):
        sim.start_vm(ref, vm(disks=[DiskSpec(path="missing", pool_url="", size=1, device_id=0)]))


def test_migrate_moves_a_running_vm(sim):
    a, b = host(1), host(2)
    sim.connect_host(a)
    sim.connect_host(b)
    sim.start_vm(a, vm())
    sim.migrate_vm(a, b, vm())
    assert sim.vm_power_state(b, "i-2-1-VM") == POWER_ON and sim.vm_power_state(a, "i-2-1-VM") is None
    with pytest.raises(DriverError):
        sim.migrate_vm(a, b, vm())


def test_fault_injection_counts_and_scope(sim):
    ref, other = host(1, cluster="c1"), host(2, cluster="c2")
    sim.connect_host(ref)
    sim.connect_host(other)
    sim.configure("StartCommand", "result:fail;message:no power", cluster="c1", count=2)
    for _ in range(2):
        with pytest.raises(DriverError, match="no power"):
            sim.start_vm(ref, vm())
    sim.start_vm(ref, vm())  # the mock is used up
    sim.configure("StartCommand", "result:fail", cluster="c1")
    sim.start_vm(other, vm("i-2-2-VM"))  # another cluster is unaffected
    with pytest.raises(DriverError):
        sim.start_vm(ref, vm("i-2-3-VM"))
    sim.configure("StartCommand", "clear", cluster="c1")
    sim.start_vm(ref, vm("i-2-3-VM"))


def test_latency_mock_holds_the_command_once_and_ping_failure_takes_a_host_down(sim, monkeypatch):
    ref = host()
    sim.connect_host(ref)
    sim.start_vm(ref, vm())
    # The simulator's clock is held, not timed: the test sees the stop inside its wait, then releases it.
    waits, waiting, release = [], threading.Event(), threading.Event()

    def held_sleep(seconds):
        waits.append(seconds)
        waiting.set()
        release.wait(10)  # only a guard against hanging the suite

    monkeypatch.setattr(simulator, "time", types.SimpleNamespace(sleep=held_sleep))
    sim.configure("StopCommand", "wait:10", count=1)
    stopping = threading.Thread(target=sim.stop_vm, args=(ref, "i-2-1-VM"))
    stopping.start()
    assert waiting.wait(10)
    assert sim.vm_power_state(ref, "i-2-1-VM") == POWER_ON  # still on while the stop waits
    release.set()
    stopping.join(10)
    assert sim.vm_power_state(ref, "i-2-1-VM") == POWER_OFF and waits == [0.01]
    assert SimMock.get(SimMock.command == "StopCommand").remaining == 0
    sim.start_vm(ref, vm())
    sim.stop_vm(ref, "i-2-1-VM")  # the mock is used up: no second wait
    assert waits == [0.01] and sim.vm_power_state(ref, "i-2-1-VM") == POWER_OFF
    sim.configure("PingCommand", "result:fail", host=sim.connect_host(ref).guid)
    with pytest.raises(DriverError):
        sim.ping(HostRef(url=ref.url, guid=sim.connect_host(ref).guid))


def test_bad_configuration_is_refused(sim):
    for name, value in (("FlyCommand", "wait:1"), ("StartCommand", "wait:soon"), ("StartCommand", "color:red"),
                        ("StartCommand", "result:maybe"), ("StartCommand", "fail")):
        with pytest.raises(ValueError):
            sim.configure(name, value)


def test_template_download_checks_scheme_and_format(sim):
    info = sim.download_template("nfs://ss/export", "z1", "t-1", "http://img/x.qcow2?size=1000", "qcow2")
    assert info.size == 1000 and info.install_path.endswith("t-1.qcow2")
    with pytest.raises(DriverError, match="scheme"):
        sim.download_template("nfs://ss/export", "z1", "t-1", "file:///etc/passwd", "QCOW2")
    with pytest.raises(DriverError, match="format"):
        sim.download_template("nfs://ss/export", "z1", "t-1", "http://img/x", "EXE")


def test_state_survives_a_new_driver_instance(sim):
    ref = host()
    sim.connect_host(ref)
    sim.start_vm(ref, vm())
    assert SimulatorDriver().vm_power_state(ref, "i-2-1-VM") == POWER_ON


def test_concurrent_starts_of_distinct_vms(sim):
    ref = host()
    sim.connect_host(ref)
    errors = []

    def start(i):
        with database.connection_context():
            try:
                sim.start_vm(ref, vm(f"i-2-{i}-VM"))
            except Exception as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

    threads = [threading.Thread(target=start, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(sim.ping(ref).vms) == 10
