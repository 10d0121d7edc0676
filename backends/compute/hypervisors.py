"""How compute reaches the hypervisor a VM lives on: the driver for a hypervisor type and how that driver
addresses a host."""
from __future__ import annotations

from typing import Callable, Mapping

from backends.drivers.base import HostRef, HypervisorDriver
from backends.infra.infrastructure import InfrastructureManager
from backends.models import Host


class Hypervisors:
    def __init__(self, driver_of: Callable[[str], HypervisorDriver], drivers: Mapping[str, HypervisorDriver],
                 infra: InfrastructureManager):
        """``driver_of`` raises InvalidParameterValue (saying what to install) for a hypervisor this server
        has no driver for; ``drivers`` are those it has."""
        self._driver_of = driver_of
        self._drivers = drivers
        self._infra = infra

    def driver(self, hypervisor: str) -> HypervisorDriver:
        return self._driver_of(hypervisor)

    def available(self, hypervisor: str) -> bool:
        return hypervisor in self._drivers

    def ref(self, host: Host) -> HostRef:
        return self._infra.host_ref(host)
