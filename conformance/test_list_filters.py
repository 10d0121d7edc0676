"""Every declared filter of every native list command is applied.

The test walks the command registry, so a list command or a parameter added later
is covered without touching this file: each declared parameter of a list command
is either probed here or named in a short exemption list, and anything else fails.

A probe sends a value that should leave out rows the unfiltered listing shows, and
checks that it does: most probes use an object that exists but that nothing listed
refers to (a zone with nothing in it, a template no VM runs, a name nobody has), so
the answer must be empty; a few filters select instead (``id``, a VM's volumes),
and the answer must hold exactly the matching rows. In both cases the unfiltered
listing is checked first to hold rows the filter must remove, so "empty" means
filtered, not "there was nothing to list".
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Callable

import pytest
from cs import CloudStackApiException

import native_api.commands  # noqa: F401  (declares every command)
from backends.context import ROLE_USER
from native_api import fields as f
from native_api.registry import LIST, REGISTRY

NOMATCH = "nomatch-" + uuid.uuid4().hex[:8]

# Parameters that choose how much to show or how to page it, not which rows match.
NOT_FILTERS = {
    "page", "pagesize",  # paging (its own tests: test_bad_input, test_native_framework)
    "listall", "isrecursive",  # widen the caller's scope, never narrow it
    "details",  # which response fields to fill in
    "showcapacities",  # adds capacity figures to each row
    "fetchlatest",  # recompute capacities before listing
    "sortby",  # order of the rows
}

# Run as a user: a user's listing is its own account's already, so a domain or account
# other than its own is refused (conformance/test_admin_api.py checks that) and its own
# leaves nothing out; a user sees one account and one user, so no id can leave one out; and
# root-admin parameters (listVirtualMachines hostid) are refused to users with 531.
NOT_FOR_USERS = {"domainid", "account", ("listAccounts", "id"), ("listUsers", "id")}

# Commands whose objects this cloud cannot hold (Basic zones have no public IPs nor
# NAT): they always answer empty, which the test checks, so the day they can hold
# something this exemption fails and their filters must be probed.
ALWAYS_EMPTY = {"listPublicIpAddresses", "listPortForwardingRules", "listIpForwardingRules"}

# Every network this cloud can hold is a shared one that every account and domain may use (no
# createNetwork yet), so an owner leaves none out. The test checks that no network has an owning
# account; the day one has, these must be probed.
SHARED_ONLY = {("listNetworks", "account"), ("listNetworks", "domainid")}

# Commands that answer in the list shape but create something.
NOT_LISTS = {"addCluster", "addHost", "registerTemplate", "registerIso"}

# The key under which commands of another shape list their rows.
ROWS_KEY = {"listAsyncJobs": "asyncjobs"}


@dataclass
class Probe:
    """Parameters to send, and what the returned rows must satisfy (None: no row may come back).

    The answer must hold exactly the rows of the plain listing that satisfy ``keeps``.
    """

    params: dict
    keeps: Callable[[dict], bool] | None = None


# ------------------------------------------------------------------ the cloud


def wait_job(cs, jobid, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        result = cs.queryAsyncJobResult(jobid=jobid)
        if result["jobstatus"] != 0:
            assert result["jobstatus"] == 1, result
            return result
        time.sleep(0.1)
    raise AssertionError(f"job {jobid} still pending after {timeout}s")


def tenant_data(cs, zone, suffix) -> dict:
    """What one tenant owns: two VMs (one tagged), key pairs, a security group, and a private
    template and ISO whose download fails (never ready; the ISO is not bootable)."""
    micro = cs.listServiceOfferings(name="t2.micro")["serviceoffering"][0]
    template = cs.listTemplates(templatefilter="executable", zoneid=zone["id"])["template"][0]
    vms = []
    for i in range(2):
        deployed = cs.deployVirtualMachine(zoneid=zone["id"], serviceofferingid=micro["id"],
                                           templateid=template["id"], name=f"filters-{suffix}-{i}")
        vms.append(wait_job(cs, deployed["jobid"])["jobresult"]["virtualmachine"])
    wait_job(cs, cs.createTags(resourcetype="UserVm", resourceids=vms[0]["id"],
                               **{"tags[0].key": "role", "tags[0].value": "web"})["jobid"])
    for i in range(2):
        cs.createSSHKeyPair(name=f"filters-{suffix}-{i}")
    cs.createSecurityGroup(name=f"filters-{suffix}")
    # "size=x" makes the simulated download fail.
    unready = cs.registerTemplate(
        name=f"unready-{suffix}", displaytext="unready", url="http://127.0.0.1:9/unready.qcow2?size=x",
        format="QCOW2", hypervisor="Simulator", ostypeid=template["ostypeid"], zoneid=zone["id"])["template"][0]
    cs.registerIso(name=f"plain-{suffix}", displaytext="not bootable", url="http://127.0.0.1:9/plain.iso?size=x",
                   zoneid=zone["id"], ispublic=False, bootable=False)
    return {"vms": vms, "zone": zone, "unready_template": unready}


@pytest.fixture(scope="module")
def world(admin_cs, user_cs):
    """The demo cloud plus the admin's and the demo user's own data (``tenant_data``), and objects
    nothing refers to, one of each kind a filter names."""
    cs = admin_cs
    suffix = uuid.uuid4().hex[:6]
    zone = cs.listZones(name="us-east-1a")["zone"][0]
    tenants = {"admin": tenant_data(cs, zone, f"a{suffix}"), "user": tenant_data(user_cs, zone, f"u{suffix}")}

    empty_zone = cs.createZone(name=f"empty-{suffix}", networktype="Basic", dns1="1.1.1.1",
                               internaldns1="10.0.0.2")["zone"]
    lab_zone = cs.createZone(name=f"lab-{suffix}", networktype="Basic", dns1="1.1.1.1",
                             internaldns1="10.0.0.2")["zone"]
    empty_pod = cs.createPod(zoneid=lab_zone["id"], name="empty", gateway="172.30.0.1", netmask="255.255.0.0",
                             startip="172.30.0.10", endip="172.30.0.200")["pod"]
    lab_pod = cs.createPod(zoneid=lab_zone["id"], name="lab", gateway="172.31.0.1", netmask="255.255.0.0",
                           startip="172.31.0.10", endip="172.31.0.200")["pod"]
    empty_cluster = cs.addCluster(zoneid=lab_zone["id"], podid=lab_pod["id"], clustername="empty",
                                  clustertype="CloudManaged", hypervisor="Simulator")["cluster"][0]
    unused_offering = cs.createServiceOffering(name=f"unused-{suffix}", displaytext="unused", cpunumber=1,
                                               cpuspeed=500, memory=256)["serviceoffering"]
    cs.createServiceOffering(name=f"zone-a-{suffix}", displaytext="zone a only", cpunumber=1, cpuspeed=500,
                             memory=256, zoneid=zone["id"])
    cs.createDiskOffering(name=f"zone-a-{suffix}", displaytext="zone a only", disksize=1, zoneid=zone["id"])
    empty_domain = cs.createDomain(name=f"empty-{suffix}")["domain"]
    empty_account = cs.createAccount(username=f"empty-{suffix}", password="pw", email="e@example.com",
                                     firstname="Em", lastname="Pty", accounttype=0,
                                     account=f"empty-{suffix}")["account"]
    busy_hosts = {vm["hostid"] for vm in admin_cs.listVirtualMachines(listall="true")["virtualmachine"]}
    idle_host = next(h for h in cs.listHosts(zoneid=zone["id"])["host"] if h["id"] not in busy_hosts)
    return {
        "tenants": tenants, "root_domain": cs.listDomains(name="ROOT")["domain"][0],
        "empty_account": empty_account,
        # An object of each kind that no row of any listing refers to (the admin's unready
        # template runs no VM).
        "unreferenced": {"Zone": empty_zone["id"], "Pod": empty_pod["id"], "Cluster": empty_cluster["id"],
                         "Template": tenants["admin"]["unready_template"]["id"],
                         "ServiceOffering": unused_offering["id"], "Domain": empty_domain["id"],
                         "Host": idle_host["id"]},
    }


# ------------------------------------------------------------------- probes


def list_commands():
    return sorted(c for c, cmd in REGISTRY.items()
                  if c not in NOT_LISTS and (cmd.shape == LIST or "page" in cmd.params))


def probes_for(command: str, name: str, field, world, everything: list[dict]) -> list[Probe] | None:
    """How to filter ``command`` by ``name`` so that rows the plain listing shows are left out."""
    special = SPECIAL.get((command, name))
    if special is not None:
        return special(world)
    if (name in ("id", "ids") and isinstance(field, (f.Uuid, f.List))) or (
            isinstance(field, f.Uuid) and field.entity not in world["unreferenced"]):
        return by_value(name, everything)
    if name == "account":
        # An account that owns nothing (its own users and limits are selected instead: SPECIAL).
        return [Probe({"account": world["empty_account"]["name"], "domainid": world["root_domain"]["id"]})]
    if isinstance(field, f.Uuid):
        # Rows that name the object itself may come back (a capacity line of the empty zone).
        value = world["unreferenced"][field.entity]
        return [Probe({name: value}, lambda row: row.get(name) == value)]
    if isinstance(field, f.Map) and field.style == "keyvalue":
        return [Probe({f"{name}[0].key": NOMATCH, f"{name}[0].value": NOMATCH})]
    if isinstance(field, f.Date):
        return [Probe({name: "2999-01-01" if name.startswith("start") else "2000-01-01"})]
    if type(field) in (f.Integer, f.Long, f.Short):
        return [Probe({name: "987654"})]
    if type(field) is f.String:
        return [Probe({name: NOMATCH})]
    return None


def by_value(name: str, everything: list[dict]) -> list[Probe]:
    """Select by the value the first row has (``id``, or a reference such as ``oscategoryid``)."""
    field = "id" if name == "ids" else name
    value = everything[0].get(field)
    if value is None:
        return None
    return [Probe({name: value}, lambda row: row.get(field) == value)]


def _vm(world, i=0):
    return world["vms"][i]  # of the tenant the test runs as


def _tagged(world) -> set[str]:
    """The VMs tagged role=web: each tenant's first."""
    return {tenant["vms"][0]["id"] for tenant in world["tenants"].values()}


