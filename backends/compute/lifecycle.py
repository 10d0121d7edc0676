"""A VM's life after its deploy: stop, reboot, destroy, recover, expunge (also the scavenger that expunges
destroyed VMs when due), attribute updates and the console log. The ``*_work`` methods check now and
return the work a job runs later; the ``do_*`` methods are that work."""
from __future__ import annotations

import datetime as dt
import json
import logging

from backends.compute.capacity import CapacityManager
from backends.compute.vm_rules import MiB, check_owner, check_user_data, limits_of
from backends.context import Caller
from backends.core import fsm
from backends.core.config import ConfigManager
from backends.core.events import EventManager
from backends.core.jobs import JobManager, JobResult
from backends.core.kinds import KINDS
from backends.core.tags import TagManager
from backends.db import write_tx
from backends.drivers.base import POWER_OFF, DiskSpec
from backends.errors import CloudError, DriverError, InvalidState, PermissionDenied
from backends.identity.accounts import AccountManager
from backends.identity.limits import ResourceLimitManager
from backends.infra.hypervisors import Hypervisors
from backends.models import VirtualMachine, Volume, utcnow
from backends.network.networks import NetworkManager
from backends.storage.volume_attach import detach_from_destroyed

log = logging.getLogger(__name__)


class VmLifecycle:
    def __init__(self, accounts: AccountManager, config: ConfigManager, events: EventManager,
                 limits: ResourceLimitManager, networks: NetworkManager, capacity: CapacityManager,
                 tags: TagManager, jobs: JobManager, hypervisors: Hypervisors):
        self.accounts = accounts
        self.config = config
        self.events = events
        self.limits = limits
        self.networks = networks
        self.capacity = capacity
        self.tags = tags
        self.jobs = jobs
        self.hypervisors = hypervisors

    # ------------------------------------------------------------------ stop
    def stop_work(self, caller: Caller, vm: VirtualMachine, forced: bool = False):
        check_owner(self.accounts, caller, vm)
        return lambda: self.do_stop(caller, vm.id, forced)

    def do_stop(self, caller: Caller | None, vm_id: int, forced: bool = False) -> JobResult:
        vm = VirtualMachine.get_by_id(vm_id)
        if vm.state in ("Stopped", "Destroyed", "Expunging", "Error"):
            return JobResult("VirtualMachine", vm.uuid)
        if vm.state != "Running":
            raise InvalidState(f"VM {vm.uuid} is in state {vm.state} and cannot be stopped")
        host = vm.host
        with write_tx():
            fsm.transition(vm, fsm.VM, "StopRequested")
        try:
            self.hypervisors.driver(host.hypervisor).stop_vm(self.hypervisors.ref(host), vm.instance_name,
                                                             force=forced)
        except DriverError as exc:
            if not forced:
                with write_tx():
                    fsm.transition(vm, fsm.VM, "OperationFailed")
                raise
            log.warning("forced stop of %s: driver failed (%s); releasing anyway", vm.instance_name, exc)
        with write_tx():
            fsm.transition(vm, fsm.VM, "OperationSucceeded", host=None, last_host=host.id, power_state=POWER_OFF,
                           power_state_updated=utcnow())
            self.capacity.release(host.id, vm.cpu_number * vm.cpu_speed, vm.memory * MiB)
            self.events.record(caller, "VM.STOP", f"Successfully stopped VM {vm.name}", resource=vm)
        return JobResult("VirtualMachine", vm.uuid)

    # ---------------------------------------------------------------- reboot
    def reboot_work(self, caller: Caller, vm: VirtualMachine):
        check_owner(self.accounts, caller, vm)
        if vm.state != "Running":
            raise InvalidState(f"VM {vm.uuid} is not running; only running VMs can be rebooted")
        return lambda: self._do_reboot(caller, vm.id)

    def _do_reboot(self, caller: Caller, vm_id: int) -> JobResult:
        vm = VirtualMachine.get_by_id(vm_id)
        if vm.state != "Running" or vm.host_id is None:
            raise InvalidState(f"VM {vm.uuid} is in state {vm.state} and cannot be rebooted")
        self.hypervisors.driver(vm.host.hypervisor).reboot_vm(self.hypervisors.ref(vm.host), vm.instance_name)
        with write_tx():
            self.events.record(caller, "VM.REBOOT", f"Successfully rebooted VM {vm.name}", resource=vm)
        return JobResult("VirtualMachine", vm.uuid)

    # --------------------------------------------------------------- destroy
    def destroy_work(self, caller: Caller, vm: VirtualMachine, expunge: bool = False,
                     retention_seconds: int | None = None):
        """Checks for a destroy; returns the job work that performs it. With ``retention_seconds`` (an EC2
        termination) the destroyed VM is expunged that long after, instead of after expunge.delay, and
        from the destroy on no longer holds its image or security groups
        (:func:`backends.core.holds.holding_shared_objects`)."""
        check_owner(self.accounts, caller, vm)
        if expunge and not (caller.is_admin or self.config.get_bool("allow.user.expunge.recover.vm")):
            raise PermissionDenied("Parameter expunge can be passed by Admin only. Or when the "
                                   "allow.user.expunge.recover.vm key is set.")
        if vm.state in ("Destroyed", "Expunging") and not expunge:
            raise InvalidState(f"VM {vm.uuid} is already destroyed")
        return lambda: self.do_destroy(caller, vm.id, expunge, retention_seconds)

    def do_destroy(self, caller: Caller | None, vm_id: int, expunge: bool,
                   retention_seconds: int | None = None) -> JobResult:
        vm = VirtualMachine.get_by_id(vm_id)
        if vm.state in fsm.VM_HOLDING_HOST:
            self.do_stop(caller, vm_id, forced=self.config.get_bool("vm.destroy.forcestop"))
            vm = VirtualMachine.get_by_id(vm_id)
        if vm.state == "Stopped":
            with write_tx():
                fsm.transition(vm, fsm.VM, "DestroyRequested", expunge_after=None if retention_seconds is None
                               else utcnow() + dt.timedelta(seconds=retention_seconds))
                root_bytes = 0
                for volume in vm.volumes.where(Volume.removed.is_null(), Volume.volume_type == "ROOT"):
                    root_bytes += volume.size
                    fsm.transition(volume, fsm.VOLUME, "DestroyRequested")
                detach_from_destroyed(caller, vm, self.events)  # data volumes stay, Ready, detached
                self.limits.release(vm.account, limits_of(vm.cpu_number, vm.memory, root_bytes))
                self.events.record(caller, "VM.DESTROY", f"Successfully destroyed VM {vm.name}", resource=vm)
        if expunge:
            self._do_expunge(caller, vm_id)
        return JobResult("VirtualMachine", vm.uuid)

    def discard(self, caller: Caller, vm: VirtualMachine) -> None:
        """Undo a launch that will not go ahead: destroy and expunge the VM at once, then withdraw the job
        created with it (after: a crash in between leaves the job, which recovery fails)."""
        check_owner(self.accounts, caller, vm)
        self.do_destroy(caller, vm.id, True)
        if getattr(vm, "deploy_job", None) is not None:
            self.jobs.withdraw([vm.deploy_job])

    # --------------------------------------------------------------- recover
    def recover(self, caller: Caller, vm: VirtualMachine) -> VirtualMachine:
        check_owner(self.accounts, caller, vm)
        if not (caller.is_admin or self.config.get_bool("allow.user.expunge.recover.vm")):
            raise PermissionDenied("Recovering a VM can only be done by an Admin. Or when the "
                                   "allow.user.expunge.recover.vm key is set.")
        if vm.state != "Destroyed":
            raise InvalidState(f"VM {vm.uuid} is in state {vm.state}; only destroyed VMs can be recovered")
        if vm.expunge_after is not None:
            # Its image and groups were let go at the termination and may be gone already.
            raise InvalidState(f"VM {vm.uuid} was terminated; a terminated instance cannot be recovered")
        with write_tx():
            volumes = list(vm.volumes.where(Volume.removed.is_null(), Volume.volume_type == "ROOT"))
            self.limits.reserve(vm.account, limits_of(vm.cpu_number, vm.memory, sum(v.size for v in volumes)))
            fsm.transition(vm, fsm.VM, "RecoveryRequested", expunge_after=None)
            for volume in volumes:
                fsm.transition(volume, fsm.VOLUME, "RecoverRequested")
            self.events.record(caller, "VM.RECOVER", f"Successfully recovered VM {vm.name}", resource=vm)
        return vm

    # --------------------------------------------------------------- expunge
    def expunge_work(self, caller: Caller, vm: VirtualMachine):
        check_owner(self.accounts, caller, vm)
        if not (caller.is_admin or self.config.get_bool("allow.user.expunge.recover.vm")):
            raise PermissionDenied("Expunging a VM can only be done by an Admin. Or when the "
                                   "allow.user.expunge.recover.vm key is set.")
        if vm.state not in ("Destroyed", "Expunging", "Error"):
            raise InvalidState(f"VM {vm.uuid} must be destroyed before it can be expunged")
        return lambda: self._do_expunge(caller, vm.id)

    def _do_expunge(self, caller: Caller | None, vm_id: int) -> JobResult:
        vm = VirtualMachine.get_by_id(vm_id)
        if vm.removed is not None:
            return JobResult()
        with write_tx():
            fsm.transition(vm, fsm.VM, "ExpungeOperation")
        host = vm.last_host
        driver = self.hypervisors.driver(vm.hypervisor) if self.hypervisors.drives(vm.hypervisor) else None
        with write_tx():  # a VM destroyed before data volumes were let go at destroy: they stay, detached
            detach_from_destroyed(caller, vm, self.events)
        volumes = list(vm.volumes.where(Volume.removed.is_null(), Volume.volume_type == "ROOT"))
        if driver is not None and host is not None and host.removed is None:
            ref = self.hypervisors.ref(host)
            try:
                driver.destroy_vm(ref, vm.instance_name)
                for volume in volumes:
                    if volume.path:
                        driver.delete_volume(ref, DiskSpec(path=volume.path, pool_url=volume.pool.url
                                                           if volume.pool else "", size=volume.size,
                                                           device_id=volume.device_id or 0))
            except DriverError as exc:
                with write_tx():
                    fsm.transition(vm, fsm.VM, "OperationFailed")
                raise DriverError(f"Failed to expunge VM {vm.uuid}: {exc.message}") from exc
        with write_tx():
            for volume in volumes:
                if volume.pool_id is not None:
                    self.capacity.release_storage(volume.pool_id, volume.size)
                Volume.update(state="Expunged", removed=utcnow(), vm=None, device_id=None).where(
                    Volume.id == volume.id).execute()
            self.networks.release_nics(vm)
            VirtualMachine.update(removed=utcnow()).where(VirtualMachine.id == vm.id).execute()
            self.tags.forget(KINDS["VirtualMachine"].tag_type, vm.uuid)
            self.events.record(caller, "VM.EXPUNGE", f"Successfully expunged VM {vm.name}", resource=vm)
        return JobResult()

    def expunge_owned_by(self, caller: Caller | None, account) -> int:
        """Destroy and expunge every VM of ``account`` (account deletion); returns how many."""
        done = 0
        for row in VirtualMachine.select(VirtualMachine.id).where(VirtualMachine.account == account.id,
                                                                   VirtualMachine.removed.is_null()):
            self.do_destroy(caller, row.id, True)
            done += 1
        return done

    def expunge_due(self, scheduled_only: bool = False) -> int:
        """The scavenger: expunge VMs destroyed longer than expunge.delay ago, and those whose own
        expunge time has passed (only those with ``scheduled_only``, the frequent sweep)."""
        now = utcnow()
        cutoff = now - dt.timedelta(seconds=self.config.get_int("expunge.delay"))
        scheduled = VirtualMachine.expunge_after <= now
        if not scheduled_only:
            scheduled |= VirtualMachine.expunge_after.is_null() & (VirtualMachine.state_changed <= cutoff)
        due = (VirtualMachine.select(VirtualMachine.id)
               .where(VirtualMachine.removed.is_null(), VirtualMachine.state.in_(("Destroyed", "Error",
                                                                                   "Expunging")), scheduled))
        done = 0
        for row in due:
            try:
                self._do_expunge(None, row.id)
                done += 1
            except CloudError as exc:
                log.warning("expunge of VM %s failed: %s", row.id, exc.message)
        return done

    # ------------------------------------------------------- update, console
    def update(self, caller: Caller, vm: VirtualMachine, *, display_name=None, name=None, group=None,
               ha_enable=None, user_data=None, os_type=None, is_dynamically_scalable=None,
               details=None) -> VirtualMachine:
        check_owner(self.accounts, caller, vm)
        if vm.state in ("Destroyed", "Expunging"):
            raise InvalidState(f"VM {vm.uuid} is destroyed and cannot be updated")
        changes = {}
        if display_name is not None:
            changes["display_name"] = display_name
        if name is not None:
            if vm.state != "Stopped":
                raise InvalidState("The VM must be stopped to change its name")
            changes["name"] = name
        if group is not None:
            changes["group"] = group
        if ha_enable is not None:
            changes["ha_enabled"] = ha_enable
        if user_data is not None:
            check_user_data(user_data)
            changes["user_data"] = user_data
        if os_type is not None:
            changes["os_type"] = os_type.id
        if is_dynamically_scalable is not None:
            changes["is_dynamically_scalable"] = is_dynamically_scalable
        if details is not None:
            merged = json.loads(vm.details or "{}")
            merged.update(details)
            changes["details"] = json.dumps(merged)
        if changes:
            with write_tx():
                VirtualMachine.update(**changes).where(VirtualMachine.id == vm.id).execute()
                self.events.record(caller, "VM.UPDATE", f"Updated VM {vm.name}", resource=vm)
        return VirtualMachine.get_by_id(vm.id)

    def console_output(self, caller: Caller, vm: VirtualMachine) -> str:
        """The VM's serial console log as its hypervisor keeps it (empty when it is not on a host)."""
        check_owner(self.accounts, caller, vm)
        host = vm.host if vm.host_id is not None else vm.last_host
        if host is None or not self.hypervisors.drives(vm.hypervisor):
            return ""
        return self.hypervisors.driver(vm.hypervisor).console_output(self.hypervisors.ref(host), vm.instance_name)
