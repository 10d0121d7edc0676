"""Zones, pods, clusters, hosts, primary and secondary storage, capacity (root admin's infrastructure)."""
from __future__ import annotations

from backends.api import InvalidParameterValue
from native_api import fields as f
from native_api.commands.jobs import submit
from native_api.registry import LIST, ROOT_ONLY, SUCCESS, command
from native_api.views.infra import Capacity, Cluster, Host, ImageStore, Pod, StoragePool, Zone

ZONE_ID = f.Uuid("Zone", "the Zone ID", required=True)


def _allocation(value: str | None) -> str | None:
    if value is None:
        return None
    for state in ("Enabled", "Disabled"):
        if value.lower() == state.lower():
            return state
    raise InvalidParameterValue(f"Unable to resolve Allocation State '{value}' to a supported state")


# ------------------------------------------------------------------------------ zones

@command("createZone", params={
    "name": f.String("the name of the Zone", required=True),
    "networktype": f.String("network type of the zone, can be Basic or Advanced", required=True),
    "dns1": f.String("the first DNS server for the Zone", required=True),
    "dns2": f.String("the second DNS server for the Zone"),
    "internaldns1": f.String("the first internal DNS for the Zone", required=True),
    "internaldns2": f.String("the second internal DNS for the Zone"),
    "guestcidraddress": f.String("the guest CIDR address for the Zone"),
    "domain": f.String("Network domain name for the networks in the zone"),
    "domainid": f.Uuid("Domain", "the ID of the containing domain, null for public zones"),
    "allocationstate": f.String("Allocation state of this Zone for allocation of new resources"),
    "securitygroupenabled": f.Boolean("true if network is security group enabled, false otherwise"),
    "localstorageenabled": f.Boolean("true if local storage offering enabled, false otherwise"),
}, roles=ROOT_ONLY, response=Zone, description="Creates a Zone.")
def create_zone(call):
    network_type = call.params["networktype"]
    if network_type.lower() not in ("basic", "advanced"):
        raise InvalidParameterValue(f"Invalid network type {network_type}: use Basic or Advanced")
    return call.cloud.infra.create_zone(
        call.caller, name=call.params["name"], network_type=network_type.capitalize(), dns1=call.params["dns1"],
        dns2=call.get("dns2"), internal_dns1=call.params["internaldns1"], internal_dns2=call.get("internaldns2"),
        guest_cidr=call.get("guestcidraddress"), network_domain=call.get("domain"), domain=call.get("domainid"),
        allocation_state=_allocation(call.get("allocationstate")) or "Enabled",
        security_groups_enabled=call.get("securitygroupenabled", False),
        local_storage_enabled=call.get("localstorageenabled", False))


@command("updateZone", params={
    "id": ZONE_ID,
    "name": f.String("the name of the Zone"),
    "dns1": f.String("the first DNS server for the Zone"),
    "dns2": f.String("the second DNS server for the Zone"),
    "internaldns1": f.String("the first internal DNS for the Zone"),
    "internaldns2": f.String("the second internal DNS for the Zone"),
    "guestcidraddress": f.String("the guest CIDR address for the Zone"),
    "domain": f.String("Network domain name for the networks in the zone; empty string will update domain "
                       "with NULL value"),
    "allocationstate": f.String("Allocation state of this cluster for allocation of new resources"),
    "description": f.String("the description of the Zone"),
}, roles=ROOT_ONLY, response=Zone, description="Updates a Zone.")
def update_zone(call):
    return call.cloud.infra.update_zone(
        call.caller, call.params["id"], name=call.get("name"), dns1=call.get("dns1"), dns2=call.get("dns2"),
        internal_dns1=call.get("internaldns1"), internal_dns2=call.get("internaldns2"),
        allocation_state=_allocation(call.get("allocationstate")), description=call.get("description"),
        network_domain=call.get("domain"), guest_cidr=call.get("guestcidraddress"))


