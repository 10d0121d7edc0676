"""What a driver is: the hypervisor contract and the storage contract on one object.

The contracts live in their own modules, each method's docstring saying what a real hypervisor or storage
must do: hypervisor.py (hosts and VMs), storage.py (templates, volumes, snapshots), and the seam for network
elements in network_element.py. The values they pass are in specs.py. A driver for one kind of hypervisor
implements both contracts, as the managers ask the driver of a hypervisor for either (a host's VMs, the
pools its hosts reach); the simulator is the executable version of both texts.

Import the values and contracts from here or from their own modules: both stay valid.
"""
from __future__ import annotations

from backends.drivers.hypervisor import HypervisorDriver
from backends.drivers.specs import (POWER_OFF, POWER_ON, DiskSpec, DriverError, HostInfo, HostRef, NicSpec,
                                    PowerReport, TemplateInfo, VmSpec)
from backends.drivers.storage import StorageDriver

__all__ = [
    "DriverError", "HostRef", "HostInfo", "DiskSpec", "NicSpec", "VmSpec", "PowerReport",
    "TemplateInfo", "HypervisorDriver", "StorageDriver", "Driver", "POWER_ON", "POWER_OFF",
]


class Driver(HypervisorDriver, StorageDriver):
    """The driver of one kind of hypervisor (Simulator, KVM, ...): its hosts and the storage they reach.
    Thread-safe: the managers call it from many job workers at once."""

    def batches_in_transaction(self) -> bool:
        """Whether a batch of operations (``create_volumes``, ``start_vms``: a launch's starts) may run inside the
        caller's write transaction now: everything the driver changes lives in the cloud's database (undone with
        the transaction) and nothing makes it wait. Real hypervisors: never."""
        return False
