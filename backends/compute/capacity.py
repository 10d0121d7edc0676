"""Host and storage capacity, kept in counter rows so placement never scans VMs.

Each host has a CPU row (MHz) and a MEMORY row (bytes) in ``host_capacity``;
each primary storage pool carries ``allocated_bytes``. A claim is a
conditional UPDATE (``used + x <= capacity_limit``): the database decides, so
two concurrent claims can never over-commit a host, and the schema's CHECK
constraint backs that up. ``recalculate`` rebuilds every counter from the VMs
and volumes that hold capacity (start-up after a crash, drift repair).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import peewee as pw

from backends.core.config import ConfigManager
from backends.core.fsm import VM_HOLDING_HOST
from backends.db import write_tx
from backends.models import Cluster, Host, HostCapacity, Pod, StoragePool, VirtualMachine, Volume
from backends.storage.pool_capacity import PoolCapacity

log = logging.getLogger(__name__)

MiB = 1 << 20


@dataclass
class Placement:
    """Where a VM goes: the host whose capacity is now claimed for it, and its root disk's pool."""

    host: Host
    pool: StoragePool | None = None

    @property
    def cluster(self) -> Cluster:
        return self.host.cluster

    @property
    def pod(self) -> Pod:
        return self.host.pod


class _Refused(Exception):
    """Rolls a partial claim back."""


class CapacityManager:
    def __init__(self, config: ConfigManager):
        self.config = config
        self.pools = PoolCapacity(config)  # primary storage: the storage area's, root disks claim through it

    # ----------------------------------------------------------------- hosts
    def claim(self, host_id: int, cpu_mhz: int, mem_bytes: int) -> bool:
        """Take CPU and memory on a host if both fit under its limits; False if not. One conditional
        UPDATE of both counters: it must change both rows, else neither is kept."""
        amount = pw.Case(HostCapacity.capacity_type, [(HostCapacity.CPU, cpu_mhz)], mem_bytes)
        try:
            with write_tx():
                taken = (HostCapacity
                         .update(used=HostCapacity.used + amount)
                         .where(HostCapacity.host == host_id,
                                HostCapacity.capacity_type.in_((HostCapacity.CPU, HostCapacity.MEMORY)),
                                HostCapacity.used + HostCapacity.reserved + amount <= HostCapacity.capacity_limit)
                         .execute())
                if taken != 2:
                    raise _Refused()
        except _Refused:
            return False
        except pw.IntegrityError:  # the CHECK constraint caught a racing writer
            return False
        return True

    def release(self, host_id: int, cpu_mhz: int, mem_bytes: int) -> None:
        """Give CPU and memory back; a counter never goes below zero (drift is logged)."""
        with write_tx():
            for kind, amount in ((HostCapacity.CPU, cpu_mhz), (HostCapacity.MEMORY, mem_bytes)):
                row = HostCapacity.get_or_none(HostCapacity.host == host_id, HostCapacity.capacity_type == kind)
                if row is None:
                    continue
                if row.used < amount:
                    log.warning("capacity drift on host %s type %s: releasing %s of %s used", host_id, kind,
                                amount, row.used)
                remaining = pw.Case(None, [(HostCapacity.used >= amount, HostCapacity.used - amount)], 0)
                HostCapacity.update(used=remaining).where(HostCapacity.id == row.id).execute()

    def host_usage(self, host: Host) -> dict:
        usage = {}
        for row in HostCapacity.select().where(HostCapacity.host == host.id):
            prefix = "cpu" if row.capacity_type == HostCapacity.CPU else "mem"
            usage.update({f"{prefix}_used": row.used, f"{prefix}_total": row.total,
                          f"{prefix}_limit": row.capacity_limit})
        return usage

    # --------------------------------------------------------------- storage
    def claim_storage(self, pool_id: int, nbytes: int) -> bool:
        """Allocate ``nbytes`` on a pool under the storage area's rules (``PoolCapacity.claim``)."""
        return self.pools.claim(pool_id, nbytes)

    def release_storage(self, pool_id: int, nbytes: int) -> None:
        self.pools.release(pool_id, nbytes)

    # ------------------------------------------------------------ recompute
    def recalculate(self) -> dict[int, tuple[int, int]]:
        """Rebuild every counter from what holds capacity; returns {host id: (old, new) memory}."""
        holders = (VirtualMachine.select(
            VirtualMachine.host,
            pw.fn.SUM(VirtualMachine.cpu_number * VirtualMachine.cpu_speed).alias("cpu"),
            pw.fn.SUM(VirtualMachine.memory).alias("mem"))
            .where(VirtualMachine.removed.is_null(), VirtualMachine.host.is_null(False),
                   VirtualMachine.state.in_(VM_HOLDING_HOST))
            .group_by(VirtualMachine.host))
        wanted = {row.host_id: (int(row.cpu or 0), int(row.mem or 0) * MiB) for row in holders}
        corrections = {}
        with write_tx():
            for row in HostCapacity.select():
                cpu, mem = wanted.get(row.host_id, (0, 0))
                value = cpu if row.capacity_type == HostCapacity.CPU else mem
                if row.used != value:
                    if row.capacity_type == HostCapacity.MEMORY:
                        corrections[row.host_id] = (row.used, value)
                    # A limit lowered under running VMs cannot hold them all: keep the CHECK satisfied.
                    value = min(value, row.capacity_limit - row.reserved)
                    HostCapacity.update(used=value).where(HostCapacity.id == row.id).execute()
            allocated = dict(Volume.select(Volume.pool, pw.fn.SUM(Volume.size))
                             .where(Volume.removed.is_null(), Volume.pool.is_null(False))
                             .group_by(Volume.pool).tuples())
            for pool in StoragePool.select(StoragePool.id, StoragePool.allocated_bytes):
                value = int(allocated.get(pool.id, 0) or 0)
                if pool.allocated_bytes != value:
                    StoragePool.update(allocated_bytes=value).where(StoragePool.id == pool.id).execute()
        if corrections:
            log.warning("capacity recalculated for %d host(s): %s", len(corrections), corrections)
        return corrections
