"""Infrastructure, accounts, offerings and templates through the unmodified `cs` library."""
from __future__ import annotations

import uuid

import pytest

from conformance.conftest import wait_template_ready
from cs import CloudStack, CloudStackApiException

from conformance.test_cs_client import pick, wait_job


def _error(call, **params):
    with pytest.raises(CloudStackApiException) as info:
        call(**params)
    return info.value.error


def test_infrastructure_listings(admin_cs):
    zones = admin_cs.listZones()["zone"]
    zone = next(z for z in zones if z["name"] == "us-east-1a")
    pods = admin_cs.listPods(zoneid=zone["id"])["pod"]
    assert [p["name"] for p in pods] == ["us-east-1a-pod1"]
    clusters = admin_cs.listClusters(zoneid=zone["id"])["cluster"]
    assert sorted(c["name"] for c in clusters) == ["us-east-1a-cluster1", "us-east-1a-cluster2"]
    assert all(c["hypervisortype"] == "Simulator" for c in clusters)
    hosts = admin_cs.listHosts(zoneid=zone["id"], type="Routing")
    assert hosts["count"] == 8
    host = hosts["host"][0]
    assert host["state"] == "Up" and host["resourcestate"] == "Enabled"
    assert host["cpunumber"] == 64 and host["memorytotal"] == 256 << 30
    pools = admin_cs.listStoragePools(zoneid=zone["id"])["storagepool"]
    assert len(pools) == 2 and all(p["scope"] == "CLUSTER" for p in pools)
    stores = admin_cs.listImageStores(zoneid=zone["id"])["imagestore"]
    assert len(stores) == 1 and stores[0]["protocol"] == "nfs"
    capacity = admin_cs.listCapacity(zoneid=zone["id"])["capacity"]
    memory = next(c for c in capacity if c["type"] == 0)
    assert memory["capacitytotal"] == 8 * (256 << 30)
    regions = admin_cs.listRegions()["region"]
    assert regions[0]["name"] == "us-east-1"


def test_users_cannot_call_admin_commands(user_cs):
    error = _error(user_cs.listHosts)
    assert error["errorcode"] == 432


def test_zone_pod_cluster_host_storage_create(admin_cs):
    suffix = uuid.uuid4().hex[:6]
    zone = admin_cs.createZone(name=f"lab-{suffix}", networktype="Basic", dns1="1.1.1.1",
                               internaldns1="10.0.0.2")["zone"]
    assert zone["allocationstate"] == "Enabled"
    pod = admin_cs.createPod(zoneid=zone["id"], name="pod1", gateway="172.30.0.1", netmask="255.255.0.0",
                             startip="172.30.0.10", endip="172.30.0.200")["pod"]
    cluster = admin_cs.addCluster(zoneid=zone["id"], podid=pod["id"], clustername="c1", clustertype="CloudManaged",
                                  hypervisor="Simulator")["cluster"][0]
    host = admin_cs.addHost(zoneid=zone["id"], podid=pod["id"], clusterid=cluster["id"], hypervisor="Simulator",
                            url=f"http://sim/lab-{suffix}/h1?cpucore=8&cpuspeed=2000&memory={16 << 30}",
                            username="root", password="secret")["host"][0]
    assert host["cpunumber"] == 8 and host["state"] == "Up"
    pool = admin_cs.createStoragePool(zoneid=zone["id"], podid=pod["id"], clusterid=cluster["id"], name="ps1",
                                      url=f"nfs://10.0.0.5/export/lab-{suffix}")["storagepool"]
    assert pool["scope"] == "CLUSTER"
    store = admin_cs.addImageStore(zoneid=zone["id"], provider="NFS", name="ss1",
                                   url=f"nfs://10.0.0.6/export/ss-{suffix}")["imagestore"]
    assert store["zoneid"] == zone["id"]

    updated = admin_cs.updateHost(id=host["id"], allocationstate="Disable")["host"]
    assert updated["resourcestate"] == "Disabled"
    admin_cs.updateHost(id=host["id"], allocationstate="Enable")
    job = wait_job(admin_cs, admin_cs.prepareHostForMaintenance(id=host["id"])["jobid"])
    assert job["jobstatus"] == 1 and job["jobresult"]["host"]["resourcestate"] == "Maintenance"
    job = wait_job(admin_cs, admin_cs.cancelHostMaintenance(id=host["id"])["jobid"])
    assert job["jobresult"]["host"]["resourcestate"] == "Enabled"

    error = _error(admin_cs.deleteZone, id=zone["id"])
    assert error["errorcode"] in (431, 530, 536) and "pod" in error["errortext"].lower()
    renamed = admin_cs.updateZone(id=zone["id"], name=f"lab2-{suffix}")["zone"]
    assert renamed["name"] == f"lab2-{suffix}"
    duplicate = _error(admin_cs.createZone, name=f"lab2-{suffix}", networktype="Basic", dns1="1.1.1.1",
                       internaldns1="10.0.0.2")
    assert duplicate["errorcode"] == 431


