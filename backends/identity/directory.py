"""Accounts and their users: creating, listing, finding and deleting them.

What an account owns in a higher area (its VMs) is cleaned up by that area, through a hook
registered at wiring time: identity sits below compute and never imports it.
"""
from __future__ import annotations

import secrets
from typing import Callable

import peewee as pw

from backends.context import DOMAIN_ADMIN, ROOT_ADMIN, Caller
from backends.core.events import EventManager
from backends.core.jobs import JobResult
from backends.db import page_of, write_tx
from backends.errors import InvalidParameterValue, PermissionDenied, ResourceInUse
from backends.identity.access import AccessControl, Scope, caller_domain, live_account, require_live_domain
from backends.identity.domains import ROLE_RANK, TYPE_OF_ROLE, DomainManager
from backends.identity.limits import ResourceLimitManager
from backends.identity.passwords import hash_password
from backends.models import Account, Domain, LoginSession, Role, User, VirtualMachine, utcnow

# hook(caller, account): remove what the account owns in a higher area before the account is deleted.
CleanupHook = Callable[[Caller, Account], None]


class Directory:
    def __init__(self, events: EventManager, limits: ResourceLimitManager, access: AccessControl,
                 domains: DomainManager):
        self.events = events
        self.limits = limits
        self.access = access
        self.domains = domains
        self._cleanup_hooks: list[CleanupHook] = []

    def add_cleanup_hook(self, hook: CleanupHook) -> None:
        """Run ``hook`` in a deleteAccount job before the account is removed (compute expunges its VMs)."""
        self._cleanup_hooks.append(hook)

    # ================================================================= accounts
    def create_account(self, caller: Caller, *, username: str, password: str, email: str, firstname: str,
                       lastname: str, account_type: int | None = None, role: Role | None = None,
                       account_name: str | None = None, domain: Domain | None = None,
                       timezone: str | None = None, network_domain: str | None = None,
                       owner_number: str | None = None, unlimited: bool = False) -> Account:
        """createAccount: the account and its first user. The role decides the type;
        a bare type means the built-in role of that type. ``owner_number`` (the EC2 emulator's accounts:
        the 12 digits a test suite names) instead of a random one; ``unlimited``: no resource limits."""
        if role is None and account_type is None:
            raise InvalidParameterValue("Neither account type and role ID are not provided")
        if not caller.is_admin:
            raise PermissionDenied(f"Account {caller.account_name} does not have permission to create accounts")
        if role is None:
            role = self.domains.builtin_role(int(account_type))
        account_type = TYPE_OF_ROLE.get(role.role_type)
        if account_type is None:
            raise InvalidParameterValue(f"Role {role.name} has an unknown role type {role.role_type}")
        if ROLE_RANK[role.role_type] < ROLE_RANK[caller.role_type]:
            raise PermissionDenied(f"Account {caller.account_name} may not create an account with role "
                                   f"{role.name}: it is more privileged than its own")
        domain = domain or Domain.get_by_id(caller.domain_id)
        require_live_domain(domain)
        self.access.check_domain_access(caller, domain)
        if account_type == ROOT_ADMIN and domain.parent_id is not None:
            raise InvalidParameterValue(f"Invalid account type {account_type} given for an account in domain "
                                        f"{domain.uuid}; unable to create user of admin role type in non-ROOT "
                                        "domain.")
        name = account_name or username
        _require_fields(username=username, password=password)
        try:
            with write_tx():
                if live_account(name, domain.id) is not None:
                    raise InvalidParameterValue(f"The specified account: {name} already exists")
                _require_free_username(username, domain)
                account = Account.create(name=name, account_type=account_type, role=role.id, domain=domain.id,
                                         network_domain=network_domain,
                                         owner_number=owner_number or _new_owner_number())
                self.limits.init_counts(account=account)
                if unlimited:
                    self.limits.lift_limits(account)
                user = _new_user(account, domain, username=username, password=password, email=email,
                                 firstname=firstname, lastname=lastname, timezone=timezone, is_default=True)
                self.events.record(caller, "ACCOUNT.CREATE",
                                   f"Successfully created account {name} in domain {domain.path}", resource=account)
                # The new user's event is the creating caller's, as the account's is.
                self.events.record(caller, "USER.CREATE", f"Successfully created user {username} in account {name}",
                                   resource=user, owner=caller)
        except pw.IntegrityError:
            # Lost a race with an identical request: report what the checks above would have said.
            raise InvalidParameterValue(f"The specified account: {name} already exists or user {username} "
                                        f"already exists in domain {domain.uuid}") from None
        return account

    def delete_account_work(self, caller: Caller, account: Account):
        """deleteAccount as a job: check now, then expunge the account's VMs and remove it.

        CloudStack cleans an account up before removing it; doing the checks
        first means a refused deletion never destroys anything."""
        self._check_deletable(caller, account)

        def work():
            for hook in self._cleanup_hooks:
                hook(caller, account)
            self.delete_account(caller, account)
            return JobResult()

        return work

    def delete_account(self, caller: Caller, account: Account) -> Account:
        """Mark the account and its users removed and revoke their keys and sessions.

        Refused while the account still owns VMs that are not removed (the API
        layer destroys and expunges them first)."""
        self._check_deletable(caller, account)
        with write_tx():
            if account.account_type == ROOT_ADMIN:
                admins = Account.select().where(Account.account_type == ROOT_ADMIN, Account.removed.is_null(),
                                                Account.id != account.id).count()
                if admins == 0:
                    raise InvalidParameterValue(f"Account {account.name} is the last root admin account and "
                                                "cannot be deleted")
            vms = VirtualMachine.select().where(VirtualMachine.account == account.id,
                                                VirtualMachine.removed.is_null()).count()
            if vms:
                raise ResourceInUse(f"Account {account.name} still owns {vms} virtual machine(s); destroy and "
                                    "expunge them first")
            now = utcnow()
            users = User.select(User.id).where(User.account == account.id)
            LoginSession.delete().where(LoginSession.user.in_(users)).execute()
            User.update(live=None, removed=now, state="removed", api_key=None, secret_key=None).where(
                User.account == account.id, User.removed.is_null()).execute()
            Account.update(live=None, removed=now, state="removed").where(Account.id == account.id).execute()
            self.events.record(caller, "ACCOUNT.DELETE", f"Successfully deleted account {account.name}",
                               resource=account)
        return Account.get_by_id(account.id)

    def _check_deletable(self, caller: Caller, account: Account) -> None:
        if not caller.is_admin:
            raise PermissionDenied(f"Account {caller.account_name} does not have permission to delete accounts")
        if account.removed is not None:
            raise InvalidParameterValue(f"The specified account {account.uuid} does not exist")
        self.access.check_access(caller, account.id, account.domain_id, entity="Account", uuid=account.uuid)
        if account.account_type == ROOT_ADMIN and not caller.is_root_admin:
            raise PermissionDenied(f"Account {caller.account_name} does not have permission to operate on "
                                   f"account {account.name}")
        if account.id == caller.account_id:
            raise InvalidParameterValue("Deletion of the caller's own account is not allowed")

    def list_accounts(self, caller: Caller, *, id: Account | None = None, name: str | None = None,
                      account_type: int | None = None, state: str | None = None, keyword: str | None = None,
                      listall: bool = False, domain: Domain | None = None, isrecursive: bool = False,
                      page: int | None = None, pagesize: int | None = None):
        """listAccounts, with CloudStack's own scoping for this command: users see their
        account; admins see the given (or, with ``listall``, their own) domain's
        accounts — recursively with ``listall``/``isrecursive``."""
        query = Account.select().where(Account.removed.is_null())
        if domain is not None:
            require_live_domain(domain)
            self.access.check_domain_access(caller, domain)
        if id is not None:
            self.access.check_access(caller, id.id, id.domain_id, entity="Account", uuid=id.uuid)
            query = query.where(Account.id == id.id)
            if domain is not None:
                query = query.where(Account.domain == domain.id)
        elif listall and caller.is_admin:
            where = domain or caller_domain(caller)
            query = Scope(domain_id=where.id, domain_path=where.path, recursive=True).apply(query, Account)
        elif not caller.is_admin or domain is None:
            query = query.where(Account.id == caller.account_id)
        else:
            query = Scope(domain_id=domain.id, domain_path=domain.path, recursive=isrecursive).apply(query, Account)
        if not caller.is_admin:
            query = query.where(Account.account_type != DOMAIN_ADMIN)
        if name:
            query = query.where(Account.name == name)
        if account_type is not None:
            query = query.where(Account.account_type == account_type)
        if state:
            query = query.where(Account.state == state.lower())
        if keyword:
            query = query.where(Account.name.contains(keyword) | Account.state.contains(keyword))
        return page_of(query.order_by(Account.id), page, pagesize)

    # ==================================================================== users
    def create_user(self, caller: Caller, *, account_name: str, domain: Domain | None, username: str,
                    password: str, email: str, firstname: str, lastname: str,
                    timezone: str | None = None) -> User:
        """createUser: another user of an existing account; usernames are unique per domain."""
        if not caller.is_admin:
            raise PermissionDenied(f"Account {caller.account_name} does not have permission to create users")
        domain = domain or caller_domain(caller)
        require_live_domain(domain)
        account = live_account(account_name, domain.id)
        if account is None or not self.access.may_access(caller, account.id, account.domain_id):
            raise InvalidParameterValue(f"Unable to find account {account_name} in domain id={domain.uuid} to "
                                        "create user")
        _require_fields(username=username, password=password)
        try:
            with write_tx():
                _require_free_username(username, domain)
                user = _new_user(account, domain, username=username, password=password, email=email,
                                 firstname=firstname, lastname=lastname, timezone=timezone)
                self.events.record(caller, "USER.CREATE",
                                   f"Successfully created user {username} in account {account.name}", resource=user,
                                   owner=caller)
        except pw.IntegrityError:
            raise InvalidParameterValue(f"The user {username} already exists in domain {domain.uuid}") from None
        return user

    def list_users(self, caller: Caller, *, id: User | None = None, username: str | None = None,
                   account_type: int | None = None, state: str | None = None, keyword: str | None = None,
                   listall: bool = False, domain: Domain | None = None, isrecursive: bool = False,
                   account_name: str | None = None, page: int | None = None, pagesize: int | None = None):
        """listUsers: a normal user sees only itself; others get the usual scoping."""
        if not caller.is_admin:
            if id is not None and id.id != caller.user_id:
                raise PermissionDenied("Calling user is not authorized to see the user requested by id")
        scope = self.access.scope(caller, listall=listall, domain=domain, isrecursive=isrecursive,
                                  account_name=account_name, id_given=id is not None)
        query = scope.apply(User.select(User, Account).join(Account).where(User.removed.is_null()), User)
        if not caller.is_admin:
            query = query.where(User.id == caller.user_id)
        if id is not None:
            query = query.where(User.id == id.id)
        if username:
            query = query.where(User.username == username)
        if account_type is not None:
            query = query.where(Account.account_type == account_type)
        if state:
            query = query.where(User.state == state.lower())
        if keyword:
            query = query.where(User.username.contains(keyword) | User.firstname.contains(keyword) |
                                User.lastname.contains(keyword) | User.email.contains(keyword) |
                                User.state.contains(keyword) | Account.name.contains(keyword))
        return page_of(query.order_by(User.id), page, pagesize)


def _new_owner_number() -> str:
    while True:
        number = str(10 ** 11 + secrets.randbelow(9 * 10 ** 11))
        if not Account.select().where(Account.owner_number == number).exists():
            return number


def _require_free_username(username: str, domain: Domain) -> None:
    if User.select().where(User.domain == domain.id, User.username == username,
                           User.live == True).exists():  # noqa: E712
        raise InvalidParameterValue(f"The user {username} already exists in domain {domain.uuid}")


def _new_user(account: Account, domain: Domain, *, username, password, email, firstname, lastname,
              timezone, is_default=False) -> User:
    return User.create(username=username, password_hash=hash_password(password), email=email or "",
                       firstname=firstname or "", lastname=lastname or "", account=account.id,
                       domain=domain.id, timezone=timezone, is_default=is_default)


def _require_fields(**values) -> None:
    for name, value in values.items():
        if not value:
            raise InvalidParameterValue(f"Parameter {name} must not be empty")
