"""The domain tree, ROOT and the built-in roles."""
from __future__ import annotations

import peewee as pw

from backends.context import (DOMAIN_ADMIN, RESOURCE_ADMIN, ROLE_ADMIN, ROLE_DOMAIN_ADMIN, ROLE_RESOURCE_ADMIN,
                              ROLE_USER, ROOT_ADMIN, USER, Caller)
from backends.core import prefetch
from backends.core.events import EventManager
from backends.db import page_of, write_tx
from backends.errors import InvalidParameterValue, PermissionDenied
from backends.identity.access import AccessControl, require_live_domain
from backends.identity.limits import ResourceLimitManager
from backends.models import Domain, Role

# Built-in roles in CloudStack's id order (1 Root Admin ... 4 User).
BUILTIN_ROLES = (("Root Admin", ROLE_ADMIN), ("Resource Admin", ROLE_RESOURCE_ADMIN),
                 ("Domain Admin", ROLE_DOMAIN_ADMIN), ("User", ROLE_USER))
ROLE_OF_TYPE = {ROOT_ADMIN: "Root Admin", RESOURCE_ADMIN: "Resource Admin", DOMAIN_ADMIN: "Domain Admin",
                USER: "User"}
TYPE_OF_ROLE = {ROLE_ADMIN: ROOT_ADMIN, ROLE_RESOURCE_ADMIN: RESOURCE_ADMIN, ROLE_DOMAIN_ADMIN: DOMAIN_ADMIN,
                ROLE_USER: USER}
# Lower = more powerful; nobody may create an account more powerful than their own.
ROLE_RANK = {ROLE_ADMIN: 0, ROLE_RESOURCE_ADMIN: 1, ROLE_DOMAIN_ADMIN: 2, ROLE_USER: 3}


class DomainManager:
    def __init__(self, events: EventManager, limits: ResourceLimitManager, access: AccessControl):
        self.events = events
        self.limits = limits
        self.access = access

    # ================================================================ built-ins
    def ensure_builtins(self) -> Domain:
        """Create the ROOT domain and the four built-in roles if missing; return ROOT."""
        for attempt in range(2):
            try:
                with write_tx():
                    root = self.root_domain()
                    if root is None:
                        root = Domain.create(name="ROOT", path="/", level=0, parent=None)
                    existing = {r.name for r in Role.select(Role.name)}
                    for name, role_type in BUILTIN_ROLES:
                        if name not in existing:
                            Role.create(name=name, role_type=role_type, description=f"Default {name} role",
                                        is_default=True)
                    return root
            except pw.IntegrityError:
                # Another process created them at the same moment: read theirs.
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def root_domain(self) -> Domain | None:
        return Domain.get_or_none(Domain.path == "/", Domain.live == True)  # noqa: E712

    def builtin_role(self, account_type: int) -> Role:
        name = ROLE_OF_TYPE.get(account_type)
        role = Role.get_or_none(Role.name == name) if name else None
        if role is None:
            raise InvalidParameterValue(f"Invalid account type {account_type} given; unable to create user")
        return role

    # ================================================================== domains
    def create_domain(self, caller: Caller, name: str, parent: Domain | None,
                      network_domain: str | None = None) -> Domain:
        """A child of ``parent`` (default ROOT); sibling names are unique, ignoring case."""
        name = (name or "").strip()
        if not name or "/" in name:
            raise InvalidParameterValue(f"Invalid domain name {name!r}: it must be non-empty and contain no '/'")
        if not caller.is_admin:
            raise PermissionDenied(f"Account {caller.account_name} does not have permission to create domains")
        parent = parent or self.root_domain()
        require_live_domain(parent)
        self.access.check_domain_access(caller, parent)
        taken = f"Domain with name {name} already exists for the parent id={parent.uuid}"
        try:
            with write_tx():
                sibling = (Domain.select().where(Domain.parent == parent.id, Domain.live == True,  # noqa: E712
                                                 pw.fn.LOWER(Domain.name) == name.lower()).exists())
                if sibling:
                    raise InvalidParameterValue(taken)
                domain = Domain.create(name=name, parent=parent.id, path=f"{parent.path}{name}/",
                                       level=parent.level + 1, network_domain=network_domain)
                self.limits.init_counts(domain=domain)
                self.events.record(caller, "DOMAIN.CREATE", f"Successfully created domain {domain.path}",
                                   resource=domain)
        except pw.IntegrityError:
            raise InvalidParameterValue(taken) from None
        return domain

    def list_domains(self, caller: Caller, *, domain: Domain | None = None, name: str | None = None,
                     level: int | None = None, listall: bool = False, keyword: str | None = None,
                     page: int | None = None, pagesize: int | None = None):
        """Domains the caller may see (listDomains): a given one, else the caller's
        own (its subtree with ``listall``); root admins see every domain."""
        query = Domain.select().where(Domain.live == True)  # noqa: E712
        if domain is not None:
            require_live_domain(domain)
            self.access.check_domain_access(caller, domain)
            query = query.where(Domain.id == domain.id)
        elif not caller.is_root_admin:
            if listall:
                query = query.where(Domain.path.startswith(caller.domain_path))
            else:
                query = query.where(Domain.id == caller.domain_id)
        if name:
            query = query.where(Domain.name == name)
        if level is not None:
            query = query.where(Domain.level == level)
        if keyword:
            query = query.where(Domain.name.contains(keyword))
        total, rows = page_of(query.order_by(Domain.id), page, pagesize)
        # What each listed domain shows, for the whole page at once: its parent, whether it has live children.
        prefetch.attach(rows, "parent")
        parents = {d.parent_id for d in Domain.select(Domain.parent).where(
            Domain.parent.in_([row.id for row in rows]), Domain.live == True)}  # noqa: E712
        for row in rows:
            row.has_child = row.id in parents
        return total, rows