def test_domain_account_user_keys_and_tenant_isolation(server, admin_cs, user_cs):
    suffix = uuid.uuid4().hex[:6]
    domain = admin_cs.createDomain(name=f"eng-{suffix}")["domain"]
    assert domain["path"] == f"ROOT/eng-{suffix}"
    account = admin_cs.createAccount(username=f"ann-{suffix}", password="pw", email="a@example.com",
                                     firstname="Ann", lastname="Lee", accounttype=0, domainid=domain["id"],
                                     account=f"team-{suffix}")["account"]
    assert account["name"] == f"team-{suffix}" and account["user"][0]["username"] == f"ann-{suffix}"
    user = account["user"][0]
    keys = admin_cs.registerUserKeys(id=user["id"])["userkeys"]
    assert admin_cs.getUserKeys(id=user["id"])["userkeys"]["apikey"] == keys["apikey"]
    tenant = CloudStack(endpoint=server.api_url, key=keys["apikey"], secret=keys["secretkey"])
    assert tenant.listAccounts()["account"][0]["id"] == account["id"]
    second = admin_cs.createUser(account=f"team-{suffix}", domainid=domain["id"], username=f"bob-{suffix}",
                                 password="pw", email="b@example.com", firstname="Bob", lastname="Ng")["user"]
    assert second["accountid"] == account["id"]

    # The tenant's VM is invisible and untouchable for the demo user, and the other way round.
    zone, offering, template = pick(tenant)
    deployed = tenant.deployVirtualMachine(zoneid=zone["id"], serviceofferingid=offering["id"],
                                           templateid=template["id"], startvm=False)
    assert wait_job(tenant, deployed["jobid"])["jobstatus"] == 1
    assert _error(user_cs.listVirtualMachines, id=deployed["id"])["errorcode"] == 431  # as an unknown id
    denied = _error(user_cs.startVirtualMachine, id=deployed["id"])
    assert denied["errorcode"] == 431 and "entity does not exist" in denied["errortext"]
    assert {vm["account"] for vm in tenant.listVirtualMachines(listall=True)["virtualmachine"]} == {f"team-{suffix}"}
    assert _error(tenant.listUsers, id=admin_cs.listUsers(username="admin", listall=True)["user"][0]["id"])

    # Deleting the account expunges its VMs and revokes its keys.
    job = wait_job(admin_cs, admin_cs.deleteAccount(id=account["id"])["jobid"])
    assert job["jobstatus"] == 1, job
    assert not admin_cs.listVirtualMachines(id=deployed["id"], listall=True)
    assert _error(tenant.listZones)["errorcode"] == 401


def test_resource_limit_stops_a_deploy(admin_cs, server):
    suffix = uuid.uuid4().hex[:6]
    account = admin_cs.createAccount(username=f"lim-{suffix}", password="pw", email="l@example.com",
                                     firstname="Lim", lastname="It", accounttype=0)["account"]
    keys = admin_cs.registerUserKeys(id=account["user"][0]["id"])["userkeys"]
    tenant = CloudStack(endpoint=server.api_url, key=keys["apikey"], secret=keys["secretkey"])
    limit = admin_cs.updateResourceLimit(resourcetype=0, max=1, account=account["name"],
                                         domainid=account["domainid"])["resourcelimit"]
    assert limit["max"] == 1 and limit["resourcetype"] == "0"
    limits = {r["resourcetype"]: r["max"] for r in tenant.listResourceLimits()["resourcelimit"]}
    assert limits["0"] == 1
    zone, offering, template = pick(tenant)
    first = tenant.deployVirtualMachine(zoneid=zone["id"], serviceofferingid=offering["id"],
                                        templateid=template["id"], startvm=False)
    assert wait_job(tenant, first["jobid"])["jobstatus"] == 1
    error = _error(tenant.deployVirtualMachine, zoneid=zone["id"], serviceofferingid=offering["id"],
                   templateid=template["id"], startvm=False)
    assert error["errorcode"] == 535


