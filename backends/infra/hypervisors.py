"""The hypervisors this management server drives: the one place that resolves a hypervisor's name, says
what to install for one it cannot drive, and hands out its driver and how it addresses a host. Infra
asks it about hosts being added and polled; compute, above, reaches a VM's hypervisor through it.

Drivers live outside the areas: the composition root hands in a lookup (``driver_for``, which
says what to install for a hypervisor it knows but cannot drive here) and two name lists read at
each call, since drivers can be added or taken away while the cloud runs.
"""
from __future__ import annotations

from collections.abc import Callable, Collection

from backends.drivers.base import HostRef, HypervisorDriver
from backends.errors import InvalidParameterValue
from backends.models import Host


class Hypervisors:
    def __init__(self, driver_for: Callable[[str], HypervisorDriver], available: Callable[[], Collection[str]],
                 installable: Callable[[], Collection[str]] = tuple,
                 host_ref: Callable[[Host], HostRef] | None = None):
        """``host_ref``: how a driver addresses a host (infra's hosts keep that cache)."""
        self._driver_for = driver_for
        self._available = available
        self._installable = installable
        self._host_ref = host_ref

    def driver(self, hypervisor: str) -> HypervisorDriver:
        return self._driver_for(hypervisor)

    def available(self) -> list[str]:
        return list(self._available())

    def drives(self, hypervisor: str) -> bool:
        """Whether this server has a driver for ``hypervisor`` (spelled as the cloud spells it)."""
        return hypervisor in self._available()

    def ref(self, host: Host) -> HostRef:
        return self._host_ref(host)

    def canonical(self, name: str) -> str:
        """The name as the cloud spells it, matched case-insensitively among the available drivers;
        InvalidParameterValue when none matches (what to install, when the driver is only missing here)."""
        for known in self._available():
            if known.lower() == (name or "").lower():
                return known
        for known in self._installable():
            if known.lower() == (name or "").lower():
                self._driver_for(known)  # not available here: says what to install
        raise InvalidParameterValue(f"Hypervisor type {name} is not supported; available: "
                                    f"{', '.join(sorted(self._available()))}")