SPECIAL: dict[tuple[str, str], Callable[[dict], list[Probe]]] = {
    # Enumerations: a valid value that no row has (an unknown one is a 431 in CloudStack).
    ("listTemplates", "templatefilter"): lambda w: [Probe({"templatefilter": "sharedexecutable"})],
    ("listIsos", "isofilter"): lambda w: [Probe({"isofilter": "sharedexecutable"})],
    ("listVirtualMachines", "state"): lambda w: [Probe({"state": "Stopped"})],
    ("listPods", "allocationstate"): lambda w: [Probe({"allocationstate": "Disabled"})],
    ("listClusters", "allocationstate"): lambda w: [Probe({"allocationstate": "Disabled"})],
    ("listResourceLimits", "resourcetypename"): lambda w: [
        Probe({"resourcetypename": "template"}, lambda row: row["resourcetype"] == "4")],
    ("listResourceLimits", "resourcetype"): lambda w: [
        Probe({"resourcetype": "4"}, lambda row: row["resourcetype"] == "4")],
    ("listAccounts", "accounttype"): lambda w: [Probe({"accounttype": "2"})],
    ("listUsers", "accounttype"): lambda w: [Probe({"accounttype": "2"})],
    ("listCapacity", "type"): lambda w: [Probe({"type": "1"}, lambda row: row["type"] == 1)],
    ("listDomains", "level"): lambda w: [Probe({"level": "7"})],
    ("listServiceOfferings", "issystem"): lambda w: [Probe({"issystem": "true"})],
    ("listNetworks", "issystem"): lambda w: [Probe({"issystem": "true"})],
    ("listNetworks", "canusefordeploy"): lambda w: [Probe({"canusefordeploy": "false"})],
    # CloudStack's "false" means "do not filter" for isready: only "true" narrows.
    ("listTemplates", "isready"): lambda w: [Probe({"isready": "true"}, lambda row: row["isready"])],
    ("listIsos", "isready"): lambda w: [Probe({"isready": "true"}, lambda row: row["isready"])],
    ("listIsos", "bootable"): lambda w: [Probe({"bootable": "false"}, lambda row: not row["bootable"])],
    ("listIsos", "ispublic"): lambda w: [Probe({"ispublic": "false"}, lambda row: not row["ispublic"])],
    # Zones with at least one of the caller's VMs.
    ("listZones", "available"): lambda w: [
        Probe({"available": "false"}, lambda row: row["id"] == w["zone"]["id"])],
    # Offerings open to every zone are offered in any zone.
    ("listServiceOfferings", "zoneid"): lambda w: [
        Probe({"zoneid": w["unreferenced"]["Zone"]}, lambda row: row.get("zoneid") is None)],
    ("listDiskOfferings", "zoneid"): lambda w: [
        Probe({"zoneid": w["unreferenced"]["Zone"]}, lambda row: row.get("zoneid") is None)],
    # The offerings a VM may be scaled to: not the one it has.
    ("listServiceOfferings", "virtualmachineid"): lambda w: [
        Probe({"virtualmachineid": _vm(w)["id"]}, lambda row: row["id"] != _vm(w)["serviceofferingid"])],
    ("listVolumes", "virtualmachineid"): lambda w: [
        Probe({"virtualmachineid": _vm(w)["id"]}, lambda row: row.get("virtualmachineid") == _vm(w)["id"])],
    ("listSecurityGroups", "virtualmachineid"): lambda w: [
        Probe({"virtualmachineid": _vm(w)["id"]},
              lambda row: row["id"] in {g["id"] for g in _vm(w)["securitygroup"]})],
    ("listVirtualMachines", "tags"): lambda w: [
        Probe({"tags[0].key": NOMATCH, "tags[0].value": NOMATCH}),
        Probe({"tags[0].key": "role", "tags[0].value": "nomatch"}),
        Probe({"tags[0].key": "role", "tags[0].value": "web"}, lambda row: row["id"] in _tagged(w)),
        # CloudStack OR-s the pairs: a VM carrying one of them is listed.
        Probe({"tags[0].key": NOMATCH, "tags[0].value": NOMATCH, "tags[1].key": "role", "tags[1].value": "web"},
              lambda row: row["id"] in _tagged(w)),
    ],
    ("listUsers", "account"): lambda w: [
        Probe({"account": w["empty_account"]["name"], "domainid": w["root_domain"]["id"]},
              lambda row: row["account"] == w["empty_account"]["name"])],
    ("listResourceLimits", "account"): lambda w: [
        Probe({"account": w["empty_account"]["name"], "domainid": w["root_domain"]["id"]},
              lambda row: row.get("account") == w["empty_account"]["name"])],
    # A domain's own limits.
    ("listResourceLimits", "domainid"): lambda w: [
        Probe({"domainid": w["unreferenced"]["Domain"]},
              lambda row: row.get("domainid") == w["unreferenced"]["Domain"] and "account" not in row)],
}


