"""Live migration: a running VM moved to another host of its cluster (asked for by a root admin, or to
empty a host going into maintenance)."""
from __future__ import annotations

from backends.compute.capacity import CapacityManager
from backends.compute.lifecycle import VmLifecycle
from backends.compute.planner import DeploymentPlanner
from backends.compute.vm_rules import MiB
from backends.context import Caller
from backends.core import fsm
from backends.core.events import EventManager
from backends.core.jobs import JobResult
from backends.db import write_tx
from backends.drivers.base import VmSpec
from backends.errors import DriverError, InsufficientCapacity, InvalidParameterValue, InvalidState, PermissionDenied
from backends.infra.hypervisors import Hypervisors
from backends.models import Host, VirtualMachine, Volume


class VmMigration:
    def __init__(self, events: EventManager, capacity: CapacityManager, planner: DeploymentPlanner,
                 hypervisors: Hypervisors, lifecycle: VmLifecycle):
        self.events = events
        self.capacity = capacity
        self.planner = planner
        self.hypervisors = hypervisors
        self.lifecycle = lifecycle

    def migrate_work(self, caller: Caller, vm: VirtualMachine, host: Host | None = None):
        if not caller.is_root_admin:
            raise PermissionDenied("Only a root admin can migrate VMs")
        if vm.state != "Running":
            raise InvalidState(f"VM {vm.uuid} is not running; only running VMs can be live-migrated")
        if host is not None and (host.id == vm.host_id):
            raise InvalidParameterValue("Cannot migrate VM: the destination host is the VM's current host")
        if host is not None and host.cluster_id != vm.host.cluster_id:
            raise InvalidParameterValue("Cannot migrate VM: the destination host is not in the VM's cluster")
        return lambda: self._do_migrate(caller, vm.id, host)

    def _do_migrate(self, caller: Caller | None, vm_id: int, destination: Host | None) -> JobResult:
        vm = VirtualMachine.get_by_id(vm_id)
        if vm.state != "Running":
            raise InvalidState(f"VM {vm.uuid} is in state {vm.state} and cannot be migrated")
        source = vm.host
        placement = self.planner.plan(
            zone=vm.zone, cpu_number=vm.cpu_number, cpu_speed=vm.cpu_speed, memory_mib=vm.memory,
            root_size_bytes=0, hypervisor=vm.hypervisor, host_tags=vm.service_offering.host_tags,
            host=destination, cluster=source.cluster, avoid_hosts={source.id}, account_id=vm.account_id,
            pool=vm.volumes.where(Volume.volume_type == "ROOT").first().pool)
        target = placement.host
        with write_tx():
            fsm.transition(vm, fsm.VM, "MigrationRequested", host=target.id)
        try:
            spec = VmSpec(name=vm.instance_name, cpus=vm.cpu_number, cpu_speed=vm.cpu_speed, memory_mib=vm.memory,
                          hostname=vm.name)
            self.hypervisors.driver(source.hypervisor).migrate_vm(self.hypervisors.ref(source),
                                                                  self.hypervisors.ref(target), spec)
        except DriverError:
            with write_tx():
                fsm.transition(vm, fsm.VM, "OperationFailed", host=source.id)
                self.capacity.release(target.id, vm.cpu_number * vm.cpu_speed, vm.memory * MiB)
            raise
        with write_tx():
            fsm.transition(vm, fsm.VM, "OperationSucceeded", last_host=target.id)
            self.capacity.release(source.id, vm.cpu_number * vm.cpu_speed, vm.memory * MiB)
            self.events.record(caller, "VM.MIGRATE", f"Migrated VM {vm.name} from {source.name} to {target.name}",
                               resource=vm)
        return JobResult("VirtualMachine", vm.uuid)

    def migrate_away(self, vm: VirtualMachine) -> None:
        """Host maintenance: move the VM to another host of its cluster, else stop it."""
        try:
            self._do_migrate(None, vm.id, None)
        except InsufficientCapacity:
            self.lifecycle.do_stop(None, vm.id, forced=True)
