"""Regions' physical side as CloudStack shows it: zones, pods, clusters, hosts, storage, capacity."""
from __future__ import annotations

from marshmallow import fields

from native_api.views import Date, Fn, Ref, View

GiB = 1 << 30


class Zone(View):
    class Meta(View.Meta):
        object_name = "zone"
        admin_fields = ("internaldns1", "internaldns2", "guestcidraddress")

    id = fields.String(attribute="uuid")
    name = fields.String()
    description = fields.String()
    dns1 = fields.String()
    dns2 = fields.String()
    internaldns1 = fields.String(attribute="internal_dns1")
    internaldns2 = fields.String(attribute="internal_dns2")
    guestcidraddress = fields.String(attribute="guest_cidr")
    networktype = fields.String(attribute="network_type")
    securitygroupsenabled = fields.Boolean(attribute="security_groups_enabled")
    allocationstate = fields.String(attribute="allocation_state")
    zonetoken = Fn(lambda z: z.uuid.replace("-", "")[:16])
    dhcpprovider = Fn(lambda z: "VirtualRouter")
    localstorageenabled = fields.Boolean(attribute="local_storage_enabled")
    domain = Ref("domain.name")
    domainid = Ref("domain.uuid")
    domainname = Ref("domain.name")
    networkdomain = fields.String(attribute="network_domain")
    created = Date()
    tags = Fn(lambda z: [], cs_type="list")
    resourcedetails = Fn(lambda z: {}, cs_type="map")


class Pod(View):
    class Meta(View.Meta):
        object_name = "pod"

    id = fields.String(attribute="uuid")
    name = fields.String()
    zoneid = Ref("zone.uuid")
    zonename = Ref("zone.name")
    gateway = fields.String()
    netmask = fields.String()
    startip = Fn(lambda p: [p.start_ip] if p.start_ip else [], cs_type="list")
    endip = Fn(lambda p: [p.end_ip or p.start_ip] if p.start_ip else [], cs_type="list")
    allocationstate = fields.String(attribute="allocation_state")


class Cluster(View):
    class Meta(View.Meta):
        object_name = "cluster"

    id = fields.String(attribute="uuid")
    name = fields.String()
    podid = Ref("pod.uuid")
    podname = Ref("pod.name")
    zoneid = Ref("zone.uuid")
    zonename = Ref("zone.name")
    hypervisortype = fields.String(attribute="hypervisor")
    clustertype = fields.String(attribute="cluster_type")
    allocationstate = fields.String(attribute="allocation_state")
    managedstate = fields.String(attribute="managed_state")
    cpuovercommitratio = Fn(lambda c: f"{c.cpu_overcommit:g}")
    memoryovercommitratio = Fn(lambda c: f"{c.memory_overcommit:g}")
    arch = Fn(lambda c: "x86_64")


def _usage(host) -> dict:
    """Allocated and total CPU/memory from the host's capacity rows."""
    usage = {}
    for row in host.capacities:
        kind = "cpu" if row.capacity_type == 1 else "mem"
        usage[kind] = row
    return usage


def _cpu_allocated(host) -> str:
    row = _usage(host).get("cpu")
    return "0%" if row is None or not row.total else f"{100.0 * row.used / row.total:.2f}%"


def _mem_allocated(host):
    row = _usage(host).get("mem")
    return 0 if row is None else row.used