@command("deleteZone", params={"id": ZONE_ID}, roles=ROOT_ONLY, shape=SUCCESS, description="Deletes a Zone.")
def delete_zone(call):
    call.cloud.infra.delete_zone(call.caller, call.params["id"])


@command("listZones", params={
    "id": f.Uuid("Zone", "the ID of the zone"),
    "ids": f.List("the IDs of the zones, mutually exclusive with id", entity="Zone"),
    "name": f.String("the name of the zone"),
    "available": f.Boolean("true if you want to retrieve all available Zones. False if you only want to return "
                           "the Zones from which you have at least one VM. Default is false."),
    "networktype": f.String("the network type of the zone that the virtual machine belongs to"),
    "domainid": f.Uuid("Domain", "the ID of the domain associated with the zone"),
    "showcapacities": f.Boolean("flag to display the capacity of the zones"),
}, shape=LIST, response=Zone, description="Lists zones")
def list_zones(call):
    return call.cloud.infra.list_zones(
        call.caller, id=call.get("id"), ids=call.get("ids"), name=call.get("name"),
        available=call.params.get("available"), network_type=call.get("networktype"), domain=call.get("domainid"),
        keyword=call.get("keyword"), **call.paging())


# ------------------------------------------------------------------------------- pods

@command("createPod", params={
    "zoneid": f.Uuid("Zone", "the Zone ID in which the Pod will be created", required=True),
    "name": f.String("the name of the Pod", required=True),
    "gateway": f.String("the gateway for the Pod"),
    "netmask": f.String("the netmask for the Pod"),
    "startip": f.String("the starting IP address for the Pod"),
    "endip": f.String("the ending IP address for the Pod"),
    "allocationstate": f.String("Allocation state of this Pod for allocation of new resources"),
}, roles=ROOT_ONLY, response=Pod, description="Creates a new Pod.")
def create_pod(call):
    return call.cloud.infra.create_pod(
        call.caller, call.params["zoneid"], name=call.params["name"], gateway=call.get("gateway"),
        netmask=call.get("netmask"), start_ip=call.get("startip"), end_ip=call.get("endip"),
        allocation_state=_allocation(call.get("allocationstate")) or "Enabled")


@command("listPods", params={
    "id": f.Uuid("Pod", "list Pods by ID"),
    "name": f.String("list Pods by name"),
    "zoneid": f.Uuid("Zone", "list Pods by Zone ID"),
    "allocationstate": f.String("list pods by allocation state"),
    "showcapacities": f.Boolean("flag to display the capacity of the pods"),
}, roles=ROOT_ONLY, shape=LIST, response=Pod, description="Lists all Pods.")
def list_pods(call):
    return call.cloud.infra.list_pods(
        call.caller, id=call.get("id"), name=call.get("name"), zone=call.get("zoneid"),
        allocation_state=_allocation(call.get("allocationstate")), keyword=call.get("keyword"), **call.paging())


# --------------------------------------------------------------------------- clusters

@command("addCluster", params={
    "clustername": f.String("the cluster name", required=True),
    "clustertype": f.String("type of the cluster: CloudManaged, ExternalManaged", required=True),
    "hypervisor": f.String("hypervisor type of the cluster: XenServer,KVM,VMware,Hyperv,BareMetal,Simulator,Ovm3",
                           required=True),
    "zoneid": f.Uuid("Zone", "the Zone ID for the cluster", required=True),
    "podid": f.Uuid("Pod", "the Pod ID for the host", required=True),
    "allocationstate": f.String("Allocation state of this cluster for allocation of new resources"),
    "url": f.String("the URL"),
    "username": f.String("the username for the cluster"),
    "password": f.String("the password for the host"),
}, roles=ROOT_ONLY, shape=LIST, response=Cluster, description="Adds a new cluster")
def add_cluster(call):
    cluster = call.cloud.infra.add_cluster(
        call.caller, call.params["zoneid"], call.params["podid"], name=call.params["clustername"],
        hypervisor=call.params["hypervisor"], cluster_type=call.params["clustertype"],
        allocation_state=_allocation(call.get("allocationstate")) or "Enabled")
    return 1, [cluster]


