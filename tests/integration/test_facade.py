"""What the front doors call on the Cloud instead of reaching drivers, queries or private caches."""
from __future__ import annotations

import pytest

from backends.api import InvalidParameterValue, JobResult, NotFound, RuleSpec
from tests.integration.conftest import caller_of


def test_hypervisors_and_simulator_faults_without_the_driver(cloud):
    assert "Simulator" in cloud.hypervisors()
    cloud.configure_simulator("StartCommand", "wait:0")
    with pytest.raises(InvalidParameterValue, match="Unknown simulator command"):
        cloud.configure_simulator("NoSuchCommand", "wait:0")


def test_jobs_are_found_and_listed_within_a_scope(cloud):
    admin, demo = caller_of(cloud, "admin"), caller_of(cloud, "demo")
    job = cloud.jobs.submit(demo, "testCommand", lambda: JobResult())
    assert cloud.jobs.wait(job.uuid, timeout=10)
    assert cloud.find_job(job.uuid, cloud.accounts.scope(demo)).id == job.id
    with pytest.raises(NotFound):
        cloud.find_job(job.uuid, cloud.accounts.scope(admin))  # the admin's own account only
    total, jobs = cloud.list_jobs(cloud.accounts.scope(demo), keyword="testCommand")
    assert total == 1 and [j.id for j in jobs] == [job.id]
    assert cloud.list_jobs(cloud.accounts.scope(admin), keyword="testCommand") == (0, [])


def test_security_group_rules_loaded_with_a_listing_or_read_on_demand(cloud):
    demo = caller_of(cloud, "demo")
    group = cloud.security_groups.create(demo, "web", "web servers")
    cloud.security_groups.authorize(demo, group, "ingress", [RuleSpec("tcp", 80, 80, cidr="0.0.0.0/0")])
    _, listed = cloud.security_groups.list(demo, scope=cloud.accounts.scope(demo), name="web")
    alone = cloud.security_groups.by_name(demo, "web")
    assert isinstance(listed[0].rules, list)  # loaded with the page, not queried per group
    assert sorted((r.direction, r.start_port or 0) for r in listed[0].rules) == [("egress", 0), ("ingress", 80)]
    assert sorted(r.id for r in alone.rules) == sorted(r.id for r in listed[0].rules)
