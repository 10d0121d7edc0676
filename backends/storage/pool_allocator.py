"""The primary storage pool allocator: which pool a new disk of a VM's cluster goes to (backend.md section 2.9).

Candidates are the Up pools of the cluster (CLUSTER scope), then the zone's zone-wide pools, whose storage
tags include every tag the disk offering asks for; the first that takes the bytes (a conditional claim
through :class:`PoolCapacity`) wins. ``vm.allocation.algorithm`` orders them as CloudStack's allocators do:
``firstfitleastconsumed`` puts the pool with the most room first, otherwise cluster pools come before
zone-wide ones, oldest first.
"""
from __future__ import annotations

from backends.core.config import ConfigManager
from backends.models import StoragePool
from backends.storage.pool_capacity import PoolCapacity


def tag_set(text: str | None) -> set[str]:
    return {t.strip() for t in (text or "").split(",") if t.strip()}


class PoolAllocator:
    def __init__(self, config: ConfigManager, capacity: PoolCapacity):
        self.config = config
        self.capacity = capacity

    def candidates(self, *, zone_id: int, cluster_id: int | None, tags: str | None = None,
                   avoid: set[int] = frozenset()) -> list[StoragePool]:
        """The pools a disk of a VM in ``cluster_id`` may live on, in the order they are tried."""
        reach = (StoragePool.scope == "ZONE") & (StoragePool.zone == zone_id)
        if cluster_id is not None:
            reach |= (StoragePool.scope.in_(("CLUSTER", "HOST"))) & (StoragePool.cluster == cluster_id)
        pools = [p for p in StoragePool.select().where(StoragePool.removed.is_null(), StoragePool.status == "Up",
                                                       reach).order_by(StoragePool.scope, StoragePool.id)
                 if p.id not in avoid and tag_set(tags) <= tag_set(p.tags)]
        if (self.config.get("vm.allocation.algorithm") or "").lower() == "firstfitleastconsumed":
            pools.sort(key=lambda p: -self.capacity.room(p))
        return pools

    def allocate(self, *, zone_id: int, cluster_id: int | None, nbytes: int, tags: str | None = None,
                 avoid: set[int] = frozenset()) -> StoragePool | None:
        """A pool with ``nbytes`` now claimed on it, or None when none of the candidates takes them."""
        for pool in self.candidates(zone_id=zone_id, cluster_id=cluster_id, tags=tags, avoid=avoid):
            if self.capacity.claim(pool.id, nbytes):
                return pool
        return None
