"""Domains, accounts, users, credentials, sessions and visibility scoping."""
from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest

from backends.context import ROLE_ADMIN, Caller
from backends.core.resources import RESOURCE_TYPES
from backends.core.config import ConfigManager
from backends.core.events import EventManager
from backends.errors import CloudError, InvalidParameterValue, NotFound, PermissionDenied, ResourceInUse
from backends.identity import passwords
from backends.identity.access import AccessControl
from backends.identity.accounts import AccountManager
from backends.identity.limits import ResourceLimitManager
from backends.models import (Account, Domain, Event, LoginSession, Region, Role, ServiceOffering, Template, User,
                             VirtualMachine, Zone, utcnow)


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch):
    # Real iteration counts cost ~0.15 s per hash; the format and checks are the same.
    monkeypatch.setattr(passwords, "PASSWORD_ITERATIONS", 1000)


# ---------------------------------------------------------------- builders (also used by test_limits)


def make_cloud():
    """The managers this module needs, without a whole Cloud."""
    config = ConfigManager()
    config.seed()
    cloud = SimpleNamespace(config=config, events=EventManager())
    access = AccessControl()
    cloud.limits = ResourceLimitManager(config, access)
    cloud.accounts = AccountManager(config, cloud.events, cloud.limits, access)
    return cloud


def system_caller(root: Domain) -> Caller:
    return Caller(user_id=0, account_id=0, domain_id=root.id, domain_path="/", account_type=1,
                  role_type=ROLE_ADMIN, account_name="system", username="system", domain_uuid=root.uuid)


def make_account(cloud, caller, name, domain, account_type=0, **extra) -> Caller:
    """Create an account (user ``name``, password ``pw-<name>``) and return its caller."""
    account = cloud.accounts.create_account(
        caller, username=name, password=f"pw-{name}", email=f"{name}@example.com", firstname=name.title(),
        lastname="Tester", account_type=account_type, domain=domain, **extra)
    return cloud.accounts.caller_for(User.get(User.account == account.id))


def make_tree(cloud):
    """ROOT{admin} / A{aadmin (domain admin), alice} / A/B{bob}; C{carol}."""
    root = cloud.accounts.ensure_builtins()
    system = system_caller(root)
    a = cloud.accounts.create_domain(system, "A", root)
    b = cloud.accounts.create_domain(system, "B", a)
    c = cloud.accounts.create_domain(system, "C", None)
    tree = SimpleNamespace(root=root, a=a, b=b, c=c, system=system)
    tree.admin = make_account(cloud, system, "admin", root, 1)
    tree.aadmin = make_account(cloud, system, "aadmin", a, 2)
    tree.alice = make_account(cloud, system, "alice", a, 0)
    tree.bob = make_account(cloud, system, "bob", b, 0)
    tree.carol = make_account(cloud, system, "carol", c, 0)
    return tree


def make_vm(account: Account, *, state="Stopped", cpus=1, memory=512, removed=None) -> VirtualMachine:
    """A bare VM row owned by ``account`` (just enough infrastructure for the foreign keys)."""
    region = Region.get_or_none(Region.name == "r") or Region.create(name="r", region_number=1)
    zone = Zone.get_or_none(Zone.name == "z") or Zone.create(name="z", region=region)
    offering = (ServiceOffering.get_or_none(ServiceOffering.name == "so")
                or ServiceOffering.create(name="so", cpu_number=cpus, cpu_speed=1000, memory=memory))
    template = (Template.get_or_none(Template.name == "t")
                or Template.create(name="t", format="QCOW2", hypervisor="Simulator", account=account.id,
                                   domain=account.domain_id))
    count = VirtualMachine.select().count()
    return VirtualMachine.create(name=f"vm{count}", display_name=f"vm{count}", instance_name=f"i-{count}",
                                 account=account.id, domain=account.domain_id, zone=zone, template=template,
                                 service_offering=offering, cpu_number=cpus, cpu_speed=1000, memory=memory,
                                 state=state, hypervisor="Simulator", removed=removed)


def account_of(caller: Caller) -> Account:
    return Account.get_by_id(caller.account_id)


def user_of(caller: Caller) -> User:
    return User.get_by_id(caller.user_id)


# ----------------------------------------------------------------------------- domains


def test_builtins_are_created_once(db):
    cloud = make_cloud()
    root = cloud.accounts.ensure_builtins()
    assert cloud.accounts.ensure_builtins().id == root.id
    assert (root.name, root.path, root.level, root.parent_id) == ("ROOT", "/", 0, None)
    roles = [(r.name, r.role_type) for r in Role.select().order_by(Role.id)]
    assert roles == [("Root Admin", "Admin"), ("Resource Admin", "ResourceAdmin"),
                     ("Domain Admin", "DomainAdmin"), ("User", "User")]
    assert Domain.select().count() == 1


