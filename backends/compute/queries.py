"""What the APIs read about VMs (and, until storage has its own manager, volumes): listings with their
filters, loaded in bulk for a whole page, and the few lookups other requests need."""
from __future__ import annotations

from backends.context import Caller
from backends.core import prefetch
from backends.core.config import ConfigManager
from backends.core.kinds import KINDS
from backends.core.tags import TagManager
from backends.db import page_of
from backends.models import Nic, VirtualMachine, Volume
from backends.network.securitygroups import SecurityGroupManager

VM_TAGS = KINDS["VirtualMachine"].tag_type  # the resource type a VM's tags are stored under


class VmQueries:
    def __init__(self, config: ConfigManager, tags: TagManager, security_groups: SecurityGroupManager):
        self.config = config
        self.tags = tags
        self.security_groups = security_groups

    def list(self, caller: Caller, *, scope, id=None, ids=None, name=None, state=None, zone=None,
             template=None, service_offering=None, host=None, keyword=None, page=None, pagesize=None,
             include_destroyed: bool = False, zones=None, tags=None, any_tag=None, uuid_prefixes=None,
             row_ids=None):
        """VMs the caller may see, newest first; destroyed ones only when allowed."""
        query = self._query(caller, scope=scope, id=id, ids=ids, name=name, state=state, zone=zone,
                            template=template, service_offering=service_offering, host=host, keyword=keyword,
                            include_destroyed=include_destroyed, zones=zones, tags=tags, any_tag=any_tag,
                            uuid_prefixes=uuid_prefixes, row_ids=row_ids)
        query = query.order_by(VirtualMachine.id.desc())
        if pagesize:
            total, rows = page_of(query, page, pagesize)
        else:  # EC2 loads fleets by row ids in chunks: counting each chunk as well would be wasted work
            rows = list(query)
            total = len(rows)
        self.load_for_listing(rows)
        return total, rows

    def load_for_listing(self, vms: list[VirtualMachine]) -> None:
        """Everything a listed VM shows, for all of ``vms`` at once: VMs just created (a launch's, whose rows
        are in hand) are shown without reading their rows again."""
        _load_for_listing(vms)
        tags_of = self.tags.tags_of(VM_TAGS, [vm.uuid for vm in vms])
        groups = self.security_groups.groups_of(vms)
        for vm in vms:
            vm.__dict__["_tags"] = tags_of.get(vm.uuid, [])
            vm.__dict__["_groups"] = groups.get(vm.id, [])

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
        elif not (include_destroyed or caller.is_admin or self.config.get_bool("allow.user.view.destroyed.vm")):
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
        query = self.tags.where_tagged(query, VM_TAGS, VirtualMachine.uuid, tags)
        query = self.tags.where_tagged_any(query, VM_TAGS, VirtualMachine.uuid, any_tag)
        if uuid_prefixes is not None:
            ranges = [(VirtualMachine.uuid >= p) & (VirtualMachine.uuid < p + "~") for p in uuid_prefixes]
            query = query.where(_any_of(ranges) if ranges else VirtualMachine.id < 0)
        return query

    @staticmethod
    def current_states(vm_ids) -> dict[int, str]:
        """The VMs' states as of now (to read after other facts that must not be newer than them)."""
        ids = list(vm_ids)
        if not ids:
            return {}
        return dict(VirtualMachine.select(VirtualMachine.id, VirtualMachine.state)
                    .where(VirtualMachine.id.in_(ids)).tuples())

    @staticmethod
    def launched_with_token(account, client_token: str) -> list[VirtualMachine]:
        """The VMs an earlier launch with this idempotency token created for the account (none when it
        failed and was undone, so a retry with the same token launches afresh)."""
        return list(VirtualMachine.select().where(VirtualMachine.account == account.id,
                                                  VirtualMachine.client_token == client_token,
                                                  VirtualMachine.removed.is_null())
                    .order_by(VirtualMachine.id))


def _any_of(conditions: list):
    """``a | b | ...`` as a balanced tree: a chain of hundreds overflows SQLite's parser stack."""
    if len(conditions) == 1:
        return conditions[0]
    middle = len(conditions) // 2
    return _any_of(conditions[:middle]) | _any_of(conditions[middle:])


def _load_for_listing(vms: list[VirtualMachine]) -> None:
    """Everything a listed VM shows, for the whole page at once."""
    prefetch.attach(vms, "account", "user", "domain", "zone", "pod", "cluster", "host", "template", "iso",
                    "service_offering", "os_type")
    nics = prefetch.attach_children(vms, "nics", Nic, "vm")
    prefetch.attach(nics, "network")
    prefetch.attach_children(vms, "volumes", Volume, "vm")
