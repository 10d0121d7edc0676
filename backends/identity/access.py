"""Who may see what: the scope of a list command, the access check on one object, and whose account
a create acts for.

:meth:`AccessControl.scope` builds the filter every list command applies (CloudStack's
``buildACLSearchParameters``) and :meth:`AccessControl.check_access` guards every operation on an
object. It keeps no state and uses no other manager, so every area may be handed one.
"""
from __future__ import annotations

from dataclasses import dataclass

from backends.context import Caller
from backends.core import kinds
from backends.errors import InvalidParameterValue, NotFound, PermissionDenied
from backends.models import Account, Domain, Network, Nic, SecurityGroupRule, Template

@dataclass(frozen=True)
class Scope:
    """Which owners a listing may show.

    ``account_ids`` non-empty: only those accounts. Otherwise ``domain_id``
    (and with ``recursive`` its whole subtree) or, when that is None too,
    everything.
    """

    account_ids: tuple[int, ...] = ()
    domain_id: int | None = None
    domain_path: str | None = None
    recursive: bool = False

    @property
    def unrestricted(self) -> bool:
        return not self.account_ids and (self.domain_id is None or (self.recursive and self.domain_path == "/"))

    def apply(self, query, model):
        """Restrict a peewee query on ``model`` (with ``account`` and ``domain`` foreign keys)."""
        if self.account_ids:
            column = model.id if model is Account else model.account
            if len(self.account_ids) == 1:
                return query.where(column == self.account_ids[0])
            return query.where(column.in_(self.account_ids))
        if self.unrestricted:
            return query
        if self.recursive:
            return query.where(model.domain.in_(subtree_ids(self.domain_path)))
        return query.where(model.domain == self.domain_id)


def subtree_ids(path: str):
    """Sub-select of the ids of the domain at ``path`` and everything below it."""
    return Domain.select(Domain.id).where(Domain.path.startswith(path))


def ancestor_ids(path: str):
    """Sub-select of the ids of the domain at ``path`` and all its ancestors (ROOT included):
    what is shared with a domain is visible below it."""
    parts = [p for p in path.split("/") if p]
    paths = ["/"] + ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]
    return Domain.select(Domain.id).where(Domain.path.in_(paths))


