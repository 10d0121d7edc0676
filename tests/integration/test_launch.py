"""The launch of N VMs (RunInstances' policy) in compute's LaunchService: as many as fit between the counts,
nothing below the minimum, one launch per client token, and nothing left behind by what is not kept."""
from __future__ import annotations

import pytest

from backends.compute.launch import LaunchRequest, LaunchTokenReused, LaunchUnplaced
from backends.core.resources import USER_VM
from backends.errors import AccountLimitExceeded, InvalidParameterValue
from backends.models import AsyncJob, VirtualMachine
from tests.integration.conftest import caller_of
from tests.integration.test_vm_lifecycle import MiB, _catalog, _total_used


def _request(low, high, name="t2.micro", **extra):
    zone, offering, template = _catalog(name=name)
    return LaunchRequest(zone=zone, offering=offering, template=template, min_count=low, max_count=high,
                         job_command="RunInstances", **extra)


def _live_vms(account):
    return list(VirtualMachine.select().where(VirtualMachine.account == account.id,
                                              VirtualMachine.removed.is_null()))


def test_a_launch_keeps_the_largest_count_the_limits_allow(cloud):
    demo, admin = caller_of(cloud, "demo"), caller_of(cloud, "admin")
    account = cloud.accounts.get_caller_account(demo)
    cloud.limits.update_limit(admin, USER_VM, 3, account=account)
    launch = cloud.vms.launch(demo, _request(1, 5))
    assert len(launch.vms) == 3 and not launch.repeated
    assert [vm.id for vm in _live_vms(account)] == [vm.id for vm in launch.vms]  # smaller tries undone
    assert cloud.limits.count(account, USER_VM) == 3
    assert [vm for _, vm in launch.starts] == launch.vms and all(vm.deploy_job is not None for vm in launch.vms)
    assert len({vm.launch_group for vm in launch.vms}) == 1  # one reservation
    assert _total_used() == 3 * launch.vms[0].memory * MiB  # each has a host claimed before the answer
    with pytest.raises(AccountLimitExceeded):  # not even the minimum fits: the limit's refusal, nothing kept
        cloud.vms.launch(demo, _request(1, 2))
    assert len(_live_vms(account)) == 3


def test_below_the_minimum_of_hosts_nothing_is_launched_and_above_it_the_rest_is_undone(cloud):
    admin = caller_of(cloud, "admin")
    account = cloud.accounts.get_caller_account(admin)
    with pytest.raises(LaunchUnplaced):
        cloud.vms.launch(admin, _request(70, 70, name="m5.2xlarge"))  # a zone holds 64 of them
    assert _live_vms(account) == [] and _total_used() == 0
    assert not AsyncJob.select().exists()  # the jobs created with the VMs were withdrawn
    launch = cloud.vms.launch(admin, _request(1, 70, name="m5.2xlarge"))
    assert len(launch.vms) == 64 and len(_live_vms(account)) == 64
    assert AsyncJob.select().count() == 64


def test_a_client_token_repeats_its_launch_and_refuses_other_arguments(cloud):
    demo = caller_of(cloud, "demo")
    first = cloud.vms.launch(demo, _request(2, 2, client_token="abc"))
    again = cloud.vms.launch(demo, _request(1, 3, client_token="abc"))
    assert again.repeated and again.starts == [] and [vm.id for vm in again.vms] == [vm.id for vm in first.vms]
    with pytest.raises(LaunchTokenReused):
        cloud.vms.launched_before(demo, _request(2, 2, name="m5.2xlarge", client_token="abc"))
    with pytest.raises(LaunchTokenReused):
        cloud.vms.launch(demo, _request(3, 3, client_token="abc"))  # two VMs are not three


def test_tags_go_on_every_vm_and_a_refused_tag_leaves_nothing(cloud):
    demo = caller_of(cloud, "demo")
    account = cloud.accounts.get_caller_account(demo)
    launch = cloud.vms.launch(demo, _request(2, 2, tags={"team": "blue"}))
    assert all({t.key: t.value for t in vm.resource_tags} == {"team": "blue"} for vm in launch.vms)
    with pytest.raises(InvalidParameterValue):
        cloud.vms.launch(demo, _request(2, 2, tags={"x" * 200: "too long a key"}))
    assert len(_live_vms(account)) == 2
