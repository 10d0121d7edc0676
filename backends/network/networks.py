"""Guest networking for Basic zones: one shared flat network per zone, and its IPAM.

An address is taken by inserting a NIC row; the UNIQUE (network, ip_int) key
is the arbiter, so two concurrent deploys can never share an address even on
MariaDB where the candidate SELECTs run in parallel.
"""
from __future__ import annotations

import functools
import ipaddress
import operator

import peewee as pw

from backends.context import Caller
from backends.core import prefetch
from backends.db import database, page_of, write_tx
from backends.errors import InsufficientAddressCapacity, InvalidParameterValue
from backends.identity.access import ancestor_ids
from backends.models import Account, Domain, Network, Nic, Zone
from backends.uuids import token_bytes

ATTEMPTS = 64  # lost races in a row before giving up; each costs a few indexed queries


class NetworkManager:
    # -------------------------------------------------------------- networks
    def create_guest_network(self, zone: Zone, *, name: str, cidr: str, domain: Domain, gateway: str | None = None,
                             start_ip: str | None = None, end_ip: str | None = None, dns1: str | None = None,
                             dns2: str | None = None, guest_type: str = "Shared", account=None,
                             display_text: str | None = None) -> Network:
        """A shared guest network; by default it hands out [network+10, broadcast-1]."""
        try:
            net = ipaddress.IPv4Network(cidr, strict=True)
            gw = ipaddress.IPv4Address(gateway) if gateway else net.network_address + 1
            first = ipaddress.IPv4Address(start_ip) if start_ip else net.network_address + 10
            last = ipaddress.IPv4Address(end_ip) if end_ip else net.broadcast_address - 1
        except ValueError as exc:
            raise InvalidParameterValue(f"Invalid guest network address: {exc}") from None
        if not (first in net and last in net and first <= last):
            raise InvalidParameterValue(f"The IP range {first}-{last} is not inside {cidr}")
        if gw not in net or first <= gw <= last:
            raise InvalidParameterValue(f"The gateway {gw} must be inside {cidr} and outside the IP range")
        with write_tx():
            return Network.create(
                name=name, display_text=display_text or name, zone=zone.id, guest_type=guest_type, cidr=str(net),
                gateway=str(gw), netmask=str(net.netmask), start_ip=int(first), end_ip=int(last),
                dns1=dns1 or zone.dns1, dns2=dns2 or zone.dns2, state="Setup", account=account,
                domain=domain.id, is_default=True, network_domain=zone.network_domain)

    def default_network(self, zone: Zone, account=None) -> Network:
        """The zone's shared guest network new VMs get their default NIC on."""
        network = (Network.select()
                   .where(Network.zone == zone.id, Network.removed.is_null(), Network.guest_type == "Shared",
                          Network.is_default == True)  # noqa: E712
                   .order_by(Network.id).first())
        if network is None:
            raise InvalidParameterValue(f"Zone {zone.name} has no guest network")
        return network

    def list_networks(self, caller: Caller, *, id=None, zone=None, guest_type=None, traffic_type=None,
                      is_system=None, can_use_for_deploy=None, scope=None, keyword=None, page=None, pagesize=None):
        """Networks the caller may deploy on: shared ones of a domain on its path, and its account's own;
        ``scope`` (an explicit account or domain) narrows them to the ones that owner may use."""
        query = Network.select().where(Network.removed.is_null())
        if not caller.is_root_admin:
            query = query.where((Network.account == caller.account_id) |
                                (Network.account.is_null() & Network.domain.in_(ancestor_ids(caller.domain_path))))
        if scope is not None and not scope.unrestricted:
            query = query.where(_usable_by(scope))
        if id is not None:
            query = query.where(Network.id == id.id)
        if zone is not None:
            query = query.where(Network.zone == zone.id)
        if guest_type:
            query = query.where(Network.guest_type == guest_type)
        if traffic_type:
            query = query.where(Network.traffic_type == traffic_type)
        if is_system:
            query = query.where(Network.id == -1)  # system networks are not modelled as guest networks
        if can_use_for_deploy is False:
            query = query.where(Network.id == -1)  # every guest network listed here takes deploys
        if keyword:
            query = query.where(Network.name.contains(keyword))
        total, networks = page_of(query.order_by(Network.id), page, pagesize)
        prefetch.attach(networks, "zone", "account", "domain")  # what a listing shows of each, for the page at once
        return total, networks

    # ------------------------------------------------------------------ IPAM
    def create_nic(self, vm, network: Network, *, device_id: int = 0, is_default: bool = True,
                   requested_ip: str | None = None) -> Nic:
        """Give ``vm`` a NIC with a free address of ``network`` (call inside a write transaction)."""
        if requested_ip is not None:
            wanted = _address(requested_ip)
            if not network.start_ip <= wanted <= network.end_ip:
                raise InvalidParameterValue(f"IP address {requested_ip} is not in the range of network "
                                            f"{network.name}")
            try:
                with database.atomic():
                    return self._insert(vm, network, wanted, device_id, is_default)
            except pw.IntegrityError:
                raise InvalidParameterValue(f"The requested ip address {requested_ip} is already in use in "
                                            f"network {network.name}") from None
        lost = None  # the last address a concurrent allocation took first
        for _ in range(ATTEMPTS):
            candidate = self._free_address(network)
            if candidate is not None and lost is not None and candidate <= lost < network.end_ip:
                # Under MySQL's repeatable read this transaction's reads do not show the rows that beat it,
                # so they would offer the same address again: move past it instead.
                candidate = lost + 1
            if candidate is None:
                break
            try:
                with database.atomic():  # a savepoint: a lost race leaves the outer transaction intact
                    return self._insert(vm, network, candidate, device_id, is_default)
            except pw.IntegrityError:
                lost = candidate
        raise InsufficientAddressCapacity(f"Insufficient address capacity in network {network.name}")

    def create_nics(self, vms: list, network: Network) -> None:
        """A default NIC for each new VM (a launch's), inside the deploy's write transaction: the addresses after
        the highest in use, in one statement, when the network has that many left above it; otherwise, or when
        a concurrent allocation took one of them first, one by one as :meth:`create_nic`."""
        highest = Nic.select(pw.fn.MAX(Nic.ip_int)).where(Nic.network == network.id).scalar()
        first = network.start_ip if highest is None else max(highest + 1, network.start_ip)
        if first + len(vms) - 1 <= network.end_ip:
            macs = _fresh_macs(len(vms))
            rows = [dict(vm=vm.id, network=network.id, ip_int=ip, ip_address=str(ipaddress.IPv4Address(ip)),
                         netmask=network.netmask, gateway=network.gateway, mac_address=mac, device_id=0,
                         is_default=True, traffic_type="Guest", broadcast_uri="vlan://untagged",
                         isolation_uri="vlan://untagged")
                    for vm, ip, mac in zip(vms, range(first, first + len(vms)), macs)]
            try:
                with database.atomic():  # a savepoint: a lost race leaves the outer transaction intact
                    Nic.insert_rows(rows)
                return
            except pw.IntegrityError:
                pass
        for vm in vms:
            self.create_nic(vm, network, device_id=0, is_default=True)

    def release_nics(self, vm) -> int:
        """Remove the VM's NICs, returning their addresses to the pool."""
        return Nic.delete().where(Nic.vm == vm.id).execute()

    def used_addresses(self, network: Network) -> int:
        return Nic.select().where(Nic.network == network.id).count()

    def address_count(self, network: Network) -> int:
        return network.end_ip - network.start_ip + 1

    def _free_address(self, network: Network) -> int | None:
        """The next address after the highest one in use, else the lowest gap: two indexed queries."""
        in_network = Nic.network == network.id
        highest = Nic.select(pw.fn.MAX(Nic.ip_int)).where(in_network).scalar()
        if highest is None:
            return network.start_ip
        if highest < network.end_ip:
            return max(highest + 1, network.start_ip)
        if not Nic.select().where(in_network, Nic.ip_int == network.start_ip).exists():
            return network.start_ip
        taken = Nic.alias("taken")
        gap = (Nic.select(pw.fn.MIN(Nic.ip_int + 1))
               .join(taken, pw.JOIN.LEFT_OUTER, on=((taken.network == Nic.network) &
                                                    (taken.ip_int == Nic.ip_int + 1)))
               .where(in_network, taken.id.is_null(), Nic.ip_int < network.end_ip)
               .scalar())
        return gap

    @staticmethod
    def _insert(vm, network: Network, ip_int: int, device_id: int, is_default: bool) -> Nic:
        for _ in range(ATTEMPTS):
            mac = "02:00:" + ":".join(f"{b:02x}" for b in token_bytes(4))
            if not Nic.select().where(Nic.mac_address == mac).exists():
                break
        return Nic.create(vm=vm.id, network=network.id, ip_int=ip_int, ip_address=str(ipaddress.IPv4Address(ip_int)),
                          netmask=network.netmask, gateway=network.gateway, mac_address=mac, device_id=device_id,
                          is_default=is_default, traffic_type="Guest", broadcast_uri="vlan://untagged",
                          isolation_uri="vlan://untagged")

    # ---------------------------------------------- public IPs and NAT rules
    def list_public_ips(self, caller: Caller, *, scope=None, zone=None, page=None, pagesize=None):
        """Basic zones give VMs directly reachable guest addresses: there are no public IPs to
        list (Elastic IPs arrive with the EC2 API). An empty listing, not an error, is what
        clients such as libcloud's list_nodes expect."""
        return 0, []

    def list_port_forwarding_rules(self, caller: Caller, *, scope=None, page=None, pagesize=None):
        """No NAT in Basic zones, so no port forwarding rules (see list_public_ips)."""
        return 0, []

    def list_ip_forwarding_rules(self, caller: Caller, *, scope=None, page=None, pagesize=None):
        """No NAT in Basic zones, so no static NAT rules (see list_public_ips)."""
        return 0, []


