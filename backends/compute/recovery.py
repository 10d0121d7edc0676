"""After a crash: work a dead process left half-done on VMs is rolled back or finished, then capacity
counters are rebuilt from the VMs that hold capacity. Runs as a job recovery hook at start-up."""
from __future__ import annotations

import logging

from backends.compute.capacity import CapacityManager
from backends.compute.power import PowerSync
from backends.compute.start import VmStarter
from backends.core import fsm
from backends.core.events import EventManager
from backends.core.jobs import JobManager, JobResult
from backends.db import write_tx
from backends.drivers.base import POWER_ON
from backends.errors import CloudError
from backends.models import VirtualMachine, Volume, utcnow

log = logging.getLogger(__name__)


class CrashRecovery:
    def __init__(self, events: EventManager, capacity: CapacityManager, jobs: JobManager, starter: VmStarter,
                 power: PowerSync):
        self.events = events
        self.capacity = capacity
        self.jobs = jobs
        self.starter = starter
        self.power = power

    def recover_after_restart(self) -> None:
        """Roll back work a dead process left half-done, then fix capacity drift.

        A VM caught Starting goes back to Stopped, or on to Running when its host runs it. A first
        deploy that never completed, whichever step it reached (caught Starting, or still Stopped
        with the job that created it cancelled), ends in Error and gives its address, volumes and
        counts back. Stopping and Migrating VMs follow what their host now reports; an expunge cut
        short is due at once. VMs with work still pending on another node are that node's to finish.
        """
        candidates = list(VirtualMachine.select().where(
            VirtualMachine.removed.is_null(),
            VirtualMachine.state.in_(fsm.VM_TRANSITIONAL) |
            ((VirtualMachine.state == "Stopped") & VirtualMachine.first_start_pending)))
        elsewhere = self.jobs.pending_commands(vm.uuid for vm in candidates)  # ours are cancelled by now
        never_deployed = self.jobs.first_cancelled_by_restart(vm.uuid for vm in candidates if vm.state == "Stopped")
        self._record_deploys_done()
        for vm in candidates:
            if vm.uuid in elsewhere:
                continue
            try:
                if vm.state != "Stopped":
                    self._recover_one(vm)
                elif vm.uuid in never_deployed:
                    with write_tx():
                        self.starter.first_deploy_failed(None, vm, "the management server restarted before it "
                                                                   "started")
            except CloudError as exc:
                log.warning("recovery of VM %s failed: %s", vm.uuid, exc.message)
        self.capacity.recalculate()

    def _record_deploys_done(self) -> None:
        """Deploys that did complete (their VM was started) but whose job was cancelled before it could
        say so: the job reports the success."""
        cancelled, started = sorted(self.jobs.cancelled_instances), []
        for start in range(0, len(cancelled), 500):
            started += [uuid for (uuid,) in VirtualMachine.select(VirtualMachine.uuid).where(
                VirtualMachine.uuid.in_(cancelled[start:start + 500]), VirtualMachine.removed.is_null(),
                VirtualMachine.state.in_(("Running", "Stopped")), ~VirtualMachine.first_start_pending).tuples()]
        for uuid in self.jobs.first_cancelled_by_restart(started):
            with write_tx():
                self.jobs.complete_cancelled(uuid, JobResult("VirtualMachine", uuid))

    def _recover_one(self, vm: VirtualMachine) -> None:
        power = self.power.power_on_host(vm)
        with write_tx():
            if vm.state == "Starting":
                if power == POWER_ON:
                    self._start_found_done(vm)
                    return
                root = vm.volumes.where(Volume.volume_type == "ROOT", Volume.removed.is_null()).first()
                first = vm.first_start_pending
                fsm.transition(vm, fsm.VM, "OperationFailed", host=None)
                if first:
                    self.starter.first_deploy_failed(None, vm, "the management server restarted while it started")
                elif root is not None and root.pool_id is not None and root.state == "Allocated":
                    self.capacity.release_storage(root.pool_id, root.size)
                    Volume.update(pool=None).where(Volume.id == root.id).execute()
            elif vm.state in ("Stopping", "Migrating"):
                event = "FollowAgentPowerOnReport" if power == POWER_ON else "FollowAgentPowerOffReport"
                changes = {} if power == POWER_ON else {"host": None}
                fsm.transition(vm, fsm.VM, event, **changes)
            elif vm.state == "Expunging":
                # An expunge cut short (a launch being undone, say): due now for the frequent sweep, rather
                # than holding its address and volumes for another expunge.delay.
                VirtualMachine.update(expunge_after=utcnow()).where(VirtualMachine.id == vm.id).execute()

    def _start_found_done(self, vm: VirtualMachine) -> None:
        """A start cut short by a restart had booted the VM: finish it as the start would have, and its
        job reports the success."""
        fsm.transition(vm, fsm.VM, "FollowAgentPowerOnReport", last_host=vm.host_id, first_start_pending=False,
                       power_state=POWER_ON, power_state_updated=utcnow())
        root = vm.volumes.where(Volume.volume_type == "ROOT", Volume.removed.is_null()).first()
        if root is not None and root.state == "Allocated":
            fsm.transition(root, fsm.VOLUME, "CreateRequested")
            fsm.transition(root, fsm.VOLUME, "OperationSucceeded")
        self.jobs.complete_cancelled(vm.uuid, JobResult("VirtualMachine", vm.uuid))
        self.events.record(None, "VM.START", f"Successfully started VM {vm.name}", resource=vm)

