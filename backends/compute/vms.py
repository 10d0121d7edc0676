"""Virtual machines: the one object the APIs and the other areas call for anything about VMs.

``VmManager`` builds the compute area's VM services from the collaborators it is handed and offers their
public methods under one name (``cloud.vms.<method>``). The work itself lives in the services, one job
each: queries (listings), deploy (rows of N new VMs), placement (host claims), start (boot and retries),
lifecycle (stop, reboot, destroy, recover, expunge, update), migration, scaling, launch (EC2's MinCount..
MaxCount policy), power (host reports) and recovery (after a crash). Every state change goes through the
VM state machine; every failure undoes what it claimed (host capacity, storage, IPs, resource counts).
"""
from __future__ import annotations

from backends.compute import vm_rules
from backends.compute.capacity import CapacityManager
from backends.compute.deploy import VmDeployer
from backends.compute.launch import LaunchService
from backends.compute.lifecycle import VmLifecycle
from backends.compute.migration import VmMigration
from backends.compute.placement import PlacementClaims
from backends.compute.planner import DeploymentPlanner
from backends.compute.power import PowerSync
from backends.compute.queries import VmQueries
from backends.compute.recovery import CrashRecovery
from backends.compute.scaling import VmScaling
from backends.compute.start import VmStarter
from backends.context import Caller
from backends.core.config import ConfigManager
from backends.core.events import EventManager
from backends.core.jobs import JobManager
from backends.core.tags import TagManager
from backends.identity.accounts import AccountManager
from backends.identity.keypairs import KeyPairManager
from backends.identity.limits import ResourceLimitManager
from backends.infra.hypervisors import Hypervisors
from backends.infra.infrastructure import InfrastructureManager
from backends.models import VirtualMachine
from backends.network.networks import NetworkManager
from backends.network.securitygroups import SecurityGroupManager
from backends.storage.templates import TemplateManager


class VmManager:
    def __init__(self, *, accounts: AccountManager, limits: ResourceLimitManager, keypairs: KeyPairManager,
                 config: ConfigManager, events: EventManager, jobs: JobManager, tags: TagManager,
                 templates: TemplateManager, networks: NetworkManager, security_groups: SecurityGroupManager,
                 infra: InfrastructureManager, capacity: CapacityManager, planner: DeploymentPlanner,
                 hypervisors: Hypervisors):
        self.accounts = accounts
        self.queries = VmQueries(config, tags, security_groups)
        self.deployer = VmDeployer(accounts, limits, keypairs, templates, networks, security_groups, infra, jobs,
                                   events)
        self.claims = PlacementClaims(planner, capacity)
        self.starter = VmStarter(accounts, config, events, limits, networks, capacity, templates, self.claims,
                                 hypervisors)
        self.lifecycle = VmLifecycle(accounts, config, events, limits, networks, capacity, tags, jobs, hypervisors)
        self.migration = VmMigration(events, capacity, planner, hypervisors, self.lifecycle)
        self.scaling = VmScaling(accounts, config, events, limits, capacity, hypervisors)
        self.launches = LaunchService(accounts, tags, self.queries, self.deployer, self.claims, self.starter,
                                      self.lifecycle)
        self.power = PowerSync(events, capacity, jobs, hypervisors)
        self.recovery = CrashRecovery(events, capacity, jobs, self.starter, self.power)

        # The public surface, each method where its service has it.
        self.list, self.list_keys = self.queries.list, self.queries.list_keys
        self.load_for_listing = self.queries.load_for_listing
        self.current_states = self.queries.current_states
        self.launched_with_token = self.queries.launched_with_token
        self.deploy, self.deploy_many = self.deployer.deploy, self.deployer.deploy_many
        self.created_work = self.deployer.created_work
        self.place = self.claims.place
        self.start_work = self.starter.start_work
        self.stop_work, self.reboot_work = self.lifecycle.stop_work, self.lifecycle.reboot_work
        self.destroy_work, self.expunge_work = self.lifecycle.destroy_work, self.lifecycle.expunge_work
        self.recover, self.discard, self.update = self.lifecycle.recover, self.lifecycle.discard, self.lifecycle.update
        self.expunge_due, self.expunge_owned_by = self.lifecycle.expunge_due, self.lifecycle.expunge_owned_by
        self.console_output = self.lifecycle.console_output
        self.migrate_work, self.migrate_away = self.migration.migrate_work, self.migration.migrate_away
        self.scale, self.scale_work = self.scaling.scale, self.scaling.scale_work
        self.launch, self.launched_before = self.launches.launch, self.launches.launched_before
        self.flag_host_down, self.sync_power_state = self.power.flag_host_down, self.power.sync_power_state
        self.recover_after_restart = self.recovery.recover_after_restart

    @staticmethod
    def sync_key(vm: VirtualMachine) -> str:
        return vm_rules.sync_key(vm)

    def check_owner(self, caller: Caller, vm: VirtualMachine) -> None:
        vm_rules.check_owner(self.accounts, caller, vm)
