"""Primary storage capacity: the bytes allocated on each pool, claimed and given back.

A pool may take a volume while ``allocated + size <= capacity x storage.overprovisioning.factor x
pool.storage.allocated.capacity.disablethreshold`` and its used bytes stay within ``capacity x
pool.storage.capacity.disablethreshold`` (CloudStack's rules, backend.md section 2.8). A claim is one
conditional UPDATE, as host capacity's: the database decides, so concurrent claims can never
over-allocate a pool; the schema's CHECK keeps the counter from going negative. Root disks (compute's
placement) and data volumes (this area) claim through the same object.
"""
from __future__ import annotations

import peewee as pw

from backends.core.config import ConfigManager
from backends.db import write_tx
from backends.models import StoragePool


class PoolCapacity:
    def __init__(self, config: ConfigManager):
        self.config = config

    def allocation_factor(self) -> float:
        """How many times its capacity a pool may have allocated (over-provisioning x disable threshold)."""
        return (self.config.get_float("storage.overprovisioning.factor")
                * self.config.get_float("pool.storage.allocated.capacity.disablethreshold"))

    def room(self, pool: StoragePool) -> int:
        """Bytes the pool could still take now (0 when its used bytes are past the threshold)."""
        if pool.used_bytes > pool.capacity_bytes * self.config.get_float("pool.storage.capacity.disablethreshold"):
            return 0
        return max(0, int(pool.capacity_bytes * self.allocation_factor()) - pool.allocated_bytes)

    def claim(self, pool_id: int, nbytes: int) -> bool:
        """Allocate ``nbytes`` on the pool if it fits under the rules above; False if not."""
        # The factors are sent as they are: compared with a BIGINT column, peewee would make them integers.
        factor = pw.Value(self.allocation_factor(), converter=False)
        used_limit = pw.Value(self.config.get_float("pool.storage.capacity.disablethreshold"), converter=False)
        with write_tx():
            taken = (StoragePool
                     .update(allocated_bytes=StoragePool.allocated_bytes + nbytes)
                     .where(StoragePool.id == pool_id, StoragePool.removed.is_null(),
                            StoragePool.allocated_bytes + nbytes <= StoragePool.capacity_bytes * factor,
                            StoragePool.used_bytes <= StoragePool.capacity_bytes * used_limit)
                     .execute())
        return bool(taken)

    def release(self, pool_id: int, nbytes: int) -> None:
        """Give ``nbytes`` back (the counter never drops below zero)."""
        with write_tx():
            (StoragePool
             .update(allocated_bytes=pw.Case(None, [(StoragePool.allocated_bytes >= nbytes,
                                                     StoragePool.allocated_bytes - nbytes)], 0))
             .where(StoragePool.id == pool_id).execute())
