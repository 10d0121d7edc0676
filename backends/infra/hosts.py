"""Hosts: adding one through its hypervisor's driver, its capacity rows, listing and updating them.

A host gets its two capacity rows (CPU MHz, memory bytes) when it is added, with limits = total x its
cluster's over-commit ratio; placement claims against those rows (see compute/capacity.py).
"""
from __future__ import annotations

import threading

import peewee as pw

from backends.context import Caller
from backends.core import fsm, prefetch
from backends.core.checks import live, root_only
from backends.core.events import EventManager
from backends.db import page_of, write_tx
from backends.drivers.base import HostRef
from backends.errors import InvalidParameterValue
from backends.infra.hypervisors import Hypervisors
from backends.models import Cluster, Host, HostCapacity, Pod, Zone, utcnow


class HostManager:
    def __init__(self, events: EventManager, hypervisors: Hypervisors):
        self._events = events
        self._hypervisors = hypervisors
        self._refs: dict[int, HostRef] = {}
        self._refs_lock = threading.Lock()

    def add_host(self, caller: Caller, zone: Zone, pod: Pod, *, url: str, hypervisor: str, cluster: Cluster,
                 host_tags: str = "", username: str | None = None, password: str | None = None) -> Host:
        """Connect to the host through its driver and start managing it (credentials are never stored
        in clear or logged; the simulator and libvirt's URIs do not need them)."""
        root_only(caller, "add hosts")
        live(cluster, "cluster")
        if cluster.pod_id != pod.id or cluster.zone_id != zone.id:
            raise InvalidParameterValue(f"Cluster {cluster.name} is not in pod {pod.name} of zone {zone.name}")
        hypervisor = self._hypervisors.canonical(hypervisor)
        if hypervisor != cluster.hypervisor:
            raise InvalidParameterValue(f"Cannot add a {hypervisor} host to {cluster.hypervisor} cluster "
                                        f"{cluster.name}")
        driver = self._hypervisors.driver(hypervisor)
        info = driver.connect_host(HostRef(url=url, zone=zone.uuid, pod=pod.uuid, cluster=cluster.uuid))
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
                self._events.record(caller, "HOST.ADD", f"Added host {info.name} to cluster {cluster.name}",
                                    resource=host)
        except pw.IntegrityError:
            raise taken from None
        return host

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
        root_only(caller, "list hosts")
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
        total, hosts = page_of(query.order_by(Host.id), page, pagesize)
        # A listing shows each host's zone, pod, cluster and capacity rows: loaded for the whole page at once.
        prefetch.attach(hosts, "zone", "pod", "cluster")
        prefetch.attach_children(hosts, "capacities", HostCapacity, "host")
        return total, hosts

    def update_host(self, caller: Caller, host: Host, *, allocation_state: str | None = None,
                    host_tags: str | None = None) -> Host:
        """Enable/Disable a host for new placements, or replace its tags."""
        root_only(caller, "update hosts")
        live(host, "host")
        with write_tx():
            if allocation_state is not None:
                event = {"enable": "Enable", "disable": "Disable"}.get(allocation_state.lower())
                if event is None:
                    raise InvalidParameterValue(f"Invalid allocation state {allocation_state}: use Enable or Disable")
                fsm.transition(host, fsm.HOST_RESOURCE, event, field="resource_state")
            if host_tags is not None:
                Host.update(host_tags=host_tags).where(Host.id == host.id).execute()
            self._events.record(caller, "HOST.UPDATE", f"Updated host {host.name}", resource=host)
        return Host.get_by_id(host.id)