# -------------------------------------------------------------------- checks


def call(cs, command: str, params: dict) -> list[dict]:
    answer = getattr(cs, command)(**params)
    rows = answer.get(ROWS_KEY.get(command) or REGISTRY[command].object_name, [])
    assert answer.get("count", 0) == len(rows), answer
    return rows


def identity(row: dict) -> tuple:
    """What tells rows apart (a template has one row per zone; tags and capacity lines have no id)."""
    return tuple(str(row.get(k)) for k in ("id", "zoneid", "podid", "clusterid", "name", "key", "resourceid",
                                           "type", "resourcetype", "domainid", "account"))


def base_params(command: str) -> dict:
    """What a plain listing needs to show everything the caller may see."""
    cmd = REGISTRY[command]
    params = {"listall": "true"} if "listall" in cmd.params else {}
    if command == "listTemplates":
        params["templatefilter"] = "all"
    if command == "listIsos":
        params["isofilter"] = "all"
    return params


@pytest.mark.parametrize("command", sorted(ALWAYS_EMPTY))
def test_lists_of_objects_this_cloud_cannot_hold_are_empty(admin_cs, world, command):
    assert getattr(admin_cs, command)(listall="true") == {}


CASES = [("admin", c) for c in list_commands() if c not in ALWAYS_EMPTY] + [
    ("user", c) for c in list_commands() if c not in ALWAYS_EMPTY and ROLE_USER in REGISTRY[c].roles]


