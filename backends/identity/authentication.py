"""Who is calling: API keys (and their registration), password logins, and the emulator's
accounts by key; every path ends in a :class:`Caller`."""
from __future__ import annotations

import secrets

from backends.context import ROOT_ADMIN, Caller
from backends.core.events import EventManager
from backends.db import Compiled, write_tx
from backends.errors import InvalidParameterValue, PermissionDenied
from backends.identity.access import AccessControl
from backends.identity.directory import Directory
from backends.identity.domains import DomainManager
from backends.identity.passwords import burn_time, same_secret, verify_password
from backends.models import Account, Domain, Role, User

# The account a key that names none is, in emulator mode (moto's DEFAULT_ACCOUNT_ID).
DEFAULT_EMULATOR_ACCOUNT = "123456789012"


class Authentication:
    def __init__(self, events: EventManager, access: AccessControl, domains: DomainManager, directory: Directory):
        self.events = events
        self.access = access
        self.domains = domains
        self.directory = directory

    # ================================================================= API keys
    def authenticate_key(self, api_key: str) -> tuple[Caller, str] | None:
        """The enabled user owning ``api_key`` and its secret key, or None."""
        if not api_key:
            return None
        row = _USER_BY_KEY.first(api_key)
        if row is None or not same_secret(row[0], api_key):
            return None
        (_, secret, user_id, user_uuid, username, firstname, lastname, account_id, account_type, account_uuid,
         account_name, domain_id, domain_path, domain_uuid, role_type) = row
        return Caller(user_id=user_id, account_id=account_id, domain_id=domain_id, domain_path=domain_path,
                      account_type=account_type, role_type=role_type, user_uuid=user_uuid,
                      account_uuid=account_uuid, account_name=account_name, username=username,
                      domain_uuid=domain_uuid, firstname=firstname, lastname=lastname), secret

    def caller_for_any_key(self, api_key: str, *, default_account: str = DEFAULT_EMULATOR_ACCOUNT,
                           account: str | None = None) -> Caller:
        """Emulator mode, accounts as moto's server maps them: a key of a user here is that user; a key
        that is a 12-digit number is the account with that owner number; any other key is
        ``default_account``. ``account`` (moto's x-moto-account-id header) names the account outright.
        An account named so is created on first use, without resource limits, its user's API key being
        its number (so the next request finds it in one lookup)."""
        found = self.authenticate_key(api_key)
        if found is not None:
            return found[0]
        if _refused(api_key):
            raise PermissionDenied("The user or account owning this access key is disabled or locked")
        number = account or (api_key if is_account_number(api_key) else default_account)
        if number != api_key:
            found = self.authenticate_key(number)
            if found is not None:
                return found[0]
            if _refused(number):
                raise PermissionDenied("The account of this access key is disabled or locked")
        return self._create_emulated_account(number)

    def _create_emulated_account(self, number: str) -> Caller:
        root = self.domains.root_domain()
        system = Caller(user_id=0, account_id=0, domain_id=root.id, domain_path=root.path, account_type=ROOT_ADMIN,
                        role_type="Admin", account_name="system", username="system", domain_uuid=root.uuid)
        try:
            account = self.directory.create_account(
                system, username=number, password=secrets.token_urlsafe(16), email=f"{number}@emulator.local",
                firstname="Emulated", lastname="Account", account_type=0, account_name=number, domain=root,
                owner_number=number, unlimited=True)
            with write_tx():
                User.update(api_key=number, secret_key=secrets.token_urlsafe(32)).where(
                    User.account == account.id).execute()
        except InvalidParameterValue:
            pass  # another request created it first
        found = self.authenticate_key(number)
        if found is None:
            raise InvalidParameterValue(f"Unable to create account {number} for this access key")
        return found[0]

    def register_user_keys(self, caller: Caller, user: User) -> User:
        """registerUserKeys: a fresh API key and secret; the old pair stops working at once."""
        self._check_user_self_or_admin(caller, user)
        with write_tx():
            User.update(api_key=secrets.token_urlsafe(64), secret_key=secrets.token_urlsafe(64)).where(
                User.id == user.id).execute()
            self.events.record(caller, "REGISTER.USER.KEY", f"Registered new API keys for user {user.username}",
                               resource=user)
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
        self.access.check_access(caller, user.account_id, user.domain_id, entity="User", uuid=user.uuid)
        # Only a root admin may touch a root admin's credentials.
        if not caller.is_root_admin and user.account.account_type == ROOT_ADMIN:
            raise denied

    # ================================================================ passwords
    def authenticate_password(self, username: str, password: str, *, domain_path: str | None = None,
                              domain_uuid: str | None = None) -> Caller:
        """login: ``domain_uuid`` (or numeric id) wins over ``domain_path``; absent both, ROOT."""
        if domain_uuid:
            domain = Domain.get_or_none(Domain.uuid == domain_uuid, Domain.live == True)  # noqa: E712
            if domain is None and str(domain_uuid).isascii() and str(domain_uuid).isdigit() \
                    and len(str(domain_uuid)) < 19:  # a numeric id that fits a 64-bit column
                domain = Domain.get_or_none(Domain.id == int(domain_uuid), Domain.live == True)  # noqa: E712
            if domain is None:
                burn_time(password or "")
                raise PermissionDenied(f"Failed to authenticate user {username} in domain {domain_uuid}; please "
                                       "provide valid credentials")
        else:
            path = _normalise_path(domain_path)
            domain = Domain.get_or_none(Domain.path == path, Domain.live == True)  # noqa: E712
            if domain is None or domain.path != path:
                raise PermissionDenied(f"Unable to find the domain from the path {path}")
        user = active_users().where(User.domain == domain.id, User.username == username).first()
        if user is None:
            burn_time(password or "")
        if user is None or not verify_password(password or "", user.password_hash):
            raise PermissionDenied(f"Failed to authenticate user {username} in domain {domain.uuid}; please "
                                   "provide valid credentials")
        return caller_for(user)


def is_account_number(text: str) -> bool:
    """An AWS account id: exactly 12 ASCII digits."""
    return len(text) == 12 and text.isascii() and text.isdigit()


def _refused(api_key: str) -> bool:
    """The key belongs to a user here who may not call now (disabled or locked, or in such an account)."""
    return any(same_secret(user.api_key, api_key)
               for user in User.select(User.api_key).where(User.api_key == api_key, User.live == True))  # noqa: E712


def caller_for(user: User) -> Caller:
    """The :class:`Caller` acting as ``user``."""
    account = user.account
    domain = account.domain
    return Caller(user_id=user.id, account_id=account.id, domain_id=domain.id, domain_path=domain.path,
                  account_type=account.account_type, role_type=account.role.role_type, user_uuid=user.uuid,
                  account_uuid=account.uuid, account_name=account.name, username=user.username,
                  domain_uuid=domain.uuid, firstname=user.firstname, lastname=user.lastname)


def active_users():
    """Users (with account, domain and role joined) that may log in."""
    return (User.select(User, Account, Domain, Role)
            .join(Account).join(Domain, on=(Account.domain == Domain.id))
            .switch(Account).join(Role)
            .where(User.state == "enabled", User.removed.is_null(),
                   Account.state == "enabled", Account.removed.is_null()))


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


_USER_BY_KEY = Compiled(_users_by_key)


def _normalise_path(path: str | None) -> str:
    path = (path or "").strip()
    if not path.startswith("/"):
        path = "/" + path
    if not path.endswith("/"):
        path += "/"
    return path