@command("listClusters", params={
    "id": f.Uuid("Cluster", "lists clusters by the cluster ID"),
    "name": f.String("lists clusters by the cluster name"),
    "podid": f.Uuid("Pod", "lists clusters by Pod ID"),
    "zoneid": f.Uuid("Zone", "lists clusters by Zone ID"),
    "hypervisor": f.String("lists clusters by hypervisor type"),
    "clustertype": f.String("lists clusters by cluster type"),
    "allocationstate": f.String("lists clusters by allocation state"),
    "managedstate": f.String("whether this cluster is managed by cloudstack"),
    "showcapacities": f.Boolean("flag to display the capacity of the clusters"),
}, roles=ROOT_ONLY, shape=LIST, response=Cluster, description="Lists clusters.")
def list_clusters(call):
    return call.cloud.infra.list_clusters(
        call.caller, id=call.get("id"), name=call.get("name"), zone=call.get("zoneid"), pod=call.get("podid"),
        hypervisor=call.get("hypervisor"), allocation_state=_allocation(call.get("allocationstate")),
        cluster_type=call.get("clustertype"), managed_state=call.get("managedstate"), keyword=call.get("keyword"),
        **call.paging())


# ------------------------------------------------------------------------------ hosts

@command("addHost", params={
    "zoneid": f.Uuid("Zone", "the Zone ID for the host", required=True),
    "podid": f.Uuid("Pod", "the Pod ID for the host", required=True),
    "url": f.String("the host URL", required=True, length=2048),
    "hypervisor": f.String("hypervisor type of the host", required=True),
    "clusterid": f.Uuid("Cluster", "the cluster ID for the host"),
    "clustername": f.String("the cluster name for the host"),
    "username": f.String("the username for the host; required to be passed for hypervisors other than "
                         "VMWare"),
    "password": f.String("the password for the host; required to be passed for hypervisors other than "
                         "VMWare"),
    "hosttags": f.List("list of tags to be added to the host", length=1024),
    "allocationstate": f.String("Allocation state of this Host for allocation of new resources"),
}, roles=ROOT_ONLY, shape=LIST, response=Host, description="Adds a new host.")
def add_host(call):
    cloud, zone, pod = call.cloud, call.params["zoneid"], call.params["podid"]
    cluster = call.get("clusterid")
    if cluster is None:
        if not call.get("clustername"):
            raise InvalidParameterValue("Either clusterid or clustername must be specified")
        cluster = cloud.infra.add_cluster(call.caller, zone, pod, name=call.params["clustername"],
                                          hypervisor=call.params["hypervisor"])
    host = cloud.infra.add_host(call.caller, zone, pod, url=call.params["url"],
                                hypervisor=call.params["hypervisor"], cluster=cluster,
                                host_tags=",".join(call.get("hosttags", [])), username=call.get("username"),
                                password=call.get("password"))
    if _allocation(call.get("allocationstate")) == "Disabled":
        host = cloud.infra.update_host(call.caller, host, allocation_state="Disable")
    return 1, [host]


@command("listHosts", params={
    "id": f.Uuid("Host", "the id of the host"),
    "name": f.String("the name of the host"),
    "zoneid": f.Uuid("Zone", "the Zone ID for the host"),
    "podid": f.Uuid("Pod", "the Pod ID for the host"),
    "clusterid": f.Uuid("Cluster", "lists hosts existing in particular cluster"),
    "type": f.String("the host type"),
    "state": f.String("the state of the host"),
    "resourcestate": f.String("list hosts by resource state. Resource state represents current state "
                              "determined by admin of host, value can be one of [Enabled, Disabled, Unmanaged, "
                              "PrepareForMaintenance, ErrorInMaintenance, Maintenance, Error]"),
    "hypervisor": f.String("hypervisor type of host: XenServer,KVM,VMware,Hyperv,BareMetal,Simulator"),
    "details": f.List("comma separated list of host details requested, value can be a list of [ min, all, "
                      "capacity, events, stats]"),
}, roles=ROOT_ONLY, shape=LIST, response=Host, description="Lists hosts.")
def list_hosts(call):
    return call.cloud.infra.list_hosts(
        call.caller, id=call.get("id"), name=call.get("name"), zone=call.get("zoneid"), pod=call.get("podid"),
        cluster=call.get("clusterid"), host_type=call.get("type"), state=call.get("state"),
        resource_state=call.get("resourcestate"), hypervisor=call.get("hypervisor"), keyword=call.get("keyword"),
        **call.paging())


