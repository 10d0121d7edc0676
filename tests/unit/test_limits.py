"""Resource limits: per-account and per-domain caps, counts, recalculation, concurrency."""
from __future__ import annotations

import threading

import pytest

from backends.core import resources as R
from backends.db import write_tx
from backends.errors import AccountLimitExceeded, InvalidParameterValue, NotFound, PermissionDenied
from backends.models import Account, ResourceCount, Volume
from tests.unit.test_accounts import (account_of, cheap_passwords, make_account, make_cloud, make_tree,  # noqa: F401
                                      make_vm)


def _reserve_all(cloud, account, deltas, attempts):
    """Reserve ``attempts`` times; return how many succeeded."""
    ok = 0
    for _ in range(attempts):
        try:
            with write_tx():
                cloud.limits.reserve(account, deltas)
            ok += 1
        except AccountLimitExceeded:
            pass
    return ok


def test_reserve_up_to_the_account_limit_then_refuse(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    alice = account_of(tree.alice)
    cloud.limits.update_limit(tree.admin, R.USER_VM, 3, account=alice)
    assert _reserve_all(cloud, alice, {R.USER_VM: 1}, 3) == 3
    with pytest.raises(AccountLimitExceeded) as err:
        cloud.limits.reserve(alice, {R.USER_VM: 1})
    assert str(err.value) == (f"Maximum number of resources of type 'user_vm' for account name=alice in domain "
                              f"id={tree.a.uuid} has been exceeded.")
    assert err.value.resource_type == R.USER_VM
    assert cloud.limits.count(alice, R.USER_VM) == 3

    cloud.limits.release(alice, {R.USER_VM: 1})
    assert cloud.limits.count(alice, R.USER_VM) == 2
    cloud.limits.reserve(alice, {R.USER_VM: 1})
    assert cloud.limits.count(alice, R.USER_VM) == 3


def test_a_refused_reservation_takes_nothing(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    alice = account_of(tree.alice)
    cloud.limits.update_limit(tree.admin, R.CPU, 4, account=alice)
    cloud.limits.reserve(alice, {R.USER_VM: 1, R.CPU: 2, R.MEMORY: 512})
    with pytest.raises(AccountLimitExceeded) as err:
        with write_tx():
            cloud.limits.reserve(alice, {R.USER_VM: 1, R.CPU: 4, R.MEMORY: 512})
    assert err.value.resource_type == R.CPU
    assert [cloud.limits.count(alice, t) for t in (R.USER_VM, R.CPU, R.MEMORY)] == [1, 2, 512]
    assert cloud.limits.domain_count(tree.a, R.MEMORY) == 512


def test_defaults_come_from_the_settings(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    cloud.config.set("max.account.volumes", "2")
    bob = account_of(tree.bob)
    assert _reserve_all(cloud, bob, {R.VOLUME: 1}, 5) == 2

    total, rows = cloud.limits.list_limits(tree.bob)
    assert total == 12 and [r.resource_type for r in rows] == list(range(12))
    by_type = {r.resource_type: r for r in rows}
    assert by_type[R.VOLUME].max_value == 2 and by_type[R.USER_VM].max_value == 20
    assert by_type[R.MEMORY].max_value == 40960 and by_type[R.PROJECT].max_value == -1
    assert by_type[R.USER_VM].account.id == bob.id and by_type[R.USER_VM].domain.id == tree.b.id

    cloud.limits.update_limit(tree.aadmin, R.VOLUME, 4, account=bob)
    cloud.limits.update_limit(tree.aadmin, R.VOLUME, 5, account=bob)  # updates the same row
    total, rows = cloud.limits.list_limits(tree.aadmin, account=bob, resource_type=R.VOLUME)
    assert total == 1 and rows[0].max_value == 5
    assert _reserve_all(cloud, bob, {R.VOLUME: 1}, 5) == 3


def test_a_domain_limit_caps_all_accounts_below_it(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    cloud.limits.update_limit(tree.admin, R.USER_VM, 3, domain=tree.a)
    alice, bob = account_of(tree.alice), account_of(tree.bob)  # bob is in /A/B/, below /A/
    assert _reserve_all(cloud, alice, {R.USER_VM: 1}, 2) == 2
    cloud.limits.reserve(bob, {R.USER_VM: 1})
    with pytest.raises(AccountLimitExceeded) as err:
        cloud.limits.reserve(bob, {R.USER_VM: 1})
    assert str(err.value) == (f"Maximum number of resources of type 'user_vm' for domain id={tree.a.uuid} has "
                              "been exceeded.")
    assert (cloud.limits.domain_count(tree.a, R.USER_VM), cloud.limits.domain_count(tree.b, R.USER_VM)) == (3, 1)
    assert cloud.limits.count(bob, R.USER_VM) == 1  # the refused attempt left nothing behind
    # Carol's domain is not affected.
    assert _reserve_all(cloud, account_of(tree.carol), {R.USER_VM: 1}, 5) == 5

    cloud.limits.release(alice, {R.USER_VM: 1})
    cloud.limits.reserve(bob, {R.USER_VM: 1})
    assert cloud.limits.domain_count(tree.a, R.USER_VM) == 3
    assert cloud.limits.domain_count(tree.root, R.USER_VM) == 8


def test_root_admins_and_root_domain_are_unlimited(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    admin = account_of(tree.admin)
    cloud.config.set("max.account.user.vms", "1")
    cloud.limits.reserve(admin, {R.USER_VM: 500, R.MEMORY: 10 ** 9})
    assert cloud.limits.count(admin, R.USER_VM) == 500
    assert cloud.limits.account_limit(admin, R.USER_VM) == -1
    assert all(r.max_value == -1 for r in cloud.limits.list_limits(tree.admin)[1])
    with pytest.raises(InvalidParameterValue):
        cloud.limits.update_limit(tree.admin, R.USER_VM, 5, account=admin)
    with pytest.raises(PermissionDenied):
        cloud.limits.update_limit(tree.admin, R.USER_VM, 5, domain=tree.root)
    assert all(r.max_value == -1 for r in cloud.limits.list_limits(tree.admin, domain=tree.root)[1])


def test_release_never_goes_below_zero(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    carol = account_of(tree.carol)
    cloud.limits.reserve(carol, {R.CPU: 2})
    cloud.limits.release(carol, {R.CPU: 5, R.USER_VM: 1})
    assert (cloud.limits.count(carol, R.CPU), cloud.limits.count(carol, R.USER_VM)) == (0, 0)
    assert cloud.limits.domain_count(tree.c, R.CPU) == 0


def test_who_may_change_limits(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    alice, carol = account_of(tree.alice), account_of(tree.carol)
    with pytest.raises(PermissionDenied):
        cloud.limits.update_limit(tree.alice, R.USER_VM, 100, account=alice)
    with pytest.raises(PermissionDenied):  # a domain admin may not raise its own limits
        cloud.limits.update_limit(tree.aadmin, R.USER_VM, 100, account=account_of(tree.aadmin))
    with pytest.raises(PermissionDenied):
        cloud.limits.update_limit(tree.aadmin, R.USER_VM, 100, domain=tree.a)
    with pytest.raises(NotFound):  # outside the domain admin's subtree: as if it did not exist
        cloud.limits.update_limit(tree.aadmin, R.USER_VM, 1, account=carol)
    with pytest.raises(NotFound):
        cloud.limits.list_limits(tree.alice, account=carol)
    with pytest.raises(InvalidParameterValue):
        cloud.limits.update_limit(tree.admin, 42, 1, account=alice)
    with pytest.raises(InvalidParameterValue):
        cloud.limits.update_limit(tree.admin, R.USER_VM, -2, account=alice)
    with pytest.raises(InvalidParameterValue):
        cloud.limits.update_limit(tree.admin, R.USER_VM, 1)

    row = cloud.limits.update_limit(tree.aadmin, R.USER_VM, 10, domain=tree.b)
    assert (row.domain_id, row.account_id, row.max_value) == (tree.b.id, None, 10)
    cloud.limits.update_limit(tree.admin, R.USER_VM, 5, domain=tree.a)
    with pytest.raises(InvalidParameterValue) as err:  # a child may not exceed its parent
        cloud.limits.update_limit(tree.admin, R.USER_VM, 6, domain=tree.b)
    assert "please specify a value less than or equal to 5" in str(err.value)
    assert cloud.limits.update_limit(tree.admin, R.USER_VM, None, account=alice).max_value == -1

    total, rows = cloud.limits.list_limits(tree.aadmin, domain=tree.a, isrecursive=True,
                                           resource_type=R.USER_VM)
    assert total == 2 and [(r.domain.path, r.max_value) for r in rows] == [("/A/", 5), ("/A/B/", 10)]


def test_recalculate_counts_from_the_tables(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    bob = account_of(tree.bob)
    running = make_vm(bob, state="Running", cpus=2, memory=1024)
    make_vm(bob, state="Stopped", cpus=1, memory=512)
    make_vm(bob, state="Destroyed", cpus=8, memory=8192)
    make_vm(bob, state="Error", cpus=8, memory=8192)
    make_vm(bob, state="Stopped", cpus=8, memory=8192, removed=running.created)
    gib = 1 << 30
    for size, state in ((gib, "Ready"), (gib + 1, "Allocated"), (5 * gib, "Destroy")):
        Volume.create(name="v", account=bob.id, domain=bob.domain_id, zone=running.zone_id, volume_type="ROOT",
                      state=state, size=size)
    # Drift: counts that disagree with the tables.
    ResourceCount.update(count=99).where(ResourceCount.account == bob.id).execute()

    counts = cloud.limits.recalculate(bob)
    assert counts == {R.USER_VM: 2, R.CPU: 3, R.MEMORY: 1536, R.VOLUME: 2, R.PRIMARY_STORAGE: 3}
    assert {t: cloud.limits.count(bob, t) for t in counts} == counts
    assert cloud.limits.domain_count(tree.b, R.CPU) == 3
    assert cloud.limits.domain_count(tree.a, R.CPU) == 3  # alice and aadmin hold none


def test_counts_rows_appear_for_accounts_made_elsewhere(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    stray = Account.create(name="stray", account_type=0, role=account_of(tree.bob).role_id, domain=tree.b.id,
                           owner_number="999999999999")
    ResourceCount.delete().where(ResourceCount.domain == tree.b.id, ResourceCount.account.is_null()).execute()
    cloud.limits.reserve(stray, {R.USER_VM: 2})
    assert cloud.limits.count(stray, R.USER_VM) == 2
    assert cloud.limits.domain_count(tree.b, R.USER_VM) == 2
    assert cloud.limits.domain_count(tree.a, R.USER_VM) == 2


def test_concurrent_reservations_never_exceed_the_limits(db):
    cloud = make_cloud()
    tree = make_tree(cloud)
    cloud.limits.update_limit(tree.admin, R.USER_VM, 7, domain=tree.a)
    alice, bob = account_of(tree.alice), account_of(tree.bob)
    for account in (alice, bob):
        cloud.limits.update_limit(tree.admin, R.USER_VM, 5, account=account)
    results, errors = [], []
    start = threading.Barrier(12)

    def worker(account):
        try:
            start.wait()
            for _ in range(2):
                try:
                    with write_tx():
                        cloud.limits.reserve(account, {R.USER_VM: 1, R.CPU: 1})
                    results.append(account.name)
                except AccountLimitExceeded:
                    pass
        except Exception as exc:  # a deadlock or a lock timeout would fail the test
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=worker, args=(acc,)) for acc in [alice, bob] * 6]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(results) == 7  # 24 attempts, the domain allows 7
    assert results.count("alice") <= 5 and results.count("bob") <= 5
    assert cloud.limits.count(alice, R.USER_VM) == results.count("alice")
    assert cloud.limits.count(bob, R.CPU) == results.count("bob")
    assert cloud.limits.domain_count(tree.a, R.USER_VM) == 7
    assert cloud.limits.domain_count(tree.a, R.CPU) == 7
