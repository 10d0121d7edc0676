"""Placement claims: a host (and storage for a new root disk) claimed for a VM before it starts, and
given back when the start does not happen there."""
from __future__ import annotations

from dataclasses import dataclass

from backends.compute.capacity import CapacityManager, Placement
from backends.compute.planner import DeploymentPlanner
from backends.compute.vm_rules import MiB
from backends.context import Caller
from backends.db import objects, write_tx
from backends.errors import InsufficientCapacity
from backends.models import Host, VirtualMachine, Volume


@dataclass
class Claim:
    """Capacity held for a VM's coming start: the planner's placement and the root disk bytes it took."""

    placement: Placement
    root_bytes: int


class PlacementClaims:
    def __init__(self, planner: DeploymentPlanner, capacity: CapacityManager):
        self.planner = planner
        self.capacity = capacity

    def place(self, caller: Caller, vms: list[VirtualMachine], minimum: int) -> dict[int, Claim]:
        """Claim a host, and storage for the root disk, for each of these new VMs now: as many as fit, at
        least ``minimum`` of them or none (InsufficientCapacity, every claim given back). For callers that
        must know before they answer (EC2's RunInstances); each VM's start then boots on its claim first.
        Returns ``{vm id: claim}``."""
        roots = {}
        for start in range(0, len(vms), 500):
            roots.update({v.vm_id: v for v in objects(Volume.select().where(
                Volume.vm.in_([vm.id for vm in vms[start:start + 500]]), Volume.volume_type == "ROOT",
                Volume.removed.is_null()))})
        placed = {}
        if _alike(vms, roots):  # a launch's: planned together, each host's share claimed at once
            first, root = vms[0], roots[vms[0].id]
            placements = self.planner.plan_many(
                len(vms), zone=first.zone, cpu_number=first.cpu_number, cpu_speed=first.cpu_speed,
                memory_mib=first.memory, root_size_bytes=root.size, hypervisor=first.hypervisor,
                host_tags=first.service_offering.host_tags)
            placed = {vm.id: Claim(placement, root.size) for vm, placement in zip(vms, placements)}
        else:
            for vm in vms:
                root = roots[vm.id]
                try:
                    placed[vm.id] = Claim(self.plan(vm, root, set(), None), root.size if root.pool_id is None else 0)
                except InsufficientCapacity:
                    break  # the VMs of one launch are alike: the next would not fit either
        if len(placed) < minimum:
            for vm in vms:
                if vm.id in placed:
                    self.release_claim(vm, placed[vm.id])
            zone = vms[0].zone.name if vms else ""
            raise InsufficientCapacity(f"Insufficient capacity: {len(placed)} of the {minimum} VMs asked for "
                                       f"fit in zone {zone}")
        return placed

    def plan(self, vm: VirtualMachine, root: Volume, avoid: set[int], pinned: Host | None) -> Placement:
        """A host for the VM (not one of ``avoid``; ``pinned`` if given), its capacity claimed."""
        return self.planner.plan(
            zone=vm.zone, cpu_number=vm.cpu_number, cpu_speed=vm.cpu_speed, memory_mib=vm.memory,
            root_size_bytes=root.size if root.pool_id is None else 0,
            hypervisor=vm.hypervisor, host_tags=vm.service_offering.host_tags, host=pinned,
            avoid_hosts=avoid, last_host=vm.last_host, account_id=vm.account_id,
            pool=root.pool if root.pool_id is not None else None)

    def release_claim(self, vm: VirtualMachine, claim: Claim) -> None:
        """Give back a claim that no start used."""
        self.capacity.release(claim.placement.host.id, vm.cpu_number * vm.cpu_speed, vm.memory * MiB)
        if claim.placement.pool is not None and claim.root_bytes:
            self.capacity.release_storage(claim.placement.pool.id, claim.root_bytes)

    def release_placement(self, vm: VirtualMachine, placement: Placement, root: Volume, first: bool) -> None:
        """Give back a placement a start tried and failed on (the root disk's pool too, on a first start)."""
        self.capacity.release(placement.host.id, vm.cpu_number * vm.cpu_speed, vm.memory * MiB)
        if placement.pool is not None and first and root.state == "Allocated":
            self.capacity.release_storage(placement.pool.id, root.size)
            with write_tx():
                Volume.update(pool=None).where(Volume.id == root.id).execute()
            root.pool = None


def _alike(vms: list[VirtualMachine], roots: dict[int, Volume]) -> bool:
    """New VMs of one shape in one zone, root disks of one size on no pool yet, no host to return to."""
    if len(vms) < 2:
        return False
    first, size = vms[0], roots[vms[0].id].size
    return all(vm.zone_id == first.zone_id and vm.service_offering_id == first.service_offering_id
               and (vm.cpu_number, vm.cpu_speed, vm.memory, vm.hypervisor)
               == (first.cpu_number, first.cpu_speed, first.memory, first.hypervisor)
               and vm.last_host_id is None and roots[vm.id].pool_id is None and roots[vm.id].size == size
               for vm in vms)
