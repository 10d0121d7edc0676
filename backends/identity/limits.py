"""Resource limits and counts per account and per domain (CloudStack's resource_limit / resource_count).

Every account has one ``resource_count`` row per type; every domain below
ROOT has one too, holding the sum of its subtree's accounts. Reserving bumps
the account row and each ancestor domain row with a conditional UPDATE
(``count + n <= limit``), so concurrent reservations can never overshoot a
limit: the database, not a prior SELECT, decides. ROOT keeps no rows (it is
unlimited, and one row every reservation touched would serialise them all).

Account rows also carry the account's domain id: the unique key
(account, domain, type) then has no NULLs and really is unique, and a domain's
subtree total is one SUM over account rows.
"""
from __future__ import annotations

import peewee as pw

from backends.context import ROOT_ADMIN, Caller
from backends.core.config import ConfigManager
from backends.core.resources import (CPU, MEMORY, NETWORK, PRIMARY_STORAGE, PUBLIC_IP, RESOURCE_TYPES,
                                     SECONDARY_STORAGE, SNAPSHOT, TEMPLATE, USER_VM, VOLUME, VPC, type_name)
from backends.db import is_sqlite, page_of, write_tx
from backends.errors import AccountLimitExceeded, InvalidParameterValue, PermissionDenied
from backends.identity.access import AccessControl
from backends.models import Account, Domain, ResourceCount, ResourceLimit, VirtualMachine, Volume

# Account defaults; a type without a setting (project) is unlimited.
DEFAULT_SETTINGS = {
    USER_VM: "max.account.user.vms", PUBLIC_IP: "max.account.public.ips", VOLUME: "max.account.volumes",
    SNAPSHOT: "max.account.snapshots", TEMPLATE: "max.account.templates", NETWORK: "max.account.networks",
    VPC: "max.account.vpcs", CPU: "max.account.cpus", MEMORY: "max.account.memory",
    PRIMARY_STORAGE: "max.account.primary.storage", SECONDARY_STORAGE: "max.account.secondary.storage",
}
UNLIMITED = -1
GiB = 1 << 30
# VM states that no longer hold resources (their counts were released on the way there).
VM_NOT_COUNTED = ("Destroyed", "Expunging", "Error")
VOLUME_NOT_COUNTED = ("Destroy", "Expunging", "Expunged")


