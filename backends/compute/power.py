"""Following what hosts report: a VM found powered off on its host is Stopped (unless a job is working on
it), and the VMs of a host that went Down are flagged."""
from __future__ import annotations

from backends.compute.capacity import CapacityManager
from backends.compute.vm_rules import MiB
from backends.core import fsm
from backends.core.events import EventManager
from backends.core.jobs import JobManager
from backends.db import write_tx
from backends.drivers.base import POWER_ON
from backends.errors import CloudError, DriverError
from backends.infra.hypervisors import Hypervisors
from backends.models import Host, VirtualMachine, utcnow


class PowerSync:
    def __init__(self, events: EventManager, capacity: CapacityManager, jobs: JobManager, hypervisors: Hypervisors):
        self.events = events
        self.capacity = capacity
        self.jobs = jobs
        self.hypervisors = hypervisors

    def power_on_host(self, vm: VirtualMachine) -> str | None:
        """The VM's power state as its host reports it now (None: not on a host, or the host cannot say)."""
        if vm.host_id is None:
            return None
        try:
            return self.hypervisors.driver(vm.host.hypervisor).vm_power_state(self.hypervisors.ref(vm.host),
                                                                              vm.instance_name)
        except (DriverError, CloudError):
            return None

    def flag_host_down(self, host: Host) -> int:
        """The VMs a host that went Down was running: their power is unknown now, and each gets an alert
        event (CloudStack's HA would investigate them next). Call inside the host's transition."""
        flagged = 0
        for vm in VirtualMachine.select().where(VirtualMachine.host == host.id, VirtualMachine.removed.is_null(),
                                                VirtualMachine.state == "Running"):
            VirtualMachine.update(power_state="PowerUnknown", power_state_updated=utcnow()).where(
                VirtualMachine.id == vm.id).execute()
            self.events.record(None, "VM.HOST.DOWN", f"VM {vm.name} was running on host {host.name}, which is down",
                               resource=vm, level="ERROR")
            flagged += 1
        return flagged

    def sync_power_state(self, host: Host, report) -> None:
        """Follow a host's power report for VMs no job is working on."""
        busy = {int(key[3:]) for key in self.jobs.busy_keys("vm:")}
        # Every ping of every host runs this: read only what the comparison needs, and load a VM only
        # when its power state disagrees.
        on_host = (VirtualMachine.select(VirtualMachine.id, VirtualMachine.instance_name)
                   .where(VirtualMachine.host == host.id, VirtualMachine.removed.is_null(),
                          VirtualMachine.state == "Running").tuples())
        for vm_id, instance_name in list(on_host):
            if vm_id in busy or report.vms.get(instance_name) == POWER_ON:
                continue
            vm = VirtualMachine.get_by_id(vm_id)
            power = report.vms.get(vm.instance_name)
            # The report may predate a start that finished since (its job no longer busy): ask again.
            if vm.state == "Running" and power != POWER_ON and self.power_on_host(vm) != POWER_ON:
                with write_tx():
                    fsm.transition(vm, fsm.VM, "FollowAgentPowerOffReport", host=None, last_host=host.id,
                                   power_state=power or "PowerReportMissing", power_state_updated=utcnow())
                    self.capacity.release(host.id, vm.cpu_number * vm.cpu_speed, vm.memory * MiB)
                    self.events.record(None, "VM.STOP", f"VM {vm.name} was found stopped on host {host.name}",
                                       resource=vm, level="WARN")
