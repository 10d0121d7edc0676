"""Virtual machines: deploy, lifecycle, recovery, power-state sync, expunge.

The API-facing methods do the synchronous part (checks, rows, limits) and
return work for a job; the ``_do_*`` methods are that work, run by a job
worker under the VM's sync key so two operations on one VM never interleave.
Every state change goes through the VM state machine; every failure undoes
what it claimed (host capacity, storage, IPs, resource counts).
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import secrets
from dataclasses import dataclass

from backends.compute.offerings import MAX_DISK_GB, MAX_INT
from backends.context import Caller
from backends.core import fsm, prefetch
from backends.core.jobs import JobResult
from backends.db import write_tx
from backends.drivers.base import POWER_OFF, POWER_ON, DiskSpec, NicSpec, VmSpec
from backends.errors import (CloudError, DriverError, InsufficientCapacity, InvalidParameterValue, InvalidState,
                             PermissionDenied)
from backends.models import Host, Nic, ServiceOffering, Template, VirtualMachine, Volume, Zone, utcnow

log = logging.getLogger(__name__)

GiB = 1 << 30
MiB = 1 << 20
ACTIVE_ON_HOST = ("Starting", "Running", "Stopping", "Migrating")
RT_VM, RT_VOLUME, RT_CPU, RT_MEMORY, RT_PRIMARY = 0, 2, 8, 9, 10


def _any_of(conditions: list):
    """``a | b | ...`` as a balanced tree: a chain of hundreds overflows SQLite's parser stack."""
    if len(conditions) == 1:
        return conditions[0]
    middle = len(conditions) // 2
    return _any_of(conditions[:middle]) | _any_of(conditions[middle:])


