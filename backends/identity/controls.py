"""Account and user controls: disable, enable and lock.

Disabling an account stops its running VMs, as CloudStack does. Stopping a VM is compute's
work, handed in at wiring time (:meth:`AccountControls.set_vm_stopper`): identity sits below
compute and never imports it.
"""
from __future__ import annotations

import logging
from typing import Callable

from backends.context import ROOT_ADMIN, Caller
from backends.core.events import EventManager
from backends.core.jobs import JobResult
from backends.db import write_tx
from backends.errors import CloudError, InvalidParameterValue, PermissionDenied
from backends.identity.access import AccessControl, live_account, require_live_domain
from backends.models import Account, Domain, LoginSession, User, VirtualMachine

log = logging.getLogger(__name__)

# stop(caller, vm): stop one VM now, raising CloudError when it does not stop.
VmStopper = Callable[[Caller, VirtualMachine], None]

_EVENT_VERB = {"enabled": "ENABLE", "disabled": "DISABLE", "locked": "LOCK"}


class AccountControls:
    def __init__(self, events: EventManager, access: AccessControl):
        self.events = events
        self.access = access
        self._stop_vm: VmStopper | None = None

    def set_vm_stopper(self, stop: VmStopper) -> None:
        """How to stop one VM (compute registers it); without one, disabling an account stops no VM."""
        self._stop_vm = stop

    def find_account(self, caller: Caller, *, id: Account | None = None, name: str | None = None,
                     domain: Domain | None = None) -> Account:
        """The account an account control names: by ``id``, or by ``name`` in ``domain``."""
        if id is None:
            if not name or domain is None:
                raise InvalidParameterValue("Either id or account name and domain id must be specified")
            require_live_domain(domain)
            id = live_account(name, domain.id)
            if id is None:
                raise InvalidParameterValue(f"Unable to find account by name {name} in domain {domain.uuid}")
        if id.removed is not None:
            raise InvalidParameterValue(f"Unable to find account by id {id.uuid}")
        return id

    # ================================================================= accounts
    def disable_account_work(self, caller: Caller, account: Account, *, lock: bool):
        """disableAccount as a job: checked now; the job disables (or with ``lock`` only locks) the
        account, ends its sessions and, when disabling, stops its running VMs as CloudStack does."""
        self._check_controllable(caller, account, "disable")

        def work():
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

    # ==================================================================== users
    def disable_user_work(self, caller: Caller, user: User):
        """disableUser as a job (as in CloudStack): checked now, disabled by the job."""
        self._check_user_controllable(caller, user, "disable")

        def work():
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

    # =================================================================== checks
    def _check_controllable(self, caller: Caller, account: Account, action: str) -> None:
        """Admins over accounts within their reach; never their own, the system's or the last root admin's."""
        if not caller.is_admin:
            raise PermissionDenied(f"Account {caller.account_name} does not have permission to {action} accounts")
        if account.removed is not None:
            raise InvalidParameterValue(f"Unable to find account by id {account.uuid}")
        self.access.check_access(caller, account.id, account.domain_id, entity="Account", uuid=account.uuid)
        if account.account_type == ROOT_ADMIN and not caller.is_root_admin:
            raise PermissionDenied(f"Account {caller.account_name} does not have permission to operate on "
                                   f"account {account.name}")
        if account.name == "system" and account.domain.parent_id is None:
            raise PermissionDenied(f"Account id : {account.uuid} is a system account, {action} is not allowed")
        if account.id == caller.account_id:
            raise InvalidParameterValue(f"The caller may not {action} its own account")
        if action != "enable" and account.account_type == ROOT_ADMIN:
            _require_another_root_admin(excluding=User.account == account.id)

    def _check_user_controllable(self, caller: Caller, user: User, action: str) -> None:
        if user.removed is not None:
            raise InvalidParameterValue(f"Unable to find active user by id {user.uuid}")
        if user.id == caller.user_id:
            raise InvalidParameterValue(f"The caller may not {action} its own user")
        account = user.account
        if not caller.is_admin:
            raise PermissionDenied(f"Account {caller.account_name} does not have permission to {action} users")
        self.access.check_access(caller, account.id, account.domain_id, entity="User", uuid=user.uuid)
        if account.account_type == ROOT_ADMIN and not caller.is_root_admin:
            raise PermissionDenied(f"Account {caller.account_name} does not have permission to operate on "
                                   f"user {user.uuid}")
        if account.name == "system" and account.domain.parent_id is None:
            raise PermissionDenied(f"User id : {user.uuid} is a system user, {action} is not allowed")
        if action != "enable" and account.account_type == ROOT_ADMIN:
            _require_another_root_admin(excluding=User.id == user.id)

    # ================================================================ changes
    def _set_account_state(self, caller: Caller, account: Account, state: str) -> Account:
        with write_tx():
            changed = Account.update(state=state).where(Account.id == account.id, Account.removed.is_null(),
                                                        Account.state != state).execute()
            if changed and state != "enabled":
                users = User.select(User.id).where(User.account == account.id)
                LoginSession.delete().where(LoginSession.user.in_(users)).execute()
            if changed:
                self.events.record(caller, f"ACCOUNT.{_EVENT_VERB[state]}",
                                   f"Successfully {state} account {account.name}", resource=account,
                                   owner=account)
        return Account.get_by_id(account.id)

    def _set_user_state(self, caller: Caller, user: User, state: str) -> User:
        with write_tx():
            changed = User.update(state=state).where(User.id == user.id, User.removed.is_null(),
                                                     User.state != state).execute()
            if changed and state != "enabled":
                LoginSession.delete().where(LoginSession.user == user.id).execute()
            if changed:
                self.events.record(caller, f"USER.{_EVENT_VERB[state]}", f"Successfully {state} user {user.username}",
                                   resource=user)
        return User.get_by_id(user.id)

    def _stop_vms_of(self, caller: Caller, account: Account) -> None:
        """Stop the account's running VMs one by one; one that fails to stop does not keep the others up."""
        if self._stop_vm is None:
            return
        running = VirtualMachine.select(VirtualMachine).where(VirtualMachine.account == account.id,
                                                              VirtualMachine.removed.is_null(),
                                                              VirtualMachine.state == "Running")
        for vm in running:
            try:
                self._stop_vm(caller, vm)
            except CloudError as exc:
                log.warning("disabling account %s: VM %s did not stop: %s", account.name, vm.uuid, exc.message)


def _require_another_root_admin(*, excluding) -> None:
    """Someone must still be able to administer the cloud afterwards."""
    others = (User.select().join(Account)
              .where(~excluding, User.state == "enabled", User.removed.is_null(),
                     Account.account_type == ROOT_ADMIN, Account.state == "enabled", Account.removed.is_null())
              .exists())
    if not others:
        raise InvalidParameterValue("This would leave no enabled root admin user; enable another one first")
