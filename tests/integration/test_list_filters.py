"""List filters the HTTP-level test (conformance/test_list_filters.py) cannot reach with the demo
cloud's data: networks owned by an account, and the two tag semantics, on SQLite and MariaDB."""
from __future__ import annotations

from backends.models import Account, Domain, Network, ServiceOffering, Template, Zone
from tests.integration.conftest import caller_of


def _names(result):
    return {row.name for row in result[1]}


def test_networks_listed_for_an_account_or_domain_are_the_ones_it_may_use(cloud):
    admin = caller_of(cloud, "admin")
    zone = Zone.get(Zone.name == "us-east-1a")
    team = cloud.accounts.create_domain(admin, "team", None)
    other = cloud.accounts.create_domain(admin, "other", None)
    ann = cloud.accounts.create_account(admin, username="ann", password="pw", email="a@example.com",
                                        firstname="A", lastname="N", account_type=0, account_name="ann",
                                        domain=team)
    bob = cloud.accounts.create_account(admin, username="bob", password="pw", email="b@example.com",
                                        firstname="B", lastname="O", account_type=0, account_name="bob",
                                        domain=team)
    cloud.networks.create_guest_network(zone, name="ann-net", cidr="10.50.0.0/24", domain=team, account=ann)
    cloud.networks.create_guest_network(zone, name="bob-net", cidr="10.51.0.0/24", domain=team, account=bob)
    cloud.networks.create_guest_network(zone, name="team-shared", cidr="10.52.0.0/24", domain=team)
    cloud.networks.create_guest_network(zone, name="other-shared", cidr="10.53.0.0/24", domain=other)
    root_shared = {n.name for n in Network.select().where(Network.account.is_null(),
                                                          Network.domain == Domain.get(Domain.path == "/").id)}
    assert root_shared  # the demo cloud's zone-wide networks

    def listed(**scope_args):
        scope = cloud.accounts.scope(admin, **scope_args)
        return _names(cloud.networks.list_networks(admin, scope=scope))

    everything = _names(cloud.networks.list_networks(admin))
    assert {"ann-net", "bob-net", "team-shared", "other-shared"} <= everything
    assert listed(account_name="ann", domain=team) == {"ann-net", "team-shared"} | root_shared
    assert listed(domain=team) == {"ann-net", "bob-net", "team-shared"} | root_shared
    assert listed(domain=other) == {"other-shared"} | root_shared
    assert listed(listall=True) == everything


def test_vm_tag_filters_native_any_pair_and_ec2_every_key(cloud):
    demo = caller_of(cloud, "demo")
    zone = Zone.get(Zone.name == "us-east-1a")
    offering = ServiceOffering.get(ServiceOffering.name == "t2.micro")
    template = Template.get(Template.name == "ubuntu-22.04")
    web, db, bare = (cloud.vms.deploy(demo, zone=zone, offering=offering, template=template, name=name)
                     for name in ("web", "db", "bare"))
    cloud.tags.create(demo, "UserVm", [web], {"role": "web", "env": "prod"})
    cloud.tags.create(demo, "UserVm", [db], {"role": "db", "env": "prod"})
    scope = cloud.accounts.scope(demo)

    def native(pairs):
        return _names(cloud.vms.list(demo, scope=scope, any_tag=pairs))

    def ec2(tags):
        return _names(cloud.vms.list(demo, scope=scope, tags=tags))

    assert native(None) == {"web", "db", "bare"}
    assert native({"role": "web"}) == {"web"}
    assert native({"role": "web", "nomatch": "x"}) == {"web"}  # one pair is enough
    assert native({"role": "nomatch"}) == set()
    assert native({"env": "prod"}) == {"web", "db"}
    assert ec2({"env": ["prod"], "role": ["web"]}) == {"web"}  # every key required
    assert ec2({"env": [], "role": ["db", "web"]}) == {"web", "db"}
    assert ec2({"role": ["web"], "nomatch": []}) == set()


def test_security_groups_listed_by_tag_are_only_tagged_ones(cloud):
    demo = caller_of(cloud, "demo")
    account = Account.get(Account.name == "demo")
    cloud.security_groups.default_group(account)
    scope = cloud.accounts.scope(demo)
    assert cloud.security_groups.list(demo, scope=scope)[0] >= 1
    assert cloud.security_groups.list(demo, scope=scope, any_tag={"role": "web"}) == (0, [])
