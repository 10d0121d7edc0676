"""How compute reaches the hypervisor a VM lives on: the driver for a hypervisor type and how that driver
addresses a host.

Drivers live outside the areas: the composition root hands in a lookup (``driver_for``, which says what
to install for a hypervisor this server cannot drive), the names of the hypervisors it drives (read at
each call) and infra's ``host_ref``."""
from __future__ import annotations

from collections.abc import Callable, Collection

from backends.drivers.base import HostRef, HypervisorDriver
from backends.models import Host


class Hypervisors:
    def __init__(self, driver_for: Callable[[str], HypervisorDriver], available: Callable[[], Collection[str]],
                 host_ref: Callable[[Host], HostRef]):
        self._driver_for = driver_for
        self._available = available
        self._host_ref = host_ref

    def driver(self, hypervisor: str) -> HypervisorDriver:
        return self._driver_for(hypervisor)

    def available(self, hypervisor: str) -> bool:
        return hypervisor in self._available()

    def ref(self, host: Host) -> HostRef:
        return self._host_ref(host)
