"""The deployment planner: zone -> pod -> cluster -> host first fit, then a claim.

Candidates come from one indexed query over hosts and their two capacity rows
(never over VMs), so placement time does not grow with the number of VMs. A
candidate is only ours once ``CapacityManager.claim`` succeeded: when another
deploy wins the race for it, the next candidate is tried.
"""
from __future__ import annotations

from typing import Iterable

from backends.compute.capacity import CapacityManager, MiB, Placement
from backends.core.config import ConfigManager
from backends.db import database, is_sqlite
from backends.errors import InsufficientCapacity
from backends.models import Cluster, Host, HostCapacity, StoragePool, Zone

CANDIDATES = 16  # hosts fetched per query; more are only needed when claims keep losing races


class DeploymentPlanner:
    def __init__(self, config: ConfigManager, capacity: CapacityManager):
        self.config = config
        self.capacity = capacity

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
        cluster_id = cluster.id if cluster is not None else None
        if pool is not None and pool.scope in ("CLUSTER", "HOST"):
            if cluster_id is not None and cluster_id != pool.cluster_id:
                raise InsufficientCapacity(f"Storage pool {pool.name} is not reachable from cluster {cluster.name}")
            cluster_id = pool.cluster_id

        def candidates(skip_hosts, skip_clusters, **narrow):
            return self._candidates(zone, need_cpu, need_mem, cpu_speed, hypervisor=hypervisor,
                                    avoid=sorted(set(avoid) | skip_hosts), skip_clusters=sorted(skip_clusters),
                                    cluster_id=cluster_id, **narrow)

        tried: set[int] = set()
        clusters_without_pool: set[int] = set()
        if last_host is not None and host is None and last_host.id not in avoid:
            batch = candidates(tried, clusters_without_pool, host_id=last_host.id)
        else:
            batch = []
        limit = None if tags else CANDIDATES
        while True:
            if not batch:
                batch = candidates(tried, clusters_without_pool, host_id=host.id if host is not None else None,
                                   limit=limit)
                if not batch:
                    break
            for host_id, host_cluster, host_tag_text in batch:
                if host_id in tried or host_cluster in clusters_without_pool:
                    continue
                tried.add(host_id)
                if tags and not tags <= _tags(host_tag_text):
                    continue
                if not self.capacity.claim(host_id, need_cpu, need_mem):
                    continue  # another deploy took it meanwhile
                chosen_pool = pool
                if pool is None and root_size_bytes > 0:
                    chosen_pool = self._claim_pool(zone, host_cluster, root_size_bytes)
                    if chosen_pool is None:
                        self.capacity.release(host_id, need_cpu, need_mem)
                        clusters_without_pool.add(host_cluster)
                        continue
                return Placement(host=Host.get_by_id(host_id), pool=chosen_pool)
            if limit is None or host is not None:
                break  # that batch was every candidate there is
            batch = []
        if host is not None:
            raise InsufficientCapacity(f"Host {host.name} cannot take {cpu_number} x {cpu_speed} MHz, "
                                       f"{memory_mib} MiB")
        raise InsufficientCapacity(f"Unable to find a host with capacity for {cpu_number} x {cpu_speed} MHz, "
                                   f"{memory_mib} MiB in zone {zone.name}")

    def plan_many(self, count: int, *, zone: Zone, cpu_number: int, cpu_speed: int, memory_mib: int,
                  root_size_bytes: int = 0, hypervisor: str | None = None, host_tags: str | None = None
                  ) -> list[Placement]:
        """Placements for up to ``count`` alike new VMs (a launch's), claimed: the hosts :meth:`plan` would
        pick for them one after another (first fit), each host's share and its pool's claimed in one statement
        each; fewer when the zone has room for fewer. Other allocation algorithms re-order the hosts after each
        claim, so they are planned one VM at a time."""
        if (self.config.get("vm.allocation.algorithm") or "firstfit").lower() != "firstfit":
            return self._plan_each(count, zone=zone, cpu_number=cpu_number, cpu_speed=cpu_speed,
                                   memory_mib=memory_mib, root_size_bytes=root_size_bytes, hypervisor=hypervisor,
                                   host_tags=host_tags)
        need_cpu, need_mem = cpu_number * cpu_speed, memory_mib * MiB
        tags = _tags(host_tags)
        placements: list[Placement] = []
        tried: set[int] = set()
        clusters_without_pool: set[int] = set()
        while len(placements) < count:
            batch = self._candidates(zone, need_cpu, need_mem, cpu_speed, hypervisor=hypervisor, avoid=sorted(tried),
                                     skip_clusters=sorted(clusters_without_pool),
                                     limit=None if tags else CANDIDATES, room=True)
            for host_id, host_cluster, host_tag_text, free_cpu, free_mem in batch:
                tried.add(host_id)
                if host_cluster in clusters_without_pool or (tags and not tags <= _tags(host_tag_text)):
                    continue
                wanted = min(count - len(placements), free_cpu // need_cpu if need_cpu else count,
                             free_mem // need_mem if need_mem else count)
                while wanted > 0 and not self.capacity.claim(host_id, wanted * need_cpu, wanted * need_mem):
                    wanted //= 2  # another deploy took some of it meanwhile
                if wanted <= 0:
                    continue
                pools = [(None, wanted)]
                if root_size_bytes > 0:
                    pools = self._claim_pools(zone, host_cluster, root_size_bytes, wanted)
                    placed = sum(n for _, n in pools)
                    if placed < wanted:
                        self.capacity.release(host_id, (wanted - placed) * need_cpu, (wanted - placed) * need_mem)
                        clusters_without_pool.add(host_cluster)
                host = Host.get_by_id(host_id) if pools else None
                placements += [Placement(host=host, pool=pool) for pool, n in pools for _ in range(n)]
                if len(placements) == count:
                    break
            if not batch or tags:
                break  # no host has room left (with tags, that batch was every candidate there is)
        return placements

    def _plan_each(self, count: int, **spec) -> list[Placement]:
        placements = []
        for _ in range(count):
            try:
                placements.append(self.plan(**spec))
            except InsufficientCapacity:
                break
        return placements

    def _claim_pools(self, zone, cluster_id: int, nbytes: int, count: int) -> list[tuple[StoragePool, int]]:
        """Storage for ``count`` disks of ``nbytes`` on the pools a VM of the cluster would get them from (as
        :meth:`_claim_pool`, in its order), as many per pool as it holds: ``[(pool, disks)]``."""
        claimed = []
        for candidate in _pools(zone, cluster_id):
            fits = min(count, self.capacity.pools.room(candidate) // nbytes)
            while fits > 0 and not self.capacity.claim_storage(candidate.id, fits * nbytes):
                fits //= 2
            if fits > 0:
                claimed.append((candidate, fits))
                count -= fits
            if count == 0:
                break
        return claimed

    # -------------------------------------------------------------- queries
    def _candidates(self, zone, need_cpu, need_mem, cpu_speed, *, hypervisor=None, avoid=(), host_id=None,
                    cluster_id=None, skip_clusters=(), limit=None, room: bool = False) -> list[tuple]:
        """(host id, cluster id, host tags) of hosts with room, in allocation order; with ``room``, also the
        CPU MHz and memory bytes each has free.

        Hand-written SQL on purpose: this runs for every placement, and building
        the equivalent peewee query costs more than executing it.
        """
        db = database.obj
        p = db.param
        free = (", cpu.capacity_limit - cpu.used - cpu.reserved, mem.capacity_limit - mem.used - mem.reserved"
                if room else "")
        sql = [f"""SELECT h.id, h.cluster_id, h.host_tags{free} FROM host h
            JOIN cluster c ON c.id = h.cluster_id
            JOIN pod p ON p.id = h.pod_id
            JOIN host_capacity cpu ON cpu.host_id = h.id AND cpu.capacity_type = {HostCapacity.CPU}
            JOIN host_capacity mem ON mem.host_id = h.id AND mem.capacity_type = {HostCapacity.MEMORY}
            WHERE h.zone_id = {p} AND h.removed IS NULL AND h.status = 'Up' AND h.resource_state = 'Enabled'
              AND h.host_type = 'Routing' AND c.allocation_state = 'Enabled' AND p.allocation_state = 'Enabled'
              AND h.cpu_speed >= {p}
              AND cpu.used + cpu.reserved + {p} <= cpu.capacity_limit
              AND mem.used + mem.reserved + {p} <= mem.capacity_limit"""]
        params: list = [zone.id, cpu_speed, need_cpu, need_mem]
        for column, value in (("h.hypervisor", hypervisor), ("h.id", host_id), ("h.cluster_id", cluster_id)):
            if value is not None:
                sql.append(f"AND {column} = {p}")
                params.append(value)
        for column, values in (("h.id", avoid), ("h.cluster_id", skip_clusters)):
            if values:
                sql.append(f"AND {column} NOT IN ({', '.join([p] * len(values))})")
                params.extend(values)
        algorithm = (self.config.get("vm.allocation.algorithm") or "firstfit").lower()
        if algorithm == "random":
            sql.append("ORDER BY " + ("RANDOM()" if is_sqlite() else "RAND()"))
        elif algorithm == "firstfitleastconsumed":
            sql.append("ORDER BY mem.used, h.id")
        else:
            sql.append("ORDER BY h.id")
        if limit:
            sql.append(f"LIMIT {int(limit)}")
        return list(db.execute_sql("\n".join(sql), params).fetchall())

    def _claim_pool(self, zone, cluster_id: int, nbytes: int) -> StoragePool | None:
        for candidate in _pools(zone, cluster_id):
            if self.capacity.claim_storage(candidate.id, nbytes):
                return candidate
        return None


def _pools(zone, cluster_id: int):
    """The pools a VM of the cluster gets a new disk from, in the order they are tried."""
    return (StoragePool.select()
            .where(StoragePool.removed.is_null(), StoragePool.status == "Up",
                   ((StoragePool.scope == "CLUSTER") & (StoragePool.cluster == cluster_id)) |
                   ((StoragePool.scope == "ZONE") & (StoragePool.zone == zone.id)))
            .order_by(StoragePool.scope, StoragePool.id))  # CLUSTER before ZONE


def _tags(text: str) -> set[str]:
    return {t.strip() for t in (text or "").split(",") if t.strip()}


