"""Guest IPAM: addresses are unique, reused after release, and running out is a clear error."""
from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from backends.core.config import ConfigManager
from backends.core.events import EventManager
from backends.db import database, write_tx
from backends.errors import InsufficientAddressCapacity, InvalidParameterValue
from backends.identity.access import AccessControl
from backends.identity.accounts import AccountManager
from backends.identity.limits import ResourceLimitManager
from backends.models import Account, Nic, OsCategory, OsType, Region, ServiceOffering, Template, VirtualMachine, Zone
from backends.network.networks import NetworkManager


@pytest.fixture
def lab(db):
    config = ConfigManager()
    config.seed()
    cloud = SimpleNamespace(config=config, events=EventManager())
    access = AccessControl()
    cloud.limits = ResourceLimitManager(config, access)
    cloud.accounts = AccountManager(config, cloud.events, cloud.limits, access)
    cloud.networks = NetworkManager()
    root = cloud.accounts.ensure_builtins()
    region = Region.create(name="r1", region_number=1)
    zone = Zone.create(name="z1", region=region.id, dns1="8.8.8.8")
    account = Account.create(name="a", account_type=0, role=cloud.accounts.builtin_role(0).id, domain=root.id,
                             owner_number="123456789012")
    os_type = OsType.create(name="Linux", category=OsCategory.create(name="Linux").id)
    template = Template.create(name="t", format="QCOW2", hypervisor="Simulator", account=account.id,
                               domain=root.id, os_type=os_type.id)
    offering = ServiceOffering.create(name="o", cpu_number=1, cpu_speed=1000, memory=512)

    def new_vm(i):
        with write_tx():
            return VirtualMachine.create(name=f"vm{i}", display_name=f"vm{i}", instance_name=f"i-{i}",
                                         account=account.id, domain=root.id, zone=zone.id, template=template.id,
                                         service_offering=offering.id, cpu_number=1, cpu_speed=1000, memory=512,
                                         state="Stopped", hypervisor="Simulator")

    return SimpleNamespace(cloud=cloud, root=root, zone=zone, new_vm=new_vm)


def _network(lab, cidr="192.168.10.0/29"):
    return lab.cloud.networks.create_guest_network(lab.zone, name="guest", cidr=cidr, domain=lab.root,
                                                   start_ip=None if cidr != "192.168.10.0/29" else "192.168.10.2")


def test_sequential_allocation_gap_reuse_and_exhaustion(lab):
    nets = lab.cloud.networks
    network = _network(lab)  # .2 - .6 usable: five addresses
    vms = [lab.new_vm(i) for i in range(6)]
    with write_tx():
        nics = [nets.create_nic(vm, network) for vm in vms[:5]]
    assert [n.ip_address for n in nics] == [f"192.168.10.{i}" for i in range(2, 7)]
    assert len({n.mac_address for n in nics}) == 5
    with pytest.raises(InsufficientAddressCapacity):
        with write_tx():
            nets.create_nic(vms[5], network)
    with write_tx():
        nets.release_nics(vms[1])  # frees .3
        assert nets.create_nic(vms[5], network).ip_address == "192.168.10.3"
    assert nets.used_addresses(network) == 5 and nets.address_count(network) == 5


def test_requested_address_must_be_in_range_and_free(lab):
    nets = lab.cloud.networks
    network = _network(lab)
    a, b, c = (lab.new_vm(i) for i in range(3))
    with write_tx():
        assert nets.create_nic(a, network, requested_ip="192.168.10.5").ip_address == "192.168.10.5"
    with pytest.raises(InvalidParameterValue, match="already in use"):
        with write_tx():
            nets.create_nic(b, network, requested_ip="192.168.10.5")
    with pytest.raises(InvalidParameterValue, match="not in the range"):
        with write_tx():
            nets.create_nic(c, network, requested_ip="10.0.0.1")


def test_bad_ranges_are_refused(lab):
    nets = lab.cloud.networks
    with pytest.raises(InvalidParameterValue):
        nets.create_guest_network(lab.zone, name="x", cidr="10.0.0.0/24", domain=lab.root, start_ip="10.0.1.5")
    with pytest.raises(InvalidParameterValue):
        nets.create_guest_network(lab.zone, name="x", cidr="10.0.0.0/24", domain=lab.root, gateway="10.0.0.20")


def test_concurrent_allocations_get_distinct_addresses(lab):
    nets = lab.cloud.networks
    network = _network(lab, cidr="10.9.0.0/24")
    # Enough at once that some lose several races in a row (under MySQL's repeatable read they must
    # not keep retrying the address their snapshot shows free).
    vms = [lab.new_vm(i) for i in range(40)]
    addresses, errors, lock = [], [], threading.Lock()

    def allocate(vm):
        with database.connection_context():
            try:
                with write_tx():
                    nic = nets.create_nic(vm, network)
                with lock:
                    addresses.append(nic.ip_address)
            except Exception as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

    threads = [threading.Thread(target=allocate, args=(vm,)) for vm in vms]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(addresses)) == 40
    assert Nic.select().where(Nic.network == network.id).count() == 40
