"""Virtual machines, NICs and volumes as CloudStack shows them."""
from __future__ import annotations

import json

from marshmallow import fields

from native_api.views import Date, Fn, Ref, View
from native_api.views.securitygroups import vm_groups
from native_api.views.tags import tag_list


class Nic(View):
    class Meta(View.Meta):
        object_name = "nic"

    id = fields.String(attribute="uuid")
    networkid = Ref("network.uuid")
    networkname = Ref("network.name")
    netmask = fields.String()
    gateway = fields.String()
    ipaddress = fields.String(attribute="ip_address")
    isdefault = fields.Boolean(attribute="is_default")
    macaddress = fields.String(attribute="mac_address")
    deviceid = Fn(lambda n: str(n.device_id))
    traffictype = fields.String(attribute="traffic_type")
    type = Ref("network.guest_type")
    virtualmachineid = Ref("vm.uuid")
    broadcasturi = fields.String(attribute="broadcast_uri")
    isolationuri = fields.String(attribute="isolation_uri")
    secondaryip = Fn(lambda n: [], cs_type="list")
    extradhcpoption = Fn(lambda n: [], cs_type="list")


def _root(vm):
    for volume in vm.volumes:
        if volume.volume_type == "ROOT" and volume.removed is None:
            return volume
    return None


class VirtualMachine(View):
    class Meta(View.Meta):
        object_name = "virtualmachine"
        admin_fields = ("hostid", "hostname", "instancename", "podid", "podname", "clusterid", "clustername")

    id = fields.String(attribute="uuid")
    name = fields.String()
    displayname = fields.String(attribute="display_name")
    state = fields.String()
    account = Ref("account.name")
    accountid = Ref("account.uuid")
    userid = Ref("user.uuid")
    username = Ref("user.username")
    domainid = Ref("domain.uuid")
    domain = Ref("domain.name")
    domainpath = Ref("domain.path")
    created = Date()
    lastupdated = Date(attribute="state_changed")
    haenable = fields.Boolean(attribute="ha_enabled")
    group = fields.String()
    zoneid = Ref("zone.uuid")
    zonename = Ref("zone.name")
    hostid = Ref("host.uuid")
    hostname = Ref("host.name")
    podid = Ref("pod.uuid")
    podname = Ref("pod.name")
    clusterid = Ref("cluster.uuid")
    clustername = Ref("cluster.name")
    instancename = fields.String(attribute="instance_name")
    templateid = Ref("template.uuid")
    templatename = Ref("template.name")
    templatedisplaytext = Ref("template.display_text")
    templatetype = Ref("template.template_type")
    isoid = Ref("iso.uuid")
    isoname = Ref("iso.name")
    serviceofferingid = Ref("service_offering.uuid")
    serviceofferingname = Ref("service_offering.name")
    cpunumber = fields.Integer(attribute="cpu_number")
    cpuspeed = fields.Integer(attribute="cpu_speed")
    memory = fields.Integer()
    guestosid = Ref("os_type.uuid")
    ostypeid = Ref("os_type.uuid")
    osdisplayname = Ref("os_type.name")
    rootdeviceid = Fn(lambda vm: 0, cs_type="long")
    rootdevicetype = Fn(lambda vm: "ROOT")
    passwordenabled = Ref("template.password_enabled", "boolean")
    password = fields.String()
    hypervisor = fields.String()
    keypairs = fields.String(attribute="key_pair")
    keypair = Fn(lambda vm: vm.key_pair)
    userdata = fields.String(attribute="user_data")
    isdynamicallyscalable = fields.Boolean(attribute="is_dynamically_scalable")
    displayvm = fields.Boolean(attribute="display_vm")
    vmtype = fields.String(attribute="vm_type")
    arch = Ref("template.arch")
    ipaddress = Fn(lambda vm: next((n.ip_address for n in vm.nics if n.is_default), None))
    details = Fn(lambda vm: {k: v for k, v in json.loads(vm.details or "{}").items()
                                          if k != "SSH.PublicKey"}, cs_type="map")
    nic = Fn(lambda vm: Nic(many=True).dump(sorted(vm.nics, key=lambda n: n.device_id)),
                          cs_type="list")
    securitygroup = Fn(lambda vm: vm_groups(vm), cs_type="list")
    affinitygroup = Fn(lambda vm: [], cs_type="list")
    tags = Fn(lambda vm: tag_list(vm.resource_tags), cs_type="list")


class Volume(View):
    class Meta(View.Meta):
        object_name = "volume"
        admin_fields = ("path", "storageid", "storage")

    id = fields.String(attribute="uuid")
    name = fields.String()
    zoneid = Ref("zone.uuid")
    zonename = Ref("zone.name")
    type = fields.String(attribute="volume_type")
    deviceid = fields.Integer(attribute="device_id")
    virtualmachineid = Ref("vm.uuid")
    vmname = Ref("vm.name")
    vmdisplayname = Ref("vm.display_name")
    vmstate = Ref("vm.state")
    size = fields.Integer()
    created = Date()
    attached = Date()
    state = fields.String()
    account = Ref("account.name")
    domainid = Ref("domain.uuid")
    domain = Ref("domain.name")
    storagetype = Fn(lambda v: "shared")
    provisioningtype = fields.String(attribute="provisioning_type")
    hypervisor = Ref("vm.hypervisor")
    diskofferingid = Ref("disk_offering.uuid")
    diskofferingname = Ref("disk_offering.name")
    serviceofferingid = Ref("vm.service_offering.uuid")
    serviceofferingname = Ref("vm.service_offering.name")
    templateid = Ref("template.uuid")
    storage = Ref("pool.name")
    storageid = Ref("pool.uuid")
    path = fields.String()
    destroyed = Fn(lambda v: v.state in ("Destroy", "Expunging", "Expunged"), cs_type="boolean")
    isextractable = Fn(lambda v: False, cs_type="boolean")
    tags = Fn(lambda v: tag_list(v.resource_tags), cs_type="list")
