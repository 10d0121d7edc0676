"""Starting a VM: the host it boots on (a claim made at launch first, then the planner, retrying other
hosts when one fails), what the hypervisor is told to boot, and what a start that cannot happen gives back.
A first deploy that never runs ends in Error with everything it held returned."""
from __future__ import annotations

import json
import logging

import peewee as pw

from backends.compute.capacity import CapacityManager
from backends.compute.placement import Claim, PlacementClaims
from backends.compute.vm_rules import MiB, check_owner, limits_of
from backends.context import Caller
from backends.core import fsm
from backends.core.config import ConfigManager
from backends.core.events import EventManager
from backends.core.jobs import JobResult
from backends.db import objects, write_tx
from backends.drivers.base import POWER_ON, DiskSpec, NicSpec, VmSpec
from backends.errors import CloudError, DriverError, InsufficientCapacity, InvalidState, PermissionDenied
from backends.identity.accounts import AccountManager
from backends.identity.limits import ResourceLimitManager
from backends.infra.hypervisors import Hypervisors
from backends.models import Host, Nic, VirtualMachine, Volume, utcnow
from backends.network.networks import NetworkManager
from backends.storage.templates import TemplateManager

log = logging.getLogger(__name__)


class VmStarter:
    def __init__(self, accounts: AccountManager, config: ConfigManager, events: EventManager,
                 limits: ResourceLimitManager, networks: NetworkManager, capacity: CapacityManager,
                 templates: TemplateManager, claims: PlacementClaims, hypervisors: Hypervisors):
        self.accounts = accounts
        self.config = config
        self.events = events
        self.limits = limits
        self.networks = networks
        self.capacity = capacity
        self.templates = templates
        self.claims = claims
        self.hypervisors = hypervisors

    def start_work(self, caller: Caller, vm: VirtualMachine, host: Host | None = None,
                   placement: Claim | None = None):
        """Checks for a start; returns the job work that performs it. A claim made by
        :meth:`PlacementClaims.place` is tried first (and given back if the start does not happen)."""
        check_owner(self.accounts, caller, vm)
        if vm.state in ("Destroyed", "Expunging", "Error"):
            raise InvalidState(f"VM {vm.uuid} is in state {vm.state} and cannot be started")
        if host is not None and not caller.is_root_admin:
            raise PermissionDenied("Parameter hostid can only be specified by a Root Admin, permission denied")
        return lambda: self.do_start(caller, vm.id, host, placement)

    def start_claimed_work(self, caller: Caller, claimed: list[tuple[VirtualMachine, Claim]]):
        """Checks for the first starts of new VMs on the hosts claimed for them (a launch's); returns one piece
        of job work starting them all, with an outcome per VM in order (see :meth:`do_start_claimed`), or None
        when a host's driver cannot start them in bulk now (each then starts in a job of its own)."""
        drivers = {self.hypervisors.driver(h) for h in {claim.placement.host.hypervisor for _, claim in claimed}}
        if not claimed or not all(driver.batches_in_transaction() for driver in drivers):
            return None
        for vm, _ in claimed:
            check_owner(self.accounts, caller, vm)
            if vm.state != "Stopped":
                raise InvalidState(f"VM {vm.uuid} is in state {vm.state} and cannot be started")
        items = [(vm.id, claim) for vm, claim in claimed]
        return lambda: self.do_start_claimed(caller, items)

    def do_start_claimed(self, caller: Caller, items: list[tuple[int, Claim]]) -> list[JobResult | CloudError]:
        """Start new VMs on their claims: in bulk (one transaction, a few statements per VM) when every host's
        driver can (``batches_in_transaction``); otherwise, or when anything in the bulk start fails (which
        then leaves nothing behind), each as :meth:`do_start` would, with its retries on other hosts."""
        try:
            started = self._start_in_bulk(caller, items)
        except Exception as exc:  # undone whole: each VM's own start says what happens to it
            if not isinstance(exc, (CloudError, _NotInBulk)):
                log.exception("bulk start of %d VMs failed; starting them one by one", len(items))
            started = None
        if started is not None:
            return started
        outcomes: list[JobResult | CloudError] = []
        for vm_id, claim in items:
            try:
                outcomes.append(self.do_start(caller, vm_id, None, claim))
            except CloudError as exc:
                outcomes.append(exc)
        return outcomes

    def _start_in_bulk(self, caller: Caller, items: list[tuple[int, Claim]]) -> list[JobResult]:
        ids = [vm_id for vm_id, _ in items]
        vms = {vm.id: vm for vm in _chunked(VirtualMachine.select(), VirtualMachine.id, ids)}
        volumes: dict[int, list[Volume]] = {}
        for volume in _chunked(Volume.select().where(Volume.removed.is_null()), Volume.vm, ids):
            volumes.setdefault(volume.vm_id, []).append(volume)
        nics: dict[int, list[Nic]] = {}
        for nic in _chunked(Nic.select(), Nic.vm, ids):
            nics.setdefault(nic.vm_id, []).append(nic)
        batch = []
        batching: dict[str, bool] = {}  # by hypervisor: asked once per start (the simulator reads its faults)
        for vm_id, claim in items:
            vm = vms.get(vm_id)
            own = sorted(volumes.get(vm_id, []), key=lambda v: v.device_id or 0)
            root = next((v for v in own if v.volume_type == "ROOT"), None)
            hypervisor = claim.placement.host.hypervisor
            if hypervisor not in batching:
                batching[hypervisor] = self.hypervisors.driver(hypervisor).batches_in_transaction()
            if vm is None or vm.state != "Stopped" or root is None or not batching[hypervisor]:
                raise _NotInBulk()
            batch.append((vm, claim.placement, own, root, sorted(nics.get(vm_id, []), key=lambda n: n.device_id)))
        copies: dict[tuple[int, int], object] = {}
        now = utcnow()
        with write_tx():
            by_pool: dict[int, list[int]] = {}  # the root disks placed on a pool now
            fsm.transition_many([vm for vm, *_ in batch], fsm.VM, "StartRequested")
            on_host: dict[int, list] = {}
            for vm, placement, _, root, _ in batch:
                on_host.setdefault(placement.host.id, []).append((vm, placement.host))
                if root.pool_id is None:
                    by_pool.setdefault(placement.pool.id, []).append(root.id)
                    root.pool = placement.pool
            for members in on_host.values():
                host = members[0][1]
                fsm.transition_many([vm for vm, _ in members], fsm.VM, "OperationRetry", host=host.id,
                                    pod=host.pod_id, cluster=host.cluster_id)
            for pool_id, volume_ids in by_pool.items():
                for start in range(0, len(volume_ids), 500):
                    Volume.update(pool=pool_id).where(Volume.id.in_(volume_ids[start:start + 500])).execute()
            by_host: dict[int, list] = {}
            for entry in batch:
                by_host.setdefault(entry[1].host.id, []).append(entry)
            for entries in by_host.values():
                host = entries[0][1].host
                driver, ref = self.hypervisors.driver(host.hypervisor), self.hypervisors.ref(host)
                new_disks, specs = [], []
                for vm, _, own, _, vm_nics in entries:
                    disks = [self._disk(vm, volume, copies) for volume in own]
                    new_disks += [(volume, disk) for volume, disk in zip(own, disks) if volume.path is None]
                    specs.append(self._spec(vm, host, disks, vm_nics))
                paths = driver.create_volumes(ref, [disk for _, disk in new_disks])
                pairs = []
                for (volume, disk), path in zip(new_disks, paths):
                    disk.path = volume.path = path
                    pairs.append((volume.id, path))
                for start in range(0, len(pairs), 500):  # each volume its own path, a statement per 500
                    part = pairs[start:start + 500]
                    Volume.update(path=pw.Case(Volume.id, part)).where(
                        Volume.id.in_([volume_id for volume_id, _ in part])).execute()
                driver.start_vms(ref, specs)
            for members in on_host.values():
                fsm.transition_many([vm for vm, _ in members], fsm.VM, "OperationSucceeded",
                                    last_host=members[0][1].id, first_start_pending=False, power_state=POWER_ON,
                                    power_state_updated=now)
            created = [root for *_, root, _ in batch if root.state == "Allocated"]
            fsm.transition_many(created, fsm.VOLUME, "CreateRequested")
            fsm.transition_many(created, fsm.VOLUME, "OperationSucceeded")
            self.events.record_many(caller, "VM.START", [(f"Successfully started VM {vm.name}", vm)
                                                         for vm, *_ in batch])
        return [JobResult("VirtualMachine", vm.uuid) for vm, *_ in batch]

    def do_start(self, caller: Caller, vm_id: int, pinned: Host | None = None, claim: Claim | None = None
                 ) -> JobResult:
        vm = VirtualMachine.get_by_id(vm_id)
        volumes = list(vm.volumes.where(Volume.removed.is_null()).order_by(Volume.device_id))
        root = next((v for v in volumes if v.volume_type == "ROOT"), None)
        if vm.state == "Running":
            if claim is not None:
                self.claims.release_claim(vm, claim)
            return JobResult("VirtualMachine", vm.uuid)
        try:
            if vm.state != "Stopped" or root is None:
                raise InvalidState(f"VM {vm.uuid} is in state {vm.state} and cannot be started")
            first = vm.first_start_pending
            with write_tx():
                fsm.transition(vm, fsm.VM, "StartRequested")
        except CloudError:
            if claim is not None:
                self.claims.release_claim(vm, claim)  # the start will not happen: its claim goes back
            raise
        avoid: set[int] = set()
        attempts = self.config.get_int("start.retry")
        last_error: CloudError | None = None
        for _ in range(max(1, attempts)):
            if claim is not None:
                placement, claim = claim.placement, None
            else:
                try:
                    placement = self.claims.plan(vm, root, avoid, pinned)
                except InsufficientCapacity as exc:
                    if not isinstance(last_error, DriverError):  # a host that failed says more than "none left"
                        last_error = exc
                    break
            host = placement.host
            try:
                with write_tx():
                    fsm.transition(vm, fsm.VM, "OperationRetry", host=host.id, pod=host.pod_id,
                                   cluster=host.cluster_id)
                    if root.pool_id is None:
                        Volume.update(pool=placement.pool.id).where(Volume.id == root.id).execute()
                        root.pool = placement.pool
                self._boot(vm, host, volumes)
            except DriverError as exc:
                log.info("start of %s on host %s failed: %s", vm.instance_name, host.name, exc.message)
                last_error = exc
                avoid.add(host.id)
                self.claims.release_placement(vm, placement, root, first)
                continue
            with write_tx():
                fsm.transition(vm, fsm.VM, "OperationSucceeded", last_host=host.id, first_start_pending=False,
                               power_state=POWER_ON, power_state_updated=utcnow())
                if root.state == "Allocated":
                    fsm.transition(root, fsm.VOLUME, "CreateRequested")
                    fsm.transition(root, fsm.VOLUME, "OperationSucceeded")
                self.events.record(caller, "VM.START", f"Successfully started VM {vm.name}", resource=vm)
            return JobResult("VirtualMachine", vm.uuid)
        self._start_failed(caller, vm, first)
        if isinstance(last_error, InsufficientCapacity) or last_error is None:
            raise InsufficientCapacity(f"Unable to create a deployment for VM instance {vm.uuid}: "
                                       f"no host in zone {vm.zone.name} has capacity for it")
        raise InsufficientCapacity(f"Unable to start VM instance {vm.uuid}: every suitable host failed "
                                   f"({last_error.message})")

    def _boot(self, vm: VirtualMachine, host: Host, volumes: list[Volume]) -> None:
        """Tell the host's hypervisor to boot the VM: its disks (created on first use), NICs and shape."""
        driver = self.hypervisors.driver(host.hypervisor)
        ref = self.hypervisors.ref(host)
        disks = []
        for volume in volumes:
            disk = self._disk(vm, volume, {})
            if volume.path is None:
                disk.path = driver.create_volume(ref, disk)
                Volume.update(path=disk.path).where(Volume.id == volume.id).execute()
                volume.path = disk.path
            disks.append(disk)
        driver.start_vm(ref, self._spec(vm, host, disks, list(vm.nics.order_by(Nic.device_id))))

    def _disk(self, vm: VirtualMachine, volume: Volume, copies: dict) -> DiskSpec:
        """What the hypervisor is told of a disk (``copies``: template copies already looked up, by template
        and zone)."""
        pool = volume.pool
        template_path = None
        if volume.volume_type == "ROOT" and volume.template_id:
            key = (volume.template_id, vm.zone_id)
            if key not in copies:
                copies[key] = self.templates.get_ready_copy(volume.template, vm.zone)
            template_path = copies[key].install_path
        return DiskSpec(path=volume.path or f"{volume.uuid}", pool_url=pool.url if pool else "",
                        size=volume.size, device_id=volume.device_id or 0, volume_type=volume.volume_type,
                        template_path=template_path, format=volume.format)

    def _spec(self, vm: VirtualMachine, host: Host, disks: list[DiskSpec], nics: list[Nic]) -> VmSpec:
        nics = [NicSpec(mac_address=n.mac_address, ip_address=n.ip_address, netmask=n.netmask, gateway=n.gateway,
                        device_id=n.device_id, broadcast_uri=n.broadcast_uri) for n in nics]
        details = json.loads(vm.details or "{}")
        max_cpus = max_memory = None
        if vm.is_dynamically_scalable and self.config.get_bool("enable.dynamic.scale.vm"):
            # Headroom the hypervisor reserves so scale_vm can hot-plug up to it.
            max_cpus = self.config.get_int("vm.serviceoffering.cpu.cores.max") or host.cpu_cores
            max_memory = self.config.get_int("vm.serviceoffering.ram.size.max") or host.memory_bytes // MiB
        return VmSpec(name=vm.instance_name, cpus=vm.cpu_number, cpu_speed=vm.cpu_speed, memory_mib=vm.memory,
                      disks=disks, nics=nics, hostname=vm.name, user_data=vm.user_data,
                      ssh_public_key=details.get("SSH.PublicKey"), max_cpus=max_cpus, max_memory_mib=max_memory)

    def _start_failed(self, caller: Caller, vm: VirtualMachine, first: bool) -> None:
        """No host could run the VM: back to Stopped; a first deploy ends in Error and gives everything back."""
        with write_tx():
            fsm.transition(vm, fsm.VM, "OperationFailed", host=None)
            if first:
                self.first_deploy_failed(caller, vm, "no capacity")

    def first_deploy_failed(self, caller: Caller | None, vm: VirtualMachine, reason: str) -> None:
        """A Stopped VM whose first deploy will not complete: Error, with everything it held given back
        (inside the caller's write transaction)."""
        fsm.transition(vm, fsm.VM, "OperationFailedToError")
        self._give_back(vm)
        self.events.record(caller, "VM.CREATE", f"Failed to deploy VM {vm.name}: {reason}", resource=vm, level="ERROR")

    def _give_back(self, vm: VirtualMachine) -> None:
        """Release counts, addresses and storage of a VM that will not run again."""
        account = vm.account
        volumes = list(vm.volumes.where(Volume.removed.is_null()))
        root_bytes = sum(v.size for v in volumes if v.volume_type == "ROOT")
        self.limits.release(account, limits_of(vm.cpu_number, vm.memory, root_bytes))
        self.networks.release_nics(vm)
        for volume in volumes:
            if volume.volume_type != "ROOT":
                continue
            if volume.pool_id is not None:
                self.capacity.release_storage(volume.pool_id, volume.size)
            Volume.update(state="Destroy", removed=utcnow(), vm=None, device_id=None).where(
                Volume.id == volume.id).execute()


class _NotInBulk(Exception):
    """A start of the batch cannot be done in bulk (a VM moved meanwhile, a host of a driver outside the database)."""


def _chunked(query, column, ids: list[int]) -> list:
    """The rows of ``query`` (whole rows of its model) whose ``column`` is one of ``ids``, a few hundred ids per
    statement."""
    rows = []
    for start in range(0, len(ids), 500):
        rows += objects(query.where(column.in_(ids[start:start + 500])))
    return rows
