"""Which host a storage operation on a pool runs through: the pool's disks are reached from its hosts."""
from __future__ import annotations

from backends.models import Host, StoragePool


def host_for_pool(pool: StoragePool) -> Host | None:
    """An Up, enabled routing host that reaches ``pool`` (one of its cluster's, or of its zone's hypervisor for
    a zone-wide pool); None when none is."""
    query = Host.select().where(Host.removed.is_null(), Host.status == "Up", Host.host_type == "Routing",
                                Host.zone == pool.zone_id)
    if pool.scope in ("CLUSTER", "HOST") and pool.cluster_id is not None:
        query = query.where(Host.cluster == pool.cluster_id)
    elif pool.hypervisor:
        query = query.where(Host.hypervisor == pool.hypervisor)
    return query.order_by(Host.id).first()