@pytest.mark.parametrize("role, command", CASES)
def test_every_declared_filter_is_applied(admin_cs, user_cs, world, role, command):
    cs = admin_cs if role == "admin" else user_cs
    w = {**world, **world["tenants"][role]}
    # Another tenant's private template is, to this caller, an unknown id: use its own unready one.
    w["unreferenced"] = {**world["unreferenced"], "Template": w["unready_template"]["id"]}
    base = base_params(command)
    everything = call(cs, command, base)
    assert everything, f"{command} lists nothing for the {role}: no data to filter"
    failures = []
    for name, field in REGISTRY[command].params.items():
        if name in NOT_FILTERS or (role == "user" and (
                name in NOT_FOR_USERS or (command, name) in NOT_FOR_USERS or field.admin_only)):
            continue
        if (command, name) in SHARED_ONLY:
            owned = [row["id"] for row in everything if row.get("account")]
            if owned:
                failures.append(f"{command}.{name}: networks {owned} have an owner: probe this filter")
            continue
        probes = probes_for(command, name, field, w, everything)
        if probes is None:
            failures.append(f"{command}.{name}: no probe; add one, or exempt it in NOT_FILTERS with a reason")
            continue
        for probe in probes:
            params = {**base, **probe.params}
            keeps = probe.keeps or (lambda row: False)
            if all(keeps(row) for row in everything):
                failures.append(f"{command} {probe.params}: the plain listing has no row this filter leaves out")
                continue
            try:
                rows = call(cs, command, params)
            except CloudStackApiException as exc:
                failures.append(f"{command} {probe.params}: error {exc.error.get('errorcode')} "
                                f"{exc.error.get('errortext')}")
                continue
            left_in = [row for row in rows if not keeps(row)]
            if left_in:
                failures.append(f"{command} {probe.params}: {len(left_in)} of {len(rows)} rows do not match")
            missing = {identity(row) for row in everything if keeps(row)} - {identity(row) for row in rows}
            if missing:
                failures.append(f"{command} {probe.params}: matching rows missing: {sorted(missing)}")
    assert not failures, "\n".join(failures)


