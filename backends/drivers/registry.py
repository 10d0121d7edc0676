"""Which hypervisors this management server can drive: each driver module registers its hypervisor here.

An entry names the hypervisor as both APIs spell it (``KVM``), builds its driver from what it needs (the
data directory, the driver's settings), tells whether it can run on this machine (e.g. its Python bindings
import) and what to install when it cannot. The cloud builds the driver of every available entry when it
starts; the server offers each entry's settings as flags and EC2BRIDGE_* variables. Adding a hypervisor is a
driver module that calls :func:`register` and its line in :data:`DRIVER_MODULES`; nothing else names it (bootstrap builds a zone of its real hosts
from the entry's :class:`HostsZone`).
"""
from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from backends.drivers.base import Driver

__all__ = ["DriverSetting", "DriverContext", "HostsZone", "HypervisorEntry", "register", "unregister", "entries", "find",
           "settings", "build_drivers", "install_hints"]

# The modules that register a hypervisor when imported.
DRIVER_MODULES = ("backends.drivers.simulator", "backends.drivers.libvirt")


@dataclass(frozen=True)
class DriverSetting:
    """A setting a driver takes from the server: flag ``--<name with dashes>``, variable EC2BRIDGE_<NAME>."""

    name: str  # e.g. kvm_bridge
    default: str
    help: str
    metavar: str = "VALUE"

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return "EC2BRIDGE_" + self.name.upper()


@dataclass(frozen=True)
class DriverContext:
    """What a factory may use to build its driver."""

    data_dir: str
    settings: Mapping[str, str] = field(default_factory=dict)  # DriverSetting.name -> value

    def setting(self, setting: DriverSetting) -> str:
        return self.settings.get(setting.name) or setting.default


@dataclass(frozen=True)
class HostsZone:
    """A zone of this hypervisor's real hosts that the server builds beside the simulated demo cloud when told
    their addresses: ``--<prefix>-host`` (repeated; EC2BRIDGE_<PREFIX>_HOSTS, comma-separated) and its primary
    storage ``--<prefix>-primary`` (EC2BRIDGE_<PREFIX>_PRIMARY)."""

    prefix: str  # e.g. kvm
    description: str  # the zone's description, by which later starts find it again: never change it
    host_help: str  # what a host address is, e.g. "libvirt URI of a KVM host (qemu+ssh://host/system, ...)"
    host_metavar: str = "URI"

    @property
    def host_flag(self) -> str:
        return f"--{self.prefix}-host"

    @property
    def primary_flag(self) -> str:
        return f"--{self.prefix}-primary"

    @property
    def hosts_env(self) -> str:
        return f"EC2BRIDGE_{self.prefix.upper()}_HOSTS"

    @property
    def primary_env(self) -> str:
        return f"EC2BRIDGE_{self.prefix.upper()}_PRIMARY"


@dataclass(frozen=True)
class HypervisorEntry:
    """One hypervisor this server knows: how to build its driver, and what it needs to run here."""

    name: str  # the hypervisor type as the APIs spell it: "Simulator", "KVM"
    factory: Callable[[DriverContext], Driver]
    available: Callable[[], bool] = lambda: True
    install_hint: str = ""  # the error text when the hypervisor is asked for but not available here
    settings: tuple[DriverSetting, ...] = ()
    zone: HostsZone | None = None  # hypervisors whose real hosts the server can put in a zone of their own


_entries: dict[str, HypervisorEntry] = {}
_lock = threading.Lock()
_loaded = False


def register(entry: HypervisorEntry) -> HypervisorEntry:
    """Make the hypervisor known (a driver module calls this when imported); a later entry of the same name
    replaces the earlier one."""
    with _lock:
        _entries[entry.name] = entry
    return entry


def unregister(name: str) -> None:
    with _lock:
        _entries.pop(name, None)


def entries() -> list[HypervisorEntry]:
    """Every registered hypervisor, available here or not."""
    global _loaded
    if not _loaded:
        for module in DRIVER_MODULES:
            importlib.import_module(module)
        _loaded = True
    with _lock:
        return list(_entries.values())


def find(name: str | None) -> HypervisorEntry | None:
    """The entry of hypervisor ``name`` spelt in any case (``kvm`` is KVM), or None."""
    wanted = (name or "").lower()
    return next((e for e in entries() if e.name.lower() == wanted), None)


def settings() -> list[DriverSetting]:
    """The settings of every registered driver."""
    return [s for e in entries() for s in e.settings]


def build_drivers(context: DriverContext) -> dict[str, Driver]:
    """A driver for each hypervisor available here, by hypervisor name."""
    return {e.name: e.factory(context) for e in entries() if e.available()}


def install_hints() -> dict[str, str]:
    """What to install for each hypervisor that says so (asked for where it is not available)."""
    return {e.name: e.install_hint for e in entries() if e.install_hint}
