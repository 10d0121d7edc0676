"""Security groups: named ingress/egress rule sets of an account, attached to VMs.

Every account gets a ``default`` group on first use; a VM deployed without
groups in a zone with security groups enabled lands in it. Rules are stored,
listed and checked for duplicates here; enforcing them on hosts is the
drivers' part (the simulator records nothing beyond what the cloud stores).
"""
from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass

import peewee as pw

from backends.context import Caller
from backends.core import prefetch
from backends.core.events import EventManager
from backends.core.holds import holding_shared_objects, refuse_while_held
from backends.core.tags import TagManager
from backends.db import page_of, write_tx
from backends.errors import InvalidParameterValue, PermissionDenied, ResourceInUse
from backends.identity.accounts import AccountManager
from backends.models import Account, SecurityGroup, SecurityGroupRule, VirtualMachine, VmSecurityGroup

PROTOCOLS = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "all": "all", "-1": "all", "6": "tcp", "17": "udp",
             "1": "icmp"}
DEFAULT = "default"


@dataclass(frozen=True)
class RuleSpec:
    """One rule as both APIs describe it: a protocol, a port range (ICMP: type and code), and either a
    CIDR or a source group."""

    protocol: str
    start_port: int | None = None
    end_port: int | None = None
    cidr: str | None = None
    source_group: SecurityGroup | None = None
    description: str = ""


