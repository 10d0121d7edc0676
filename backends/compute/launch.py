"""Launching N alike VMs as one request (EC2's RunInstances): between a minimum and a maximum count, as
many as limits, addresses and host capacity allow, none at all below the minimum, and once only per
client token. Capacity is decided before the answer: every VM launched has a host claimed for its start.
Whatever a launch created and does not keep is undone before it answers."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from backends.compute.deploy import VmDeployer
from backends.compute.lifecycle import VmLifecycle
from backends.compute.placement import PlacementClaims
from backends.compute.queries import VmQueries
from backends.compute.start import VmStarter
from backends.context import Caller
from backends.core.jobs import BatchWork, Work
from backends.core.kinds import KINDS
from backends.core.tags import TagManager
from backends.errors import CloudError, InsufficientCapacity, InvalidParameterValue
from backends.identity.accounts import AccountManager
from backends.models import ServiceOffering, Template, VirtualMachine, Zone
from backends.uuids import new_uuid


@dataclass
class LaunchRequest:
    """What a launch asks for: ``min_count`` to ``max_count`` VMs alike."""

    zone: Zone
    offering: ServiceOffering
    template: Template
    min_count: int
    max_count: int
    key_pair: str | None = None
    user_data: str | None = None  # base64
    root_disk_size_gb: int | None = None
    security_groups: list = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)  # for every VM launched
    system_tags: dict[str, str] = field(default_factory=dict)  # the cloud's own (``aws:`` keys), for every VM
    client_token: str | None = None
    job_command: str | None = None  # the command each VM's deploy job is recorded under
    notes: dict[str, str] = field(default_factory=dict)  # kept in every VM's details as given (the front door's)


@dataclass
class Launch:
    """What a launch did: the VMs, and for each new one its start, to schedule on the job created together
    with the VM (``vm.deploy_job``); ``together`` starts them all as one piece of work, in bulk
    (``JobManager.schedule_together``: each VM's job still stands for its start, and later work on the VM
    queues behind it)."""

    vms: list[VirtualMachine]
    starts: list[tuple[Work, VirtualMachine]] = field(default_factory=list)
    together: BatchWork | None = None
    repeated: bool = False  # the client token's earlier launch, answered again: nothing new was started


class LaunchTokenReused(InvalidParameterValue):
    """The client token was used before by a launch with other arguments."""


class LaunchUnplaced(InsufficientCapacity):
    """Fewer than the minimum count of VMs found a host: nothing was launched."""


class LaunchService:
    def __init__(self, accounts: AccountManager, tags: TagManager, queries: VmQueries, deployer: VmDeployer,
                 claims: PlacementClaims, starter: VmStarter, lifecycle: VmLifecycle):
        self.accounts = accounts
        self.tags = tags
        self.queries = queries
        self.deployer = deployer
        self.claims = claims
        self.starter = starter
        self.lifecycle = lifecycle

    def launched_before(self, caller: Caller, request: LaunchRequest) -> list[VirtualMachine]:
        """The VMs an earlier launch with the request's client token created (none: launch afresh);
        LaunchTokenReused when that launch was not the same request."""
        if not request.client_token:
            return []
        account = self.accounts.get_caller_account(caller)
        earlier = self.queries.launched_with_token(account, request.client_token)
        same = all(vm.template_id == request.template.id and vm.service_offering_id == request.offering.id
                   and vm.zone_id == request.zone.id and (vm.key_pair or None) == (request.key_pair or None)
                   and request.notes.items() <= json.loads(vm.details or "{}").items()
                   for vm in earlier) and request.min_count <= len(earlier) <= request.max_count
        if earlier and not same:
            raise LaunchTokenReused(f"Client token {request.client_token} was used by another launch")
        return earlier

    def launch(self, caller: Caller, request: LaunchRequest) -> Launch:
        """Deploy and place ``min_count`` to ``max_count`` VMs, or repeat the token's earlier launch. The
        starts are returned, not run: the caller schedules them once it is sure to answer (not in a
        rehearsal)."""
        earlier = self.launched_before(caller, request)
        if earlier:
            return Launch(earlier, repeated=True)
        launched = self._deploy_most(caller, request)
        if request.tags or request.system_tags:
            try:
                self.tags.create(caller, KINDS["VirtualMachine"].tag_type, launched, request.tags,
                                 system=request.system_tags)
            except CloudError:
                self._discard(caller, launched)
                raise
        try:
            claims = self.claims.place(caller, launched, request.min_count)
        except CloudError as exc:
            self._discard(caller, launched)
            raise LaunchUnplaced(exc.message) from exc
        self._discard(caller, [vm for vm in launched if vm.id not in claims])
        launched = [vm for vm in launched if vm.id in claims]
        return Launch(launched, [(self.starter.start_work(caller, vm, placement=claims[vm.id]), vm)
                                 for vm in launched],
                      together=self.starter.start_claimed_work(caller, [(vm, claims[vm.id]) for vm in launched]))

    def _deploy_most(self, caller: Caller, request: LaunchRequest) -> list[VirtualMachine]:
        """As many VMs as fit between the counts (limits, addresses): all of the maximum in one transaction
        when they fit, else the largest count that does (a binary search of rolled-back tries)."""
        low, high = request.min_count, request.max_count
        spec = dict(zone=request.zone, offering=request.offering, template=request.template,
                    owner=self.accounts.get_caller_account(caller), user_data=request.user_data,
                    key_pair=request.key_pair, root_disk_size_gb=request.root_disk_size_gb,
                    launch_group=new_uuid(), client_token=request.client_token,
                    security_groups=request.security_groups, job_command=request.job_command,
                    details=dict(request.notes) or None)
        try:
            return self.deployer.deploy_many(caller, count=high, **spec)
        except CloudError as exc:
            if low == high:
                raise
            refusal, best, lo, hi = exc, None, low, high - 1
        while lo <= hi:
            mid = (lo + hi + 1) // 2
            try:
                launched = self.deployer.deploy_many(caller, count=mid, **spec)
            except CloudError as exc:
                refusal, hi = exc, mid - 1
                continue
            if best is not None:  # a smaller batch fitted earlier: keep the larger one only
                self._discard(caller, best)
            best, lo = launched, mid + 1
        if best is None:
            raise refusal
        return best

    def _discard(self, caller: Caller, vms: list[VirtualMachine]) -> None:
        for vm in vms:
            self.lifecycle.discard(caller, vm)