@command("updateHost", params={
    "id": f.Uuid("Host", "the ID of the host to update", required=True),
    "allocationstate": f.String("Change resource state of host, valid values are [Enable, Disable]. Operation "
                                "may failed if host in states not allowing Enable/Disable"),
    "hosttags": f.List("list of tags to be added to the host", length=1024),
}, roles=ROOT_ONLY, response=Host, description="Updates a host.")
def update_host(call):
    state = call.get("allocationstate")
    if state is not None and state.lower() not in ("enable", "disable"):
        raise InvalidParameterValue(f"Invalid allocation state {state}: valid values are Enable, Disable")
    tags = call.params.get("hosttags")
    return call.cloud.infra.update_host(call.caller, call.params["id"],
                                        allocation_state=state.capitalize() if state else None,
                                        host_tags=",".join(tags) if tags is not None else None)


@command("prepareHostForMaintenance", params={"id": f.Uuid("Host", "the host ID", required=True)},
         roles=ROOT_ONLY, isasync=True, response=Host, description="Prepares a host for maintenance.")
def prepare_host_for_maintenance(call):
    host = call.params["id"]
    return submit(call, call.cloud.infra.prepare_maintenance_work(call.caller, host), instance=host, instance_type="Host",
                  sync_key=f"host:{host.id}")


@command("cancelHostMaintenance", params={"id": f.Uuid("Host", "the host ID", required=True)},
         roles=ROOT_ONLY, isasync=True, response=Host, description="Cancels host maintenance.")
def cancel_host_maintenance(call):
    host = call.params["id"]
    return submit(call, call.cloud.infra.cancel_maintenance_work(call.caller, host), instance=host, instance_type="Host",
                  sync_key=f"host:{host.id}")


# --------------------------------------------------------------------------- storage

@command("createStoragePool", params={
    "name": f.String("the name for the storage pool", required=True),
    "url": f.String("the URL of the storage pool", required=True, length=2048),
    "zoneid": f.Uuid("Zone", "the Zone ID for the storage pool", required=True),
    "podid": f.Uuid("Pod", "the Pod ID for the storage pool"),
    "clusterid": f.Uuid("Cluster", "the cluster ID for the storage pool"),
    "scope": f.String("the scope of the storage: cluster or zone"),
    "hypervisor": f.String("hypervisor type of the hosts in zone that will be attached to this storage pool. "
                           "KVM, VMware supported as of now."),
    "provider": f.String("the storage provider name"),
    "capacitybytes": f.Long("bytes CloudStack can provision from this storage pool", minimum=0),
    "tags": f.String("the tags for the storage pool"),
}, roles=ROOT_ONLY, response=StoragePool, description="Creates a storage pool.")
def create_storage_pool(call):
    return call.cloud.infra.create_storage_pool(
        call.caller, call.params["zoneid"], name=call.params["name"], url=call.params["url"],
        scope=(call.get("scope") or ("CLUSTER" if call.get("clusterid") else "ZONE")).upper(),
        pod=call.get("podid"), cluster=call.get("clusterid"), capacity_bytes=call.get("capacitybytes"),
        tags=call.get("tags", ""), hypervisor=call.get("hypervisor"),
        provider=call.get("provider", "DefaultPrimary"))


