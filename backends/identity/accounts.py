"""Domains, accounts, users, credentials, sessions and who may see what.

Three jobs share this module because they share the same few rules:
identity (passwords, API keys, login sessions), the domain/account/user tree,
and ownership — :meth:`AccountManager.scope` builds the filter every list
command applies (CloudStack's ``buildACLSearchParameters``) and
:meth:`AccountManager.check_access` guards every operation on an object.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

import peewee as pw

from backends.context import (DOMAIN_ADMIN, RESOURCE_ADMIN, ROLE_ADMIN, ROLE_DOMAIN_ADMIN, ROLE_RESOURCE_ADMIN,
                              ROLE_USER, ROOT_ADMIN, USER, Caller)
from backends.db import Compiled, page_of, write_tx
from backends.errors import CloudError, InvalidParameterValue, NotFound, PermissionDenied, ResourceInUse
from backends.models import (Account, Domain, LoginSession, Network, Nic, Role, SecurityGroupRule, Template, User,
                             VirtualMachine, utcnow)

log = logging.getLogger(__name__)

# Built-in roles in CloudStack's id order (1 Root Admin ... 4 User).
BUILTIN_ROLES = (("Root Admin", ROLE_ADMIN), ("Resource Admin", ROLE_RESOURCE_ADMIN),
                 ("Domain Admin", ROLE_DOMAIN_ADMIN), ("User", ROLE_USER))
ROLE_OF_TYPE = {ROOT_ADMIN: "Root Admin", RESOURCE_ADMIN: "Resource Admin", DOMAIN_ADMIN: "Domain Admin",
                USER: "User"}
TYPE_OF_ROLE = {ROLE_ADMIN: ROOT_ADMIN, ROLE_RESOURCE_ADMIN: RESOURCE_ADMIN, ROLE_DOMAIN_ADMIN: DOMAIN_ADMIN,
                ROLE_USER: USER}
# Lower = more powerful; nobody may create an account more powerful than their own.
ROLE_RANK = {ROLE_ADMIN: 0, ROLE_RESOURCE_ADMIN: 1, ROLE_DOMAIN_ADMIN: 2, ROLE_USER: 3}

PASSWORD_ITERATIONS = 260_000
# Slide a session's expiry at most this often: a write per request would serialise SQLite.
SESSION_SLIDE_STEP = dt.timedelta(seconds=60)


# ------------------------------------------------------------------ passwords


def hash_password(password: str, *, iterations: int | None = None) -> str:
    """``pbkdf2_sha256$<iterations>$<salt>$<hex digest>`` with a fresh random salt."""
    iterations = iterations or PASSWORD_ITERATIONS
    salt = secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations).hex()
    return f"pbkdf2_sha256${iterations}${salt}${digest}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of ``password`` against a :func:`hash_password` string."""
    try:
        algorithm, iterations, salt, digest = stored.split("$")
        rounds = int(iterations)
    except (AttributeError, ValueError):
        return False
    if algorithm != "pbkdf2_sha256":
        return False
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), rounds).hex()
    return hmac.compare_digest(candidate, digest)


# A hash to check against when the user does not exist, so timing does not tell.
_DUMMY_HASH = None


def _burn_time(password: str) -> None:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password("not-a-password")
    verify_password(password, _DUMMY_HASH)


def _same(a: str | None, b: str | None) -> bool:
    # MariaDB compares strings case-insensitively; secrets must match exactly.
    return a is not None and b is not None and hmac.compare_digest(a.encode(), b.encode())


# ------------------------------------------------------------------ scoping


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


def _normalise_path(path: str | None) -> str:
    path = (path or "").strip()
    if not path.startswith("/"):
        path = "/" + path
    if not path.endswith("/"):
        path += "/"
    return path


