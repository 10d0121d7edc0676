"""``cloud.accounts``: one door to the identity area, each concern in its own module.

| module | what |
|---|---|
| ``access.py`` | who may see what: list scopes, ``check_access``, ``can_see``, whose account a create acts for |
| ``domains.py`` | ROOT, the built-in roles, the domain tree |
| ``directory.py`` | accounts and their users: create, list, delete |
| ``controls.py`` | disable, enable and lock accounts and users |
| ``authentication.py`` | API keys, password logins, the emulator's accounts by key |
| ``sessions.py`` | login sessions |
| ``passwords.py`` | password hashing |
| ``limits.py``, ``keypairs.py`` | resource limits and counts; SSH key pairs |

:class:`AccountManager` builds the parts and answers the methods both front doors and the other
areas call on ``cloud.accounts``; it holds no logic of its own.
"""
from __future__ import annotations

from backends.core.config import ConfigManager
from backends.core.events import EventManager
from backends.identity.access import AccessControl, ancestor_ids
from backends.identity.authentication import Authentication, caller_for
from backends.identity.controls import AccountControls
from backends.identity.directory import Directory
from backends.identity.domains import DomainManager
from backends.identity.limits import ResourceLimitManager
from backends.identity.sessions import SessionManager

# Still imported from here by the areas above (offerings, networks, infrastructure); it lives in access.py.
__all__ = ["AccountManager", "ancestor_ids"]


class AccountManager:
    def __init__(self, config: ConfigManager, events: EventManager, limits: ResourceLimitManager,
                 access: AccessControl):
        self.access = access
        self.domains = DomainManager(events, limits, access)
        self.directory = Directory(events, limits, access, self.domains)
        self.controls = AccountControls(events, access)
        self.authentication = Authentication(events, access, self.domains, self.directory)
        self.sessions = SessionManager(config, events)

        # The public surface, each method answered by the part that owns it (bound here, so a
        # reader finds the owner of any ``cloud.accounts.<method>`` on one screen).
        self.scope = access.scope
        self.check_access = access.check_access
        self.check_domain_access = access.check_domain_access
        self.may_access = access.may_access
        self.can_see = access.can_see
        self.get_caller_account = access.get_caller_account
        self.owner_for = access.owner_for

        self.ensure_builtins = self.domains.ensure_builtins
        self.root_domain = self.domains.root_domain
        self.builtin_role = self.domains.builtin_role
        self.create_domain = self.domains.create_domain
        self.list_domains = self.domains.list_domains

        self.create_account = self.directory.create_account
        self.delete_account_work = self.directory.delete_account_work
        self.delete_account = self.directory.delete_account
        self.list_accounts = self.directory.list_accounts
        self.create_user = self.directory.create_user
        self.list_users = self.directory.list_users
        self.add_cleanup_hook = self.directory.add_cleanup_hook

        self.find_account = self.controls.find_account
        self.disable_account_work = self.controls.disable_account_work
        self.lock_account = self.controls.lock_account
        self.enable_account = self.controls.enable_account
        self.disable_user_work = self.controls.disable_user_work
        self.lock_user = self.controls.lock_user
        self.enable_user = self.controls.enable_user
        self.set_vm_stopper = self.controls.set_vm_stopper

        self.authenticate_key = self.authentication.authenticate_key
        self.authenticate_password = self.authentication.authenticate_password
        self.caller_for_any_key = self.authentication.caller_for_any_key
        self.register_user_keys = self.authentication.register_user_keys
        self.get_user_keys = self.authentication.get_user_keys
        self.caller_for = caller_for

        self.create_session = self.sessions.create_session
        self.session_caller = self.sessions.session_caller
        self.end_session = self.sessions.end_session
