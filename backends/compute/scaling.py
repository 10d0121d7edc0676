"""Changing a VM's offering: a stopped VM only changes its row; a running one is hot-plugged up to the
headroom it booted with, when dynamic scaling is on."""
from __future__ import annotations

from backends.compute.capacity import CapacityManager
from backends.compute.vm_rules import MiB, check_owner, shape_of
from backends.context import Caller
from backends.core.config import ConfigManager
from backends.core.events import EventManager
from backends.core.jobs import JobResult
from backends.core.resources import CPU, MEMORY
from backends.db import write_tx
from backends.errors import DriverError, InsufficientCapacity, InvalidParameterValue, InvalidState
from backends.identity.accounts import AccountManager
from backends.identity.limits import ResourceLimitManager
from backends.infra.hypervisors import Hypervisors
from backends.models import ServiceOffering, VirtualMachine


class VmScaling:
    def __init__(self, accounts: AccountManager, config: ConfigManager, events: EventManager,
                 limits: ResourceLimitManager, capacity: CapacityManager, hypervisors: Hypervisors):
        self.accounts = accounts
        self.config = config
        self.events = events
        self.limits = limits
        self.capacity = capacity
        self.hypervisors = hypervisors

    def scale_work(self, caller: Caller, vm: VirtualMachine, offering: ServiceOffering, details=None):
        check_owner(self.accounts, caller, vm)
        return lambda: self.scale(caller, VirtualMachine.get_by_id(vm.id), offering, details)

    def scale(self, caller: Caller, vm: VirtualMachine, offering: ServiceOffering,
              details: dict | None = None) -> JobResult:
        """Change the offering; a stopped VM only changes its row, a running one hot-plugs."""
        check_owner(self.accounts, caller, vm)
        if offering.id == vm.service_offering_id and not offering.is_customized:
            raise InvalidParameterValue("The VM already has the requested service offering")
        cpus, speed, memory = shape_of(offering, details or {})
        if vm.state == "Stopped":
            with write_tx():
                delta = {CPU: cpus - vm.cpu_number, MEMORY: memory - vm.memory}
                self._apply_limit_delta(vm, delta)
                VirtualMachine.update(service_offering=offering.id, cpu_number=cpus, cpu_speed=speed,
                                      memory=memory).where(VirtualMachine.id == vm.id).execute()
                self.events.record(caller, "VM.UPGRADE", f"Changed offering of VM {vm.name} to {offering.name}",
                                   resource=vm)
            return JobResult("VirtualMachine", vm.uuid)
        if vm.state != "Running":
            raise InvalidState(f"VM {vm.uuid} is in state {vm.state} and cannot be scaled")
        if not self.config.get_bool("enable.dynamic.scale.vm") or not vm.is_dynamically_scalable:
            raise InvalidParameterValue("Dynamic scaling is not enabled for this VM; stop it to change its offering")
        if cpus < vm.cpu_number or memory < vm.memory or speed < vm.cpu_speed:
            raise InvalidParameterValue("Only scaling up a running VM is supported")
        extra_cpu = cpus * speed - vm.cpu_number * vm.cpu_speed
        extra_mem = (memory - vm.memory) * MiB
        if not self.capacity.claim(vm.host_id, extra_cpu, extra_mem):
            raise InsufficientCapacity(f"Host {vm.host.name} has no capacity to scale VM {vm.uuid}")
        try:
            self.hypervisors.driver(vm.host.hypervisor).scale_vm(self.hypervisors.ref(vm.host), vm.instance_name,
                                                                 cpus, speed, memory)
        except DriverError:
            self.capacity.release(vm.host_id, extra_cpu, extra_mem)
            raise
        with write_tx():
            self._apply_limit_delta(vm, {CPU: cpus - vm.cpu_number, MEMORY: memory - vm.memory})
            VirtualMachine.update(service_offering=offering.id, cpu_number=cpus, cpu_speed=speed,
                                  memory=memory).where(VirtualMachine.id == vm.id).execute()
            self.events.record(caller, "VM.DYNAMIC.SCALE", f"Scaled VM {vm.name} to {offering.name}", resource=vm)
        return JobResult("VirtualMachine", vm.uuid)

    def _apply_limit_delta(self, vm: VirtualMachine, delta: dict[int, int]) -> None:
        grow = {k: v for k, v in delta.items() if v > 0}
        shrink = {k: -v for k, v in delta.items() if v < 0}
        if grow:
            self.limits.reserve(vm.account, grow)
        if shrink:
            self.limits.release(vm.account, shrink)