def ancestor_ids(path: str):
    """Sub-select of the ids of the domain at ``path`` and all its ancestors (ROOT included):
    what is shared with a domain is visible below it."""
    parts = [p for p in path.split("/") if p]
    paths = ["/"] + ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]
    return Domain.select(Domain.id).where(Domain.path.in_(paths))


class AccountManager:
    def __init__(self, cloud):
        self.cloud = cloud

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
        self._require_live_domain(parent)
        self.check_domain_access(caller, parent)
        taken = f"Domain with name {name} already exists for the parent id={parent.uuid}"
        try:
            with write_tx():
                sibling = (Domain.select().where(Domain.parent == parent.id, Domain.live == True,  # noqa: E712
                                                 pw.fn.LOWER(Domain.name) == name.lower()).exists())
                if sibling:
                    raise InvalidParameterValue(taken)
                domain = Domain.create(name=name, parent=parent.id, path=f"{parent.path}{name}/",
                                       level=parent.level + 1, network_domain=network_domain)
                self.cloud.limits.init_counts(domain=domain)
                self.cloud.events.record("DOMAIN.CREATE", f"Successfully created domain {domain.path}",
                                         caller=caller, resource_type="Domain", resource_uuid=domain.uuid)
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
            self._require_live_domain(domain)
            self.check_domain_access(caller, domain)
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
        return page_of(query.order_by(Domain.id), page, pagesize)

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

    def _require_live_domain(self, domain: Domain | None) -> None:
        if domain is None or domain.removed is not None:
            raise InvalidParameterValue(f"Unable to find domain by id {getattr(domain, 'uuid', None)}")

    # ================================================================= accounts
    def _check_deletable(self, caller: Caller, account: Account) -> None:
        if not caller.is_admin:
            raise PermissionDenied(f"Account {caller.account_name} does not have permission to delete accounts")
        if account.removed is not None:
            raise InvalidParameterValue(f"The specified account {account.uuid} does not exist")
        self.check_access(caller, account.id, account.domain_id, entity="Account", uuid=account.uuid)
        if account.account_type == ROOT_ADMIN and not caller.is_root_admin:
            raise PermissionDenied(f"Account {caller.account_name} does not have permission to operate on "
                                   f"account {account.name}")
        if account.id == caller.account_id:
            raise InvalidParameterValue("Deletion of the caller's own account is not allowed")

    def create_account(self, caller: Caller, *, username: str, password: str, email: str, firstname: str,
                       lastname: str, account_type: int | None = None, role: Role | None = None,
                       account_name: str | None = None, domain: Domain | None = None,
                       timezone: str | None = None, network_domain: str | None = None) -> Account:
        """createAccount: the account and its first user. The role decides the type;
        a bare type means the built-in role of that type."""
        if role is None and account_type is None:
            raise InvalidParameterValue("Neither account type and role ID are not provided")
        if not caller.is_admin:
            raise PermissionDenied(f"Account {caller.account_name} does not have permission to create accounts")
        if role is None:
            role = self.builtin_role(int(account_type))
        account_type = TYPE_OF_ROLE.get(role.role_type)
        if account_type is None:
            raise InvalidParameterValue(f"Role {role.name} has an unknown role type {role.role_type}")
        if ROLE_RANK[role.role_type] < ROLE_RANK[caller.role_type]:
            raise PermissionDenied(f"Account {caller.account_name} may not create an account with role "
                                   f"{role.name}: it is more privileged than its own")
        domain = domain or Domain.get_by_id(caller.domain_id)
        self._require_live_domain(domain)
        self.check_domain_access(caller, domain)
        if account_type == ROOT_ADMIN and domain.parent_id is not None:
            raise InvalidParameterValue(f"Invalid account type {account_type} given for an account in domain "
                                        f"{domain.uuid}; unable to create user of admin role type in non-ROOT "
                                        "domain.")
        name = account_name or username
        _require_fields(username=username, password=password)
        try:
            with write_tx():
                if self._live_account(name, domain.id) is not None:
                    raise InvalidParameterValue(f"The specified account: {name} already exists")
                self._require_free_username(username, domain)
                account = Account.create(name=name, account_type=account_type, role=role.id, domain=domain.id,
                                         network_domain=network_domain, owner_number=self._new_owner_number())
                self.cloud.limits.init_counts(account=account)
                user = self._new_user(account, domain, username=username, password=password, email=email,
                                      firstname=firstname, lastname=lastname, timezone=timezone, is_default=True)
                self.cloud.events.record("ACCOUNT.CREATE", f"Successfully created account {name} in domain "
                                         f"{domain.path}", caller=caller, resource_type="Account",
                                         resource_uuid=account.uuid)
                self.cloud.events.record("USER.CREATE", f"Successfully created user {username} in account "
                                         f"{name}", caller=caller, resource_type="User", resource_uuid=user.uuid)
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
            from backends.core.jobs import JobResult

            self.cloud.vms.expunge_owned_by(caller, account)
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
            self.cloud.events.record("ACCOUNT.DELETE", f"Successfully deleted account {account.name}",
                                     caller=caller, resource_type="Account", resource_uuid=account.uuid)
        return Account.get_by_id(account.id)

    # ------------------------------------------------ enable / disable / lock
    def find_account(self, caller: Caller, *, id: Account | None = None, name: str | None = None,
                     domain: Domain | None = None) -> Account:
        """The account an account control names: by ``id``, or by ``name`` in ``domain``."""
        if id is None:
            if not name or domain is None:
                raise InvalidParameterValue("Either id or account name and domain id must be specified")
            self._require_live_domain(domain)
            id = self._live_account(name, domain.id)
            if id is None:
                raise InvalidParameterValue(f"Unable to find account by name {name} in domain {domain.uuid}")
        if id.removed is not None:
            raise InvalidParameterValue(f"Unable to find account by id {id.uuid}")
        return id

    def disable_account_work(self, caller: Caller, account: Account, *, lock: bool):
        """disableAccount as a job: checked now; the job disables (or with ``lock`` only locks) the
        account, ends its sessions and, when disabling, stops its running VMs as CloudStack does."""
        self._check_controllable(caller, account, "disable")

        def work():
            from backends.core.jobs import JobResult

            self._set_account_state(caller, account, "locked" if lock else "disabled")
            if not lock:
                self._stop_vms_of(caller, account)
            return JobResult("Account", account.uuid)

        return work

    def lock_account(self, caller: Caller, account: Account) -> Account:
        """lockAccount: its users can no longer sign in or call the APIs; its VMs keep running."""
        self._check_controllable(caller, account, "lock")
        return self._set_account_state(caller, account, "locked")

    def enable_account(self, caller: Caller, account: Account) -> Account:
        """enableAccount: a disabled or locked account's users may sign in again."""
        self._check_controllable(caller, account, "enable")
        return self._set_account_state(caller, account, "enabled")

    def disable_user_work(self, caller: Caller, user: User):
        """disableUser as a job (as in CloudStack): checked now, disabled by the job."""
        self._check_user_controllable(caller, user, "disable")

        def work():
            from backends.core.jobs import JobResult

            self._set_user_state(caller, user, "disabled")
            return JobResult("User", user.uuid)

        return work

    def lock_user(self, caller: Caller, user: User) -> User:
        """lockUser; like CloudStack, the account is locked too once none of its users is enabled."""
        self._check_user_controllable(caller, user, "lock")
        user = self._set_user_state(caller, user, "locked")
        enabled_users = User.select().where(User.account == user.account_id, User.removed.is_null(),
                                            User.state == "enabled")
        if user.account.state == "enabled" and not enabled_users.exists():
            self._set_account_state(caller, user.account, "locked")
        return User.get_by_id(user.id)

    def enable_user(self, caller: Caller, user: User) -> User:
        """enableUser; like CloudStack, it enables the user's account as well."""
        self._check_user_controllable(caller, user, "enable")
        self._set_user_state(caller, user, "enabled")
        self._set_account_state(caller, user.account, "enabled")
        return User.get_by_id(user.id)

    def _check_controllable(self, caller: Caller, account: Account, action: str) -> None:
        """Admins over accounts within their reach; never their own, the system's or the last root admin's."""
        if not caller.is_admin:
            raise PermissionDenied(f"Account {caller.account_name} does not have permission to {action} accounts")
        if account.removed is not None:
            raise InvalidParameterValue(f"Unable to find account by id {account.uuid}")
        self.check_access(caller, account.id, account.domain_id, entity="Account", uuid=account.uuid)
        if account.account_type == ROOT_ADMIN and not caller.is_root_admin:
            raise PermissionDenied(f"Account {caller.account_name} does not have permission to operate on "
                                   f"account {account.name}")
        if account.name == "system" and account.domain.parent_id is None:
            raise PermissionDenied(f"Account id : {account.uuid} is a system account, {action} is not allowed")
        if account.id == caller.account_id:
            raise InvalidParameterValue(f"The caller may not {action} its own account")
        if action != "enable" and account.account_type == ROOT_ADMIN:
            self._require_another_root_admin(excluding=User.account == account.id)

    def _check_user_controllable(self, caller: Caller, user: User, action: str) -> None:
        if user.removed is not None:
            raise InvalidParameterValue(f"Unable to find active user by id {user.uuid}")
        if user.id == caller.user_id:
            raise InvalidParameterValue(f"The caller may not {action} its own user")
        account = user.account
        if not caller.is_admin:
            raise PermissionDenied(f"Account {caller.account_name} does not have permission to {action} users")
        self.check_access(caller, account.id, account.domain_id, entity="User", uuid=user.uuid)
        if account.account_type == ROOT_ADMIN and not caller.is_root_admin:
            raise PermissionDenied(f"Account {caller.account_name} does not have permission to operate on "
                                   f"user {user.uuid}")
        if account.name == "system" and account.domain.parent_id is None:
            raise PermissionDenied(f"User id : {user.uuid} is a system user, {action} is not allowed")
        if action != "enable" and account.account_type == ROOT_ADMIN:
            self._require_another_root_admin(excluding=User.id == user.id)

    def _require_another_root_admin(self, *, excluding) -> None:
        """Someone must still be able to administer the cloud afterwards."""
        others = (User.select().join(Account)
                  .where(~excluding, User.state == "enabled", User.removed.is_null(),
                         Account.account_type == ROOT_ADMIN, Account.state == "enabled", Account.removed.is_null())
                  .exists())
        if not others:
            raise InvalidParameterValue("This would leave no enabled root admin user; enable another one first")

    def _set_account_state(self, caller: Caller, account: Account, state: str) -> Account:
        with write_tx():
            changed = Account.update(state=state).where(Account.id == account.id, Account.removed.is_null(),
                                                        Account.state != state).execute()
            if changed and state != "enabled":
                users = User.select(User.id).where(User.account == account.id)
                LoginSession.delete().where(LoginSession.user.in_(users)).execute()
            if changed:
                self.cloud.events.record(f"ACCOUNT.{_EVENT_VERB[state]}", f"Successfully {state} account "
                                         f"{account.name}", caller=caller, account_id=account.id,
                                         domain_id=account.domain_id, resource_type="Account",
                                         resource_uuid=account.uuid)
        return Account.get_by_id(account.id)

    def _set_user_state(self, caller: Caller, user: User, state: str) -> User:
        with write_tx():
            changed = User.update(state=state).where(User.id == user.id, User.removed.is_null(),
                                                     User.state != state).execute()
            if changed and state != "enabled":
                LoginSession.delete().where(LoginSession.user == user.id).execute()
            if changed:
                self.cloud.events.record(f"USER.{_EVENT_VERB[state]}", f"Successfully {state} user "
                                         f"{user.username}", caller=caller, account_id=user.account_id,
                                         domain_id=user.domain_id, resource_type="User", resource_uuid=user.uuid)
        return User.get_by_id(user.id)

    def _stop_vms_of(self, caller: Caller, account: Account) -> None:
        """Stop the account's running VMs one by one; one that fails to stop does not keep the others up."""
        running = VirtualMachine.select(VirtualMachine).where(VirtualMachine.account == account.id,
                                                              VirtualMachine.removed.is_null(),
                                                              VirtualMachine.state == "Running")
        for vm in running:
            try:
                self.cloud.vms.stop_work(caller, vm)()
            except CloudError as exc:
                log.warning("disabling account %s: VM %s did not stop: %s", account.name, vm.uuid, exc.message)

    def list_accounts(self, caller: Caller, *, id: Account | None = None, name: str | None = None,
                      account_type: int | None = None, state: str | None = None, keyword: str | None = None,
                      listall: bool = False, domain: Domain | None = None, isrecursive: bool = False,
                      page: int | None = None, pagesize: int | None = None):
        """listAccounts, with CloudStack's own scoping for this command: users see their
        account; admins see the given (or, with ``listall``, their own) domain's
        accounts — recursively with ``listall``/``isrecursive``."""
        query = Account.select().where(Account.removed.is_null())
        if domain is not None:
            self._require_live_domain(domain)
            self.check_domain_access(caller, domain)
        if id is not None:
            self.check_access(caller, id.id, id.domain_id, entity="Account", uuid=id.uuid)
            query = query.where(Account.id == id.id)
            if domain is not None:
                query = query.where(Account.domain == domain.id)
        elif listall and caller.is_admin:
            where = domain or _caller_domain(caller)
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

    def get_caller_account(self, caller: Caller) -> Account:
        return Account.get_by_id(caller.account_id)

    def owner_for(self, caller: Caller, account_name: str | None = None, domain: Domain | None = None) -> Account:
        """The account a create acts for: the caller's own, or (admins) ``account_name``
        in ``domain`` (default: the caller's domain)."""
        if account_name is None and domain is None:
            return self.get_caller_account(caller)
        if account_name is None:
            raise InvalidParameterValue("AccountName and domainId must be specified together")
        domain = domain or _caller_domain(caller)
        if not caller.is_admin:
            if account_name != caller.account_name or domain.id != caller.domain_id:
                raise PermissionDenied(f"Can't create/list resources for account {account_name} in domain "
                                       f"{domain.uuid}, permission denied")
            return self.get_caller_account(caller)
        self._require_live_domain(domain)
        self.check_domain_access(caller, domain)
        owner = self._live_account(account_name, domain.id)
        if owner is None:
            raise InvalidParameterValue(f"Unable to find account {account_name} in domain {domain.uuid}")
        return owner

    def _live_account(self, name: str, domain_id: int) -> Account | None:
        return Account.get_or_none(Account.name == name, Account.domain == domain_id,
                                   Account.live == True)  # noqa: E712

    def _new_owner_number(self) -> str:
        while True:
            number = str(10 ** 11 + secrets.randbelow(9 * 10 ** 11))
            if not Account.select().where(Account.owner_number == number).exists():
                return number

    # ==================================================================== users
    def create_user(self, caller: Caller, *, account_name: str, domain: Domain | None, username: str,
                    password: str, email: str, firstname: str, lastname: str,
                    timezone: str | None = None) -> User:
        """createUser: another user of an existing account; usernames are unique per domain."""
        if not caller.is_admin:
            raise PermissionDenied(f"Account {caller.account_name} does not have permission to create users")
        domain = domain or _caller_domain(caller)
        self._require_live_domain(domain)
        account = self._live_account(account_name, domain.id)
        if account is None or not self.may_access(caller, account.id, account.domain_id):
            raise InvalidParameterValue(f"Unable to find account {account_name} in domain id={domain.uuid} to "
                                        "create user")
        _require_fields(username=username, password=password)
        try:
            with write_tx():
                self._require_free_username(username, domain)
                user = self._new_user(account, domain, username=username, password=password, email=email,
                                      firstname=firstname, lastname=lastname, timezone=timezone)
                self.cloud.events.record("USER.CREATE", f"Successfully created user {username} in account "
                                         f"{account.name}", caller=caller, resource_type="User",
                                         resource_uuid=user.uuid)
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
        scope = self.scope(caller, listall=listall, domain=domain, isrecursive=isrecursive,
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

    def _require_free_username(self, username: str, domain: Domain) -> None:
        if User.select().where(User.domain == domain.id, User.username == username,
                               User.live == True).exists():  # noqa: E712
            raise InvalidParameterValue(f"The user {username} already exists in domain {domain.uuid}")

    def _new_user(self, account: Account, domain: Domain, *, username, password, email, firstname, lastname,
                  timezone, is_default=False) -> User:
        return User.create(username=username, password_hash=hash_password(password), email=email or "",
                           firstname=firstname or "", lastname=lastname or "", account=account.id,
                           domain=domain.id, timezone=timezone, is_default=is_default)

    # ===================================================================== keys
    def register_user_keys(self, caller: Caller, user: User) -> User:
        """registerUserKeys: a fresh API key and secret; the old pair stops working at once."""
        self._check_user_self_or_admin(caller, user)
        with write_tx():
            User.update(api_key=secrets.token_urlsafe(64), secret_key=secrets.token_urlsafe(64)).where(
                User.id == user.id).execute()
            self.cloud.events.record("REGISTER.USER.KEY", f"Registered new API keys for user {user.username}",
                                     caller=caller, account_id=user.account_id, domain_id=user.domain_id,
                                     resource_type="User", resource_uuid=user.uuid)
        return User.get_by_id(user.id)

    def get_user_keys(self, caller: Caller, user: User) -> User:
        """getUserKeys: the user with its current key pair (either may be None)."""
        self._check_user_self_or_admin(caller, user)
        return User.get_by_id(user.id)

    def _check_user_self_or_admin(self, caller: Caller, user: User) -> None:
        if user.removed is not None:
            raise InvalidParameterValue(f"Unable to find user by id {user.uuid}")
        if user.id == caller.user_id:
            return
        denied = PermissionDenied(f"Account {caller.account_name} does not have permission to operate on user "
                                  f"{user.uuid}")
        if not caller.is_admin:
            raise denied
        self.check_access(caller, user.account_id, user.domain_id, entity="User", uuid=user.uuid)
        # Only a root admin may touch a root admin's credentials.
        if not caller.is_root_admin and user.account.account_type == ROOT_ADMIN:
            raise denied

    # =========================================================== authentication
    def authenticate_key(self, api_key: str) -> tuple[Caller, str] | None:
        """The enabled user owning ``api_key`` and its secret key, or None."""
        if not api_key:
            return None
        row = _USER_BY_KEY.first(api_key)
        if row is None or not _same(row[0], api_key):
            return None
        (_, secret, user_id, user_uuid, username, firstname, lastname, account_id, account_type, account_uuid,
         account_name, domain_id, domain_path, domain_uuid, role_type) = row
        return Caller(user_id=user_id, account_id=account_id, domain_id=domain_id, domain_path=domain_path,
                      account_type=account_type, role_type=role_type, user_uuid=user_uuid,
                      account_uuid=account_uuid, account_name=account_name, username=username,
                      domain_uuid=domain_uuid, firstname=firstname, lastname=lastname), secret

    def authenticate_password(self, username: str, password: str, *, domain_path: str | None = None,
                              domain_uuid: str | None = None) -> Caller:
        """login: ``domain_uuid`` (or numeric id) wins over ``domain_path``; absent both, ROOT."""
        if domain_uuid:
            domain = Domain.get_or_none(Domain.uuid == domain_uuid, Domain.live == True)  # noqa: E712
            if domain is None and str(domain_uuid).isascii() and str(domain_uuid).isdigit() \
                    and len(str(domain_uuid)) < 19:  # a numeric id that fits a 64-bit column
                domain = Domain.get_or_none(Domain.id == int(domain_uuid), Domain.live == True)  # noqa: E712
            if domain is None:
                _burn_time(password or "")
                raise PermissionDenied(f"Failed to authenticate user {username} in domain {domain_uuid}; please "
                                       "provide valid credentials")
        else:
            path = _normalise_path(domain_path)
            domain = Domain.get_or_none(Domain.path == path, Domain.live == True)  # noqa: E712
            if domain is None or domain.path != path:
                raise PermissionDenied(f"Unable to find the domain from the path {path}")
        user = self._active_users().where(User.domain == domain.id, User.username == username).first()
        if user is None:
            _burn_time(password or "")
        if user is None or not verify_password(password or "", user.password_hash):
            raise PermissionDenied(f"Failed to authenticate user {username} in domain {domain.uuid}; please "
                                   "provide valid credentials")
        return self.caller_for(user)

    def _active_users(self):
        """Users (with account, domain and role joined) that may log in."""
        return (User.select(User, Account, Domain, Role)
                .join(Account).join(Domain, on=(Account.domain == Domain.id))
                .switch(Account).join(Role)
                .where(User.state == "enabled", User.removed.is_null(),
                       Account.state == "enabled", Account.removed.is_null()))

    @staticmethod
    def _users_by_key(api_key):
        """Every request authenticates: only the columns a Caller needs (see :data:`_USER_BY_KEY`)."""
        return (User.select(User.api_key, User.secret_key, User.id, User.uuid, User.username, User.firstname,
                            User.lastname, Account.id, Account.account_type, Account.uuid, Account.name, Domain.id,
                            Domain.path, Domain.uuid, Role.role_type)
                .join(Account).join(Domain, on=(Account.domain == Domain.id))
                .switch(Account).join(Role)
                .where(User.api_key == api_key, User.state == "enabled", User.removed.is_null(),
                       Account.state == "enabled", Account.removed.is_null())
                .limit(1))

    def caller_for_any_key(self, api_key: str) -> Caller:
        """Emulator mode: the user owning ``api_key``, created (with an account of its own) on first use,
        so every distinct key a test suite invents is a separate tenant."""
        found = self.authenticate_key(api_key)
        if found is not None:
            return found[0]
        if any(_same(user.api_key, api_key)
               for user in User.select(User.api_key).where(User.api_key == api_key, User.live == True)):  # noqa: E712
            # The key's tenant exists but is disabled or locked: refused as in strict mode.
            raise PermissionDenied("The user or account owning this access key is disabled or locked")
        root = self.root_domain()
        system = Caller(user_id=0, account_id=0, domain_id=root.id, domain_path=root.path, account_type=ROOT_ADMIN,
                        role_type="Admin", account_name="system", username="system", domain_uuid=root.uuid)
        name = "emu-" + hashlib.sha256(api_key.encode()).hexdigest()[:16]
        try:
            account = self.create_account(system, username=name, password=secrets.token_urlsafe(16),
                                          email=f"{name}@emulator.local", firstname="Emulated", lastname="Tenant",
                                          account_type=0, account_name=name, domain=root)
            with write_tx():
                User.update(api_key=api_key, secret_key=secrets.token_urlsafe(32)).where(
                    User.account == account.id).execute()
        except InvalidParameterValue:
            pass  # another request created it first
        found = self.authenticate_key(api_key)
        if found is None:
            raise InvalidParameterValue("Unable to create an account for this access key")
        return found[0]

    def caller_for(self, user: User) -> Caller:
        """The :class:`Caller` acting as ``user``."""
        account = user.account
        domain = account.domain
        return Caller(user_id=user.id, account_id=account.id, domain_id=domain.id, domain_path=domain.path,
                      account_type=account.account_type, role_type=account.role.role_type, user_uuid=user.uuid,
                      account_uuid=account.uuid, account_name=account.name, username=user.username,
                      domain_uuid=domain.uuid, firstname=user.firstname, lastname=user.lastname)

    # ================================================================= sessions
    def create_session(self, caller: Caller) -> LoginSession:
        """A login session: a 27-character session key plus a separate cookie token."""
        now = utcnow()
        with write_tx():
            LoginSession.delete().where(LoginSession.expires < now).execute()
            session = LoginSession.create(session_key=secrets.token_urlsafe(20), cookie=secrets.token_urlsafe(32),
                                          user=caller.user_id, created=now, expires=now + self._session_length())
            self.cloud.events.record("USER.LOGIN", f"User {caller.username} logged in", caller=caller,
                                     resource_type="User", resource_uuid=caller.user_uuid)
        return session

    def session_caller(self, session_key: str, cookie: str) -> Caller | None:
        """The caller of a live session whose key and cookie both match; extends its expiry."""
        session = self._session(session_key, cookie)
        if session is None:
            return None
        now = utcnow()
        user = self._active_users().where(User.id == session.user_id).first()
        if session.expires <= now or user is None:
            with write_tx():
                LoginSession.delete().where(LoginSession.id == session.id).execute()
            return None
        expires = now + self._session_length()
        if expires - session.expires >= SESSION_SLIDE_STEP:
            with write_tx():
                LoginSession.update(expires=expires).where(LoginSession.id == session.id).execute()
        return self.caller_for(user)

    def end_session(self, session_key: str, cookie: str) -> bool:
        """logout: forget the session; False when no such session."""
        session = self._session(session_key, cookie)
        if session is None:
            return False
        with write_tx():
            return LoginSession.delete().where(LoginSession.id == session.id).execute() > 0

    def _session(self, session_key: str, cookie: str) -> LoginSession | None:
        if not session_key or not cookie:
            return None
        session = LoginSession.get_or_none(LoginSession.session_key == session_key)
        if session is None or not (_same(session.session_key, session_key) and _same(session.cookie, cookie)):
            return None
        return session

    def _session_length(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.cloud.config.get_int("session.timeout"))

    # ================================================================ ownership
    def scope(self, caller: Caller, *, listall: bool = False, domain: Domain | None = None,
              isrecursive: bool = False, account_name: str | None = None, id_given: bool = False) -> Scope:
        """What a list command may show (native-api.md §4, CloudStack's buildACLSearchParameters)."""
        if domain is not None:
            self._require_live_domain(domain)
            self.check_domain_access(caller, domain)
        if account_name:
            where = domain or _caller_domain(caller)
            owner = self._live_account(account_name, where.id)
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
        noun = NOUNS.get(entity, "resource")
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


# What a tenant's object is called in errors, by lookup entity.
NOUNS = {"VirtualMachine": "virtual machine", "Volume": "volume", "Template": "template", "Iso": "ISO",
         "SecurityGroup": "security group", "SecurityGroupRule": "security group rule",
         "SSHKeyPair": "SSH key pair", "Account": "account", "User": "user", "Domain": "domain",
         "AsyncJob": "job", "Event": "event", "ResourceTag": "tag", "Nic": "NIC"}


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


_EVENT_VERB = {"enabled": "ENABLE", "disabled": "DISABLE", "locked": "LOCK"}


def _caller_domain(caller: Caller) -> Domain:
    return Domain.get_by_id(caller.domain_id)


def _require_fields(**values) -> None:
    for name, value in values.items():
        if not value:
            raise InvalidParameterValue(f"Parameter {name} must not be empty")


_USER_BY_KEY = Compiled(AccountManager._users_by_key)
