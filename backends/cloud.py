"""The cloud: the composition root of the backend, and what both front doors are handed.

``Cloud.start`` connects and migrates the database, builds the drivers the registry offers, and
builds every manager in dependency order, handing each the collaborators it uses; where a lower
area must make a higher one act (a host down, an account disabled), it wires the lower area's hooks
to the higher one. The native API and the EC2 API call the managers' public methods on a started
``Cloud`` (through ``backends.api``); they never reach the database or drivers themselves.
See docs/architecture.md.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from backends import db as dbmod
from backends.core import lookup
from backends.drivers import registry as driver_registry
from backends.drivers.base import Driver
from backends.migrations import migrate

if TYPE_CHECKING:
    from backends.identity.access import Scope

log = logging.getLogger(__name__)


class Cloud:
    def __init__(self, db_url: str, *, data_dir: str = "data", region: str = "us-east-1",
                 node_id: str | None = None, job_workers: int = 8, background: bool = True,
                 drivers: dict[str, Driver] | None = None, driver_settings: Mapping[str, str] | None = None,
                 zone_capacity: int | None = None, zone_names: Callable[[str], list[str]] | None = None,
                 emulator_account: str | None = None):
        self.db_url = db_url
        # The EC2 emulator's bootstrap: room for this many t2.micro-sized VMs in each simulated zone
        # (None: the demo cloud's real-sized hosts).
        self.zone_capacity = zone_capacity
        # The EC2 emulator's zones: the names a region's zones get (AWS's: us-east-1a..f), all made with the
        # region; None, or no names for a region: <region>a and b for the home region, a to c for others.
        self.zone_names = zone_names
        # The EC2 emulator's default account: part of the snapshot a reset restores (its password hash is slow).
        self.emulator_account = emulator_account
        self.data_dir = data_dir
        self.region_name = region
        self.node_id = node_id or socket.gethostname()
        self.background = background
        self._job_workers = job_workers
        self._extra_drivers = drivers or {}
        self._driver_settings = dict(driver_settings or {})  # DriverSetting.name -> value (--kvm-bridge...)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._reset_lock = threading.Lock()
        self._known_regions: set[str] = set()
        self._snapshot = None  # the emulator's freshly bootstrapped database (backends.snapshot.Snapshot)
        self.started = False

    # ------------------------------------------------------------- start-up
    def start(self) -> "Cloud":
        """Connect, migrate, build the managers, recover from a crash, start timers."""
        from backends.compute.capacity import CapacityManager
        from backends.compute.launch_templates import LaunchTemplateManager
        from backends.compute.offerings import OfferingManager
        from backends.compute.planner import DeploymentPlanner
        from backends.compute.vms import VmManager
        from backends.core.config import ConfigManager
        from backends.core.events import EventManager
        from backends.core.jobs import JobManager
        from backends.core.tags import TagManager
        from backends.drivers.simulator import SimulatorDriver
        from backends.identity.access import AccessControl
        from backends.identity.accounts import AccountManager
        from backends.identity.keypairs import KeyPairManager
        from backends.identity.limits import ResourceLimitManager
        from backends.infra.infrastructure import InfrastructureManager
        from backends.network.networks import NetworkManager
        from backends.network.securitygroups import SecurityGroupManager
        from backends.storage.templates import TemplateManager
        from backends.storage.volumes import VolumeManager

        os.makedirs(self.data_dir, exist_ok=True)
        self.database = dbmod.connect(self.db_url)
        migrate()
        self.config = ConfigManager()
        self.config.seed()
        # One driver per hypervisor available here, as the drivers registered themselves.
        self.drivers: dict[str, Driver] = driver_registry.build_drivers(
            driver_registry.DriverContext(data_dir=self.data_dir, settings=self._driver_settings))
        self.drivers.update(self._extra_drivers)
        # What to install for a hypervisor whose driver is not available here.
        self.install_hints: dict[str, str] = driver_registry.install_hints()
        # The simulator answers configureSimulator and downloads templates of no particular hypervisor.
        self.simulator: SimulatorDriver = self.drivers[SimulatorDriver.hypervisor_type]
        self.events = EventManager()
        self.jobs = JobManager(self.node_id, workers=self._job_workers)
        access = AccessControl()
        self.limits = ResourceLimitManager(self.config, access)
        self.accounts = AccountManager(self.config, self.events, self.limits, access)
        self.infra = InfrastructureManager(events=self.events, config=self.config, region_name=self.region_name,
                                           driver_for=self.driver, hypervisors=lambda: self.drivers,
                                           installable=lambda: self.install_hints)
        self.capacity = CapacityManager(self.config)
        self.planner = DeploymentPlanner(self.config, self.capacity)
        self.offerings = OfferingManager(self.accounts, self.events)
        self.templates = TemplateManager(events=self.events, config=self.config, accounts=self.accounts,
                                         limits=self.limits, driver_for=self.driver, hypervisors=lambda: self.drivers)
        self.tags = TagManager(self.events, access)
        self.volumes = VolumeManager(config=self.config, events=self.events, accounts=self.accounts,
                                     limits=self.limits, hypervisors=self.infra.hypervisors, jobs=self.jobs,
                                     tags=self.tags)
        self.networks = NetworkManager()
        self.keypairs = KeyPairManager(self.events, access)
        self.security_groups = SecurityGroupManager(self.events, self.accounts, self.tags)
        self.launch_templates = LaunchTemplateManager(self.events, access, self.tags)
        self.vms = VmManager(accounts=self.accounts, limits=self.limits, keypairs=self.keypairs, config=self.config,
                             events=self.events, jobs=self.jobs, tags=self.tags, templates=self.templates,
                             networks=self.networks, security_groups=self.security_groups, infra=self.infra,
                             capacity=self.capacity, planner=self.planner,
                             hypervisors=self.infra.hypervisors)
        # Identity sits below compute: disabling or deleting an account reaches the VMs through these.
        self.accounts.set_vm_stopper(lambda caller, vm: self.vms.stop_work(caller, vm)())
        self.accounts.add_cleanup_hook(self.vms.expunge_owned_by)
        self.accounts.add_cleanup_hook(self.volumes.delete_owned_by)  # after the VMs: they let go of them
        # What compute does about hosts, for infra below it: power reports, a host down, emptying a host.
        self.infra.add_power_report_hook(self.vms.sync_power_state)
        self.infra.add_host_down_hook(self.vms.flag_host_down)
        self.infra.add_evacuation_hook(self.vms.migrate_away)
        self.jobs.add_recovery_hook(self.volumes.recover_after_restart)  # before compute's capacity recount
        self.jobs.add_recovery_hook(self.vms.recover_after_restart)
        self.jobs.add_recovery_hook(self.templates.resume_downloads)
        self.jobs.recover()
        if self.background:
            self._every("ping.interval", self.infra.ping_hosts)
            self._every("expunge.interval", self.vms.expunge_due)
            self._every("expunge.scheduled.interval", lambda: self.vms.expunge_due(scheduled_only=True),
                        name="expunge-scheduled")
            # Finished jobs are kept job.expire.minutes; sweeping at the expunge interval is often enough.
            self._every("expunge.interval", lambda: self.jobs.expire(self.config.get_int("job.expire.minutes")),
                        name="job-expiry")
        self.started = True
        return self

    def stop(self) -> None:
        self._stop.set()
        if self.started:
            self.jobs.shutdown(wait=False)
            self.templates.shutdown()
        for t in self._threads:
            t.join(timeout=2)
        dbmod.close()

    @contextmanager
    def rehearsal(self):
        """Whatever the managers do inside is undone at the end: a request checked all the way through,
        limits, ownership and capacity included, without taking effect (EC2's DryRun). Work that would
        run later (jobs, drivers) must not be started inside."""
        with dbmod.write_tx():
            try:
                with self.database.atomic():
                    yield
                    raise _Rehearsed()
            except _Rehearsed:
                pass

    def keep_snapshot(self) -> None:
        """Emulator mode: remember the database as it is now (freshly bootstrapped) for :meth:`reset`."""
        with self._reset_lock:
            self._take_snapshot()

    def _take_snapshot(self) -> None:
        from backends.snapshot import Snapshot

        if self.emulator_account:  # with its default security group, as a first launch would make it
            caller = self.accounts.caller_for_any_key(self.emulator_account, default_account=self.emulator_account)
            self.security_groups.default_group(self.accounts.get_caller_account(caller))
        self._snapshot = Snapshot.take()

    def reset(self):
        """Emulator mode: back to a freshly bootstrapped demo cloud; returns the demo credentials.

        Running jobs and downloads finish first. Then the snapshot :meth:`keep_snapshot` took is put back over
        the database; without one (the server started on a database already in use) every table is dropped and
        the schema, settings and demo cloud are built again as on a first start, and that state is kept as the
        snapshot for later resets. Last, what the managers hold in memory about the rows is forgotten: regions
        seen, settings, host references, the job queues."""
        from backends import bootstrap

        with self._reset_lock:
            self.jobs.shutdown(wait=True)
            self.templates.wait_for_downloads(timeout=60)
            if self._snapshot is not None:
                self._snapshot.restore()
            else:
                self._rebuild()
                bootstrap.ensure_demo_cloud(self)
                self._take_snapshot()
            self._known_regions.clear()
            self.config.reload()
            self.infra.forget_hosts()
            self.jobs.reopen()  # the same manager: the managers it was handed keep a working one
            return bootstrap.demo_credentials()

    def _rebuild(self) -> None:
        """Every table dropped, then the schema and settings of a first start."""
        from backends.drivers import simulator_store
        from backends.migrations import SchemaVersion
        from backends.models import ALL_MODELS

        self._known_regions.clear()
        self.infra.forget_hosts()
        with dbmod.write_tx():
            self.database.drop_tables(ALL_MODELS + simulator_store.MODELS + [SchemaVersion])
        migrate()
        self.config.seed()
        self.config.reload()

    def seed_ids(self, a: int | None) -> None:
        """Emulator mode: the identifiers of new objects (and the EC2 ids derived from them) that follow are
        reproducible from ``a`` (moto's ``POST /moto-api/seed``); None: random again. See backends/uuids.py."""
        from backends import uuids

        uuids.seed(a)

    def ensure_region(self, name: str) -> bool:
        """Emulator mode: make the region exist (its zones on the simulator); True if created now."""
        from backends import bootstrap

        if name in self._known_regions:
            return False
        created = bootstrap.ensure_region(self, name)
        self._known_regions.add(name)
        return created

    def has_region(self, name: str) -> bool:
        """Whether the cloud serves region ``name`` (asked on every EC2 request: cached once seen,
        regions are never removed)."""
        if name not in self._known_regions and self.infra.list_regions(name=name)[0]:
            self._known_regions.add(name)
        return name in self._known_regions

    def driver(self, hypervisor: str) -> Driver:
        """The driver of ``hypervisor``; a hypervisor not available here is an error saying what to install."""
        from backends.errors import InvalidParameterValue

        try:
            return self.drivers[hypervisor]
        except KeyError:
            raise InvalidParameterValue(self.install_hints.get(
                hypervisor, f"Hypervisor {hypervisor} is not available on this management server")) from None

    def lookup(self, entity: str, uuid: str, caller=None):
        """The row with this uuid; with a ``caller``, None too when the caller may not know it exists
        (another tenant's object answers exactly as a missing one)."""
        return self._visible(lookup.find(entity, uuid), caller)

    def lookup_prefix(self, entity: str, prefix: str, caller=None):
        return self._visible(lookup.find_by_prefix(entity, prefix), caller)

    def _visible(self, row, caller):
        if row is None or caller is None or self.accounts.can_see(caller, row):
            return row
        return None

    # ------------------------------------------- for the front doors (which see no driver, no query)
    def hypervisors(self) -> list[str]:
        """The hypervisors this management server has a driver for, by name."""
        return sorted(self.drivers)

    def configure_simulator(self, name: str, value: str, *, zone: str | None = None, pod: str | None = None,
                            cluster: str | None = None, host: str | None = None, count: int | None = None) -> None:
        """Fault injection on the simulator (``configureSimulator``); scope by uuids, the host by its guid."""
        from backends.errors import InvalidParameterValue

        try:
            self.simulator.configure(name, value, zone=zone, pod=pod, cluster=cluster, host=host, count=count)
        except ValueError as exc:
            raise InvalidParameterValue(str(exc)) from None

    def find_job(self, job_uuid: str, scope: Scope):
        """The async job with this uuid if ``scope`` shows it, else NotFound."""
        return self.jobs.get(job_uuid, lambda query: scope.apply(query, query.model))

    def list_jobs(self, scope: Scope, **filters):
        """The async jobs ``scope`` shows (filters and paging as ``JobManager.list``): (total, page)."""
        return self.jobs.list(lambda query: scope.apply(query, query.model), **filters)

    def _every(self, setting: str, task, name: str | None = None) -> None:
        """Run ``task`` periodically; the period is re-read from ``setting`` each time."""

        def loop():
            while not self._stop.wait(max(1.0, self.config.get_float(setting))):
                try:
                    with self.database.connection_context():
                        task()
                except Exception:
                    log.exception("periodic task %s failed", name or task.__name__)

        thread = threading.Thread(target=loop, name=f"timer-{name or setting}", daemon=True)
        thread.start()
        self._threads.append(thread)


class _Rehearsed(Exception):
    """Raised at the end of a rehearsal to roll everything back."""
