"""The heartbeat: every ping interval each managed host is pinged through its driver.

A host that answers is Up (its report of VM power states goes to the power-report hooks); one that
stops answering goes Disconnected, and Down once ping.interval x ping.timeout has passed (the
host-down hooks then flag its VMs). Both kinds of hook belong to the compute area, above this one,
and are registered at wiring time (backends/cloud.py).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from backends.core import fsm
from backends.core.config import ConfigManager
from backends.core.events import EventManager
from backends.db import write_tx
from backends.drivers.base import HostRef, PowerReport
from backends.errors import ConcurrentOperation, DriverError, InvalidState
from backends.infra.hypervisors import Hypervisors
from backends.models import Host, utcnow


class HostHeartbeat:
    def __init__(self, events: EventManager, config: ConfigManager, hypervisors: Hypervisors,
                 host_ref: Callable[[Host], HostRef]):
        self._events = events
        self._config = config
        self._hypervisors = hypervisors
        self.host_ref = host_ref
        self._power_report_hooks: list[Callable[[Host, PowerReport], None]] = []
        self._host_down_hooks: list[Callable[[Host], None]] = []

    def add_power_report_hook(self, hook: Callable[[Host, PowerReport], None]) -> None:
        """Call ``hook(host, report)`` with what each host that answered a ping says of its VMs."""
        self._power_report_hooks.append(hook)

    def add_host_down_hook(self, hook: Callable[[Host], None]) -> None:
        """Call ``hook(host)`` when a host is declared Down (inside the transaction that says so)."""
        self._host_down_hooks.append(hook)

    def ping_hosts(self) -> None:
        """The heartbeat: ping every managed host; late ones go Disconnected, then Down."""
        grace = dt.timedelta(seconds=self._config.get_float("ping.interval") *
                             self._config.get_float("ping.timeout"))
        managed = Host.select().where(Host.removed.is_null(), Host.hypervisor.in_(self._hypervisors.available()))
        for host in managed:
            driver = self._hypervisors.driver(host.hypervisor)
            try:
                report = driver.ping(self.host_ref(host))
            except DriverError as exc:
                self._host_unreachable(host, grace, exc.message)
                continue
            try:
                with write_tx():
                    if host.status != "Up":
                        fsm.transition(host, fsm.HOST_STATUS, "Ping", field="status", last_ping=utcnow(),
                                       disconnected=None)
                    else:
                        Host.update(last_ping=utcnow()).where(Host.id == host.id).execute()
            except (InvalidState, ConcurrentOperation):
                continue
            for hook in self._power_report_hooks:
                hook(host, report)

    def _host_unreachable(self, host: Host, grace: dt.timedelta, reason: str) -> None:
        now = utcnow()
        try:
            with write_tx():
                if host.status in ("Up", "Connecting"):
                    fsm.transition(host, fsm.HOST_STATUS, "PingTimeout", field="status", disconnected=now)
                    self._events.record(None, "HOST.DISCONNECT", f"Host {host.name} stopped answering: {reason}",
                                        resource=host, level="WARN")
                elif host.status in ("Disconnected", "Alert") and host.disconnected and \
                        now - host.disconnected >= grace:
                    fsm.transition(host, fsm.HOST_STATUS, "HostDown", field="status")
                    self._events.record(None, "HOST.DOWN", f"Host {host.name} is down", resource=host, level="ERROR")
                    for hook in self._host_down_hooks:
                        hook(host)
        except (InvalidState, ConcurrentOperation):
            pass