class Host(View):
    class Meta(View.Meta):
        object_name = "host"

    id = fields.String(attribute="uuid")
    name = fields.String()
    state = fields.String(attribute="status")
    resourcestate = fields.String(attribute="resource_state")
    type = fields.String(attribute="host_type")
    ipaddress = fields.String(attribute="ip_address")
    zoneid = Ref("zone.uuid")
    zonename = Ref("zone.name")
    podid = Ref("pod.uuid")
    podname = Ref("pod.name")
    clusterid = Ref("cluster.uuid")
    clustername = Ref("cluster.name")
    clustertype = Ref("cluster.cluster_type")
    hypervisor = fields.String()
    hypervisorversion = fields.String(attribute="hypervisor_version")
    cpusockets = fields.Integer(attribute="cpu_sockets")
    cpunumber = fields.Integer(attribute="cpu_cores")
    cpuspeed = fields.Integer(attribute="cpu_speed")
    cpuallocated = Fn(_cpu_allocated)
    cpuallocatedvalue = Fn(lambda h: getattr(_usage(h).get("cpu"), "used", 0), "long")
    cpuwithoverprovisioning = Fn(lambda h: str(getattr(_usage(h).get("cpu"), "capacity_limit", 0)))
    memorytotal = fields.Integer(attribute="memory_bytes")
    memoryallocated = Fn(_mem_allocated, "long")
    memorywithoverprovisioning = Fn(lambda h: str(getattr(_usage(h).get("mem"), "capacity_limit", 0)))
    hosttags = Fn(lambda h: h.host_tags or None)
    capabilities = fields.String()
    lastpinged = Date(attribute="last_ping")
    disconnected = Date()
    created = Date()
    removed = Date()
    version = Fn(lambda h: "4.20.0")
    events = Fn(lambda h: "PingTimeout; AgentConnected; Ping; HostDown; ShutdownRequested; AgentDisconnected")
    arch = Fn(lambda h: "x86_64")


class StoragePool(View):
    class Meta(View.Meta):
        object_name = "storagepool"

    id = fields.String(attribute="uuid")
    name = fields.String()
    zoneid = Ref("zone.uuid")
    zonename = Ref("zone.name")
    podid = Ref("pod.uuid")
    podname = Ref("pod.name")
    clusterid = Ref("cluster.uuid")
    clustername = Ref("cluster.name")
    scope = fields.String()
    type = fields.String(attribute="pool_type")
    ipaddress = fields.String(attribute="host_address")
    path = fields.String()
    provider = fields.String()
    hypervisor = fields.String()
    tags = Fn(lambda p: p.tags or None)
    disksizetotal = fields.Integer(attribute="capacity_bytes")
    disksizeallocated = fields.Integer(attribute="allocated_bytes")
    disksizeused = fields.Integer(attribute="used_bytes")
    state = fields.String(attribute="status")
    created = Date()
    overprovisionfactor = Fn(lambda p: None)


class ImageStore(View):
    class Meta(View.Meta):
        object_name = "imagestore"

    id = fields.String(attribute="uuid")
    name = fields.String()
    zoneid = Ref("zone.uuid")
    zonename = Ref("zone.name")
    url = fields.String()
    protocol = fields.String()
    providername = fields.String(attribute="provider")
    scope = fields.String()
    readonly = fields.Boolean()
    disksizetotal = fields.Integer(attribute="capacity_bytes")
    disksizeused = fields.Integer(attribute="used_bytes")


CAPACITY_NAMES = {0: "MEMORY", 1: "CPU", 2: "STORAGE", 3: "STORAGE_ALLOCATED", 4: "VIRTUAL_NETWORK_PUBLIC_IP",
                  5: "PRIVATE_IP", 6: "SECONDARY_STORAGE", 7: "VLAN", 8: "DIRECT_ATTACHED_PUBLIC_IP",
                  9: "LOCAL_STORAGE", 90: "CPU_CORE"}


class Capacity(View):
    class Meta(View.Meta):
        object_name = "capacity"

    type = fields.Integer(attribute="capacity_type")
    name = Fn(lambda c: CAPACITY_NAMES.get(c.capacity_type, str(c.capacity_type)))
    zoneid = Ref("zone.uuid")
    zonename = Ref("zone.name")
    podid = Ref("pod.uuid")
    podname = Ref("pod.name")
    clusterid = Ref("cluster.uuid")
    clustername = Ref("cluster.name")
    capacityused = fields.Integer(attribute="used")
    capacitytotal = fields.Integer(attribute="total")
    percentused = Fn(lambda c: f"{c.percent_used:.2f}")
