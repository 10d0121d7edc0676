"""The capacity report (listCapacity): used and total of each kind of capacity per zone, narrowed to a
pod or cluster when asked, summed by SQL (GROUP BY) rather than row by row."""
from __future__ import annotations

from dataclasses import dataclass

import peewee as pw

from backends.context import Caller
from backends.core.checks import root_only
from backends.core.config import ConfigManager
from backends.core.fsm import VM_HOLDING_HOST
from backends.models import (Cluster, Host, HostCapacity, ImageStore, Network, Nic, Pod, StoragePool, VirtualMachine,
                             Zone)


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


class CapacityReport:
    def __init__(self, config: ConfigManager):
        self._config = config

    def list_capacity(self, caller: Caller, *, zone=None, pod=None, cluster=None, capacity_type=None,
                      sort_by=None, keyword=None) -> list[CapacitySummary]:
        """Aggregated capacity per zone (narrowed to a pod or cluster when given), by SQL GROUP BY;
        ``keyword`` matches the zone's name."""
        root_only(caller, "list capacity")
        zones = Zone.select().where(Zone.removed.is_null())
        for within in (zone, pod, cluster):  # a pod or cluster lies in one zone: no lines for the others
            if within is not None:
                zones = zones.where(Zone.id == (within.id if within is zone else within.zone_id))
        if keyword:
            zones = zones.where(Zone.name.contains(keyword))
        factor = self._config.get_float("storage.overprovisioning.factor")
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
                                 VirtualMachine.state.in_(VM_HOLDING_HOST)).scalar())
            cores_total = Host.select(pw.fn.SUM(Host.cpu_cores)).where(Host.id.in_(hosts)).scalar()
            lines[90] = (int(cores_used or 0), int(cores_total or 0))
            for kind, (used_value, total_value) in sorted(lines.items()):
                if capacity_type is not None and kind != capacity_type:
                    continue
                out.append(CapacitySummary(kind, z, pod, cluster, int(used_value or 0), int(total_value or 0)))
        if (sort_by or "").lower() == "usage":
            out.sort(key=lambda c: -c.percent_used)
        return out