@command("listStoragePools", params={
    "id": f.Uuid("StoragePool", "the ID of the storage pool"),
    "name": f.String("the name of the storage pool"),
    "zoneid": f.Uuid("Zone", "the Zone ID for the storage pool"),
    "podid": f.Uuid("Pod", "the Pod ID for the storage pool"),
    "clusterid": f.Uuid("Cluster", "list storage pools belongig to the specific cluster"),
    "scope": f.String("the scope of the storage pool"),
    "ipaddress": f.String("the IP address for the storage pool"),
    "path": f.String("the storage pool path"),
}, roles=ROOT_ONLY, shape=LIST, response=StoragePool, description="Lists storage pools.")
def list_storage_pools(call):
    return call.cloud.infra.list_storage_pools(
        call.caller, id=call.get("id"), name=call.get("name"), zone=call.get("zoneid"), pod=call.get("podid"),
        cluster=call.get("clusterid"), scope=(call.get("scope") or "").upper() or None,
        ip_address=call.get("ipaddress"), path=call.get("path"), keyword=call.get("keyword"), **call.paging())


@command("addImageStore", params={
    "name": f.String("the name for the image store"),
    "url": f.String("the URL for the image store", length=2048),
    "provider": f.String("the image store provider name", required=True),
    "zoneid": f.Uuid("Zone", "the Zone ID for the image store"),
    "details": f.Map("the details for the image store. Example: details[0].key=accesskey&details[0].value=s389"
                     "ddssaa&details[1].key=secretkey&details[1].value=8dshfsss"),
}, roles=ROOT_ONLY, response=ImageStore, description="Adds backup image store.")
def add_image_store(call):
    url = call.get("url")
    if not url:
        raise InvalidParameterValue("Unable to execute API command addimagestore due to missing parameter url")
    return call.cloud.infra.add_image_store(call.caller, name=call.get("name") or url, url=url,
                                            zone=call.get("zoneid"), provider=call.params["provider"])


@command("listImageStores", params={
    "id": f.Uuid("ImageStore", "the ID of the storage pool"),
    "name": f.String("the name of the image store"),
    "zoneid": f.Uuid("Zone", "the Zone ID for the image store"),
    "provider": f.String("the image store provider"),
    "protocol": f.String("the image store protocol"),
}, roles=ROOT_ONLY, shape=LIST, response=ImageStore, description="Lists image stores.")
def list_image_stores(call):
    return call.cloud.infra.list_image_stores(
        call.caller, id=call.get("id"), name=call.get("name"), zone=call.get("zoneid"),
        provider=call.get("provider"), protocol=call.get("protocol"), keyword=call.get("keyword"),
        **call.paging())


@command("listCapacity", params={
    "zoneid": f.Uuid("Zone", "lists capacity by the Zone ID"),
    "podid": f.Uuid("Pod", "lists capacity by the Pod ID"),
    "clusterid": f.Uuid("Cluster", "lists capacity by the Cluster ID"),
    "type": f.Integer("lists capacity by type* CAPACITY_TYPE_MEMORY = 0* CAPACITY_TYPE_CPU = 1* "
                      "CAPACITY_TYPE_STORAGE = 2* CAPACITY_TYPE_STORAGE_ALLOCATED = 3* "
                      "CAPACITY_TYPE_SECONDARY_STORAGE = 6* CAPACITY_TYPE_DIRECT_ATTACHED_PUBLIC_IP = 8* "
                      "CAPACITY_TYPE_CPU_CORE = 90."),
    "sortby": f.String("Sort the results. Available values: Usage"),
    "fetchlatest": f.Boolean("recalculate capacities and fetch the latest"),
}, roles=ROOT_ONLY, shape=LIST, response=Capacity, description="Lists all the system wide capacities.")
def list_capacity(call):
    rows = call.cloud.infra.list_capacity(call.caller, zone=call.get("zoneid"), pod=call.get("podid"),
                                          cluster=call.get("clusterid"), capacity_type=call.get("type"),
                                          sort_by=call.get("sortby"), keyword=call.get("keyword"))
    size, page = call.get("pagesize"), call.get("page", 1)
    return len(rows), rows[(page - 1) * size: page * size] if size else rows