def test_domain_tree_paths_levels_and_unique_sibling_names(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    assert (tree.a.path, tree.a.level, tree.b.path, tree.b.level) == ("/A/", 1, "/A/B/", 2)
    assert tree.b.parent_id == tree.a.id and tree.c.parent_id == tree.root.id

    with pytest.raises(InvalidParameterValue) as err:
        cloud.accounts.create_domain(tree.system, "a", tree.root)
    assert str(err.value) == f"Domain with name a already exists for the parent id={tree.root.uuid}"
    # The same name elsewhere in the tree is fine.
    assert cloud.accounts.create_domain(tree.system, "B", tree.c).path == "/C/B/"
    with pytest.raises(InvalidParameterValue):
        cloud.accounts.create_domain(tree.system, "x/y", tree.root)


def test_only_admins_create_domains_and_domain_admins_only_below_themselves(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    with pytest.raises(PermissionDenied):
        cloud.accounts.create_domain(tree.alice, "Mine", tree.a)
    assert cloud.accounts.create_domain(tree.aadmin, "Team", tree.b).path == "/A/B/Team/"
    for parent in (tree.root, tree.c, None):
        with pytest.raises(PermissionDenied):
            cloud.accounts.create_domain(tree.aadmin, "Escape", parent)


def test_list_domains_by_role(db):
    cloud = make_cloud()
    tree = make_tree(cloud)

    def paths(caller, **kw):
        total, rows = cloud.accounts.list_domains(caller, **kw)
        assert total == len(rows)
        return {d.path for d in rows}

    assert paths(tree.admin) == {"/", "/A/", "/A/B/", "/C/"}
    assert paths(tree.admin, level=1) == {"/A/", "/C/"}
    assert paths(tree.admin, keyword="b") == {"/A/B/"}
    assert paths(tree.aadmin) == {"/A/"}
    assert paths(tree.aadmin, listall=True) == {"/A/", "/A/B/"}
    assert paths(tree.aadmin, domain=tree.b) == {"/A/B/"}
    assert paths(tree.bob, listall=True) == {"/A/B/"}
    with pytest.raises(PermissionDenied):
        cloud.accounts.list_domains(tree.aadmin, domain=tree.c)
    with pytest.raises(PermissionDenied):
        cloud.accounts.list_domains(tree.bob, domain=tree.a)
    total, rows = cloud.accounts.list_domains(tree.admin, page=2, pagesize=3)
    assert total == 4 and len(rows) == 1


# ---------------------------------------------------------------------------- accounts


def test_account_needs_a_type_or_a_role(db):
    cloud = make_cloud()
    root = cloud.accounts.ensure_builtins()
    with pytest.raises(InvalidParameterValue) as err:
        cloud.accounts.create_account(system_caller(root), username="u", password="p", email="e",
                                      firstname="f", lastname="l", domain=root)
    assert str(err.value) == "Neither account type and role ID are not provided"
    with pytest.raises(InvalidParameterValue):
        make_account(cloud, system_caller(root), "odd", root, account_type=7)


def test_role_decides_the_type_and_a_type_implies_the_builtin_role(db):
    cloud = make_cloud()
    root = cloud.accounts.ensure_builtins()
    system = system_caller(root)
    domain_admin_role = Role.get(Role.name == "Domain Admin")
    custom = Role.create(name="Operators", role_type="ResourceAdmin")

    by_role = make_account(cloud, system, "byrole", root, account_type=None, role=domain_admin_role)
    assert (by_role.account_type, by_role.role_type) == (2, "DomainAdmin")
    # The role wins over a contradicting type, as in CloudStack.
    both = make_account(cloud, system, "both", root, account_type=0, role=custom)
    assert (both.account_type, account_of(both).role_id) == (3, custom.id)
    by_type = make_account(cloud, system, "bytype", root, account_type=0)
    assert (by_type.account_type, account_of(by_type).role.name) == (0, "User")
    assert make_account(cloud, system, "boss", root, account_type=1).is_root_admin


def test_account_name_defaults_unique_per_domain_and_owner_number(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    alice = account_of(tree.alice)
    assert alice.name == "alice" and alice.domain_id == tree.a.id and alice.state == "enabled"
    with pytest.raises(InvalidParameterValue) as err:
        cloud.accounts.create_account(tree.admin, username="alice2", password="p", email="e", firstname="f",
                                      lastname="l", account_type=0, account_name="alice", domain=tree.a)
    assert str(err.value) == "The specified account: alice already exists"
    # Same account name in another domain is another account.
    other = cloud.accounts.create_account(tree.admin, username="alice", password="p", email="e", firstname="f",
                                          lastname="l", account_type=0, domain=tree.c)
    assert other.domain_id == tree.c.id
    numbers = [a.owner_number for a in Account.select()]
    assert all(re.fullmatch(r"[1-9]\d{11}", n) for n in numbers)
    assert len(set(numbers)) == len(numbers)
    assert Event.select().where(Event.event_type == "ACCOUNT.CREATE").count() == Account.select().count()
    assert Event.select().where(Event.event_type == "USER.CREATE").count() == User.select().count()


def test_account_creation_respects_the_callers_power_and_domain(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    with pytest.raises(PermissionDenied):
        make_account(cloud, tree.alice, "sneaky", tree.a)
    with pytest.raises(PermissionDenied):
        make_account(cloud, tree.aadmin, "outside", tree.c)
    with pytest.raises(PermissionDenied):
        make_account(cloud, tree.aadmin, "overlord", tree.root, account_type=1)
    with pytest.raises(InvalidParameterValue):  # root admins live in ROOT
        make_account(cloud, tree.admin, "subadmin", tree.a, account_type=1)
    assert make_account(cloud, tree.aadmin, "dave", tree.b).domain_path == "/A/B/"
    # Without a domain the caller's own is used.
    assert make_account(cloud, tree.aadmin, "erin", None).domain_id == tree.a.id


def test_username_is_unique_per_domain(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    user = cloud.accounts.create_user(tree.admin, account_name="alice", domain=tree.a, username="alice-ops",
                                      password="p", email="e", firstname="f", lastname="l")
    assert user.account_id == tree.alice.account_id and user.domain_id == tree.a.id
    with pytest.raises(InvalidParameterValue) as err:
        cloud.accounts.create_user(tree.admin, account_name="alice", domain=tree.a, username="alice-ops",
                                   password="p", email="e", firstname="f", lastname="l")
    assert "alice-ops already exists" in str(err.value)
    with pytest.raises(InvalidParameterValue) as err:  # another account, but username "bob" is taken in /A/B/
        make_account(cloud, tree.admin, "bob", tree.b, account_name="robert")
    assert str(err.value) == f"The user bob already exists in domain {tree.b.uuid}"
    assert make_account(cloud, tree.admin, "bob", tree.a, account_name="robert").domain_id == tree.a.id
    # Outside a domain admin's subtree an account answers as one that does not exist.
    with pytest.raises(InvalidParameterValue) as foreign:
        cloud.accounts.create_user(tree.aadmin, account_name="carol", domain=tree.c, username="x",
                                   password="p", email="e", firstname="f", lastname="l")
    with pytest.raises(InvalidParameterValue) as missing:
        cloud.accounts.create_user(tree.aadmin, account_name="nobody", domain=tree.c, username="x",
                                   password="p", email="e", firstname="f", lastname="l")
    assert str(foreign.value).replace("carol", "nobody") == str(missing.value)


def test_list_accounts_and_users_scoping(db):
    cloud = make_cloud()
    tree = make_tree(cloud)

    def names(caller, **kw):
        return {a.name for a in cloud.accounts.list_accounts(caller, **kw)[1]}

    assert names(tree.admin) == {"admin"}
    assert names(tree.admin, listall=True) == {"admin", "aadmin", "alice", "bob", "carol"}
    assert names(tree.admin, domain=tree.a) == {"aadmin", "alice"}
    assert names(tree.admin, domain=tree.a, isrecursive=True) == {"aadmin", "alice", "bob"}
    assert names(tree.aadmin, listall=True) == {"aadmin", "alice", "bob"}
    assert names(tree.aadmin, listall=True, account_type=0) == {"alice", "bob"}
    assert names(tree.alice, listall=True) == {"alice"}
    assert names(tree.admin, id=account_of(tree.bob)) == {"bob"}
    with pytest.raises(NotFound):  # another tenant's account: as if it did not exist
        cloud.accounts.list_accounts(tree.alice, id=account_of(tree.bob))
    with pytest.raises(PermissionDenied):
        cloud.accounts.list_accounts(tree.aadmin, domain=tree.c)

    extra = cloud.accounts.create_user(tree.admin, account_name="alice", domain=tree.a, username="alice2",
                                       password="p", email="e", firstname="f", lastname="l")

    def usernames(caller, **kw):
        return {u.username for u in cloud.accounts.list_users(caller, **kw)[1]}

    assert usernames(tree.alice, listall=True) == {"alice"}  # a user sees only itself
    assert usernames(tree.aadmin, listall=True) == {"aadmin", "alice", "alice2", "bob"}
    assert usernames(tree.aadmin, account_name="alice") == {"alice", "alice2"}
    assert usernames(tree.admin, listall=True, keyword="carol") == {"carol"}
    with pytest.raises(PermissionDenied):
        cloud.accounts.list_users(tree.alice, id=extra)


def test_delete_account(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    bob = account_of(tree.bob)
    cloud.accounts.register_user_keys(tree.bob, user_of(tree.bob))
    api_key = user_of(tree.bob).api_key
    vm = make_vm(bob)
    with pytest.raises(ResourceInUse):
        cloud.accounts.delete_account(tree.admin, bob)
    VirtualMachine.update(removed=utcnow(), state="Expunging").where(VirtualMachine.id == vm.id).execute()
    with pytest.raises(PermissionDenied):
        cloud.accounts.delete_account(tree.alice, bob)
    with pytest.raises(NotFound):  # outside the domain admin's subtree
        cloud.accounts.delete_account(tree.aadmin, account_of(tree.carol))

    deleted = cloud.accounts.delete_account(tree.aadmin, bob)
    assert (deleted.state, deleted.live, deleted.removed is not None) == ("removed", None, True)
    user = user_of(tree.bob)
    assert (user.state, user.live, user.api_key, user.secret_key) == ("removed", None, None, None)
    assert cloud.accounts.authenticate_key(api_key) is None
    with pytest.raises(PermissionDenied):
        cloud.accounts.authenticate_password("bob", "pw-bob", domain_path="/A/B/")
    assert "bob" not in {a.name for a in cloud.accounts.list_accounts(tree.admin, listall=True)[1]}
    # The name and username are free again.
    assert make_account(cloud, tree.admin, "bob", tree.b).account_id != bob.id

    with pytest.raises(InvalidParameterValue):
        cloud.accounts.delete_account(tree.admin, account_of(tree.admin))  # own account
    other_admin = make_account(cloud, tree.admin, "admin2", tree.root, account_type=1)
    cloud.accounts.delete_account(other_admin, account_of(tree.admin))
    with pytest.raises(InvalidParameterValue):  # the last root admin stays
        cloud.accounts.delete_account(tree.system, account_of(other_admin))


def test_delete_account_work_runs_the_cleanup_hooks_first_and_only_when_allowed(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    bob = account_of(tree.bob)
    vm = make_vm(bob, state="Running")
    cleaned = []

    def expunge_vms(caller, account):  # what compute registers at wiring time
        cleaned.append((caller, account.id))
        VirtualMachine.update(removed=utcnow(), state="Expunging").where(VirtualMachine.account == account.id).execute()

    cloud.accounts.add_cleanup_hook(expunge_vms)
    with pytest.raises(NotFound):  # refused before anything is cleaned up
        cloud.accounts.delete_account_work(tree.aadmin, account_of(tree.carol))
    assert cleaned == []
    work = cloud.accounts.delete_account_work(tree.aadmin, bob)
    assert cleaned == []  # the checks run now, the cleanup in the job
    work()
    assert cleaned == [(tree.aadmin, bob.id)]
    assert VirtualMachine.get_by_id(vm.id).removed is not None
    assert account_of(tree.bob).state == "removed"


# ------------------------------------------------------------------------ credentials


def test_keys_regenerate_and_the_old_key_stops_working(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    alice = user_of(tree.alice)
    assert cloud.accounts.get_user_keys(tree.alice, alice).api_key is None
    first = cloud.accounts.register_user_keys(tree.alice, alice)
    assert len(first.api_key) == 86 and len(first.secret_key) == 86 and first.api_key != first.secret_key
    caller, secret = cloud.accounts.authenticate_key(first.api_key)
    assert (caller.user_id, caller.account_name, caller.domain_path, secret) == (
        alice.id, "alice", "/A/", first.secret_key)
    assert caller == tree.alice

    second = cloud.accounts.register_user_keys(tree.aadmin, alice)  # her domain admin may do it too
    assert second.api_key != first.api_key
    assert cloud.accounts.authenticate_key(first.api_key) is None
    assert cloud.accounts.authenticate_key(second.api_key)[1] == second.secret_key
    assert cloud.accounts.get_user_keys(tree.alice, alice).secret_key == second.secret_key
    # Case matters even where the database compares without it.
    assert cloud.accounts.authenticate_key(second.api_key.swapcase()) is None
    assert cloud.accounts.authenticate_key("") is None

    # A user may not touch another user's keys; to a domain admin, users outside its subtree do not exist.
    for caller, target, error in ((tree.bob, alice, PermissionDenied), (tree.aadmin, user_of(tree.carol), NotFound),
                                  (tree.aadmin, user_of(tree.admin), NotFound)):
        with pytest.raises(error):
            cloud.accounts.register_user_keys(caller, target)
        with pytest.raises(error):
            cloud.accounts.get_user_keys(caller, target)


def test_disabled_user_or_account_cannot_authenticate(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    key = cloud.accounts.register_user_keys(tree.alice, user_of(tree.alice)).api_key
    assert cloud.accounts.authenticate_key(key) is not None

    User.update(state="disabled").where(User.id == tree.alice.user_id).execute()
    assert cloud.accounts.authenticate_key(key) is None
    with pytest.raises(PermissionDenied):
        cloud.accounts.authenticate_password("alice", "pw-alice", domain_path="/A/")

    User.update(state="enabled").where(User.id == tree.alice.user_id).execute()
    Account.update(state="disabled").where(Account.id == tree.alice.account_id).execute()
    assert cloud.accounts.authenticate_key(key) is None
    with pytest.raises(PermissionDenied):
        cloud.accounts.authenticate_password("alice", "pw-alice", domain_path="/A/")

    Account.update(state="enabled").where(Account.id == tree.alice.account_id).execute()
    assert cloud.accounts.authenticate_key(key)[0] == tree.alice


def test_emulator_keys_map_to_accounts_as_moto_does(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    alice_key = cloud.accounts.register_user_keys(tree.alice, user_of(tree.alice)).api_key
    assert cloud.accounts.caller_for_any_key(alice_key) == tree.alice  # a key of a user here is that user

    default = cloud.accounts.caller_for_any_key("AKIAANYTHING")
    assert cloud.accounts.caller_for_any_key("testing") == default
    account = Account.get_by_id(default.account_id)
    assert (account.name, account.owner_number) == ("123456789012", "123456789012")
    # Created without limits, as moto's accounts are; an admin may lower them again.
    assert all(cloud.limits.account_limit(account, t) == -1 for t in RESOURCE_TYPES)

    other = cloud.accounts.caller_for_any_key("111122223333")
    assert Account.get_by_id(other.account_id).owner_number == "111122223333" != account.owner_number
    assert cloud.accounts.caller_for_any_key("AKIA", default_account="444455556666").account_id not in (
        default.account_id, other.account_id)
    assert cloud.accounts.caller_for_any_key("AKIA", account="111122223333") == other

    Account.update(state="locked").where(Account.id == other.account_id).execute()
    for key, named in (("111122223333", None), ("AKIA", "111122223333")):
        with pytest.raises(PermissionDenied):
            cloud.accounts.caller_for_any_key(key, account=named)
    assert Account.select().where(Account.owner_number == "111122223333").count() == 1


def test_password_authentication(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    stored = user_of(tree.alice).password_hash
    assert re.fullmatch(r"pbkdf2_sha256\$1000\$[0-9a-f]{32}\$[0-9a-f]{64}", stored)
    assert "pw-alice" not in stored

    assert cloud.accounts.authenticate_password("admin", "pw-admin") == tree.admin
    assert cloud.accounts.authenticate_password("admin", "pw-admin", domain_path="/") == tree.admin
    for path in ("/A/", "A", "/A", "A/"):
        assert cloud.accounts.authenticate_password("alice", "pw-alice", domain_path=path) == tree.alice
    assert cloud.accounts.authenticate_password("bob", "pw-bob", domain_uuid=tree.b.uuid) == tree.bob
    # domainId wins over the path.
    assert cloud.accounts.authenticate_password("bob", "pw-bob", domain_path="/C/",
                                                domain_uuid=tree.b.uuid) == tree.bob

    with pytest.raises(PermissionDenied) as err:
        cloud.accounts.authenticate_password("alice", "wrong", domain_path="/A/")
    assert str(err.value) == (f"Failed to authenticate user alice in domain {tree.a.uuid}; please provide "
                              "valid credentials")
    with pytest.raises(PermissionDenied) as err:
        cloud.accounts.authenticate_password("alice", "pw-alice")  # she is not in ROOT
    assert str(err.value).startswith("Failed to authenticate user alice in domain")
    with pytest.raises(PermissionDenied) as err:
        cloud.accounts.authenticate_password("alice", "pw-alice", domain_path="/Nowhere/")
    assert str(err.value) == "Unable to find the domain from the path /Nowhere/"
    with pytest.raises(PermissionDenied):
        cloud.accounts.authenticate_password("ghost", "pw", domain_path="/A/")


def test_sessions_need_key_and_cookie_and_expire(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    session = cloud.accounts.create_session(tree.alice)
    assert len(session.session_key) == 27 and "=" not in session.session_key
    assert session.cookie != session.session_key
    assert cloud.accounts.session_caller(session.session_key, session.cookie) == tree.alice
    assert cloud.accounts.session_caller(session.session_key, "") is None
    assert cloud.accounts.session_caller(session.session_key, "forged") is None
    assert cloud.accounts.session_caller("", session.cookie) is None
    assert cloud.accounts.session_caller(session.session_key.swapcase(), session.cookie) is None

    # Use extends a session that is about to run out.
    soon = utcnow() + dt.timedelta(seconds=5)
    LoginSession.update(expires=soon).where(LoginSession.id == session.id).execute()
    assert cloud.accounts.session_caller(session.session_key, session.cookie) == tree.alice
    assert LoginSession.get_by_id(session.id).expires > soon

    # An expired session is gone for good.
    LoginSession.update(expires=utcnow() - dt.timedelta(seconds=1)).where(LoginSession.id == session.id).execute()
    assert cloud.accounts.session_caller(session.session_key, session.cookie) is None
    assert LoginSession.get_or_none(LoginSession.id == session.id) is None

    other = cloud.accounts.create_session(tree.bob)
    assert cloud.accounts.end_session(other.session_key, "forged") is False
    assert cloud.accounts.end_session(other.session_key, other.cookie) is True
    assert cloud.accounts.end_session(other.session_key, other.cookie) is False
    assert cloud.accounts.session_caller(other.session_key, other.cookie) is None

    # Disabling the user ends its sessions.
    third = cloud.accounts.create_session(tree.carol)
    User.update(state="disabled").where(User.id == tree.carol.user_id).execute()
    assert cloud.accounts.session_caller(third.session_key, third.cookie) is None


# -------------------------------------------------------------------------- ownership


def _events_per_account(tree):
    for caller in (tree.admin, tree.aadmin, tree.alice, tree.bob, tree.carol):
        Event.create(event_type="TEST", account=caller.account_id, domain=caller.domain_id)


# (caller, scope arguments, visible account names | error)
SCOPE_MATRIX = [
    ("admin", {}, {"admin"}),
    ("admin", {"listall": True}, {"admin", "aadmin", "alice", "bob", "carol"}),
    ("admin", {"id_given": True}, {"admin", "aadmin", "alice", "bob", "carol"}),
    ("admin", {"domain": "a"}, {"aadmin", "alice"}),
    ("admin", {"domain": "a", "listall": True}, {"aadmin", "alice"}),
    ("admin", {"domain": "a", "isrecursive": True}, {"aadmin", "alice", "bob"}),
    ("admin", {"domain": "root", "isrecursive": True}, {"admin", "aadmin", "alice", "bob", "carol"}),
    ("admin", {"domain": "b", "account_name": "bob"}, {"bob"}),
    ("admin", {"account_name": "admin"}, {"admin"}),
    ("admin", {"account_name": "bob"}, InvalidParameterValue),  # not in the caller's (ROOT) domain
    ("aadmin", {}, {"aadmin"}),
    ("aadmin", {"isrecursive": True}, {"aadmin"}),
    ("aadmin", {"listall": True}, {"aadmin", "alice", "bob"}),
    ("aadmin", {"id_given": True}, {"aadmin", "alice", "bob"}),
    ("aadmin", {"domain": "b"}, {"bob"}),
    ("aadmin", {"domain": "a", "isrecursive": True}, {"aadmin", "alice", "bob"}),
    ("aadmin", {"account_name": "alice"}, {"alice"}),
    ("aadmin", {"domain": "c"}, PermissionDenied),
    ("aadmin", {"domain": "root"}, PermissionDenied),
    ("aadmin", {"domain": "c", "account_name": "carol"}, PermissionDenied),
    ("alice", {}, {"alice"}),
    ("alice", {"listall": True}, {"alice"}),
    ("alice", {"id_given": True}, {"alice"}),
    ("alice", {"domain": "a", "isrecursive": True}, {"alice"}),
    ("alice", {"account_name": "alice"}, {"alice"}),
    ("alice", {"account_name": "aadmin"}, InvalidParameterValue),  # another tenant: as if it did not exist
    ("alice", {"domain": "b"}, PermissionDenied),
    ("bob", {"domain": "b", "account_name": "bob", "listall": True}, {"bob"}),
]


def test_scope_matrix(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    _events_per_account(tree)
    for who, args, expected in SCOPE_MATRIX:
        args = dict(args)
        if "domain" in args:
            args["domain"] = getattr(tree, args["domain"])
        case = f"{who} {args}"
        if isinstance(expected, type):
            with pytest.raises(expected):
                cloud.accounts.scope(getattr(tree, who), **args)
            continue
        scope = cloud.accounts.scope(getattr(tree, who), **args)
        rows = scope.apply(Event.select(Event, Account).join(Account), Event)
        assert {e.account.name for e in rows} == expected, case


def test_scope_applies_to_other_owned_models(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    for caller in (tree.alice, tree.bob, tree.carol):
        Template.create(name=f"t-{caller.account_name}", format="QCOW2", hypervisor="Simulator",
                        account=caller.account_id, domain=caller.domain_id)
    scope = cloud.accounts.scope(tree.aadmin, listall=True)
    assert {t.name for t in scope.apply(Template.select(), Template)} == {"t-alice", "t-bob"}
    scope = cloud.accounts.scope(tree.admin, domain=tree.c)
    assert {a.name for a in scope.apply(Account.select(), Account)} == {"carol"}


def test_check_access(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    bob = account_of(tree.bob)
    cloud.accounts.check_access(tree.admin, bob.id, bob.domain_id, entity="VirtualMachine", uuid="x")
    cloud.accounts.check_access(tree.aadmin, bob.id, bob.domain_id, entity="VirtualMachine", uuid="x")
    cloud.accounts.check_access(tree.bob, bob.id, bob.domain_id, entity="VirtualMachine", uuid="x")
    # Another tenant's object is not found, as if it did not exist, and the error names nothing of it.
    with pytest.raises(NotFound) as err:
        cloud.accounts.check_access(tree.alice, bob.id, bob.domain_id, entity="VirtualMachine", uuid="x")
    assert str(err.value) == "Unable to find the virtual machine"
    assert (err.value.entity, err.value.value) == ("VirtualMachine", "x")
    carol = account_of(tree.carol)
    with pytest.raises(NotFound):
        cloud.accounts.check_access(tree.aadmin, carol.id, carol.domain_id, entity="VirtualMachine", uuid="y")
    # What is shared with the caller (a public template) is no secret: acting on it is a permission error.
    with pytest.raises(PermissionDenied):
        cloud.accounts.check_access(tree.alice, bob.id, bob.domain_id, entity="Template", uuid="t", shared=True)


def test_owner_for(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    assert cloud.accounts.owner_for(tree.alice).id == tree.alice.account_id
    assert cloud.accounts.owner_for(tree.alice, "alice", tree.a).id == tree.alice.account_id
    assert cloud.accounts.owner_for(tree.alice, "alice").id == tree.alice.account_id
    with pytest.raises(PermissionDenied):
        cloud.accounts.owner_for(tree.alice, "aadmin", tree.a)
    assert cloud.accounts.owner_for(tree.admin, "bob", tree.b).id == tree.bob.account_id
    assert cloud.accounts.owner_for(tree.aadmin, "alice").id == tree.alice.account_id  # the caller's domain
    with pytest.raises(InvalidParameterValue):
        cloud.accounts.owner_for(tree.admin, "bob")  # bob is not in ROOT
    with pytest.raises(InvalidParameterValue):
        cloud.accounts.owner_for(tree.admin, None, tree.b)
    with pytest.raises(PermissionDenied):
        cloud.accounts.owner_for(tree.aadmin, "carol", tree.c)
    assert cloud.accounts.get_caller_account(tree.carol).name == "carol"


# ------------------------------------------------------------ enable / disable / lock


def _run(work):
    return work()  # what the job pool does with it


def test_disable_lock_and_enable_an_account(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    alice = account_of(tree.alice)
    key = cloud.accounts.register_user_keys(tree.alice, user_of(tree.alice)).api_key
    session = cloud.accounts.create_session(tree.alice)

    result = _run(cloud.accounts.disable_account_work(tree.aadmin, alice, lock=False))
    assert (result.result_type, result.result_uuid) == ("Account", alice.uuid)
    assert account_of(tree.alice).state == "disabled"
    assert cloud.accounts.authenticate_key(key) is None
    with pytest.raises(PermissionDenied):
        cloud.accounts.authenticate_password("alice", "pw-alice", domain_path="/A/")
    assert LoginSession.get_or_none(LoginSession.id == session.id) is None  # the session ended
    assert "alice" in {a.name for a in cloud.accounts.list_accounts(tree.admin, listall=True, state="disabled")[1]}

    assert cloud.accounts.enable_account(tree.aadmin, alice).state == "enabled"
    assert cloud.accounts.authenticate_key(key)[0] == tree.alice
    assert cloud.accounts.authenticate_password("alice", "pw-alice", domain_path="/A/") == tree.alice
    # An ended session stays ended: re-enabling gives access, not the old session.
    assert cloud.accounts.session_caller(session.session_key, session.cookie) is None

    assert cloud.accounts.lock_account(tree.admin, alice).state == "locked"
    assert cloud.accounts.authenticate_key(key) is None
    _run(cloud.accounts.disable_account_work(tree.admin, alice, lock=True))
    assert account_of(tree.alice).state == "locked"
    cloud.accounts.enable_account(tree.admin, alice)
    types = [e.event_type for e in Event.select().where(Event.resource_uuid == alice.uuid).order_by(Event.id)]
    assert types[-4:] == ["ACCOUNT.DISABLE", "ACCOUNT.ENABLE", "ACCOUNT.LOCK", "ACCOUNT.ENABLE"]


def test_disabling_an_account_stops_each_running_vm_even_when_one_fails(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    alice = account_of(tree.alice)
    running = [make_vm(alice, state="Running") for _ in range(3)]
    make_vm(alice, state="Stopped")
    make_vm(account_of(tree.bob), state="Running")  # another account's VM stays up
    stopped = []

    def stop(caller, vm):  # what compute registers at wiring time
        if vm.id == running[0].id:
            raise CloudError("the hypervisor did not answer")
        stopped.append((caller, vm.id))

    cloud.accounts.set_vm_stopper(stop)
    _run(cloud.accounts.disable_account_work(tree.aadmin, alice, lock=True))
    assert stopped == []  # locking keeps the VMs running
    cloud.accounts.enable_account(tree.aadmin, alice)
    _run(cloud.accounts.disable_account_work(tree.aadmin, alice, lock=False))
    assert stopped == [(tree.aadmin, vm.id) for vm in running[1:]]
    assert account_of(tree.alice).state == "disabled"


def test_who_may_disable_which_account(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    refused = [
        (tree.alice, "bob", PermissionDenied),     # users may not
        (tree.aadmin, "carol", NotFound),  # outside the domain admin's subtree
        (tree.aadmin, "admin", NotFound),  # a root admin's account
        (tree.aadmin, "aadmin", InvalidParameterValue),  # its own
        (tree.admin, "admin", InvalidParameterValue),
    ]
    names = {"bob": tree.bob, "carol": tree.carol, "admin": tree.admin, "aadmin": tree.aadmin}
    for caller, name, error in refused:
        account = account_of(names[name])
        with pytest.raises(error):
            cloud.accounts.disable_account_work(caller, account, lock=False)
        with pytest.raises(error):
            cloud.accounts.lock_account(caller, account)
        with pytest.raises(error):
            cloud.accounts.enable_account(caller, account)
        assert account_of(names[name]).state == "enabled"
    # The domain admin below itself; the root admin anywhere.
    _run(cloud.accounts.disable_account_work(tree.aadmin, account_of(tree.bob), lock=False))
    _run(cloud.accounts.disable_account_work(tree.admin, account_of(tree.carol), lock=True))
    assert (account_of(tree.bob).state, account_of(tree.carol).state) == ("disabled", "locked")
    # The last enabled root admin stays; another root admin may be disabled.
    with pytest.raises(InvalidParameterValue):
        cloud.accounts.lock_account(tree.system, account_of(tree.admin))
    admin2 = make_account(cloud, tree.admin, "admin2", tree.root, account_type=1)
    assert cloud.accounts.lock_account(tree.admin, account_of(admin2)).state == "locked"


def test_find_account_by_id_or_name_and_domain(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    bob = account_of(tree.bob)
    assert cloud.accounts.find_account(tree.admin, id=bob).id == bob.id
    assert cloud.accounts.find_account(tree.admin, name="bob", domain=tree.b).id == bob.id
    for kwargs in ({}, {"name": "bob"}, {"domain": tree.b}, {"name": "bob", "domain": tree.a}):
        with pytest.raises(InvalidParameterValue):
            cloud.accounts.find_account(tree.admin, **kwargs)


def test_disable_lock_and_enable_a_user(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    second = cloud.accounts.create_user(tree.admin, account_name="alice", domain=tree.a, username="alice2",
                                        password="pw-alice2", email="a2@example.com", firstname="A",
                                        lastname="Two")
    keys = {u.username: cloud.accounts.register_user_keys(tree.admin, u).api_key
            for u in (user_of(tree.alice), second)}
    session = cloud.accounts.create_session(cloud.accounts.caller_for(second))

    result = _run(cloud.accounts.disable_user_work(tree.aadmin, second))
    assert (result.result_type, result.result_uuid) == ("User", second.uuid)
    assert User.get_by_id(second.id).state == "disabled"
    assert cloud.accounts.authenticate_key(keys["alice2"]) is None
    assert cloud.accounts.authenticate_key(keys["alice"]) is not None  # the account's other user is untouched
    assert LoginSession.get_or_none(LoginSession.id == session.id) is None
    assert cloud.accounts.enable_user(tree.aadmin, second).state == "enabled"
    assert cloud.accounts.authenticate_key(keys["alice2"]) is not None

    # Locking one user leaves the account; locking the last enabled one locks the account too.
    assert cloud.accounts.lock_user(tree.admin, second).state == "locked"
    assert account_of(tree.alice).state == "enabled"
    cloud.accounts.lock_user(tree.admin, user_of(tree.alice))
    assert account_of(tree.alice).state == "locked"
    # enableUser enables the account as well (CloudStack's enableUser does).
    cloud.accounts.enable_user(tree.admin, user_of(tree.alice))
    assert (user_of(tree.alice).state, account_of(tree.alice).state) == ("enabled", "enabled")
    assert cloud.accounts.authenticate_key(keys["alice"]) is not None
    assert cloud.accounts.authenticate_key(keys["alice2"]) is None  # still locked itself


def test_who_may_disable_which_user(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    for caller, target, error in ((tree.alice, tree.bob, PermissionDenied),
                                  (tree.aadmin, tree.carol, NotFound),
                                  (tree.aadmin, tree.admin, NotFound),
                                  (tree.alice, tree.alice, InvalidParameterValue),
                                  (tree.admin, tree.admin, InvalidParameterValue)):
        with pytest.raises(error):
            cloud.accounts.disable_user_work(caller, user_of(target))
        with pytest.raises(error):
            cloud.accounts.lock_user(caller, user_of(target))
        with pytest.raises(error):
            cloud.accounts.enable_user(caller, user_of(target))
        assert user_of(target).state == "enabled"
    with pytest.raises(InvalidParameterValue):  # the last enabled root admin user stays
        cloud.accounts.lock_user(tree.system, user_of(tree.admin))
    _run(cloud.accounts.disable_user_work(tree.aadmin, user_of(tree.bob)))
    assert user_of(tree.bob).state == "disabled"
