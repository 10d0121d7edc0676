"""Host maintenance: a host is emptied of its running VMs before it enters Maintenance.

Moving a VM is the compute area's work, above this one: it registers an evacuation hook at wiring
time (backends/cloud.py), which moves one VM off the host or raises a CloudError.
"""
from __future__ import annotations

from collections.abc import Callable

from backends.context import Caller
from backends.core import fsm
from backends.core.checks import live, root_only
from backends.core.events import EventManager
from backends.core.jobs import JobResult
from backends.db import write_tx
from backends.errors import CloudError, InvalidState
from backends.models import Host, VirtualMachine


class HostMaintenance:
    def __init__(self, events: EventManager):
        self._events = events
        self._evacuation_hooks: list[Callable[[VirtualMachine], None]] = []

    def add_evacuation_hook(self, hook: Callable[[VirtualMachine], None]) -> None:
        """Call ``hook(vm)`` for each running VM of a host entering maintenance (move it elsewhere)."""
        self._evacuation_hooks.append(hook)

    def prepare_maintenance_work(self, caller: Caller, host: Host):
        """Mark the host PrepareForMaintenance now; the job moves its VMs away, then enters Maintenance."""
        root_only(caller, "put hosts into maintenance")
        live(host, "host")
        with write_tx():
            fsm.transition(host, fsm.HOST_RESOURCE, "AdminAskMaintenance", field="resource_state")
            self._events.record(caller, "MAINT.PREPARE", f"Preparing host {host.name} for maintenance", resource=host)

        def work():
            current = Host.get_by_id(host.id)
            try:
                for vm in VirtualMachine.select().where(VirtualMachine.host == host.id,
                                                        VirtualMachine.removed.is_null(),
                                                        VirtualMachine.state == "Running"):
                    for hook in self._evacuation_hooks:
                        hook(vm)
            except CloudError:
                with write_tx():
                    fsm.transition(current, fsm.HOST_RESOURCE, "UnableToMaintain", field="resource_state")
                raise
            with write_tx():
                fsm.transition(current, fsm.HOST_RESOURCE, "InternalEnterMaintenance", field="resource_state")
            return JobResult("Host", host.uuid)

        return work

    def cancel_maintenance_work(self, caller: Caller, host: Host):
        root_only(caller, "cancel host maintenance")
        live(host, "host")
        if host.resource_state not in ("Maintenance", "PrepareForMaintenance", "ErrorInMaintenance",
                                       "ErrorInPrepareForMaintenance"):
            raise InvalidState(f"Host {host.name} is not in maintenance (resource state {host.resource_state})")

        def work():
            current = Host.get_by_id(host.id)
            with write_tx():
                fsm.transition(current, fsm.HOST_RESOURCE, "AdminCancelMaintenance", field="resource_state")
                self._events.record(caller, "MAINT.CANCEL", f"Cancelled maintenance of host {host.name}", resource=host)
            return JobResult("Host", host.uuid)

        return work