def _usable_by(scope):
    """The networks an account or domain may use, as CloudStack lists them for ``account``/``domainid``:
    its own, and the shared networks of its domain and the domains above it."""
    if scope.account_ids:
        paths = [path for (path,) in Domain.select(Domain.path).join(Account, on=(Account.domain == Domain.id))
                 .where(Account.id.in_(scope.account_ids)).tuples()]
    else:
        paths = [scope.domain_path]
    shared_above = functools.reduce(operator.or_, [Network.domain.in_(ancestor_ids(p)) for p in paths])
    return Network.id.in_(scope.apply(Network.select(Network.id), Network)) | (
        Network.account.is_null() & shared_above)


def _address(text: str) -> int:
    try:
        return int(ipaddress.IPv4Address(text))
    except ValueError:
        raise InvalidParameterValue(f"Invalid IP address {text}") from None


def _fresh_macs(count: int) -> list[str]:
    """``count`` distinct locally administered MAC addresses that no NIC has."""
    macs: list[str] = []
    while len(macs) < count:
        drawn = {"02:00:" + ":".join(f"{b:02x}" for b in token_bytes(4)) for _ in range(count - len(macs))}
        drawn -= set(macs)
        for start in range(0, len(drawn), 500):
            chunk = sorted(drawn)[start:start + 500]
            drawn -= {n.mac_address for n in Nic.select(Nic.mac_address).where(Nic.mac_address.in_(chunk))}
        macs += sorted(drawn)
    return macs
