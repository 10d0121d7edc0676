"""The physical cloud: region, zones, pods, clusters, hosts, primary and secondary storage.

Only root admins change it. Hosts are added through their hypervisor's driver
(which reports what the host has); each host gets its two capacity rows here,
with limits = total x the cluster's over-commit ratio. ``ping_hosts`` is the
heartbeat: it moves host status through the host state machine and hands each
power report to the VM manager.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import threading
from dataclasses import dataclass
from urllib.parse import urlparse

import peewee as pw

from backends.context import Caller
from backends.core import fsm
from backends.core.jobs import JobResult
from backends.db import Compiled, page_of, write_tx
from backends.drivers.base import HostRef
from backends.errors import (CloudError, ConcurrentOperation, DriverError, InvalidParameterValue, InvalidState,
                             PermissionDenied, ResourceInUse)
from backends.identity.accounts import ancestor_ids
from backends.models import (Cluster, Domain, Host, HostCapacity, ImageStore, Network, Nic, Pod, Region, StoragePool,
                             VirtualMachine, Zone, utcnow)

log = logging.getLogger(__name__)

TiB = 1 << 40
MiB = 1 << 20
HOLDING_STATES = ("Starting", "Running", "Stopping", "Migrating")


@dataclass
class CapacitySummary:
    """One line of listCapacity: a kind of capacity in a zone (or pod/cluster)."""

    capacity_type: int
    zone: Zone
    pod: Pod | None
    cluster: Cluster | None
    used: int
    total: int

    @property
    def percent_used(self) -> float:
        return 100.0 * self.used / self.total if self.total else 0.0


def _ip(value: str | None, what: str) -> ipaddress.IPv4Address | None:
    if value in (None, ""):
        return None
    try:
        return ipaddress.IPv4Address(value)
    except ValueError:
        raise InvalidParameterValue(f"Invalid {what}: {value} is not an IPv4 address") from None


class InfrastructureManager:
    def __init__(self, cloud):
        self.cloud = cloud
        self._refs: dict[int, HostRef] = {}
        self._refs_lock = threading.Lock()

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
        self._root_only(caller, "create zones")
        name = (name or "").strip()
        if not name:
            raise InvalidParameterValue("Zone name must not be empty")
        if not dns1 or not internal_dns1:
            raise InvalidParameterValue("A zone needs dns1 and internaldns1")
        for value, what in ((dns1, "dns1"), (dns2, "dns2"), (internal_dns1, "internaldns1"),
                            (internal_dns2, "internaldns2")):
            _ip(value, what)
        if guest_cidr:
            try:
                ipaddress.IPv4Network(guest_cidr)
            except ValueError:
                raise InvalidParameterValue(f"Invalid guest CIDR {guest_cidr}") from None
        region = region or self.ensure_region(self.cloud.region_name)
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
                self.cloud.events.record("ZONE.CREATE", f"Created zone {name}", caller=caller,
                                         resource_type="Zone", resource_uuid=zone.uuid)
        except pw.IntegrityError:
            raise taken from None
        return zone

    def update_zone(self, caller: Caller, zone: Zone, *, name=None, dns1=None, dns2=None, internal_dns1=None,
                    internal_dns2=None, allocation_state=None, description=None, network_domain=None,
                    guest_cidr=None) -> Zone:
        self._root_only(caller, "update zones")
        self._live(zone, "zone")
        changes = {}
        for column, value, what in (("dns1", dns1, "dns1"), ("dns2", dns2, "dns2"),
                                    ("internal_dns1", internal_dns1, "internaldns1"),
                                    ("internal_dns2", internal_dns2, "internaldns2")):
            if value is not None:
                _ip(value, what)
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
                self.cloud.events.record("ZONE.EDIT", f"Updated zone {zone.name}", caller=caller,
                                         resource_type="Zone", resource_uuid=zone.uuid)
        return Zone.get_by_id(zone.id)

    def delete_zone(self, caller: Caller, zone: Zone) -> None:
        self._root_only(caller, "delete zones")
        self._live(zone, "zone")
        for model, what in ((Pod, "pods"), (StoragePool, "primary storage pools"), (ImageStore, "image stores")):
            if model.select().where(model.zone == zone.id, model.removed.is_null()).exists():
                raise ResourceInUse(f"The zone is not deletable because there are {what} in this zone")
        with write_tx():
            Network.update(removed=utcnow(), state="Destroy").where(Network.zone == zone.id,
                                                                    Network.removed.is_null()).execute()
            Zone.update(removed=utcnow(), live=None).where(Zone.id == zone.id).execute()
            self.cloud.events.record("ZONE.DELETE", f"Deleted zone {zone.name}", caller=caller,
                                     resource_type="Zone", resource_uuid=zone.uuid)

    def list_zones(self, caller: Caller, *, id=None, ids=None, name=None, available=None, network_type=None, domain=None,
                   keyword=None, page=None, pagesize=None):
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
        return page_of(query.order_by(Zone.id), page, pagesize)

    # ------------------------------------------------------------------- pods
    def create_pod(self, caller: Caller, zone: Zone, *, name: str, gateway=None, netmask=None, start_ip=None,
                   end_ip=None, allocation_state: str = "Enabled") -> Pod:
        self._root_only(caller, "create pods")
        self._live(zone, "zone")
        gw, first, last = _ip(gateway, "gateway"), _ip(start_ip, "start IP"), _ip(end_ip, "end IP")
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
            self.cloud.events.record("POD.CREATE", f"Created pod {name} in zone {zone.name}", caller=caller,
                                     resource_type="Pod", resource_uuid=pod.uuid)
        return pod

    def list_pods(self, caller: Caller, *, id=None, name=None, zone=None, allocation_state=None, keyword=None,
                  page=None, pagesize=None):
        self._root_only(caller, "list pods")
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
        return page_of(query.order_by(Pod.id), page, pagesize)

    # --------------------------------------------------------------- clusters
    def add_cluster(self, caller: Caller, zone: Zone, pod: Pod, *, name: str, hypervisor: str,
                    cluster_type: str = "CloudManaged", allocation_state: str = "Enabled",
                    cpu_overcommit: float | None = None, memory_overcommit: float | None = None) -> Cluster:
        self._root_only(caller, "add clusters")
        self._live(zone, "zone")
        self._live(pod, "pod")
        if pod.zone_id != zone.id:
            raise InvalidParameterValue(f"Pod {pod.name} does not belong to zone {zone.name}")
        hypervisor = self._hypervisor(hypervisor)
        if cluster_type not in ("CloudManaged", "ExternalManaged"):
            raise InvalidParameterValue(f"Invalid cluster type {cluster_type}: use CloudManaged or ExternalManaged")
        if Cluster.select().where(Cluster.pod == pod.id, Cluster.name == name, Cluster.removed.is_null()).exists():
            raise InvalidParameterValue(f"A cluster with name {name} already exists in pod {pod.name}")
        cpu = cpu_overcommit or self.cloud.config.get_float("cpu.overprovisioning.factor")
        mem = memory_overcommit or self.cloud.config.get_float("mem.overprovisioning.factor")
        if cpu < 1 or mem < 1:
            raise InvalidParameterValue("Over-provisioning factors must be at least 1")
        with write_tx():
            cluster = Cluster.create(name=name, pod=pod.id, zone=zone.id, hypervisor=hypervisor,
                                     cluster_type=cluster_type, allocation_state=allocation_state,
                                     cpu_overcommit=cpu, memory_overcommit=mem)
            self.cloud.events.record("CLUSTER.CREATE", f"Added cluster {name}", caller=caller,
                                     resource_type="Cluster", resource_uuid=cluster.uuid)
        return cluster

    def list_clusters(self, caller: Caller, *, id=None, name=None, zone=None, pod=None, hypervisor=None,
                      allocation_state=None, cluster_type=None, managed_state=None, keyword=None, page=None,
                      pagesize=None):
        self._root_only(caller, "list clusters")
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
        return page_of(query.order_by(Cluster.id), page, pagesize)

    # ------------------------------------------------------------------ hosts
    def add_host(self, caller: Caller, zone: Zone, pod: Pod, *, url: str, hypervisor: str, cluster: Cluster,
                 host_tags: str = "", username: str | None = None, password: str | None = None) -> Host:
        """Connect to the host through its driver and start managing it (credentials are never stored
        in clear or logged; the simulator and libvirt's URIs do not need them)."""
        self._root_only(caller, "add hosts")
        self._live(cluster, "cluster")
        if cluster.pod_id != pod.id or cluster.zone_id != zone.id:
            raise InvalidParameterValue(f"Cluster {cluster.name} is not in pod {pod.name} of zone {zone.name}")
        hypervisor = self._hypervisor(hypervisor)
        if hypervisor != cluster.hypervisor:
            raise InvalidParameterValue(f"Cannot add a {hypervisor} host to {cluster.hypervisor} cluster "
                                        f"{cluster.name}")
        info = self.cloud.driver(hypervisor).connect_host(HostRef(url=url, zone=zone.uuid, pod=pod.uuid,
                                                                  cluster=cluster.uuid))
        taken = InvalidParameterValue(f"Host with guid {info.guid} already exists (url {url})")
        if Host.select().where(Host.guid == info.guid, Host.removed.is_null()).exists():
            raise taken
        cpu_total = info.cpu_cores * info.cpu_speed
        try:
            with write_tx():
                host = Host.create(
                    name=info.name, zone=zone.id, pod=pod.id, cluster=cluster.id, hypervisor=hypervisor,
                    hypervisor_version=info.hypervisor_version, url=url, guid=info.guid, ip_address=info.ip_address,
                    status="Up", resource_state="Enabled", cpu_sockets=info.cpu_sockets, cpu_cores=info.cpu_cores,
                    cpu_speed=info.cpu_speed, memory_bytes=info.memory_bytes, host_tags=host_tags or "",
                    capabilities=info.capabilities, last_ping=utcnow())
                HostCapacity.create(host=host.id, capacity_type=HostCapacity.CPU, total=cpu_total,
                                    capacity_limit=int(cpu_total * cluster.cpu_overcommit))
                HostCapacity.create(host=host.id, capacity_type=HostCapacity.MEMORY, total=info.memory_bytes,
                                    capacity_limit=int(info.memory_bytes * cluster.memory_overcommit))
                self.cloud.events.record("HOST.ADD", f"Added host {info.name} to cluster {cluster.name}",
                                         caller=caller, resource_type="Host", resource_uuid=host.uuid)
        except pw.IntegrityError:
            raise taken from None
        return host

    def zone_hypervisor(self, zone: Zone) -> str:
        """The hypervisor of the zone's clusters (a zone's hosts share one), the simulator when it has none."""
        cluster = (Cluster.select(Cluster.hypervisor)
                   .where(Cluster.zone == zone.id, Cluster.removed.is_null()).order_by(Cluster.id).first())
        return cluster.hypervisor if cluster is not None else "Simulator"

    def host_ref(self, host: Host) -> HostRef:
        """How a driver addresses the host (cached: it is needed on every VM operation)."""
        ref = self._refs.get(host.id)
        if ref is None:
            row = (Host.select(Host.url, Host.guid, Zone.uuid.alias("zone_uuid"), Pod.uuid.alias("pod_uuid"),
                               Cluster.uuid.alias("cluster_uuid"))
                   .join(Zone, on=(Host.zone == Zone.id)).switch(Host).join(Pod, on=(Host.pod == Pod.id))
                   .switch(Host).join(Cluster, on=(Host.cluster == Cluster.id))
                   .where(Host.id == host.id).dicts().get())
            ref = HostRef(url=row["url"], guid=row["guid"], zone=row["zone_uuid"], pod=row["pod_uuid"],
                          cluster=row["cluster_uuid"])
            with self._refs_lock:
                self._refs[host.id] = ref
        return ref

    def forget_hosts(self) -> None:
        """Drop cached host references (the hosts were removed wholesale, e.g. an emulator reset)."""
        with self._refs_lock:
            self._refs.clear()

    def list_hosts(self, caller: Caller, *, id=None, name=None, zone=None, pod=None, cluster=None, host_type=None,
                   state=None, resource_state=None, hypervisor=None, keyword=None, page=None, pagesize=None):
        self._root_only(caller, "list hosts")
        query = Host.select().where(Host.removed.is_null())
        for column, value in ((Host.id, id), (Host.zone, zone), (Host.pod, pod), (Host.cluster, cluster)):
            if value is not None:
                query = query.where(column == value.id)
        for column, value in ((Host.name, name), (Host.host_type, host_type), (Host.status, state),
                              (Host.resource_state, resource_state), (Host.hypervisor, hypervisor)):
            if value:
                query = query.where(column == value)
        if keyword:
            query = query.where(Host.name.contains(keyword))
        return page_of(query.order_by(Host.id), page, pagesize)

    def update_host(self, caller: Caller, host: Host, *, allocation_state: str | None = None,
                    host_tags: str | None = None) -> Host:
        """Enable/Disable a host for new placements, or replace its tags."""
        self._root_only(caller, "update hosts")
        self._live(host, "host")
        with write_tx():
            if allocation_state is not None:
                event = {"enable": "Enable", "disable": "Disable"}.get(allocation_state.lower())
                if event is None:
                    raise InvalidParameterValue(f"Invalid allocation state {allocation_state}: use Enable or Disable")
                fsm.transition(host, fsm.HOST_RESOURCE, event, field="resource_state")
            if host_tags is not None:
                Host.update(host_tags=host_tags).where(Host.id == host.id).execute()
            self.cloud.events.record("HOST.UPDATE", f"Updated host {host.name}", caller=caller,
                                     resource_type="Host", resource_uuid=host.uuid)
        return Host.get_by_id(host.id)

    def prepare_maintenance_work(self, caller: Caller, host: Host):
        """Mark the host PrepareForMaintenance now; the job moves its VMs away, then enters Maintenance."""
        self._root_only(caller, "put hosts into maintenance")
        self._live(host, "host")
        with write_tx():
            fsm.transition(host, fsm.HOST_RESOURCE, "AdminAskMaintenance", field="resource_state")
            self.cloud.events.record("MAINT.PREPARE", f"Preparing host {host.name} for maintenance", caller=caller,
                                     resource_type="Host", resource_uuid=host.uuid)

        def work():
            current = Host.get_by_id(host.id)
            try:
                for vm in VirtualMachine.select().where(VirtualMachine.host == host.id,
                                                        VirtualMachine.removed.is_null(),
                                                        VirtualMachine.state == "Running"):
                    self.cloud.vms.migrate_away(vm)
            except CloudError:
                with write_tx():
                    fsm.transition(current, fsm.HOST_RESOURCE, "UnableToMaintain", field="resource_state")
                raise
            with write_tx():
                fsm.transition(current, fsm.HOST_RESOURCE, "InternalEnterMaintenance", field="resource_state")
            return JobResult("Host", host.uuid)

        return work

    def cancel_maintenance_work(self, caller: Caller, host: Host):
        self._root_only(caller, "cancel host maintenance")
        self._live(host, "host")
        if host.resource_state not in ("Maintenance", "PrepareForMaintenance", "ErrorInMaintenance",
                                       "ErrorInPrepareForMaintenance"):
            raise InvalidState(f"Host {host.name} is not in maintenance (resource state {host.resource_state})")

        def work():
            current = Host.get_by_id(host.id)
            with write_tx():
                fsm.transition(current, fsm.HOST_RESOURCE, "AdminCancelMaintenance", field="resource_state")
                self.cloud.events.record("MAINT.CANCEL", f"Cancelled maintenance of host {host.name}",
                                         caller=caller, resource_type="Host", resource_uuid=host.uuid)
            return JobResult("Host", host.uuid)

        return work

    def ping_hosts(self) -> None:
        """The heartbeat: ping every managed host; late ones go Disconnected, then Down."""
        grace = dt.timedelta(seconds=self.cloud.config.get_float("ping.interval") *
                             self.cloud.config.get_float("ping.timeout"))
        for host in Host.select().where(Host.removed.is_null(), Host.hypervisor.in_(list(self.cloud.drivers))):
            driver = self.cloud.drivers[host.hypervisor]
            try:
                report = driver.ping(self.host_ref(host))
            except DriverError as exc:
                self._host_unreachable(host, grace, exc.message)
                continue
            try:
                with write_tx():
                    if host.status != "Up":
                        fsm.transition(host, fsm.HOST_STATUS, "Ping", field="status", last_ping=utcnow(),
                                       disconnected=None)
                    else:
                        Host.update(last_ping=utcnow()).where(Host.id == host.id).execute()
            except (InvalidState, ConcurrentOperation):
                continue
            self.cloud.vms.sync_power_state(host, report)

    def _host_unreachable(self, host: Host, grace: dt.timedelta, reason: str) -> None:
        now = utcnow()
        try:
            with write_tx():
                if host.status in ("Up", "Connecting"):
                    fsm.transition(host, fsm.HOST_STATUS, "PingTimeout", field="status", disconnected=now)
                    self.cloud.events.record("HOST.DISCONNECT", f"Host {host.name} stopped answering: {reason}",
                                             level="WARN", resource_type="Host", resource_uuid=host.uuid)
                elif host.status in ("Disconnected", "Alert") and host.disconnected and \
                        now - host.disconnected >= grace:
                    fsm.transition(host, fsm.HOST_STATUS, "HostDown", field="status")
                    self.cloud.events.record("HOST.DOWN", f"Host {host.name} is down", level="ERROR",
                                             resource_type="Host", resource_uuid=host.uuid)
                    self.cloud.vms.flag_host_down(host)
        except (InvalidState, ConcurrentOperation):
            pass

    # ---------------------------------------------------------------- storage
    def create_storage_pool(self, caller: Caller, zone: Zone, *, name: str, url: str, scope: str = "CLUSTER",
                            pod: Pod | None = None, cluster: Cluster | None = None, capacity_bytes: int | None = None,
                            tags: str = "", hypervisor: str | None = None,
                            provider: str = "DefaultPrimary") -> StoragePool:
        self._root_only(caller, "create storage pools")
        self._live(zone, "zone")
        scope = scope.upper()
        if scope == "CLUSTER":
            if cluster is None:
                raise InvalidParameterValue("A cluster-wide storage pool needs clusterid")
            if cluster.zone_id != zone.id or (pod is not None and cluster.pod_id != pod.id):
                raise InvalidParameterValue(f"Cluster {cluster.name} is not in the given zone/pod")
            pod = pod or cluster.pod
        elif scope == "ZONE":
            if not hypervisor:
                raise InvalidParameterValue("A zone-wide storage pool needs the hypervisor parameter")
            pod = cluster = None
        else:
            raise InvalidParameterValue(f"Invalid scope {scope}: use CLUSTER or ZONE")
        parsed = urlparse(url)
        pool_types = {"nfs": "NetworkFilesystem", "file": "Filesystem", "rbd": "RBD", "sim": "Filesystem",
                      "iscsi": "IscsiLUN", "gluster": "Gluster"}
        if parsed.scheme not in pool_types or not parsed.path:
            raise InvalidParameterValue(f"Unsupported storage pool URL {url}: use nfs://host/path, file:///path "
                                        "or rbd://...")
        if capacity_bytes is not None and capacity_bytes < 1:
            raise InvalidParameterValue("capacitybytes must be positive")
        with write_tx():
            pool = StoragePool.create(
                name=name, zone=zone.id, pod=pod.id if pod else None, cluster=cluster.id if cluster else None,
                scope=scope, url=url, pool_type=pool_types[parsed.scheme], host_address=parsed.hostname or "localhost",
                path=parsed.path, provider=provider, hypervisor=hypervisor or (cluster.hypervisor if cluster else None),
                tags=tags or "", capacity_bytes=capacity_bytes or 10 * TiB)
            self.cloud.events.record("STORAGE.POOL.CREATE", f"Created storage pool {name}", caller=caller,
                                     resource_type="StoragePool", resource_uuid=pool.uuid)
        return pool

    def list_storage_pools(self, caller: Caller, *, id=None, name=None, zone=None, pod=None, cluster=None,
                           scope=None, ip_address=None, path=None, keyword=None, page=None, pagesize=None):
        self._root_only(caller, "list storage pools")
        query = StoragePool.select().where(StoragePool.removed.is_null())
        for column, value in ((StoragePool.id, id), (StoragePool.zone, zone), (StoragePool.pod, pod),
                              (StoragePool.cluster, cluster)):
            if value is not None:
                query = query.where(column == value.id)
        if name:
            query = query.where(StoragePool.name == name)
        if scope:
            query = query.where(StoragePool.scope == scope)
        if ip_address:
            query = query.where(StoragePool.host_address == ip_address)
        if path:
            query = query.where(StoragePool.path == path)
        if keyword:
            query = query.where(StoragePool.name.contains(keyword))
        return page_of(query.order_by(StoragePool.id), page, pagesize)

    def add_image_store(self, caller: Caller, *, name: str, url: str, zone: Zone | None = None,
                        provider: str = "NFS") -> ImageStore:
        self._root_only(caller, "add image stores")
        if zone is not None:
            self._live(zone, "zone")
        parsed = urlparse(url)
        if parsed.scheme not in ("nfs", "http", "https", "file", "s3", "swift", "cifs", "smb"):
            raise InvalidParameterValue(f"Unsupported image store URL {url}")
        with write_tx():
            store = ImageStore.create(name=name, zone=zone.id if zone else None, url=url, protocol=parsed.scheme,
                                      provider=provider, scope="ZONE" if zone else "REGION", capacity_bytes=10 * TiB)
            self.cloud.events.record("IMAGE.STORE.ADD", f"Added image store {name}", caller=caller,
                                     resource_type="ImageStore", resource_uuid=store.uuid)
        return store

    def list_image_stores(self, caller: Caller, *, id=None, name=None, zone=None, provider=None, protocol=None,
                          keyword=None, page=None, pagesize=None):
        self._root_only(caller, "list image stores")
        query = ImageStore.select().where(ImageStore.removed.is_null())
        if id is not None:
            query = query.where(ImageStore.id == id.id)
        if zone is not None:
            query = query.where(ImageStore.zone == zone.id)
        for column, value in ((ImageStore.name, name), (ImageStore.provider, provider),
                              (ImageStore.protocol, protocol)):
            if value:
                query = query.where(column == value)
        if keyword:
            query = query.where(ImageStore.name.contains(keyword))
        return page_of(query.order_by(ImageStore.id), page, pagesize)

    # --------------------------------------------------------------- capacity
    def list_capacity(self, caller: Caller, *, zone=None, pod=None, cluster=None, capacity_type=None,
                      sort_by=None, keyword=None) -> list[CapacitySummary]:
        """Aggregated capacity per zone (narrowed to a pod or cluster when given), by SQL GROUP BY;
        ``keyword`` matches the zone's name."""
        self._root_only(caller, "list capacity")
        zones = Zone.select().where(Zone.removed.is_null())
        for within in (zone, pod, cluster):  # a pod or cluster lies in one zone: no lines for the others
            if within is not None:
                zones = zones.where(Zone.id == (within.id if within is zone else within.zone_id))
        if keyword:
            zones = zones.where(Zone.name.contains(keyword))
        factor = self.cloud.config.get_float("storage.overprovisioning.factor")
        out: list[CapacitySummary] = []
        for z in zones.order_by(Zone.id):
            hosts = Host.select(Host.id).where(Host.zone == z.id, Host.removed.is_null())
            pools = StoragePool.select().where(StoragePool.zone == z.id, StoragePool.removed.is_null())
            if pod is not None:
                hosts, pools = hosts.where(Host.pod == pod.id), pools.where(StoragePool.pod == pod.id)
            if cluster is not None:
                hosts, pools = hosts.where(Host.cluster == cluster.id), pools.where(StoragePool.cluster == cluster.id)
            sums = dict(((kind), (used, limit)) for kind, used, limit in
                        HostCapacity.select(HostCapacity.capacity_type, pw.fn.SUM(HostCapacity.used),
                                            pw.fn.SUM(HostCapacity.capacity_limit))
                        .where(HostCapacity.host.in_(hosts)).group_by(HostCapacity.capacity_type).tuples())
            lines = {
                0: sums.get(HostCapacity.MEMORY, (0, 0)),
                1: sums.get(HostCapacity.CPU, (0, 0)),
            }
            pool_sum = pools.select(pw.fn.SUM(StoragePool.used_bytes), pw.fn.SUM(StoragePool.allocated_bytes),
                                    pw.fn.SUM(StoragePool.capacity_bytes)).tuples().first() or (0, 0, 0)
            used, allocated, total = (int(v or 0) for v in pool_sum)
            lines[2] = (used, total)
            lines[3] = (allocated, int(total * factor))
            if pod is None and cluster is None:
                store = (ImageStore.select(pw.fn.SUM(ImageStore.used_bytes), pw.fn.SUM(ImageStore.capacity_bytes))
                         .where(ImageStore.zone == z.id, ImageStore.removed.is_null()).tuples().first())
                lines[6] = tuple(int(v or 0) for v in (store or (0, 0)))
                networks = Network.select().where(Network.zone == z.id, Network.removed.is_null())
                addresses = sum(n.end_ip - n.start_ip + 1 for n in networks)
                in_use = Nic.select().where(Nic.network.in_(networks.select(Network.id))).count()
                lines[8] = (in_use, addresses)
            cores_used = (VirtualMachine.select(pw.fn.SUM(VirtualMachine.cpu_number))
                          .where(VirtualMachine.host.in_(hosts), VirtualMachine.removed.is_null(),
                                 VirtualMachine.state.in_(HOLDING_STATES)).scalar())
            cores_total = Host.select(pw.fn.SUM(Host.cpu_cores)).where(Host.id.in_(hosts)).scalar()
            lines[90] = (int(cores_used or 0), int(cores_total or 0))
            for kind, (used_value, total_value) in sorted(lines.items()):
                if capacity_type is not None and kind != capacity_type:
                    continue
                out.append(CapacitySummary(kind, z, pod, cluster, int(used_value or 0), int(total_value or 0)))
        if (sort_by or "").lower() == "usage":
            out.sort(key=lambda c: -c.percent_used)
        return out

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def _root_only(caller: Caller, what: str) -> None:
        if not caller.is_root_admin:
            raise PermissionDenied(f"Account {caller.account_name} does not have permission to {what}")

    @staticmethod
    def _live(row, what: str) -> None:
        if row.removed is not None:
            raise InvalidParameterValue(f"Unable to find {what} by id {row.uuid}")

    def _hypervisor(self, name: str) -> str:
        for known in self.cloud.drivers:
            if known.lower() == (name or "").lower():
                return known
        for known in self.cloud.install_hints:
            if known.lower() == (name or "").lower():
                self.cloud.driver(known)  # not available here: says what to install
        raise InvalidParameterValue(f"Hypervisor type {name} is not supported; available: "
                                    f"{', '.join(sorted(self.cloud.drivers))}")


_ALL_REGIONS = Compiled(lambda: Region.select().order_by(Region.region_number), arity=0, model=Region)
