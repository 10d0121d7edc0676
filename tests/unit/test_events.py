"""Whose an event is and what it names: the rules EventManager.record fills the row by."""
from __future__ import annotations

from backends.core.events import EventManager
from backends.models import Template
from tests.unit.test_accounts import account_of, cheap_passwords, make_cloud, make_tree, make_vm  # noqa: F401


def test_an_owned_resource_makes_the_event_its_owners(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    vm = make_vm(account_of(tree.alice))
    event = EventManager().record(tree.admin, "VM.STOP", "stopped", resource=vm, level="WARN")
    assert (event.account_id, event.domain_id, event.user_id) == (tree.alice.account_id, tree.a.id, tree.admin.user_id)
    assert (event.resource_type, event.resource_uuid, event.level) == ("VirtualMachine", vm.uuid, "WARN")


def test_an_unowned_resource_leaves_the_event_the_callers(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    event = EventManager().record(tree.bob, "DOMAIN.CREATE", "created", resource=tree.c)
    assert (event.account_id, event.domain_id) == (tree.bob.account_id, tree.b.id)
    assert (event.resource_type, event.resource_uuid) == ("Domain", tree.c.uuid)


def test_owner_says_whose_it_is(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    carol = account_of(tree.carol)
    event = EventManager().record(tree.admin, "ACCOUNT.ENABLE", "enabled", resource=carol, owner=carol)
    assert (event.account_id, event.domain_id, event.resource_type) == (carol.id, tree.c.id, "Account")
    vm = make_vm(account_of(tree.alice))
    event = EventManager().record(tree.bob, "VM.CREATE", "created", resource=vm, owner=tree.bob)
    assert (event.account_id, event.domain_id) == (tree.bob.account_id, tree.b.id)


def test_no_caller_and_no_owner_leaves_the_event_unowned(db):
    cloud = make_cloud()
    make_tree(cloud)
    event = EventManager().record(None, "TAGS", "tagged", resource_type="UserVm")
    assert (event.account_id, event.domain_id, event.user_id, event.resource_uuid) == (None, None, None, None)
    assert event.resource_type == "UserVm"


def test_an_iso_is_named_as_one(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    alice = account_of(tree.alice)
    iso = Template.create(name="iso", format="ISO", hypervisor="Simulator", is_iso=True, account=alice.id,
                          domain=alice.domain_id)
    event = EventManager().record(tree.alice, "ISO.CREATE", "registered", resource=iso)
    assert (event.resource_type, event.account_id) == ("Iso", alice.id)
