"""Where hosts live: the region, its zones, their pods and the pods' clusters.

Only root admins change them. A cluster names its hypervisor and its over-commit ratios, which the
capacity rows of its hosts are sized by (see hosts.py).
"""
from __future__ import annotations

import ipaddress

import peewee as pw

from backends.context import Caller
from backends.core import prefetch
from backends.core.checks import ip_address, live, root_only
from backends.core.config import ConfigManager
from backends.core.events import EventManager
from backends.db import Compiled, page_of, write_tx
from backends.errors import InvalidParameterValue, ResourceInUse
from backends.identity.access import ancestor_ids
from backends.infra.hypervisors import Hypervisors
from backends.models import Cluster, Domain, ImageStore, Network, Pod, Region, StoragePool, VirtualMachine, Zone, utcnow


class TopologyManager:
    def __init__(self, events: EventManager, config: ConfigManager, hypervisors: Hypervisors, region_name: str):
        self._events = events
        self._config = config
        self._hypervisors = hypervisors
        self._region_name = region_name

    # ----------------------------------------------------------------- region
    def ensure_region(self, name: str) -> Region:
        region = Region.get_or_none(Region.name == name)
        if region is None:
            with write_tx():
                number = (Region.select(pw.fn.MAX(Region.region_number)).scalar() or 0) + 1
                region = Region.create(name=name, region_number=number)
        return region

    def list_regions(self, *, id=None, name=None, keyword=None, page=None, pagesize=None):
        if id is None and not name and not keyword and not pagesize:  # every DescribeRegions: built once
            rows = _ALL_REGIONS.objects()
            return len(rows), rows
        query = Region.select()
        if id is not None:
            query = query.where(Region.region_number == id)
        if name:
            query = query.where(Region.name == name)
        if keyword:
            query = query.where(Region.name.contains(keyword))
        return page_of(query.order_by(Region.region_number), page, pagesize)

    # ------------------------------------------------------------------ zones
    def create_zone(self, caller: Caller, *, name: str, network_type: str = "Basic", dns1: str | None = None,
                    dns2: str | None = None, internal_dns1: str | None = None, internal_dns2: str | None = None,
                    guest_cidr: str | None = None, domain: Domain | None = None, network_domain: str | None = None,
                    security_groups_enabled: bool = False, local_storage_enabled: bool = False,
                    allocation_state: str = "Enabled", description: str | None = None,
                    region: Region | None = None) -> Zone:
        root_only(caller, "create zones")
        name = (name or "").strip()
        if not name:
            raise InvalidParameterValue("Zone name must not be empty")
        if not dns1 or not internal_dns1:
            raise InvalidParameterValue("A zone needs dns1 and internaldns1")
        for value, what in ((dns1, "dns1"), (dns2, "dns2"), (internal_dns1, "internaldns1"),
                            (internal_dns2, "internaldns2")):
            ip_address(value, what)
        if guest_cidr:
            try:
                ipaddress.IPv4Network(guest_cidr)
            except ValueError:
                raise InvalidParameterValue(f"Invalid guest CIDR {guest_cidr}") from None
        region = region or self.ensure_region(self._region_name)
        taken = InvalidParameterValue(f"A zone with name {name} already exists")
        try:
            with write_tx():
                if Zone.select().where(Zone.name == name, Zone.removed.is_null()).exists():
                    raise taken
                zone = Zone.create(
                    name=name, region=region.id, description=description, network_type=network_type, dns1=dns1,
                    dns2=dns2, internal_dns1=internal_dns1, internal_dns2=internal_dns2, guest_cidr=guest_cidr,
                    network_domain=network_domain, domain=domain.id if domain else None,
                    allocation_state=allocation_state, security_groups_enabled=security_groups_enabled,
                    local_storage_enabled=local_storage_enabled)
                self._events.record(caller, "ZONE.CREATE", f"Created zone {name}", resource=zone)
        except pw.IntegrityError:
            raise taken from None
        return zone

    def update_zone(self, caller: Caller, zone: Zone, *, name=None, dns1=None, dns2=None, internal_dns1=None,
                    internal_dns2=None, allocation_state=None, description=None, network_domain=None,
                    guest_cidr=None) -> Zone:
        root_only(caller, "update zones")
        live(zone, "zone")
        changes = {}
        for column, value, what in (("dns1", dns1, "dns1"), ("dns2", dns2, "dns2"),
                                    ("internal_dns1", internal_dns1, "internaldns1"),
                                    ("internal_dns2", internal_dns2, "internaldns2")):
            if value is not None:
                ip_address(value, what)
                changes[column] = value
        if name is not None and name != zone.name:
            if Zone.select().where(Zone.name == name, Zone.removed.is_null(), Zone.id != zone.id).exists():
                raise InvalidParameterValue(f"A zone with name {name} already exists")
            changes["name"] = name
        if allocation_state is not None:
            changes["allocation_state"] = allocation_state
        if description is not None:
            changes["description"] = description
        if network_domain is not None:
            changes["network_domain"] = network_domain or None
        if guest_cidr is not None:
            changes["guest_cidr"] = guest_cidr
        if changes:
            with write_tx():
                Zone.update(**changes).where(Zone.id == zone.id).execute()
                self._events.record(caller, "ZONE.EDIT", f"Updated zone {zone.name}", resource=zone)
        return Zone.get_by_id(zone.id)

    def delete_zone(self, caller: Caller, zone: Zone) -> None:
        root_only(caller, "delete zones")
        live(zone, "zone")
        for model, what in ((Pod, "pods"), (StoragePool, "primary storage pools"), (ImageStore, "image stores")):
            if model.select().where(model.zone == zone.id, model.removed.is_null()).exists():
                raise ResourceInUse(f"The zone is not deletable because there are {what} in this zone")
        with write_tx():
            Network.update(removed=utcnow(), state="Destroy").where(Network.zone == zone.id,
                                                                    Network.removed.is_null()).execute()
            Zone.update(removed=utcnow(), live=None).where(Zone.id == zone.id).execute()
            self._events.record(caller, "ZONE.DELETE", f"Deleted zone {zone.name}", resource=zone)

    def list_zones(self, caller: Caller, *, id=None, ids=None, name=None, available=None, network_type=None,
                   domain=None, keyword=None, page=None, pagesize=None):
        """``available=False``: only zones where the caller's account has a VM (as CloudStack); ``domain``:
        the zones dedicated to it."""
        query = Zone.select().where(Zone.removed.is_null())
        if not caller.is_root_admin:
            query = query.where(Zone.allocation_state == "Enabled",
                                Zone.domain.is_null() | Zone.domain.in_(ancestor_ids(caller.domain_path)))
        if id is not None:
            query = query.where(Zone.id == id.id)
        if ids:
            query = query.where(Zone.id.in_([z.id for z in ids]))
        if name:
            query = query.where(Zone.name == name)
        if network_type:
            query = query.where(Zone.network_type == network_type.capitalize())
        if available is False:
            query = query.where(Zone.id.in_(VirtualMachine.select(VirtualMachine.zone).where(
                VirtualMachine.account == caller.account_id, VirtualMachine.removed.is_null())))
        if domain is not None:
            query = query.where(Zone.domain == domain.id)
        if keyword:
            query = query.where(Zone.name.contains(keyword) | Zone.description.contains(keyword))
        total, zones = page_of(query.order_by(Zone.id), page, pagesize)
        prefetch.attach(zones, "domain", "region")  # what a listing shows of each: loaded for the page at once
        return total, zones

    # ------------------------------------------------------------------- pods
    def create_pod(self, caller: Caller, zone: Zone, *, name: str, gateway=None, netmask=None, start_ip=None,
                   end_ip=None, allocation_state: str = "Enabled") -> Pod:
        root_only(caller, "create pods")
        live(zone, "zone")
        gw, first, last = ip_address(gateway, "gateway"), ip_address(start_ip, "start IP"), ip_address(end_ip, "end IP")
        if netmask:
            try:
                ipaddress.IPv4Network(f"0.0.0.0/{netmask}")
            except ValueError:
                raise InvalidParameterValue(f"Invalid netmask {netmask}") from None
        if first and last and first > last:
            raise InvalidParameterValue("The start IP must not be greater than the end IP")
        if gw and first and (first <= gw <= (last or first)):
            raise InvalidParameterValue("The gateway must not be inside the pod's IP range")
        if Pod.select().where(Pod.zone == zone.id, Pod.name == name, Pod.removed.is_null()).exists():
            raise InvalidParameterValue(f"A pod with name {name} already exists in zone {zone.name}")
        with write_tx():
            pod = Pod.create(name=name, zone=zone.id, gateway=gateway, netmask=netmask, start_ip=start_ip,
                             end_ip=end_ip, allocation_state=allocation_state)
            self._events.record(caller, "POD.CREATE", f"Created pod {name} in zone {zone.name}", resource=pod)
        return pod

    def list_pods(self, caller: Caller, *, id=None, name=None, zone=None, allocation_state=None, keyword=None,
                  page=None, pagesize=None):
        root_only(caller, "list pods")
        query = Pod.select().where(Pod.removed.is_null())
        if id is not None:
            query = query.where(Pod.id == id.id)
        if name:
            query = query.where(Pod.name == name)
        if zone is not None:
            query = query.where(Pod.zone == zone.id)
        if allocation_state:
            query = query.where(Pod.allocation_state == allocation_state)
        if keyword:
            query = query.where(Pod.name.contains(keyword))
        total, pods = page_of(query.order_by(Pod.id), page, pagesize)
        prefetch.attach(pods, "zone")
        return total, pods

    # --------------------------------------------------------------- clusters
    def add_cluster(self, caller: Caller, zone: Zone, pod: Pod, *, name: str, hypervisor: str,
                    cluster_type: str = "CloudManaged", allocation_state: str = "Enabled",
                    cpu_overcommit: float | None = None, memory_overcommit: float | None = None) -> Cluster:
        root_only(caller, "add clusters")
        live(zone, "zone")
        live(pod, "pod")
        if pod.zone_id != zone.id:
            raise InvalidParameterValue(f"Pod {pod.name} does not belong to zone {zone.name}")
        hypervisor = self._hypervisors.canonical(hypervisor)
        if cluster_type not in ("CloudManaged", "ExternalManaged"):
            raise InvalidParameterValue(f"Invalid cluster type {cluster_type}: use CloudManaged or ExternalManaged")
        if Cluster.select().where(Cluster.pod == pod.id, Cluster.name == name, Cluster.removed.is_null()).exists():
            raise InvalidParameterValue(f"A cluster with name {name} already exists in pod {pod.name}")
        cpu = cpu_overcommit or self._config.get_float("cpu.overprovisioning.factor")
        mem = memory_overcommit or self._config.get_float("mem.overprovisioning.factor")
        if cpu < 1 or mem < 1:
            raise InvalidParameterValue("Over-provisioning factors must be at least 1")
        with write_tx():
            cluster = Cluster.create(name=name, pod=pod.id, zone=zone.id, hypervisor=hypervisor,
                                     cluster_type=cluster_type, allocation_state=allocation_state,
                                     cpu_overcommit=cpu, memory_overcommit=mem)
            self._events.record(caller, "CLUSTER.CREATE", f"Added cluster {name}", resource=cluster)
        return cluster

    def list_clusters(self, caller: Caller, *, id=None, name=None, zone=None, pod=None, hypervisor=None,
                      allocation_state=None, cluster_type=None, managed_state=None, keyword=None, page=None,
                      pagesize=None):
        root_only(caller, "list clusters")
        query = Cluster.select().where(Cluster.removed.is_null())
        for column, value in ((Cluster.id, id), (Cluster.zone, zone), (Cluster.pod, pod)):
            if value is not None:
                query = query.where(column == value.id)
        if name:
            query = query.where(Cluster.name == name)
        if hypervisor:
            query = query.where(Cluster.hypervisor == hypervisor)
        if allocation_state:
            query = query.where(Cluster.allocation_state == allocation_state)
        if cluster_type:
            query = query.where(Cluster.cluster_type == cluster_type)
        if managed_state:
            query = query.where(Cluster.managed_state == managed_state)
        if keyword:
            query = query.where(Cluster.name.contains(keyword))
        total, clusters = page_of(query.order_by(Cluster.id), page, pagesize)
        prefetch.attach(clusters, "pod", "zone")
        return total, clusters

    def zone_hypervisor(self, zone: Zone) -> str:
        """The hypervisor of the zone's clusters (a zone's hosts share one), the simulator when it has none."""
        cluster = (Cluster.select(Cluster.hypervisor)
                   .where(Cluster.zone == zone.id, Cluster.removed.is_null()).order_by(Cluster.id).first())
        return cluster.hypervisor if cluster is not None else "Simulator"


_ALL_REGIONS = Compiled(lambda: Region.select().order_by(Region.region_number), arity=0, model=Region)
