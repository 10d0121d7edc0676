"""The infra area behind one name: what the front doors call as ``cloud.infra.<method>``.

The work is done by one class per concern, built here from the collaborators the area is given:

- ``topology.TopologyManager``: the region, zones, pods, clusters;
- ``hosts.HostManager``: adding, listing and updating hosts, and how drivers address them;
- ``maintenance.HostMaintenance``: emptying a host for maintenance and back;
- ``heartbeat.HostHeartbeat``: pinging hosts, their status transitions (Up, Disconnected, Down);
- ``backends.storage.stores.StoreManager``: primary storage pools and image stores (storage's own, offered here);
- ``capacity_report.CapacityReport``: listCapacity.

The compute area, above this one, reacts to hosts through hooks registered at wiring time
(``add_power_report_hook``, ``add_host_down_hook``, ``add_evacuation_hook``).
"""
from __future__ import annotations

from collections.abc import Callable, Collection

from backends.core.config import ConfigManager
from backends.core.events import EventManager
from backends.drivers.base import HypervisorDriver
from backends.infra.capacity_report import CapacityReport, CapacitySummary
from backends.infra.heartbeat import HostHeartbeat
from backends.infra.hosts import HostManager
from backends.infra.hypervisors import Hypervisors
from backends.infra.maintenance import HostMaintenance
from backends.infra.topology import TopologyManager
from backends.storage.stores import StoreManager

__all__ = ["CapacitySummary", "InfrastructureManager"]


class InfrastructureManager:
    def __init__(self, *, events: EventManager, config: ConfigManager, region_name: str,
                 driver_for: Callable[[str], HypervisorDriver], hypervisors: Callable[[], Collection[str]],
                 installable: Callable[[], Collection[str]] = tuple):
        """``driver_for(name)``: the driver of a hypervisor (raising InvalidParameterValue, with what to
        install, when it is not available); ``hypervisors()``: the names available here; ``installable()``:
        names known but needing an install."""
        # Hosts are built after, and keep the cache of host refs: look them up when asked.
        self.hypervisors = Hypervisors(driver_for, hypervisors, installable,
                                       host_ref=lambda host: self.hosts.host_ref(host))
        self.topology = TopologyManager(events, config, self.hypervisors, region_name)
        self.hosts = HostManager(events, self.hypervisors)
        self.maintenance = HostMaintenance(events)
        self.heartbeat = HostHeartbeat(events, config, self.hypervisors, self.hosts.host_ref)
        self.stores = StoreManager(events)
        self.capacity_report = CapacityReport(config)

        # The public surface, each method one part's.
        self.ensure_region = self.topology.ensure_region
        self.list_regions = self.topology.list_regions
        self.create_zone = self.topology.create_zone
        self.update_zone = self.topology.update_zone
        self.delete_zone = self.topology.delete_zone
        self.list_zones = self.topology.list_zones
        self.zone_hypervisor = self.topology.zone_hypervisor
        self.create_pod = self.topology.create_pod
        self.list_pods = self.topology.list_pods
        self.add_cluster = self.topology.add_cluster
        self.list_clusters = self.topology.list_clusters

        self.add_host = self.hosts.add_host
        self.host_ref = self.hosts.host_ref
        self.forget_hosts = self.hosts.forget_hosts
        self.list_hosts = self.hosts.list_hosts
        self.update_host = self.hosts.update_host
        self.prepare_maintenance_work = self.maintenance.prepare_maintenance_work
        self.cancel_maintenance_work = self.maintenance.cancel_maintenance_work
        self.ping_hosts = self.heartbeat.ping_hosts

        self.create_storage_pool = self.stores.create_storage_pool
        self.list_storage_pools = self.stores.list_storage_pools
        self.add_image_store = self.stores.add_image_store
        self.list_image_stores = self.stores.list_image_stores

        self.list_capacity = self.capacity_report.list_capacity

        self.add_power_report_hook = self.heartbeat.add_power_report_hook
        self.add_host_down_hook = self.heartbeat.add_host_down_hook
        self.add_evacuation_hook = self.maintenance.add_evacuation_hook
