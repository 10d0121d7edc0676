"""The deployment planner: zone -> pod -> cluster -> host first fit, then a claim.

Candidates come from one indexed query over hosts and their two capacity rows
(never over VMs), so placement time does not grow with the number of VMs. A
candidate is only ours once ``CapacityManager.claim`` succeeded: when another
deploy wins the race for it, the next candidate is tried.
"""
from __future__ import annotations

from typing import Iterable

import peewee as pw

from backends.db import is_sqlite
from backends.errors import InsufficientCapacity
from backends.managers.capacity import MiB, Placement
from backends.models import Cluster, Host, HostCapacity, Pod, StoragePool, Zone

CANDIDATES = 16  # hosts fetched per query; more are only needed when claims keep losing races


class DeploymentPlanner:
    def __init__(self, cloud):
        self.cloud = cloud

    def plan(self, *, zone: Zone, cpu_number: int, cpu_speed: int, memory_mib: int, root_size_bytes: int = 0,
             hypervisor: str | None = None, host_tags: str | None = None, host: Host | None = None,
             cluster: Cluster | None = None, avoid_hosts: Iterable[int] = (), last_host: Host | None = None,
             account_id: int | None = None, pool: StoragePool | None = None) -> Placement:
        """Find a host (and, for a new root disk, a pool) and claim capacity on it.

        The returned placement's host capacity is held for the caller, who
        releases it (``capacity.release``) if the VM does not end up there;
        likewise the pool's storage when one was claimed here.
        """
        need_cpu, need_mem = cpu_number * cpu_speed, memory_mib * MiB
        avoid = set(avoid_hosts)
        tags = {t.strip() for t in (host_tags or "").split(",") if t.strip()}
        query = self._candidates(zone, need_cpu, need_mem, cpu_speed, hypervisor, avoid)
        if host is not None:
            query = query.where(Host.id == host.id)
        if cluster is not None:
            query = query.where(Host.cluster == cluster.id)
        if pool is not None and pool.scope == "CLUSTER":
            query = query.where(Host.cluster == pool.cluster_id)
        if pool is not None and pool.scope == "HOST":
            query = query.where(Host.id.in_(_hosts_of_pool(pool)))

        ordered = []
        if last_host is not None and host is None and last_host.id not in avoid:
            ordered += list(query.where(Host.id == last_host.id))
        ordered += list(self._ordered(query, limit=None if tags else CANDIDATES))
        tried_clusters_without_pool: set[int] = set()
        seen: set[int] = set()
        for candidate in ordered:
            if candidate.id in seen or (tags and not tags <= _tags(candidate.host_tags)):
                continue
            seen.add(candidate.id)
            if candidate.cluster_id in tried_clusters_without_pool:
                continue
            if not self.cloud.capacity.claim(candidate.id, need_cpu, need_mem):
                continue  # another deploy took it meanwhile
            chosen_pool = pool
            if pool is None and root_size_bytes > 0:
                chosen_pool = self._claim_pool(zone, candidate, root_size_bytes)
                if chosen_pool is None:
                    self.cloud.capacity.release(candidate.id, need_cpu, need_mem)
                    tried_clusters_without_pool.add(candidate.cluster_id)
                    continue
            return Placement(host=candidate, cluster=candidate.cluster, pod=candidate.pod, pool=chosen_pool)
        if host is not None:
            raise InsufficientCapacity(f"Host {host.name} cannot take {cpu_number} x {cpu_speed} MHz, "
                                       f"{memory_mib} MiB")
        raise InsufficientCapacity(f"Unable to find a host with capacity for {cpu_number} x {cpu_speed} MHz, "
                                   f"{memory_mib} MiB in zone {zone.name}")

    # -------------------------------------------------------------- queries
    @staticmethod
    def _candidates(zone, need_cpu, need_mem, cpu_speed, hypervisor, avoid):
        cpu = HostCapacity.alias("cpu")
        mem = HostCapacity.alias("mem")
        query = (Host.select(Host, Cluster, Pod)
                 .join(Cluster, on=(Host.cluster == Cluster.id))
                 .switch(Host).join(Pod, on=(Host.pod == Pod.id))
                 .switch(Host).join(cpu, on=((cpu.host == Host.id) & (cpu.capacity_type == HostCapacity.CPU)))
                 .switch(Host).join(mem, on=((mem.host == Host.id) & (mem.capacity_type == HostCapacity.MEMORY)))
                 .where(Host.zone == zone.id, Host.removed.is_null(), Host.status == "Up",
                        Host.resource_state == "Enabled", Host.host_type == "Routing",
                        Cluster.allocation_state == "Enabled", Pod.allocation_state == "Enabled",
                        Host.cpu_speed >= cpu_speed,
                        cpu.used + cpu.reserved + need_cpu <= cpu.capacity_limit,
                        mem.used + mem.reserved + need_mem <= mem.capacity_limit))
        if hypervisor:
            query = query.where(Host.hypervisor == hypervisor)
        if avoid:
            query = query.where(Host.id.not_in(list(avoid)))
        query._mem_alias = mem  # for ordering by consumption
        return query

    def _ordered(self, query, limit):
        algorithm = (self.cloud.config.get("vm.allocation.algorithm") or "firstfit").lower()
        if algorithm == "random":
            query = query.order_by(pw.fn.Random() if is_sqlite() else pw.fn.RAND())
        elif algorithm == "firstfitleastconsumed":
            query = query.order_by(query._mem_alias.used, Host.id)
        else:
            query = query.order_by(Host.id)
        return query.limit(limit) if limit else query

    def _claim_pool(self, zone, host: Host, nbytes: int) -> StoragePool | None:
        pools = (StoragePool.select()
                 .where(StoragePool.removed.is_null(), StoragePool.status == "Up",
                        ((StoragePool.scope == "CLUSTER") & (StoragePool.cluster == host.cluster_id)) |
                        ((StoragePool.scope == "ZONE") & (StoragePool.zone == zone.id)))
                 .order_by(StoragePool.scope, StoragePool.id))  # CLUSTER before ZONE
        for candidate in pools:
            if self.cloud.capacity.claim_storage(candidate.id, nbytes):
                return candidate
        return None


def _tags(text: str) -> set[str]:
    return {t.strip() for t in (text or "").split(",") if t.strip()}


def _hosts_of_pool(pool: StoragePool):
    return Host.select(Host.id).where(Host.cluster == pool.cluster_id)