def _limits_of(vm_cpu: int, vm_mem: int, root_bytes: int) -> dict[int, int]:
    return {RT_VM: 1, RT_CPU: vm_cpu, RT_MEMORY: vm_mem, RT_VOLUME: 1, RT_PRIMARY: -(-root_bytes // GiB)}


class VmManager:
    def __init__(self, cloud):
        self.cloud = cloud

    # ---------------------------------------------------------------- lookup
    def sync_key(self, vm: VirtualMachine) -> str:
        return f"vm:{vm.id}"

    def check_owner(self, caller: Caller, vm: VirtualMachine) -> None:
        self.cloud.accounts.check_access(caller, vm.account_id, vm.domain_id, entity="VirtualMachine",
                                         uuid=vm.uuid)

    def list(self, caller: Caller, *, scope, id=None, ids=None, name=None, state=None, zone=None,
             template=None, service_offering=None, host=None, keyword=None, page=None, pagesize=None,
             include_destroyed: bool = False, zones=None, tags=None, any_tag=None, uuid_prefixes=None,
             row_ids=None):
        """VMs the caller may see, newest first; destroyed ones only when allowed."""
        query = self._query(caller, scope=scope, id=id, ids=ids, name=name, state=state, zone=zone,
                            template=template, service_offering=service_offering, host=host, keyword=keyword,
                            include_destroyed=include_destroyed, zones=zones, tags=tags, any_tag=any_tag,
                            uuid_prefixes=uuid_prefixes, row_ids=row_ids)
        total = query.count() if pagesize else None
        query = query.order_by(VirtualMachine.id.desc())
        if pagesize:
            query = query.paginate(page or 1, pagesize)
        rows = list(query)
        _load_for_listing(rows)
        tags_of = self.cloud.tags.tags_of("UserVm", [vm.uuid for vm in rows])
        groups = self.cloud.security_groups.groups_of(rows)
        for vm in rows:
            vm.__dict__["_tags"] = tags_of.get(vm.uuid, [])
            vm.__dict__["_groups"] = groups.get(vm.id, [])
        return (len(rows) if total is None else total), rows

    def list_keys(self, caller: Caller, *, scope, **filters) -> list[tuple[int, str | None, str]]:
        """``(id, launch group, uuid)`` of the VMs :meth:`list` would return with the same filters, oldest
        first: cheap enough to page over a large fleet before loading any VM of the page."""
        query = self._query(caller, scope=scope, **filters)
        return list(query.select(VirtualMachine.id, VirtualMachine.launch_group, VirtualMachine.uuid)
                    .order_by(VirtualMachine.id).tuples())

    def _query(self, caller: Caller, *, scope, id=None, ids=None, name=None, state=None, zone=None,
               template=None, service_offering=None, host=None, keyword=None, include_destroyed: bool = False,
               zones=None, tags=None, any_tag=None, uuid_prefixes=None, row_ids=None):
        """The VMs the caller may see with these filters. ``tags`` maps keys to accepted values (any value
        when empty), all keys required (EC2); ``any_tag`` maps keys to values, one pair enough (CloudStack);
        ``uuid_prefixes`` accepts any uuid starting with one of them (indexed ranges)."""
        query = VirtualMachine.select().where(VirtualMachine.removed.is_null())
        query = scope.apply(query, VirtualMachine)
        if id is not None:
            query = query.where(VirtualMachine.id == id.id)
        if ids:
            query = query.where(VirtualMachine.id.in_([v.id for v in ids]))
        if row_ids is not None:
            query = query.where(VirtualMachine.id.in_(list(row_ids)))
        if name:
            query = query.where(VirtualMachine.name == name)
        if state:
            wanted = state.capitalize()
            if wanted == "Present":
                query = query.where(VirtualMachine.state.not_in(("Destroyed", "Expunging")))
            else:
                query = query.where(VirtualMachine.state == wanted)
        elif not (include_destroyed or caller.is_admin or self.cloud.config.get_bool("allow.user.view.destroyed.vm")):
            query = query.where(VirtualMachine.state.not_in(("Destroyed", "Expunging")))
        if zone is not None:
            query = query.where(VirtualMachine.zone == zone.id)
        if zones is not None:
            query = query.where(VirtualMachine.zone.in_([z.id for z in zones]))
        if template is not None:
            query = query.where(VirtualMachine.template == template.id)
        if service_offering is not None:
            query = query.where(VirtualMachine.service_offering == service_offering.id)
        if host is not None:
            query = query.where(VirtualMachine.host == host.id)
        if keyword:
            query = query.where(VirtualMachine.name.contains(keyword) |
                                VirtualMachine.display_name.contains(keyword))
        query = self.cloud.tags.where_tagged(query, "UserVm", VirtualMachine.uuid, tags)
        query = self.cloud.tags.where_tagged_any(query, "UserVm", VirtualMachine.uuid, any_tag)
        if uuid_prefixes is not None:
            ranges = [(VirtualMachine.uuid >= p) & (VirtualMachine.uuid < p + "~") for p in uuid_prefixes]
            query = query.where(_any_of(ranges) if ranges else VirtualMachine.id < 0)
        return query

    # ---------------------------------------------------------------- deploy
    def deploy(self, caller: Caller, **kwargs) -> VirtualMachine:
        """Create one VM (Stopped), its NIC and ROOT volume; see :meth:`deploy_many`."""
        return self.deploy_many(caller, count=1, **kwargs)[0]

    def deploy_many(self, caller: Caller, *, count: int, zone: Zone, offering: ServiceOffering, template: Template,
               owner=None, name: str | None = None, display_name: str | None = None, start: bool = True,
               user_data: str | None = None, key_pair: str | None = None, ssh_public_key: str | None = None,
               root_disk_size_gb: int | None = None, group: str | None = None, host: Host | None = None,
               details: dict | None = None, request_ip: str | None = None, launch_group: str | None = None,
               client_token: str | None = None, security_groups: list | None = None,
               job_command: str | None = None) -> list[VirtualMachine]:
        """Create ``count`` VMs (Stopped) alike, each with its NIC and ROOT volume, counting them against
        limits: all of them or none, in one transaction.

        Starting them is separate (:meth:`start_work`), so the API can answer with
        the new ids at once and run the starts in jobs. With ``job_command`` each VM's
        job is created in the same transaction (``vm.deploy_job``, to schedule or
        withdraw): a crash can never leave a VM that no job explains.
        """
        account = owner or self.cloud.accounts.get_caller_account(caller)
        if count > 1 and (name or request_ip):
            raise InvalidParameterValue("A name or an IP address can be given to one VM only")
        if zone.removed is not None or (zone.allocation_state != "Enabled" and not caller.is_root_admin):
            raise InvalidParameterValue(f"Zone {zone.uuid} is not available for deployment")
        if offering.removed is not None or offering.is_system:
            raise InvalidParameterValue(f"Service offering {offering.uuid} is not available")
        if offering.is_customized and not details:
            raise InvalidParameterValue("Custom service offering needs cpuNumber, cpuSpeed and memory details")
        if template.removed is not None:
            raise InvalidParameterValue(f"Template {template.uuid} has been removed")
        if not (template.is_public or template.account_id == account.id or caller.is_root_admin):
            raise PermissionDenied(f"Account {account.name} does not have permission to use template "
                                   f"{template.uuid}")
        if host is not None and not caller.is_root_admin:
            raise PermissionDenied("Parameter hostid can only be specified by a Root Admin, permission denied")
        copy = self.cloud.templates.get_ready_copy(template, zone)
        if key_pair and ssh_public_key is None:
            pair = self.cloud.keypairs.get(caller, key_pair, owner=account)
            if pair is None:
                raise InvalidParameterValue(f"A key pair with name '{key_pair}' was not found for account "
                                            f"{account.name}")
            ssh_public_key = pair.public_key
        if user_data is not None:
            _check_user_data(user_data)
        if root_disk_size_gb is not None and not 1 <= root_disk_size_gb <= MAX_DISK_GB:
            raise InvalidParameterValue(f"The root disk size must be 1 to {MAX_DISK_GB} GB, not {root_disk_size_gb}")
        cpus, speed, memory = _shape_of(offering, details or {})
        root_bytes = max(copy.size or GiB, (root_disk_size_gb or offering.root_disk_size or 0) * GiB)
        network = self.cloud.networks.default_network(zone, account)
        groups = list(security_groups or [])
        if not groups and zone.security_groups_enabled:
            groups = [self.cloud.security_groups.default_group(account)]
        # A template made for one hypervisor runs there; a generic one (an ISO) on the zone's.
        hypervisor = template.hypervisor if template.hypervisor not in ("None", "Any", "") else \
            self.cloud.infra.zone_hypervisor(zone)
        created = []
        with write_tx():
            self.cloud.limits.reserve(account, {k: v * count for k, v in _limits_of(cpus, memory, root_bytes).items()})
            for _ in range(count):
                created.append(self._create(caller, account, zone, offering, template, network, groups,
                                            hypervisor=hypervisor, name=name, display_name=display_name, cpus=cpus, speed=speed,
                                            memory=memory, root_bytes=root_bytes, group=group, user_data=user_data,
                                            key_pair=key_pair, ssh_public_key=ssh_public_key, details=details,
                                            request_ip=request_ip, launch_group=launch_group,
                                            client_token=client_token))
            if job_command is not None:
                jobs = self.cloud.jobs.create(caller, job_command, [("VirtualMachine", vm.uuid, self.sync_key(vm))
                                                                    for vm in created])
                for vm, job in zip(created, jobs):
                    vm.deploy_job = job
        return created

    def _create(self, caller, account, zone, offering, template, network, groups, *, hypervisor, name,
                display_name, cpus, speed, memory, root_bytes, group, user_data, key_pair, ssh_public_key, details,
                request_ip, launch_group, client_token) -> VirtualMachine:
        """The rows of one new VM (inside the deploy's transaction)."""
        vm = VirtualMachine.create(
            name=name or "", display_name=display_name or name or "", instance_name=secrets.token_hex(8),
            account=account.id, domain=account.domain_id, user=caller.user_id, zone=zone.id,
            template=template.id, service_offering=offering.id, cpu_number=cpus, cpu_speed=speed,
            memory=memory, state="Stopped", hypervisor=hypervisor, os_type=template.os_type_id,
            ha_enabled=offering.offer_ha, group=group, user_data=user_data, key_pair=key_pair,
            details=json.dumps({**(details or {}), **({"SSH.PublicKey": ssh_public_key} if ssh_public_key
                                                      else {})}),
            is_dynamically_scalable=template.is_dynamically_scalable,
            password=_password() if template.password_enabled else None,
            launch_group=launch_group, client_token=client_token,
        )
        # CloudStack's naming: i-<account id>-<vm id>-VM; hostname defaults from the uuid.
        vm.instance_name = f"i-{account.id}-{vm.id}-VM"
        vm.name = vm.name or f"VM-{vm.uuid}"
        vm.display_name = vm.display_name or vm.name
        vm.save()
        self.cloud.networks.create_nic(vm, network, device_id=0, is_default=True, requested_ip=request_ip)
        self.cloud.security_groups.attach(vm, groups)
        Volume.create(name=f"ROOT-{vm.id}", account=account.id, domain=account.domain_id, zone=zone.id,
                      vm=vm.id, device_id=0, volume_type="ROOT", state="Allocated", size=root_bytes,
                      template=template.id, format=template.format)
        self.cloud.events.record("VM.CREATE", f"Successfully created VM {vm.name}", caller=caller,
                                 account_id=account.id, domain_id=account.domain_id,
                                 resource_type="VirtualMachine", resource_uuid=vm.uuid)
        return vm

    def launched_with_token(self, account, client_token: str) -> list[VirtualMachine]:
        """The VMs an earlier launch with this idempotency token created for the account (none when it
        failed and was undone, so a retry with the same token launches afresh)."""
        return list(VirtualMachine.select().where(VirtualMachine.account == account.id,
                                                  VirtualMachine.client_token == client_token,
                                                  VirtualMachine.removed.is_null())
                    .order_by(VirtualMachine.id))

    def created_work(self, vm: VirtualMachine):
        """The job of a deploy with startvm=false: the VM simply stays Stopped."""
        return lambda: JobResult("VirtualMachine", vm.uuid)

    def list_volumes(self, caller: Caller, *, scope, id=None, ids=None, name=None, volume_type=None, vm=None,
                     zone=None, state=None, keyword=None, page=None, pagesize=None):
        query = scope.apply(Volume.select().where(Volume.removed.is_null()), Volume)
        if id is not None:
            query = query.where(Volume.id == id.id)
        if ids:
            query = query.where(Volume.id.in_([v.id for v in ids]))
        if name:
            query = query.where(Volume.name == name)
        if volume_type:
            query = query.where(Volume.volume_type == volume_type.upper())
        if vm is not None:
            query = query.where(Volume.vm == vm.id)
        if zone is not None:
            query = query.where(Volume.zone == zone.id)
        if state:
            query = query.where(Volume.state == state)
        if keyword:
            query = query.where(Volume.name.contains(keyword))
        total = query.count()
        query = query.order_by(Volume.id.desc())
        if pagesize:
            query = query.paginate(page or 1, pagesize)
        rows = list(query)
        prefetch.attach(rows, "account", "domain", "zone", "vm.service_offering", "disk_offering", "template", "pool")
        return total, rows

    # ----------------------------------------------------------------- start
    def start_work(self, caller: Caller, vm: VirtualMachine, host: Host | None = None,
                   placement: Claim | None = None):
        """Checks for a start; returns the job work that performs it. A claim made by :meth:`place` is
        tried first (and given back if the start does not happen)."""
        self.check_owner(caller, vm)
        if vm.state in ("Destroyed", "Expunging", "Error"):
            raise InvalidState(f"VM {vm.uuid} is in state {vm.state} and cannot be started")
        if host is not None and not caller.is_root_admin:
            raise PermissionDenied("Parameter hostid can only be specified by a Root Admin, permission denied")
        return lambda: self._do_start(caller, vm.id, host, placement)

    def place(self, caller: Caller, vms: list[VirtualMachine], minimum: int) -> dict:
        """Claim a host, and storage for the root disk, for each of these new VMs now: as many as fit, at
        least ``minimum`` of them or none (InsufficientCapacity, every claim given back). For callers that
        must know before they answer (EC2's RunInstances); each VM's start then boots on its claim first.
        Returns ``{vm id: claim}``."""
        roots = {v.vm_id: v for v in Volume.select().where(Volume.vm.in_([vm.id for vm in vms]),
                                                            Volume.volume_type == "ROOT", Volume.removed.is_null())}
        placed = {}
        for vm in vms:
            root = roots[vm.id]
            try:
                placed[vm.id] = Claim(self._plan(vm, root, set(), None), root.size if root.pool_id is None else 0)
            except InsufficientCapacity:
                break  # the VMs of one launch are alike: the next would not fit either
        if len(placed) < minimum:
            for vm in vms:
                if vm.id in placed:
                    self._release_claim(vm, placed[vm.id])
            zone = vms[0].zone.name if vms else ""
            raise InsufficientCapacity(f"Insufficient capacity: {len(placed)} of the {minimum} VMs asked for "
                                       f"fit in zone {zone}")
        return placed

    def _plan(self, vm: VirtualMachine, root: Volume, avoid: set[int], pinned: Host | None):
        return self.cloud.planner.plan(
            zone=vm.zone, cpu_number=vm.cpu_number, cpu_speed=vm.cpu_speed, memory_mib=vm.memory,
            root_size_bytes=root.size if root.pool_id is None else 0,
            hypervisor=vm.hypervisor, host_tags=vm.service_offering.host_tags, host=pinned,
            avoid_hosts=avoid, last_host=vm.last_host, account_id=vm.account_id,
            pool=root.pool if root.pool_id is not None else None)

    def _release_claim(self, vm: VirtualMachine, claim: Claim) -> None:
        """Give back a claim that no start used."""
        self.cloud.capacity.release(claim.placement.host.id, vm.cpu_number * vm.cpu_speed, vm.memory * MiB)
        if claim.placement.pool is not None and claim.root_bytes:
            self.cloud.capacity.release_storage(claim.placement.pool.id, claim.root_bytes)

    def _do_start(self, caller: Caller, vm_id: int, pinned: Host | None = None, claim: Claim | None = None
                  ) -> JobResult:
        vm = VirtualMachine.get_by_id(vm_id)
        volumes = list(vm.volumes.where(Volume.removed.is_null()).order_by(Volume.device_id))
        root = next((v for v in volumes if v.volume_type == "ROOT"), None)
        if vm.state == "Running":
            if claim is not None:
                self._release_claim(vm, claim)
            return JobResult("VirtualMachine", vm.uuid)
        try:
            if vm.state != "Stopped" or root is None:
                raise InvalidState(f"VM {vm.uuid} is in state {vm.state} and cannot be started")
            first = vm.first_start_pending
            with write_tx():
                fsm.transition(vm, fsm.VM, "StartRequested")
        except CloudError:
            if claim is not None:
                self._release_claim(vm, claim)  # the start will not happen: its claim goes back
            raise
        avoid: set[int] = set()
        attempts = self.cloud.config.get_int("start.retry")
        last_error: CloudError | None = None
        for _ in range(max(1, attempts)):
            if claim is not None:
                placement, claim = claim.placement, None
            else:
                try:
                    placement = self._plan(vm, root, avoid, pinned)
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
                self._release_placement(vm, placement, root, first)
                continue
            with write_tx():
                fsm.transition(vm, fsm.VM, "OperationSucceeded", last_host=host.id, first_start_pending=False,
                               power_state=POWER_ON, power_state_updated=utcnow())
                if root.state == "Allocated":
                    fsm.transition(root, fsm.VOLUME, "CreateRequested")
                    fsm.transition(root, fsm.VOLUME, "OperationSucceeded")
                self.cloud.events.record("VM.START", f"Successfully started VM {vm.name}", caller=caller,
                                         account_id=vm.account_id, domain_id=vm.domain_id,
                                         resource_type="VirtualMachine", resource_uuid=vm.uuid)
            return JobResult("VirtualMachine", vm.uuid)
        self._start_failed(caller, vm, root, first)
        if isinstance(last_error, InsufficientCapacity) or last_error is None:
            raise InsufficientCapacity(f"Unable to create a deployment for VM instance {vm.uuid}: "
                                       f"no host in zone {vm.zone.name} has capacity for it")
        raise InsufficientCapacity(f"Unable to start VM instance {vm.uuid}: every suitable host failed "
                                   f"({last_error.message})")

    def _boot(self, vm: VirtualMachine, host: Host, volumes: list[Volume]) -> None:
        driver = self.cloud.driver(host.hypervisor)
        ref = self.cloud.infra.host_ref(host)
        disks = []
        for volume in volumes:
            pool = volume.pool
            template_path = None
            if volume.volume_type == "ROOT" and volume.template_id:
                copy = self.cloud.templates.get_ready_copy(volume.template, vm.zone)
                template_path = copy.install_path
            disk = DiskSpec(path=volume.path or f"{volume.uuid}", pool_url=pool.url if pool else "",
                            size=volume.size, device_id=volume.device_id or 0, volume_type=volume.volume_type,
                            template_path=template_path, format=volume.format)
            if volume.path is None:
                disk.path = driver.create_volume(ref, disk)
                Volume.update(path=disk.path).where(Volume.id == volume.id).execute()
                volume.path = disk.path
            disks.append(disk)
        nics = [NicSpec(mac_address=n.mac_address, ip_address=n.ip_address, netmask=n.netmask, gateway=n.gateway,
                        device_id=n.device_id, broadcast_uri=n.broadcast_uri)
                for n in vm.nics.order_by(Nic.device_id)]
        details = json.loads(vm.details or "{}")
        max_cpus = max_memory = None
        if vm.is_dynamically_scalable and self.cloud.config.get_bool("enable.dynamic.scale.vm"):
            # Headroom the hypervisor reserves so scale_vm can hot-plug up to it.
            max_cpus = self.cloud.config.get_int("vm.serviceoffering.cpu.cores.max") or host.cpu_cores
            max_memory = self.cloud.config.get_int("vm.serviceoffering.ram.size.max") or host.memory_bytes // MiB
        driver.start_vm(ref, VmSpec(name=vm.instance_name, cpus=vm.cpu_number, cpu_speed=vm.cpu_speed,
                                    memory_mib=vm.memory, disks=disks, nics=nics, hostname=vm.name,
                                    user_data=vm.user_data, ssh_public_key=details.get("SSH.PublicKey"),
                                    max_cpus=max_cpus, max_memory_mib=max_memory))

    def _release_placement(self, vm, placement, root: Volume, first: bool) -> None:
        self.cloud.capacity.release(placement.host.id, vm.cpu_number * vm.cpu_speed, vm.memory * MiB)
        if placement.pool is not None and first and root.state == "Allocated":
            self.cloud.capacity.release_storage(placement.pool.id, root.size)
            with write_tx():
                Volume.update(pool=None).where(Volume.id == root.id).execute()
            root.pool = None

    def _start_failed(self, caller: Caller, vm: VirtualMachine, root: Volume, first: bool) -> None:
        """No host could run the VM: back to Stopped; a first deploy ends in Error and gives everything back."""
        with write_tx():
            fsm.transition(vm, fsm.VM, "OperationFailed", host=None)
            if first:
                self._first_deploy_failed(caller, vm, "no capacity")

    def _first_deploy_failed(self, caller: Caller | None, vm: VirtualMachine, reason: str) -> None:
        """A Stopped VM whose first deploy will not complete: Error, with everything it held given back
        (inside the caller's write transaction)."""
        fsm.transition(vm, fsm.VM, "OperationFailedToError")
        self._give_back(vm)
        self.cloud.events.record("VM.CREATE", f"Failed to deploy VM {vm.name}: {reason}", caller=caller,
                                 account_id=vm.account_id, domain_id=vm.domain_id, level="ERROR",
                                 resource_type="VirtualMachine", resource_uuid=vm.uuid)

    def _give_back(self, vm: VirtualMachine) -> None:
        """Release counts, addresses and storage of a VM that will not run again."""
        account = vm.account
        volumes = list(vm.volumes.where(Volume.removed.is_null()))
        root_bytes = sum(v.size for v in volumes if v.volume_type == "ROOT")
        self.cloud.limits.release(account, _limits_of(vm.cpu_number, vm.memory, root_bytes))
        self.cloud.networks.release_nics(vm)
        for volume in volumes:
            if volume.volume_type != "ROOT":
                continue
            if volume.pool_id is not None:
                self.cloud.capacity.release_storage(volume.pool_id, volume.size)
            Volume.update(state="Destroy", removed=utcnow(), vm=None, device_id=None).where(
                Volume.id == volume.id).execute()

    # ------------------------------------------------------------------ stop
    def stop_work(self, caller: Caller, vm: VirtualMachine, forced: bool = False):
        self.check_owner(caller, vm)
        return lambda: self._do_stop(caller, vm.id, forced)

    def _do_stop(self, caller: Caller, vm_id: int, forced: bool = False) -> JobResult:
        vm = VirtualMachine.get_by_id(vm_id)
        if vm.state in ("Stopped", "Destroyed", "Expunging", "Error"):
            return JobResult("VirtualMachine", vm.uuid)
        if vm.state != "Running":
            raise InvalidState(f"VM {vm.uuid} is in state {vm.state} and cannot be stopped")
        host = vm.host
        with write_tx():
            fsm.transition(vm, fsm.VM, "StopRequested")
        try:
            self.cloud.driver(host.hypervisor).stop_vm(self.cloud.infra.host_ref(host), vm.instance_name,
                                                       force=forced)
        except DriverError as exc:
            if not forced:
                with write_tx():
                    fsm.transition(vm, fsm.VM, "OperationFailed")
                raise
            log.warning("forced stop of %s: driver failed (%s); releasing anyway", vm.instance_name, exc)
        with write_tx():
            fsm.transition(vm, fsm.VM, "OperationSucceeded", host=None, last_host=host.id, power_state=POWER_OFF,
                           power_state_updated=utcnow())
            self.cloud.capacity.release(host.id, vm.cpu_number * vm.cpu_speed, vm.memory * MiB)
            self.cloud.events.record("VM.STOP", f"Successfully stopped VM {vm.name}", caller=caller,
                                     account_id=vm.account_id, domain_id=vm.domain_id,
                                     resource_type="VirtualMachine", resource_uuid=vm.uuid)
        return JobResult("VirtualMachine", vm.uuid)

    # ---------------------------------------------------------------- reboot
    def reboot_work(self, caller: Caller, vm: VirtualMachine):
        self.check_owner(caller, vm)
        if vm.state != "Running":
            raise InvalidState(f"VM {vm.uuid} is not running; only running VMs can be rebooted")
        return lambda: self._do_reboot(caller, vm.id)

    def _do_reboot(self, caller: Caller, vm_id: int) -> JobResult:
        vm = VirtualMachine.get_by_id(vm_id)
        if vm.state != "Running" or vm.host_id is None:
            raise InvalidState(f"VM {vm.uuid} is in state {vm.state} and cannot be rebooted")
        self.cloud.driver(vm.host.hypervisor).reboot_vm(self.cloud.infra.host_ref(vm.host), vm.instance_name)
        with write_tx():
            self.cloud.events.record("VM.REBOOT", f"Successfully rebooted VM {vm.name}", caller=caller,
                                     account_id=vm.account_id, domain_id=vm.domain_id,
                                     resource_type="VirtualMachine", resource_uuid=vm.uuid)
        return JobResult("VirtualMachine", vm.uuid)

    # --------------------------------------------------------------- destroy
    def destroy_work(self, caller: Caller, vm: VirtualMachine, expunge: bool = False,
                     retention_seconds: int | None = None):
        """Checks for a destroy; returns the job work that performs it. With ``retention_seconds`` (an EC2
        termination) the destroyed VM is expunged that long after, instead of after expunge.delay, and
        from the destroy on no longer holds its image or security groups (:func:`backends.core.holds.holding_shared_objects`)."""
        self.check_owner(caller, vm)
        if expunge and not (caller.is_admin or self.cloud.config.get_bool("allow.user.expunge.recover.vm")):
            raise PermissionDenied("Parameter expunge can be passed by Admin only. Or when the "
                                   "allow.user.expunge.recover.vm key is set.")
        if vm.state in ("Destroyed", "Expunging") and not expunge:
            raise InvalidState(f"VM {vm.uuid} is already destroyed")
        return lambda: self._do_destroy(caller, vm.id, expunge, retention_seconds)

    def _do_destroy(self, caller: Caller, vm_id: int, expunge: bool,
                    retention_seconds: int | None = None) -> JobResult:
        vm = VirtualMachine.get_by_id(vm_id)
        if vm.state in ACTIVE_ON_HOST:
            self._do_stop(caller, vm_id, forced=self.cloud.config.get_bool("vm.destroy.forcestop"))
            vm = VirtualMachine.get_by_id(vm_id)
        if vm.state == "Stopped":
            with write_tx():
                fsm.transition(vm, fsm.VM, "DestroyRequested", expunge_after=None if retention_seconds is None
                               else utcnow() + dt.timedelta(seconds=retention_seconds))
                root_bytes = 0
                for volume in vm.volumes.where(Volume.removed.is_null(), Volume.volume_type == "ROOT"):
                    root_bytes += volume.size
                    fsm.transition(volume, fsm.VOLUME, "DestroyRequested")
                self.cloud.limits.release(vm.account, _limits_of(vm.cpu_number, vm.memory, root_bytes))
                self.cloud.events.record("VM.DESTROY", f"Successfully destroyed VM {vm.name}", caller=caller,
                                         account_id=vm.account_id, domain_id=vm.domain_id,
                                         resource_type="VirtualMachine", resource_uuid=vm.uuid)
        if expunge:
            self._do_expunge(caller, vm_id)
        return JobResult("VirtualMachine", vm.uuid)

    # --------------------------------------------------------------- recover
    def recover(self, caller: Caller, vm: VirtualMachine) -> VirtualMachine:
        self.check_owner(caller, vm)
        if not (caller.is_admin or self.cloud.config.get_bool("allow.user.expunge.recover.vm")):
            raise PermissionDenied("Recovering a VM can only be done by an Admin. Or when the "
                                   "allow.user.expunge.recover.vm key is set.")
        if vm.state != "Destroyed":
            raise InvalidState(f"VM {vm.uuid} is in state {vm.state}; only destroyed VMs can be recovered")
        if vm.expunge_after is not None:
            # Its image and groups were let go at the termination and may be gone already.
            raise InvalidState(f"VM {vm.uuid} was terminated; a terminated instance cannot be recovered")
        with write_tx():
            volumes = list(vm.volumes.where(Volume.removed.is_null(), Volume.volume_type == "ROOT"))
            self.cloud.limits.reserve(vm.account, _limits_of(vm.cpu_number, vm.memory,
                                                             sum(v.size for v in volumes)))
            fsm.transition(vm, fsm.VM, "RecoveryRequested", expunge_after=None)
            for volume in volumes:
                fsm.transition(volume, fsm.VOLUME, "RecoverRequested")
            self.cloud.events.record("VM.RECOVER", f"Successfully recovered VM {vm.name}", caller=caller,
                                     account_id=vm.account_id, domain_id=vm.domain_id,
                                     resource_type="VirtualMachine", resource_uuid=vm.uuid)
        return vm

    # --------------------------------------------------------------- expunge
    def expunge_work(self, caller: Caller, vm: VirtualMachine):
        self.check_owner(caller, vm)
        if not (caller.is_admin or self.cloud.config.get_bool("allow.user.expunge.recover.vm")):
            raise PermissionDenied("Expunging a VM can only be done by an Admin. Or when the "
                                   "allow.user.expunge.recover.vm key is set.")
        if vm.state not in ("Destroyed", "Expunging", "Error"):
            raise InvalidState(f"VM {vm.uuid} must be destroyed before it can be expunged")
        return lambda: self._do_expunge(caller, vm.id)

    def _do_expunge(self, caller: Caller | None, vm_id: int) -> JobResult:
        vm = VirtualMachine.get_by_id(vm_id)
        if vm.removed is not None:
            return JobResult()
        with write_tx():
            fsm.transition(vm, fsm.VM, "ExpungeOperation")
        host = vm.last_host
        driver = self.cloud.driver(vm.hypervisor) if vm.hypervisor in self.cloud.drivers else None
        volumes = list(vm.volumes.where(Volume.removed.is_null()))
        if driver is not None and host is not None and host.removed is None:
            ref = self.cloud.infra.host_ref(host)
            try:
                driver.destroy_vm(ref, vm.instance_name)
                for volume in volumes:
                    if volume.path:
                        driver.delete_volume(ref, DiskSpec(path=volume.path, pool_url=volume.pool.url
                                                           if volume.pool else "", size=volume.size,
                                                           device_id=volume.device_id or 0))
            except DriverError as exc:
                with write_tx():
                    fsm.transition(vm, fsm.VM, "OperationFailed")
                raise DriverError(f"Failed to expunge VM {vm.uuid}: {exc.message}") from exc
        with write_tx():
            for volume in volumes:
                if volume.pool_id is not None:
                    self.cloud.capacity.release_storage(volume.pool_id, volume.size)
                Volume.update(state="Expunged", removed=utcnow(), vm=None, device_id=None).where(
                    Volume.id == volume.id).execute()
            self.cloud.networks.release_nics(vm)
            VirtualMachine.update(removed=utcnow()).where(VirtualMachine.id == vm.id).execute()
            self.cloud.tags.forget("UserVm", vm.uuid)
            self.cloud.events.record("VM.EXPUNGE", f"Successfully expunged VM {vm.name}", caller=caller,
                                     account_id=vm.account_id, domain_id=vm.domain_id,
                                     resource_type="VirtualMachine", resource_uuid=vm.uuid)
        return JobResult()

    def current_states(self, vm_ids) -> dict[int, str]:
        """The VMs' states as of now (to read after other facts that must not be newer than them)."""
        ids = list(vm_ids)
        if not ids:
            return {}
        return dict(VirtualMachine.select(VirtualMachine.id, VirtualMachine.state)
                    .where(VirtualMachine.id.in_(ids)).tuples())

    def console_output(self, caller: Caller, vm: VirtualMachine) -> str:
        """The VM's serial console log as its hypervisor keeps it (empty when it is not on a host)."""
        self.check_owner(caller, vm)
        host = vm.host if vm.host_id is not None else vm.last_host
        if host is None or vm.hypervisor not in self.cloud.drivers:
            return ""
        return self.cloud.driver(vm.hypervisor).console_output(self.cloud.infra.host_ref(host), vm.instance_name)

    def discard(self, caller: Caller, vm: VirtualMachine) -> None:
        """Undo a launch that will not go ahead: destroy and expunge the VM at once, then withdraw the job
        created with it (after: a crash in between leaves the job, which recovery fails)."""
        self.check_owner(caller, vm)
        self._do_destroy(caller, vm.id, True)
        if getattr(vm, "deploy_job", None) is not None:
            self.cloud.jobs.withdraw([vm.deploy_job])

    def expunge_owned_by(self, caller: Caller | None, account) -> int:
        """Destroy and expunge every VM of ``account`` (account deletion); returns how many."""
        done = 0
        for row in VirtualMachine.select(VirtualMachine.id).where(VirtualMachine.account == account.id,
                                                                   VirtualMachine.removed.is_null()):
            self._do_destroy(caller, row.id, True)
            done += 1
        return done

    def expunge_due(self, scheduled_only: bool = False) -> int:
        """The scavenger: expunge VMs destroyed longer than expunge.delay ago, and those whose own
        expunge time has passed (only those with ``scheduled_only``, the frequent sweep)."""
        now = utcnow()
        cutoff = now - dt.timedelta(seconds=self.cloud.config.get_int("expunge.delay"))
        scheduled = VirtualMachine.expunge_after <= now
        if not scheduled_only:
            scheduled |= VirtualMachine.expunge_after.is_null() & (VirtualMachine.state_changed <= cutoff)
        due = (VirtualMachine.select(VirtualMachine.id)
               .where(VirtualMachine.removed.is_null(), VirtualMachine.state.in_(("Destroyed", "Error",
                                                                                   "Expunging")), scheduled))
        done = 0
        for row in due:
            try:
                self._do_expunge(None, row.id)
                done += 1
            except CloudError as exc:
                log.warning("expunge of VM %s failed: %s", row.id, exc.message)
        return done

    # --------------------------------------------------------------- migrate
    def migrate_work(self, caller: Caller, vm: VirtualMachine, host: Host | None = None):
        if not caller.is_root_admin:
            raise PermissionDenied("Only a root admin can migrate VMs")
        if vm.state != "Running":
            raise InvalidState(f"VM {vm.uuid} is not running; only running VMs can be live-migrated")
        if host is not None and (host.id == vm.host_id):
            raise InvalidParameterValue("Cannot migrate VM: the destination host is the VM's current host")
        if host is not None and host.cluster_id != vm.host.cluster_id:
            raise InvalidParameterValue("Cannot migrate VM: the destination host is not in the VM's cluster")
        return lambda: self._do_migrate(caller, vm.id, host)

    def _do_migrate(self, caller: Caller | None, vm_id: int, destination: Host | None) -> JobResult:
        vm = VirtualMachine.get_by_id(vm_id)
        if vm.state != "Running":
            raise InvalidState(f"VM {vm.uuid} is in state {vm.state} and cannot be migrated")
        source = vm.host
        placement = self.cloud.planner.plan(
            zone=vm.zone, cpu_number=vm.cpu_number, cpu_speed=vm.cpu_speed, memory_mib=vm.memory,
            root_size_bytes=0, hypervisor=vm.hypervisor, host_tags=vm.service_offering.host_tags,
            host=destination, cluster=source.cluster, avoid_hosts={source.id}, account_id=vm.account_id,
            pool=vm.volumes.where(Volume.volume_type == "ROOT").first().pool)
        target = placement.host
        with write_tx():
            fsm.transition(vm, fsm.VM, "MigrationRequested", host=target.id)
        try:
            spec = VmSpec(name=vm.instance_name, cpus=vm.cpu_number, cpu_speed=vm.cpu_speed, memory_mib=vm.memory,
                          hostname=vm.name)
            self.cloud.driver(source.hypervisor).migrate_vm(self.cloud.infra.host_ref(source),
                                                            self.cloud.infra.host_ref(target), spec)
        except DriverError:
            with write_tx():
                fsm.transition(vm, fsm.VM, "OperationFailed", host=source.id)
                self.cloud.capacity.release(target.id, vm.cpu_number * vm.cpu_speed, vm.memory * MiB)
            raise
        with write_tx():
            fsm.transition(vm, fsm.VM, "OperationSucceeded", last_host=target.id)
            self.cloud.capacity.release(source.id, vm.cpu_number * vm.cpu_speed, vm.memory * MiB)
            self.cloud.events.record("VM.MIGRATE", f"Migrated VM {vm.name} from {source.name} to {target.name}",
                                     caller=caller, account_id=vm.account_id, domain_id=vm.domain_id,
                                     resource_type="VirtualMachine", resource_uuid=vm.uuid)
        return JobResult("VirtualMachine", vm.uuid)

    def migrate_away(self, vm: VirtualMachine) -> None:
        """Host maintenance: move the VM to another host of its cluster, else stop it."""
        try:
            self._do_migrate(None, vm.id, None)
        except InsufficientCapacity:
            self._do_stop(None, vm.id, forced=True)

    # ----------------------------------------------------------------- scale
    def scale(self, caller: Caller, vm: VirtualMachine, offering: ServiceOffering,
              details: dict | None = None) -> JobResult:
        """Change the offering; a stopped VM only changes its row, a running one hot-plugs."""
        self.check_owner(caller, vm)
        if offering.id == vm.service_offering_id and not offering.is_customized:
            raise InvalidParameterValue("The VM already has the requested service offering")
        cpus, speed, memory = _shape_of(offering, details or {})
        if vm.state == "Stopped":
            with write_tx():
                delta = {RT_CPU: cpus - vm.cpu_number, RT_MEMORY: memory - vm.memory}
                self._apply_limit_delta(vm, delta)
                VirtualMachine.update(service_offering=offering.id, cpu_number=cpus, cpu_speed=speed,
                                      memory=memory).where(VirtualMachine.id == vm.id).execute()
                self.cloud.events.record("VM.UPGRADE", f"Changed offering of VM {vm.name} to {offering.name}",
                                         caller=caller, account_id=vm.account_id, domain_id=vm.domain_id,
                                         resource_type="VirtualMachine", resource_uuid=vm.uuid)
            return JobResult("VirtualMachine", vm.uuid)
        if vm.state != "Running":
            raise InvalidState(f"VM {vm.uuid} is in state {vm.state} and cannot be scaled")
        if not self.cloud.config.get_bool("enable.dynamic.scale.vm") or not vm.is_dynamically_scalable:
            raise InvalidParameterValue("Dynamic scaling is not enabled for this VM; stop it to change its offering")
        if cpus < vm.cpu_number or memory < vm.memory or speed < vm.cpu_speed:
            raise InvalidParameterValue("Only scaling up a running VM is supported")
        extra_cpu = cpus * speed - vm.cpu_number * vm.cpu_speed
        extra_mem = (memory - vm.memory) * MiB
        if not self.cloud.capacity.claim(vm.host_id, extra_cpu, extra_mem):
            raise InsufficientCapacity(f"Host {vm.host.name} has no capacity to scale VM {vm.uuid}")
        try:
            self.cloud.driver(vm.host.hypervisor).scale_vm(self.cloud.infra.host_ref(vm.host), vm.instance_name,
                                                           cpus, speed, memory)
        except DriverError:
            self.cloud.capacity.release(vm.host_id, extra_cpu, extra_mem)
            raise
        with write_tx():
            self._apply_limit_delta(vm, {RT_CPU: cpus - vm.cpu_number, RT_MEMORY: memory - vm.memory})
            VirtualMachine.update(service_offering=offering.id, cpu_number=cpus, cpu_speed=speed,
                                  memory=memory).where(VirtualMachine.id == vm.id).execute()
            self.cloud.events.record("VM.DYNAMIC.SCALE", f"Scaled VM {vm.name} to {offering.name}", caller=caller,
                                     account_id=vm.account_id, domain_id=vm.domain_id,
                                     resource_type="VirtualMachine", resource_uuid=vm.uuid)
        return JobResult("VirtualMachine", vm.uuid)

    def scale_work(self, caller: Caller, vm: VirtualMachine, offering: ServiceOffering, details=None):
        self.check_owner(caller, vm)
        return lambda: self.scale(caller, VirtualMachine.get_by_id(vm.id), offering, details)

    def _apply_limit_delta(self, vm: VirtualMachine, delta: dict[int, int]) -> None:
        grow = {k: v for k, v in delta.items() if v > 0}
        shrink = {k: -v for k, v in delta.items() if v < 0}
        if grow:
            self.cloud.limits.reserve(vm.account, grow)
        if shrink:
            self.cloud.limits.release(vm.account, shrink)

    # ---------------------------------------------------------------- update
    def update(self, caller: Caller, vm: VirtualMachine, *, display_name=None, name=None, group=None,
               ha_enable=None, user_data=None, os_type=None, is_dynamically_scalable=None,
               details=None) -> VirtualMachine:
        self.check_owner(caller, vm)
        if vm.state in ("Destroyed", "Expunging"):
            raise InvalidState(f"VM {vm.uuid} is destroyed and cannot be updated")
        changes = {}
        if display_name is not None:
            changes["display_name"] = display_name
        if name is not None:
            if vm.state != "Stopped":
                raise InvalidState("The VM must be stopped to change its name")
            changes["name"] = name
        if group is not None:
            changes["group"] = group
        if ha_enable is not None:
            changes["ha_enabled"] = ha_enable
        if user_data is not None:
            _check_user_data(user_data)
            changes["user_data"] = user_data
        if os_type is not None:
            changes["os_type"] = os_type.id
        if is_dynamically_scalable is not None:
            changes["is_dynamically_scalable"] = is_dynamically_scalable
        if details is not None:
            merged = json.loads(vm.details or "{}")
            merged.update(details)
            changes["details"] = json.dumps(merged)
        if changes:
            with write_tx():
                VirtualMachine.update(**changes).where(VirtualMachine.id == vm.id).execute()
                self.cloud.events.record("VM.UPDATE", f"Updated VM {vm.name}", caller=caller,
                                         account_id=vm.account_id, domain_id=vm.domain_id,
                                         resource_type="VirtualMachine", resource_uuid=vm.uuid)
        return VirtualMachine.get_by_id(vm.id)

    # ------------------------------------------------------ crash and drift
    def recover_after_restart(self) -> None:
        """Roll back work a dead process left half-done, then fix capacity drift.

        A VM caught Starting goes back to Stopped, or on to Running when its host runs it. A first
        deploy that never completed, whichever step it reached (caught Starting, or still Stopped
        with the job that created it cancelled), ends in Error and gives its address, volumes and
        counts back. Stopping and Migrating VMs follow what their host now reports; an expunge cut
        short is due at once. VMs with work still pending on another node are that node's to finish.
        """
        candidates = list(VirtualMachine.select().where(
            VirtualMachine.removed.is_null(),
            VirtualMachine.state.in_(fsm.VM_TRANSITIONAL) |
            ((VirtualMachine.state == "Stopped") & VirtualMachine.first_start_pending)))
        elsewhere = self.cloud.jobs.pending_commands(vm.uuid for vm in candidates)  # ours are cancelled by now
        never_deployed = self.cloud.jobs.first_cancelled_by_restart(
            vm.uuid for vm in candidates if vm.state == "Stopped")
        self._record_deploys_done()
        for vm in candidates:
            if vm.uuid in elsewhere:
                continue
            try:
                if vm.state != "Stopped":
                    self._recover_one(vm)
                elif vm.uuid in never_deployed:
                    with write_tx():
                        self._first_deploy_failed(None, vm, "the management server restarted before it started")
            except CloudError as exc:
                log.warning("recovery of VM %s failed: %s", vm.uuid, exc.message)
        self.cloud.capacity.recalculate()

    def _record_deploys_done(self) -> None:
        """Deploys that did complete (their VM was started) but whose job was cancelled before it could
        say so: the job reports the success."""
        cancelled, started = sorted(self.cloud.jobs.cancelled_instances), []
        for start in range(0, len(cancelled), 500):
            started += [uuid for (uuid,) in VirtualMachine.select(VirtualMachine.uuid).where(
                VirtualMachine.uuid.in_(cancelled[start:start + 500]), VirtualMachine.removed.is_null(),
                VirtualMachine.state.in_(("Running", "Stopped")), ~VirtualMachine.first_start_pending).tuples()]
        for uuid in self.cloud.jobs.first_cancelled_by_restart(started):
            with write_tx():
                self.cloud.jobs.complete_cancelled(uuid, JobResult("VirtualMachine", uuid))

    def _recover_one(self, vm: VirtualMachine) -> None:
        power = self._power_on_host(vm)
        with write_tx():
            if vm.state == "Starting":
                if power == POWER_ON:
                    self._start_found_done(vm)
                    return
                root = vm.volumes.where(Volume.volume_type == "ROOT", Volume.removed.is_null()).first()
                first = vm.first_start_pending
                fsm.transition(vm, fsm.VM, "OperationFailed", host=None)
                if first:
                    self._first_deploy_failed(None, vm, "the management server restarted while it started")
                elif root is not None and root.pool_id is not None and root.state == "Allocated":
                    self.cloud.capacity.release_storage(root.pool_id, root.size)
                    Volume.update(pool=None).where(Volume.id == root.id).execute()
            elif vm.state in ("Stopping", "Migrating"):
                event = "FollowAgentPowerOnReport" if power == POWER_ON else "FollowAgentPowerOffReport"
                changes = {} if power == POWER_ON else {"host": None}
                fsm.transition(vm, fsm.VM, event, **changes)
            elif vm.state == "Expunging":
                # An expunge cut short (a launch being undone, say): due now for the frequent sweep, rather
                # than holding its address and volumes for another expunge.delay.
                VirtualMachine.update(expunge_after=utcnow()).where(VirtualMachine.id == vm.id).execute()

    def _start_found_done(self, vm: VirtualMachine) -> None:
        """A start cut short by a restart had booted the VM: finish it as the start would have, and its
        job reports the success."""
        fsm.transition(vm, fsm.VM, "FollowAgentPowerOnReport", last_host=vm.host_id, first_start_pending=False,
                       power_state=POWER_ON, power_state_updated=utcnow())
        root = vm.volumes.where(Volume.volume_type == "ROOT", Volume.removed.is_null()).first()
        if root is not None and root.state == "Allocated":
            fsm.transition(root, fsm.VOLUME, "CreateRequested")
            fsm.transition(root, fsm.VOLUME, "OperationSucceeded")
        self.cloud.jobs.complete_cancelled(vm.uuid, JobResult("VirtualMachine", vm.uuid))
        self.cloud.events.record("VM.START", f"Successfully started VM {vm.name}", account_id=vm.account_id,
                                 domain_id=vm.domain_id, resource_type="VirtualMachine", resource_uuid=vm.uuid)

    def _power_on_host(self, vm: VirtualMachine) -> str | None:
        if vm.host_id is None:
            return None
        try:
            return self.cloud.driver(vm.host.hypervisor).vm_power_state(self.cloud.infra.host_ref(vm.host),
                                                                        vm.instance_name)
        except (DriverError, CloudError):
            return None

    def flag_host_down(self, host: Host) -> int:
        """The VMs a host that went Down was running: their power is unknown now, and each gets an alert
        event (CloudStack's HA would investigate them next). Call inside the host's transition."""
        flagged = 0
        for vm in VirtualMachine.select().where(VirtualMachine.host == host.id, VirtualMachine.removed.is_null(),
                                                VirtualMachine.state == "Running"):
            VirtualMachine.update(power_state="PowerUnknown", power_state_updated=utcnow()).where(
                VirtualMachine.id == vm.id).execute()
            self.cloud.events.record("VM.HOST.DOWN", f"VM {vm.name} was running on host {host.name}, which is down",
                                     account_id=vm.account_id, domain_id=vm.domain_id, level="ERROR",
                                     resource_type="VirtualMachine", resource_uuid=vm.uuid)
            flagged += 1
        return flagged

    def sync_power_state(self, host: Host, report) -> None:
        """Follow a host's power report for VMs no job is working on."""
        busy = {int(key[3:]) for key in self.cloud.jobs.busy_keys("vm:")}
        # Every ping of every host runs this: read only what the comparison needs, and load a VM only
        # when its power state disagrees.
        on_host = (VirtualMachine.select(VirtualMachine.id, VirtualMachine.instance_name)
                   .where(VirtualMachine.host == host.id, VirtualMachine.removed.is_null(),
                          VirtualMachine.state == "Running").tuples())
        for vm_id, instance_name in list(on_host):
            if vm_id in busy or report.vms.get(instance_name) == POWER_ON:
                continue
            vm = VirtualMachine.get_by_id(vm_id)
            power = report.vms.get(vm.instance_name)
            # The report may predate a start that finished since (its job no longer busy): ask again.
            if vm.state == "Running" and power != POWER_ON and self._power_on_host(vm) != POWER_ON:
                with write_tx():
                    fsm.transition(vm, fsm.VM, "FollowAgentPowerOffReport", host=None, last_host=host.id,
                                   power_state=power or "PowerReportMissing", power_state_updated=utcnow())
                    self.cloud.capacity.release(host.id, vm.cpu_number * vm.cpu_speed, vm.memory * MiB)
                    self.cloud.events.record("VM.STOP", f"VM {vm.name} was found stopped on host {host.name}",
                                             account_id=vm.account_id, domain_id=vm.domain_id, level="WARN",
                                             resource_type="VirtualMachine", resource_uuid=vm.uuid)


@dataclass
class Claim:
    """Capacity held for a VM's coming start: the planner's placement and the root disk bytes it took."""

    placement: object  # planner.Placement
    root_bytes: int


def _load_for_listing(vms: list[VirtualMachine]) -> None:
    """Everything a listed VM shows, for the whole page at once."""
    prefetch.attach(vms, "account", "user", "domain", "zone", "pod", "cluster", "host", "template", "iso",
                    "service_offering", "os_type")
    nics = prefetch.attach_children(vms, "nics", Nic, "vm")
    prefetch.attach(nics, "network")
    prefetch.attach_children(vms, "volumes", Volume, "vm")


def _shape_of(offering: ServiceOffering, details: dict) -> tuple[int, int, int]:
    if not offering.is_customized:
        return offering.cpu_number, offering.cpu_speed, offering.memory
    try:
        cpus = int(details.get("cpuNumber") or details.get("cpunumber"))
        speed = int(details.get("cpuSpeed") or details.get("cpuspeed") or 1000)
        memory = int(details.get("memory"))
    except (TypeError, ValueError):
        raise InvalidParameterValue("Custom service offering needs integer cpuNumber, cpuSpeed and memory "
                                    "details") from None
    if not (1 <= cpus <= MAX_INT and 1 <= speed <= MAX_INT and 32 <= memory <= MAX_INT):
        raise InvalidParameterValue(f"Invalid cpuNumber, cpuSpeed or memory for a custom offering: cpuNumber and "
                                    f"cpuSpeed must be 1 to {MAX_INT}, memory 32 to {MAX_INT} MB")
    return cpus, speed, memory


def _check_user_data(user_data: str) -> None:
    try:
        base64.b64decode(user_data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidParameterValue("User data is not base64 encoded") from None
    if len(user_data) > 1048576:
        raise InvalidParameterValue("User data is too long: the maximum is 1048576 base64 characters")


def _password() -> str:
    return secrets.token_urlsafe(9)[:12]