class ResourceLimitManager:
    def __init__(self, config: ConfigManager, access: AccessControl):
        self.config = config
        self.access = access

    # ================================================================ limits
    def account_limit(self, account: Account, resource_type: int) -> int:
        """The account's maximum (-1 = unlimited): its own row, else the global default."""
        type_name(resource_type)
        if account.account_type == ROOT_ADMIN:
            return UNLIMITED
        row = ResourceLimit.get_or_none(ResourceLimit.account == account.id,
                                        ResourceLimit.resource_type == resource_type)
        return row.max_value if row is not None else self.default_limit(resource_type)

    def domain_limit(self, domain: Domain, resource_type: int) -> int:
        """The domain's maximum: its own row, else unlimited (ROOT always is)."""
        type_name(resource_type)
        if domain.parent_id is None:
            return UNLIMITED
        row = ResourceLimit.get_or_none(ResourceLimit.account.is_null(), ResourceLimit.domain == domain.id,
                                        ResourceLimit.resource_type == resource_type)
        return row.max_value if row is not None else UNLIMITED

    def default_limit(self, resource_type: int) -> int:
        setting = DEFAULT_SETTINGS.get(resource_type)
        value = self.config.get(setting) if setting else None
        return UNLIMITED if value in (None, "") else int(float(value))

    def lift_limits(self, account: Account) -> None:
        """Every limit of the account unlimited (the EC2 emulator's accounts start so, as moto's do); an
        admin can still lower any of them with updateResourceLimit. Inside the transaction creating it."""
        ResourceLimit.insert_many([dict(account=account.id, domain=account.domain_id, resource_type=t,
                                        max_value=UNLIMITED) for t in RESOURCE_TYPES]).execute()

    # ================================================================ counts
    def init_counts(self, *, account: Account | None = None, domain: Domain | None = None) -> None:
        """Zero count rows for a new account or domain, inside the transaction creating it.

        Rows that exist before anyone reserves need no creation race later;
        :meth:`reserve` still creates missing ones for owners made elsewhere."""
        if account is not None:
            rows = [dict(account=account.id, domain=account.domain_id, resource_type=t) for t in RESOURCE_TYPES]
        elif domain is not None and domain.parent_id is not None:
            rows = [dict(account=None, domain=domain.id, resource_type=t) for t in RESOURCE_TYPES]
        else:
            return
        ResourceCount.insert_many(rows).execute()

    def count(self, account: Account, resource_type: int) -> int:
        """How much of ``resource_type`` the account holds now."""
        value = (ResourceCount.select(ResourceCount.count)
                 .where(ResourceCount.account == account.id, ResourceCount.resource_type == resource_type).scalar())
        return value or 0

    def domain_count(self, domain: Domain, resource_type: int) -> int:
        """How much the domain's whole subtree holds (summed live for ROOT)."""
        if domain.parent_id is None:
            value = (ResourceCount.select(pw.fn.SUM(ResourceCount.count))
                     .where(ResourceCount.account.is_null(False), ResourceCount.resource_type == resource_type)
                     .scalar())
        else:
            value = (ResourceCount.select(ResourceCount.count)
                     .where(ResourceCount.account.is_null(), ResourceCount.domain == domain.id,
                            ResourceCount.resource_type == resource_type).scalar())
        return int(value or 0)

    def reserve(self, account: Account, deltas: dict[int, int]) -> None:
        """Count ``deltas`` against the account and its domains, or raise AccountLimitExceeded.

        Call inside the caller's write transaction so the count rolls back with
        the change it stands for. All or nothing: a refusal undoes this call's
        increments. Negative entries are released instead."""
        grow = {t: n for t, n in deltas.items() if n > 0}
        shrink = {t: -n for t, n in deltas.items() if n < 0}
        for resource_type in deltas:
            type_name(resource_type)
        if not grow:
            if shrink:
                self.release(account, shrink)
            return
        domain = account.domain
        ancestors = self._ancestors(domain)
        with write_tx():
            self._ensure_rows(account, ancestors, list(grow))
            limits = self._limits(account, ancestors, list(grow))
            for resource_type in sorted(grow):
                n = grow[resource_type]
                limit = UNLIMITED if account.account_type == ROOT_ADMIN else limits.get(
                    (account.id, resource_type), self.default_limit(resource_type))
                if not _add(_account_row(account, resource_type), n, limit):
                    raise AccountLimitExceeded(
                        f"Maximum number of resources of type '{RESOURCE_TYPES[resource_type]}' for account "
                        f"name={account.name} in domain id={domain.uuid} has been exceeded.",
                        resource_type=resource_type)
                for ancestor in ancestors:
                    limit = UNLIMITED if account.account_type == ROOT_ADMIN else limits.get(
                        (None, ancestor.id, resource_type), UNLIMITED)
                    if not _add(_domain_row(ancestor.id, resource_type), n, limit):
                        raise AccountLimitExceeded(
                            f"Maximum number of resources of type '{RESOURCE_TYPES[resource_type]}' for domain "
                            f"id={ancestor.uuid} has been exceeded.", resource_type=resource_type)
            if shrink:
                self.release(account, shrink)

    def release(self, account: Account, deltas: dict[int, int]) -> None:
        """Give back ``deltas`` (counts never drop below 0). Negative entries are reserved instead."""
        shrink = {t: n for t, n in deltas.items() if n > 0}
        grow = {t: -n for t, n in deltas.items() if n < 0}
        for resource_type in deltas:
            type_name(resource_type)
        if grow:
            self.reserve(account, grow)
        if not shrink:
            return
        ancestors = self._ancestors(account.domain)
        with write_tx():
            for resource_type in sorted(shrink):
                n = shrink[resource_type]
                _subtract(_account_row(account, resource_type), n)
                for ancestor in ancestors:
                    _subtract(_domain_row(ancestor.id, resource_type), n)

    def recalculate(self, account: Account) -> dict[int, int]:
        """Recount VMs, CPUs, memory, volumes and primary storage from the tables
        (fixes drift); the account's domains are re-summed too. Returns the counts."""
        vms = (VirtualMachine.select(pw.fn.COUNT(VirtualMachine.id), pw.fn.SUM(VirtualMachine.cpu_number),
                                     pw.fn.SUM(VirtualMachine.memory))
               .where(VirtualMachine.account == account.id, VirtualMachine.removed.is_null(),
                      VirtualMachine.state.not_in(VM_NOT_COUNTED)).tuples().get())
        sizes = [size for (size,) in Volume.select(Volume.size).where(
            Volume.account == account.id, Volume.removed.is_null(), Volume.state.not_in(VOLUME_NOT_COUNTED)).tuples()]
        counts = {USER_VM: int(vms[0] or 0), CPU: int(vms[1] or 0), MEMORY: int(vms[2] or 0),
                  VOLUME: len(sizes), PRIMARY_STORAGE: sum(-(-size // GiB) for size in sizes)}
        ancestors = self._ancestors(account.domain)
        with write_tx():
            self._ensure_rows(account, ancestors, list(counts))
            for resource_type, value in counts.items():
                ResourceCount.update(count=value).where(_account_row(account, resource_type)).execute()
            for ancestor in ancestors:
                subtree = Domain.select(Domain.id).where(Domain.path.startswith(ancestor.path))
                for resource_type in counts:
                    total = (ResourceCount.select(pw.fn.SUM(ResourceCount.count))
                             .where(ResourceCount.account.is_null(False), ResourceCount.domain.in_(subtree),
                                    ResourceCount.resource_type == resource_type).scalar())
                    ResourceCount.update(count=int(total or 0)).where(
                        _domain_row(ancestor.id, resource_type)).execute()
        return counts

    # ===================================================== limits over the API
    def update_limit(self, caller: Caller, resource_type: int, max_value: int | None, *,
                     account: Account | None = None, domain: Domain | None = None) -> ResourceLimit:
        """updateResourceLimit for an account (``account``) or a domain (``domain`` alone)."""
        name = type_name(resource_type)
        max_value = UNLIMITED if max_value is None else int(max_value)
        if max_value < UNLIMITED:
            raise InvalidParameterValue("Please specify either '-1' for an infinite limit, or a limit that is at "
                                        "least '0'.")
        if not caller.is_admin:
            raise PermissionDenied(f"Account {caller.account_name} does not have permission to update resource "
                                   "limits")
        if account is not None:
            if account.removed is not None:
                raise InvalidParameterValue(f"Unable to find account by id {account.uuid}")
            if account.account_type == ROOT_ADMIN and max_value != UNLIMITED:
                raise InvalidParameterValue("Only -1 limit is supported for Root Admin accounts")
            if caller.account_id == account.id and not caller.is_root_admin:
                raise PermissionDenied(f"Unable to update resource limit for their own account {account.uuid}, "
                                       "permission denied")
            self.access.check_access(caller, account.id, account.domain_id, entity="Account", uuid=account.uuid)
            owner = dict(account=account.id, domain=account.domain_id)
            where = (ResourceLimit.account == account.id)
        elif domain is not None:
            if domain.removed is not None:
                raise InvalidParameterValue(f"Unable to find domain by id {domain.uuid}")
            self.access.check_domain_access(caller, domain)
            if domain.parent_id is None:
                raise PermissionDenied(f"Cannot update resource limit for ROOT domain {domain.uuid}, permission "
                                       "denied")
            if not caller.is_root_admin and caller.domain_id == domain.id:
                raise PermissionDenied(f"Unable to update resource limit for domain {domain.uuid}, permission "
                                       "denied")
            parent = domain.parent
            parent_max = self.domain_limit(parent, resource_type)
            if 0 <= parent_max < max_value:
                raise InvalidParameterValue(
                    f"Domain {domain.name}(id: {parent.uuid}) has maximum allowed resource limit {parent_max} for "
                    f"{name}, please specify a value less than or equal to {parent_max}")
            owner = dict(account=None, domain=domain.id)
            where = (ResourceLimit.account.is_null() & (ResourceLimit.domain == domain.id))
        else:
            raise InvalidParameterValue("AccountId or domainId have to be specified in order to update resource "
                                        "limit")
        with write_tx():
            if owner["account"] is None:
                _lock(Domain, domain.id)  # domain rows have a NULL in the unique key
            row = ResourceLimit.get_or_none(where & (ResourceLimit.resource_type == resource_type))
            if row is None:
                row = ResourceLimit.create(resource_type=resource_type, max_value=max_value, **owner)
            else:
                ResourceLimit.update(max_value=max_value).where(ResourceLimit.id == row.id).execute()
                row.max_value = max_value
        return row

    def list_limits(self, caller: Caller, *, resource_type: int | None = None, account: Account | None = None,
                    domain: Domain | None = None, isrecursive: bool = False, id: int | None = None,
                    keyword: str | None = None, page: int | None = None, pagesize: int | None = None):
        """listResourceLimits: every type's effective maximum for an account (default:
        the caller's) or a domain (with ``isrecursive`` its subdomains too). ``id`` selects an explicitly
        set limit (defaults have none); ``keyword`` matches the type's name.

        Returns ``(total, rows)``; rows are ResourceLimit instances — unsaved ones
        where the default applies — with account, domain, resource_type, max_value."""
        types = [resource_type] if resource_type is not None else list(RESOURCE_TYPES)
        for t in types:
            type_name(t)
        if keyword:
            types = [t for t in types if keyword.lower() in type_name(t).lower()]
        rows: list[ResourceLimit] = []
        if account is None and domain is not None:
            self.access.check_domain_access(caller, domain)
            owners = [domain]
            if isrecursive:
                live = Domain.live == True  # noqa: E712
                owners = list(Domain.select().where(Domain.path.startswith(domain.path), live).order_by(Domain.path))
            for owner in owners:
                rows += [ResourceLimit(account=None, domain=owner, resource_type=t,
                                       max_value=self.domain_limit(owner, t)) for t in types]
        else:
            account = account or self.access.get_caller_account(caller)
            self.access.check_access(caller, account.id, account.domain_id, entity="Account", uuid=account.uuid)
            explicit = {r.resource_type: r for r in ResourceLimit.select().where(ResourceLimit.account == account.id)}
            for t in types:
                row = explicit.get(t) or ResourceLimit(resource_type=t, max_value=self.default_limit(t))
                if account.account_type == ROOT_ADMIN:
                    row.max_value = UNLIMITED
                row.account, row.domain = account, account.domain
                rows.append(row)
        if id is not None:
            rows = [row for row in rows if row.id == id]
        return page_of(rows, page, pagesize)

    # ============================================================== internals
    def _ancestors(self, domain: Domain) -> list[Domain]:
        """The domain and its ancestors below ROOT, deepest first (a fixed order avoids deadlocks)."""
        if domain.parent_id is None:
            return []
        parts = domain.path.strip("/").split("/")
        prefixes = ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]
        found = Domain.select().where(Domain.path.in_(prefixes), Domain.live == True)  # noqa: E712
        # Paths compare case-insensitively on MariaDB: keep only exact prefixes.
        return sorted((d for d in found if d.path in prefixes), key=lambda d: -d.level)

    def _limits(self, account: Account, ancestors: list[Domain], types: list[int]) -> dict[tuple, int]:
        """Explicit limit rows: (account id, type) and (None, domain id, type) -> max."""
        owners = ResourceLimit.account == account.id
        if ancestors:
            owners |= ResourceLimit.account.is_null() & ResourceLimit.domain.in_([d.id for d in ancestors])
        out = {}
        for row in ResourceLimit.select().where(owners & ResourceLimit.resource_type.in_(types)):
            key = (row.account_id, row.resource_type) if row.account_id else (None, row.domain_id, row.resource_type)
            out[key] = row.max_value
        return out

    def _ensure_rows(self, account: Account, ancestors: list[Domain], types: list[int]) -> None:
        """Create the missing count rows (a new account or domain starts with none)."""
        if not self._missing(account, ancestors, types):
            return
        if not is_sqlite():
            # Serialise creators on the owners' rows, then re-read with a locking read,
            # which sees rows committed after this transaction's snapshot. Owners made
            # by the account manager never get here (init_counts), so this rare path
            # may wait, but the common one takes no extra locks.
            _lock(Account, account.id)
            for domain in sorted(ancestors, key=lambda d: d.id):
                _lock(Domain, domain.id)
        missing = self._missing(account, ancestors, types, locking=not is_sqlite())
        if missing:
            ResourceCount.insert_many([
                dict(account=account.id if owner is None else None,
                     domain=account.domain_id if owner is None else owner, resource_type=t, count=0)
                for owner, t in sorted(missing, key=lambda k: (k[0] or 0, k[1]))
            ]).execute()

    def _missing(self, account, ancestors, types, *, locking=False) -> set[tuple[int | None, int]]:
        """Keys (None, type) for the account's rows and (domain id, type) for domain rows that do not exist."""
        wanted = {(None, t) for t in types} | {(d.id, t) for d in ancestors for t in types}
        owners = ResourceCount.account == account.id
        if ancestors:
            owners |= ResourceCount.account.is_null() & ResourceCount.domain.in_([d.id for d in ancestors])
        query = (ResourceCount.select(ResourceCount.account, ResourceCount.domain, ResourceCount.resource_type)
                 .where(owners & ResourceCount.resource_type.in_(types)).tuples())
        if locking:
            query = query.for_update()
        have = {(None if a is not None else d, t) for a, d, t in query}
        return wanted - have


def _account_row(account: Account, resource_type: int):
    # The full unique key: MariaDB then locks exactly this row instead of scanning (and locking) the table.
    return ((ResourceCount.account == account.id) & (ResourceCount.domain == account.domain_id)
            & (ResourceCount.resource_type == resource_type))


def _domain_row(domain_id: int, resource_type: int):
    return (ResourceCount.account.is_null() & (ResourceCount.domain == domain_id)
            & (ResourceCount.resource_type == resource_type))


def _add(where, n: int, limit: int) -> bool:
    """count += n unless that passes ``limit``; the UPDATE itself is the check."""
    query = ResourceCount.update(count=ResourceCount.count + n).where(where)
    if limit != UNLIMITED:
        query = query.where(ResourceCount.count + n <= limit)
    return query.execute() > 0


def _subtract(where, n: int) -> None:
    floor = pw.Case(None, [(ResourceCount.count >= n, ResourceCount.count - n)], 0)
    ResourceCount.update(count=floor).where(where).execute()


def _lock(model, row_id: int) -> None:
    """Row lock until the transaction ends (MySQL/MariaDB; SQLite writers are already serialised)."""
    if not is_sqlite():
        model.select(model.id).where(model.id == row_id).for_update().execute()
