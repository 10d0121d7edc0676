"""Listings of the infra, storage and network areas come with what their views show: rendering a page
runs no SQL (a view only formats; the manager loaded the related rows for the whole page at once)."""
from __future__ import annotations

from contextlib import contextmanager

import pytest

from backends.db import database
from backends.models import Account, Cluster, Host, Pod, Zone
from backends.network.securitygroups import RuleSpec
from native_api.views import dump_many
from native_api.views import infra as infra_views
from native_api.views.catalog import Template as TemplateView
from native_api.views.networks import Network as NetworkView
from native_api.views.securitygroups import SecurityGroup as SecurityGroupView
from tests.integration.conftest import caller_of


@contextmanager
def sql_counted():
    """The SQL statements run inside, in a list."""
    db, ran = database.obj, []
    original = db.execute_sql

    def counting(sql, *args, **kwargs):
        ran.append(sql)
        return original(sql, *args, **kwargs)

    db.execute_sql = counting
    try:
        yield ran
    finally:
        del db.execute_sql


@contextmanager
def no_sql():
    with sql_counted() as ran:
        yield
    assert ran == [], f"rendering ran {len(ran)} queries, e.g. {ran[0]}"


def _add_hosts(cloud, admin, count, cluster=None) -> Cluster:
    """``count`` more hosts (in a new cluster unless given), so a page holds more rows than the demo cloud has."""
    zone = Zone.get(Zone.name == "us-east-1a")
    pod = Pod.get(Pod.zone == zone.id)
    cluster = cluster or cloud.infra.add_cluster(admin, zone, pod, name="more", hypervisor="Simulator")
    first = Host.select().where(Host.cluster == cluster.id).count()
    for i in range(first, first + count):
        cloud.infra.add_host(admin, zone, pod, hypervisor="Simulator", cluster=cluster,
                             url=f"http://sim/us-east-1a/more{i}?cpucore=4&cpuspeed=2000&memory={8 << 30}")
    return cluster


def test_infra_listings_render_without_sql(cloud):
    admin = caller_of(cloud, "admin")
    _add_hosts(cloud, admin, 12)
    listings = [
        (infra_views.Host, cloud.infra.list_hosts(admin)),
        (infra_views.Zone, cloud.infra.list_zones(admin)),
        (infra_views.Pod, cloud.infra.list_pods(admin)),
        (infra_views.Cluster, cloud.infra.list_clusters(admin)),
        (infra_views.StoragePool, cloud.infra.list_storage_pools(admin)),
        (infra_views.ImageStore, cloud.infra.list_image_stores(admin)),
    ]
    for view, (total, rows) in listings:
        assert total == len(rows) > 0
        with no_sql():
            dump_many(view, rows, admin)
    hosts = dump_many(infra_views.Host, cloud.infra.list_hosts(admin)[1], admin)
    assert len(hosts) >= 13
    assert all(h["clustername"] and h["zonename"] and h["memorywithoverprovisioning"] != "0" for h in hosts)


def test_a_page_of_hosts_is_loaded_in_a_few_queries_whatever_its_size(cloud):
    admin = caller_of(cloud, "admin")
    cluster = _add_hosts(cloud, admin, 3)
    with sql_counted() as few:
        cloud.infra.list_hosts(admin, cluster=cluster)
    _add_hosts(cloud, admin, 20, cluster)
    with sql_counted() as many:
        assert len(cloud.infra.list_hosts(admin, cluster=cluster)[1]) == 23
    assert len(many) <= len(few)


def test_template_network_and_security_group_listings_render_without_sql(cloud):
    demo, admin = caller_of(cloud, "demo"), caller_of(cloud, "admin")
    web = cloud.security_groups.create(demo, "web")
    db = cloud.security_groups.create(demo, "db")
    cloud.security_groups.authorize(demo, db, "ingress", [RuleSpec("tcp", 5432, 5432, source_group=web)])
    cloud.security_groups.authorize(demo, web, "ingress", [RuleSpec("tcp", 80, 80, cidr="0.0.0.0/0")])
    scope = cloud.accounts.scope(demo)
    groups = cloud.security_groups.list(demo, scope=scope)[1]
    templates = cloud.templates.list(admin, is_iso=False, filter="all")[1]
    networks = cloud.networks.list_networks(admin)[1]
    for view, rows, caller in ((SecurityGroupView, groups, demo), (TemplateView, templates, admin),
                               (NetworkView, networks, admin)):
        assert rows
        with no_sql():
            dump_many(view, rows, caller)
    dumped = {g["name"]: g for g in dump_many(SecurityGroupView, groups, demo)}
    assert dumped["db"]["ingressrule"][0]["securitygroupname"] == "web"
    assert dumped["db"]["ingressrule"][0]["account"] == Account.get(Account.name == "demo").name
    assert dumped["web"]["ingressrule"][0]["cidr"] == "0.0.0.0/0"
    assert {g["name"] for g in dumped.values()} >= {"default", "web", "db"}


@pytest.mark.parametrize("pagesize", [1, 2])
def test_paged_host_listings_still_count_every_match(cloud, pagesize):
    admin = caller_of(cloud, "admin")
    _add_hosts(cloud, admin, 4)
    total, rows = cloud.infra.list_hosts(admin)
    paged_total, page = cloud.infra.list_hosts(admin, page=2, pagesize=pagesize)
    assert paged_total == total and [h.id for h in page] == [h.id for h in rows][pagesize:2 * pagesize]


def test_domain_listings_tell_which_have_children_without_sql(cloud):
    from native_api.views.accounts import Domain as DomainView

    admin = caller_of(cloud, "admin")
    parent = cloud.accounts.create_domain(admin, "parent", None)
    cloud.accounts.create_domain(admin, "child", parent=parent)
    _, domains = cloud.accounts.list_domains(admin, listall=True)
    with no_sql():
        shown = {d["name"]: d["haschild"] for d in dump_many(DomainView, domains, admin)}
    assert shown["parent"] is True and shown["child"] is False and shown["ROOT"] is True
