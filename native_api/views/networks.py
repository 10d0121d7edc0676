"""Guest networks, and the (in Basic zones, empty) public IP and NAT listings libcloud reads."""
from __future__ import annotations

from marshmallow import fields

from native_api.views import Date, Fn, Ref, View


class Network(View):
    class Meta(View.Meta):
        object_name = "network"

    id = fields.String(attribute="uuid")
    name = fields.String()
    displaytext = fields.String(attribute="display_text")
    zoneid = Ref("zone.uuid")
    zonename = Ref("zone.name")
    type = fields.String(attribute="guest_type")
    traffictype = fields.String(attribute="traffic_type")
    cidr = fields.String()
    gateway = fields.String()
    netmask = fields.String()
    dns1 = fields.String()
    dns2 = fields.String()
    vlan = fields.String()
    broadcasturi = Fn(lambda n: f"vlan://{n.vlan}" if n.vlan else "vlan://untagged")
    state = fields.String()
    account = Ref("account.name")
    domainid = Ref("domain.uuid")
    domain = Ref("domain.name")
    acltype = fields.String(attribute="acl_type")
    isdefault = fields.Boolean(attribute="is_default")
    networkdomain = fields.String(attribute="network_domain")
    # Basic zones use one built-in offering: a shared network with security groups.
    networkofferingid = Fn(lambda n: "00000000-0000-0000-0000-00000000b451")
    networkofferingname = Fn(lambda n: "DefaultSharedNetworkOfferingWithSGService")
    networkofferingdisplaytext = Fn(lambda n: "Offering for Shared Security group enabled networks")
    canusefordeploy = Fn(lambda n: True, "boolean")
    issystem = Fn(lambda n: False, "boolean")
    ispersistent = Fn(lambda n: False, "boolean")
    restartrequired = Fn(lambda n: False, "boolean")
    specifyipranges = Fn(lambda n: True, "boolean")
    service = Fn(lambda n: [{"name": "SecurityGroup"}, {"name": "Dhcp"}, {"name": "Dns"},
                            {"name": "UserData"}], cs_type="list")
    created = Date()
    tags = Fn(lambda n: [], cs_type="list")


class PublicIpAddress(View):
    class Meta(View.Meta):
        object_name = "publicipaddress"

    id = fields.String(attribute="uuid")
    ipaddress = fields.String(attribute="ip_address")
    virtualmachineid = Ref("vm.uuid")
    associatednetworkid = Ref("network.uuid")
    zoneid = Ref("zone.uuid")
    state = fields.String()


class PortForwardingRule(View):
    class Meta(View.Meta):
        object_name = "portforwardingrule"

    id = fields.String(attribute="uuid")
    virtualmachineid = Ref("vm.uuid")
    ipaddress = fields.String(attribute="ip_address")
    protocol = fields.String()
    publicport = fields.String(attribute="public_port")
    privateport = fields.String(attribute="private_port")
    publicendport = fields.String(attribute="public_end_port")
    privateendport = fields.String(attribute="private_end_port")


class IpForwardingRule(View):
    class Meta(View.Meta):
        object_name = "ipforwardingrule"

    id = fields.String(attribute="uuid")
    virtualmachineid = Ref("vm.uuid")
    protocol = fields.String()
    startport = fields.String(attribute="start_port")
    endport = fields.String(attribute="end_port")