class SecurityGroupManager:
    def __init__(self, events: EventManager, accounts: AccountManager, tags: TagManager):
        self._events = events
        self._accounts = accounts
        self._tags = tags

    # --------------------------------------------------------------- groups
    def default_group(self, account: Account) -> SecurityGroup:
        group = SecurityGroup.get_or_none(SecurityGroup.account == account.id, SecurityGroup.name == DEFAULT)
        if group is None:
            try:
                with write_tx():
                    group = SecurityGroup.create(name=DEFAULT, description="Default Security Group",
                                                 account=account.id, domain=account.domain_id)
                    SecurityGroupRule.create(group=group.id, direction="egress", protocol="all", cidr="0.0.0.0/0")
            except pw.IntegrityError:
                group = SecurityGroup.get(SecurityGroup.account == account.id, SecurityGroup.name == DEFAULT)
        return group

    def create(self, caller: Caller, name: str, description: str = "", *, owner: Account | None = None) -> SecurityGroup:
        account = owner or self._accounts.get_caller_account(caller)
        name = (name or "").strip()
        if not name or len(name) > 255:
            raise InvalidParameterValue("A security group name must be 1 to 255 characters")
        if name == DEFAULT:
            self.default_group(account)
        taken = InvalidParameterValue(f"The security group '{name}' already exists")
        try:
            with write_tx():
                if SecurityGroup.select().where(SecurityGroup.account == account.id,
                                                SecurityGroup.name == name).exists():
                    raise taken
                group = SecurityGroup.create(name=name, description=description or "", account=account.id,
                                             domain=account.domain_id)
                # New groups allow all outbound traffic, as both CloudStack and AWS start them.
                SecurityGroupRule.create(group=group.id, direction="egress", protocol="all", cidr="0.0.0.0/0")
                self._events.record(caller, "SG.CREATE", f"Created security group {name}", resource=group)
        except pw.IntegrityError:
            raise taken from None
        return group

    def by_name(self, caller: Caller, name: str, *, owner: Account | None = None) -> SecurityGroup | None:
        account = owner or self._accounts.get_caller_account(caller)
        if name == DEFAULT:
            return self.default_group(account)
        return SecurityGroup.get_or_none(SecurityGroup.account == account.id, SecurityGroup.name == name)

    def check_owner(self, caller: Caller, group: SecurityGroup) -> None:
        self._accounts.check_access(caller, group.account_id, group.domain_id, entity="SecurityGroup",
                                    uuid=group.uuid)

    def list(self, caller: Caller, *, scope, id=None, name=None, vm=None, any_tag=None, keyword=None, page=None,
             pagesize=None):
        """``any_tag``: groups carrying at least one of these key=value pairs."""
        if scope.account_ids == (caller.account_id,):
            self.default_group(self._accounts.get_caller_account(caller))
        query = scope.apply(SecurityGroup.select(), SecurityGroup)
        if id is not None:
            query = query.where(SecurityGroup.id == id.id)
        if name:
            query = query.where(SecurityGroup.name == name)
        if vm is not None:
            query = query.where(SecurityGroup.id.in_(VmSecurityGroup.select(VmSecurityGroup.group).where(
                VmSecurityGroup.vm == vm.id)))
        if keyword:
            query = query.where(SecurityGroup.name.contains(keyword))
        query = self._tags.where_tagged_any(query, "SecurityGroup", SecurityGroup.uuid, any_tag)
        total, rows = page_of(query.order_by(SecurityGroup.id), page, pagesize)
        # What a listing shows of each group, loaded for the whole page at once: its owner, and its rules
        # (``group.rules`` becomes a list) with the groups and accounts they name.
        prefetch.attach(rows, "account", "domain")
        rules = prefetch.attach_children(rows, "rules", SecurityGroupRule, "group")
        prefetch.attach(rules, "source_group.account")
        return total, rows

    def delete(self, caller: Caller, group: SecurityGroup) -> None:
        self.check_owner(caller, group)
        if group.name == DEFAULT:
            raise PermissionDenied("The default security group cannot be deleted")
        holders = VirtualMachine.select().join(VmSecurityGroup).where(VmSecurityGroup.group == group.id,
                                                                      holding_shared_objects())
        refuse_while_held(f"Security group {group.name}", holders, caller, self._accounts.can_see)
        referring = [rule.group for rule in SecurityGroupRule.select().where(
            SecurityGroupRule.source_group == group.id, SecurityGroupRule.group != group.id)]
        if referring:
            named = next((g for g in referring if self._accounts.can_see(caller, g)), None)
            raise ResourceInUse(f"Security group {group.name} is referenced by the rules of "
                                + (f"security group {named.name}" if named else "another group"),
                                dependent=("SecurityGroup", named.uuid) if named else None)
        with write_tx():
            VmSecurityGroup.delete().where(VmSecurityGroup.group == group.id).execute()
            SecurityGroup.delete().where(SecurityGroup.id == group.id).execute()
            self._events.record(caller, "SG.DELETE", f"Deleted security group {group.name}", resource=group)

    # ---------------------------------------------------------------- rules
    def authorize(self, caller: Caller, group: SecurityGroup, direction: str, specs: list[RuleSpec]) -> list:
        """Add rules; a rule that already exists is refused (nothing of the request is applied)."""
        self.check_owner(caller, group)
        clean = [self._validated(spec) for spec in specs]
        if not clean:
            raise InvalidParameterValue("At least one rule is required")
        with write_tx():
            created = []
            for spec in clean:
                if self._find(group, direction, spec) is not None:
                    raise InvalidParameterValue(f"The same permission must not appear multiple times: "
                                                f"{direction} {spec.protocol} {spec.start_port}-{spec.end_port} "
                                                f"{spec.cidr or getattr(spec.source_group, 'name', '')} already exists")
                created.append(SecurityGroupRule.create(
                    group=group.id, direction=direction, protocol=spec.protocol, start_port=spec.start_port,
                    end_port=spec.end_port, cidr=spec.cidr,
                    source_group=spec.source_group.id if spec.source_group else None, description=spec.description))
            self._events.record(caller, f"SG.AUTH.{direction.upper()}",
                                f"Authorized {len(created)} rule(s) on {group.name}", resource=group)
        return created

    def revoke(self, caller: Caller, group: SecurityGroup, direction: str, specs: list[RuleSpec]) -> None:
        """Remove rules given by content; one that does not exist is an error (nothing is removed)."""
        self.check_owner(caller, group)
        with write_tx():
            for spec in (self._validated(s) for s in specs):
                rule = self._find(group, direction, spec)
                if rule is None:
                    raise InvalidParameterValue(f"The specified rule does not exist in security group {group.name}")
                rule.delete_instance()

    def revoke_rule(self, caller: Caller, rule: SecurityGroupRule) -> None:
        self.check_owner(caller, rule.group)
        with write_tx():
            rule.delete_instance()

    @staticmethod
    def _validated(spec: RuleSpec) -> RuleSpec:
        protocol = PROTOCOLS.get(str(spec.protocol).lower())
        if protocol is None:
            raise InvalidParameterValue(f"Invalid protocol {spec.protocol}: use tcp, udp, icmp or all")
        start, end = spec.start_port, spec.end_port
        if protocol in ("tcp", "udp"):
            if start is None or end is None:
                raise InvalidParameterValue(f"A {protocol} rule needs a port range")
            if start == -1 and end == -1:
                start, end = 0, 65535
            if not (0 <= start <= end <= 65535):
                raise InvalidParameterValue(f"Invalid port range {start}-{end}")
        elif protocol == "all":
            start = end = None
        cidr = spec.cidr
        if cidr is not None:
            try:
                cidr = str(ipaddress.ip_network(cidr, strict=False))
            except ValueError:
                raise InvalidParameterValue(f"Invalid CIDR {cidr}") from None
        if (cidr is None) == (spec.source_group is None):
            raise InvalidParameterValue("A rule names either a CIDR or a source security group")
        return RuleSpec(protocol, start, end, cidr, spec.source_group, spec.description or "")

    @staticmethod
    def _find(group, direction, spec: RuleSpec):
        query = SecurityGroupRule.select().where(SecurityGroupRule.group == group.id,
                                                 SecurityGroupRule.direction == direction,
                                                 SecurityGroupRule.protocol == spec.protocol)
        for column, value in ((SecurityGroupRule.start_port, spec.start_port),
                              (SecurityGroupRule.end_port, spec.end_port), (SecurityGroupRule.cidr, spec.cidr)):
            query = query.where(column.is_null() if value is None else column == value)
        source = spec.source_group.id if spec.source_group else None
        query = query.where(SecurityGroupRule.source_group.is_null() if source is None
                            else SecurityGroupRule.source_group == source)
        return query.first()

    # ------------------------------------------------------------------ VMs
    def attach(self, vm: VirtualMachine, groups: list[SecurityGroup]) -> None:
        """Inside the deploy's transaction: the VM's groups."""
        for group in groups:
            if group.account_id != vm.account_id:
                raise InvalidParameterValue(f"Security group {group.name} does not belong to the VM's account")
            VmSecurityGroup.create(vm=vm.id, group=group.id)

    def attach_many(self, vms: list[VirtualMachine], groups: list[SecurityGroup]) -> None:
        """:meth:`attach` for several new VMs of one account, in one statement."""
        for group in groups:
            if any(group.account_id != vm.account_id for vm in vms):
                raise InvalidParameterValue(f"Security group {group.name} does not belong to the VM's account")
        rows = [dict(vm=vm.id, group=group.id) for vm in vms for group in groups]
        VmSecurityGroup.insert_rows(rows)

    def groups_of(self, vms) -> dict[int, list[SecurityGroup]]:
        """VM id -> its groups, in group id order. The links are read as pairs and each distinct group once
        (a fleet shares a few groups: a joined row per VM built twice as many objects)."""
        found = defaultdict(list)
        ids = [vm.id for vm in vms]
        if ids:
            links = list(VmSecurityGroup.select(VmSecurityGroup.vm, VmSecurityGroup.group)
                         .where(VmSecurityGroup.vm.in_(ids))
                         .order_by(VmSecurityGroup.vm, VmSecurityGroup.group).tuples())
            wanted = list({group_id for _, group_id in links})
            groups = {g.id: g for g in SecurityGroup.select().where(SecurityGroup.id.in_(wanted))} if wanted else {}
            for vm_id, group_id in links:
                found[vm_id].append(groups[group_id])
        return found