class AccessControl:
    # ================================================================ domains
    def check_domain_access(self, caller: Caller, domain: Domain) -> None:
        """Users may act in their own domain, domain admins in their subtree, root admins anywhere."""
        if caller.is_root_admin:
            return
        if caller.is_domain_admin:
            allowed = domain.path.startswith(caller.domain_path)
        else:
            allowed = domain.id == caller.domain_id
        if not allowed:
            raise PermissionDenied(f"Account {caller.account_name} does not have permission to operate within "
                                   f"domain id={domain.uuid}")

    # ================================================================ listings
    def scope(self, caller: Caller, *, listall: bool = False, domain: Domain | None = None,
              isrecursive: bool = False, account_name: str | None = None, id_given: bool = False) -> Scope:
        """What a list command may show (native-api.md §4, CloudStack's buildACLSearchParameters)."""
        if domain is not None:
            require_live_domain(domain)
            self.check_domain_access(caller, domain)
        if account_name:
            where = domain or caller_domain(caller)
            owner = live_account(account_name, where.id)
            # Another tenant's account answers as one that does not exist.
            if owner is None or not self.may_access(caller, owner.id, owner.domain_id):
                raise InvalidParameterValue(f"could not find account {account_name} in domain {where.uuid}")
            return Scope(account_ids=(owner.id,))
        own = Scope(account_ids=(caller.account_id,))
        if not caller.is_admin:
            return own
        if domain is not None:
            return Scope(domain_id=domain.id, domain_path=domain.path, recursive=isrecursive)
        if not listall and not id_given:
            return own
        if caller.is_root_admin:
            return Scope()
        return Scope(domain_id=caller.domain_id, domain_path=caller.domain_path, recursive=True)

    # ================================================================ one object
    def may_access(self, caller: Caller, account_id: int | None, domain_id: int | None) -> bool:
        """Whether ``caller`` may see and act on what this account/domain owns: its own account, a domain
        admin's subtree, everything for root admins."""
        if caller.is_root_admin or (account_id is not None and account_id == caller.account_id):
            return True
        if caller.is_domain_admin and domain_id is not None:
            path = Domain.select(Domain.path).where(Domain.id == domain_id).scalar()
            return path is not None and path.startswith(caller.domain_path)
        return False

    def check_access(self, caller: Caller, account_id: int | None, domain_id: int | None, *, entity: str,
                     uuid: str = "", shared: bool = False) -> None:
        """May ``caller`` act on something owned by this account/domain?

        Something the caller may not even see is NotFound, exactly as an id that names nothing, so
        no answer tells one tenant what another has. Only what is ``shared`` with the caller (a public
        template, say) — whose existence is no secret — is PermissionDenied."""
        if self.may_access(caller, account_id, domain_id):
            return
        noun = kinds.noun(entity)
        if shared:
            raise PermissionDenied(f"Account {caller.account_name} does not have permission to operate on "
                                   f"{noun} {uuid}".rstrip())
        raise NotFound(f"Unable to find the {noun}", entity=entity, value=uuid)

    def can_see(self, caller: Caller, row) -> bool:
        """Whether ``caller`` may know that ``row`` exists: what it may access, what is shared with
        everyone (public templates, zones, offerings...) and, for domains, its own path."""
        if caller.is_root_admin:
            return True
        if isinstance(row, Domain):
            return (caller.domain_path.startswith(row.path)
                    or (caller.is_domain_admin and row.path.startswith(caller.domain_path)))
        if isinstance(row, Template) and (row.is_public or row.is_featured):
            return True
        if isinstance(row, Network) and row.account_id is None:  # shared with a domain and those below
            return self.can_see(caller, row.domain)
        owner = _owner_of(row)
        return owner is None or self.may_access(caller, *owner)

    # ================================================================ owners
    def get_caller_account(self, caller: Caller) -> Account:
        return Account.get_by_id(caller.account_id)

    def owner_for(self, caller: Caller, account_name: str | None = None, domain: Domain | None = None) -> Account:
        """The account a create acts for: the caller's own, or (admins) ``account_name``
        in ``domain`` (default: the caller's domain)."""
        if account_name is None and domain is None:
            return self.get_caller_account(caller)
        if account_name is None:
            raise InvalidParameterValue("AccountName and domainId must be specified together")
        domain = domain or caller_domain(caller)
        if not caller.is_admin:
            if account_name != caller.account_name or domain.id != caller.domain_id:
                raise PermissionDenied(f"Can't create/list resources for account {account_name} in domain "
                                       f"{domain.uuid}, permission denied")
            return self.get_caller_account(caller)
        require_live_domain(domain)
        self.check_domain_access(caller, domain)
        owner = live_account(account_name, domain.id)
        if owner is None:
            raise InvalidParameterValue(f"Unable to find account {account_name} in domain {domain.uuid}")
        return owner


def _owner_of(row) -> tuple[int | None, int | None] | None:
    """``(account_id, domain_id)`` of a tenant's object; None for what belongs to the cloud."""
    if isinstance(row, Account):
        return row.id, row.domain_id
    if isinstance(row, SecurityGroupRule):
        return _owner_of(row.group)
    if isinstance(row, Nic):
        return _owner_of(row.vm)
    if "account" in type(row)._meta.fields and "domain" in type(row)._meta.fields:
        return row.account_id, row.domain_id
    return None


# ------------------------------------------------ lookups the access rules share with the directory


def live_account(name: str, domain_id: int) -> Account | None:
    return Account.get_or_none(Account.name == name, Account.domain == domain_id,
                               Account.live == True)  # noqa: E712


def require_live_domain(domain: Domain | None) -> None:
    if domain is None or domain.removed is not None:
        raise InvalidParameterValue(f"Unable to find domain by id {getattr(domain, 'uuid', None)}")


def caller_domain(caller: Caller) -> Domain:
    return Domain.get_by_id(caller.domain_id)