def test_offerings(admin_cs, user_cs):
    name = f"tiny-{uuid.uuid4().hex[:6]}"
    offering = admin_cs.createServiceOffering(name=name, displaytext="Tiny", cpunumber=1, cpuspeed=500,
                                              memory=256)["serviceoffering"]
    assert offering["cpunumber"] == 1 and offering["memory"] == 256
    assert any(o["id"] == offering["id"] for o in user_cs.listServiceOfferings()["serviceoffering"])
    assert _error(user_cs.createServiceOffering, name="nope", cpunumber=1, cpuspeed=1, memory=64)["errorcode"] == 432
    assert _error(admin_cs.createServiceOffering, name="bad", cpunumber=1, cpuspeed=500, memory=1)["errorcode"] == 431
    admin_cs.deleteServiceOffering(id=offering["id"])
    assert not [o for o in user_cs.listServiceOfferings()["serviceoffering"] if o["id"] == offering["id"]]

    disk = admin_cs.createDiskOffering(name=f"d-{name}", displaytext="d", disksize=7)["diskoffering"]
    assert disk["disksize"] == 7
    assert any(d["id"] == disk["id"] for d in user_cs.listDiskOfferings()["diskoffering"])
    os_types = user_cs.listOsTypes()["ostype"]
    assert any(o["description"] == "Ubuntu 22.04 LTS (64-bit)" for o in os_types)


def test_register_template_download_and_delete(user_cs, admin_cs):
    zone = user_cs.listZones()["zone"][0]
    os_type = user_cs.listOsTypes(keyword="Debian")["ostype"][0]
    registered = user_cs.registerTemplate(name="my-image", displaytext="mine", format="QCOW2",
                                          hypervisor="Simulator", ostypeid=os_type["id"], zoneid=zone["id"],
                                          url="http://images.example.org/my-image.qcow2")
    template = registered["template"][0]
    assert registered["count"] == 1 and template["zoneid"] == zone["id"]
    listed = wait_template_ready(user_cs, template["id"])
    assert listed["isready"] and listed["status"] == "Download Complete"
    assert not any(t["id"] == template["id"] for t in user_cs.listTemplates(templatefilter="featured")["template"])

    # Scheme validation answers 431 before anything is stored.
    error = _error(user_cs.registerTemplate, name="broken", displaytext="x", format="QCOW2",
                   hypervisor="Simulator", ostypeid=os_type["id"], zoneid=zone["id"], url="gopher://nowhere/x")
    assert error["errorcode"] == 431

    job = wait_job(user_cs, user_cs.deleteTemplate(id=template["id"])["jobid"])
    assert job["jobstatus"] == 1
    assert not user_cs.listTemplates(templatefilter="self", id=template["id"])


def test_networks_and_empty_nat_listings(user_cs):
    networks = user_cs.listNetworks()["network"]
    assert {n["zonename"] for n in networks} == {"us-east-1a", "us-east-1b"}
    assert all(n["type"] == "Shared" and n["canusefordeploy"] for n in networks)
    assert user_cs.listPublicIpAddresses() == {}
    assert user_cs.listPortForwardingRules() == {}


def test_tenants_cannot_see_or_touch_each_others_vms(server, admin_cs, user_cs):
    suffix = uuid.uuid4().hex[:6]
    account = admin_cs.createAccount(username=f"iso-{suffix}", password="pw", email="i@example.com",
                                     firstname="Iso", lastname="Lated", accounttype=0)["account"]
    keys = admin_cs.registerUserKeys(id=account["user"][0]["id"])["userkeys"]
    tenant = CloudStack(endpoint=server.api_url, key=keys["apikey"], secret=keys["secretkey"])
    zone, offering, template = pick(tenant)
    deployed = tenant.deployVirtualMachine(zoneid=zone["id"], serviceofferingid=offering["id"],
                                           templateid=template["id"], startvm=False)
    assert wait_job(tenant, deployed["jobid"])["jobstatus"] == 1
    vm_id = deployed["id"]
    for command, params in (("startVirtualMachine", {}), ("stopVirtualMachine", {}),
                            ("rebootVirtualMachine", {}), ("destroyVirtualMachine", {}),
                            ("updateVirtualMachine", {"displayname": "mine"}),
                            ("scaleVirtualMachine", {"serviceofferingid": offering["id"]})):
        error = _error(getattr(user_cs, command), id=vm_id, **params)
        # As if it did not exist: the unknown-id answer, nothing of the other tenant's.
        assert error["errorcode"] == 431 and "entity does not exist" in error["errortext"], (command, error)
        assert f"iso-{suffix}" not in error["errortext"], (command, error)
    assert _error(user_cs.listVirtualMachines, id=vm_id, listall=True)["errorcode"] == 431  # as an unknown id
    assert _error(user_cs.listVolumes, virtualmachineid=vm_id, listall=True)["errorcode"] == 431
    assert not user_cs.listEvents(resourceid=vm_id, listall=True)
    error = _error(user_cs.queryAsyncJobResult, jobid=deployed["jobid"])
    assert error["errorcode"] == 431
    assert tenant.listVirtualMachines(id=vm_id)["virtualmachine"][0]["state"] == "Stopped"
