"""Guest networks, and the public IP / NAT listings (empty in Basic zones) that libcloud reads."""
from __future__ import annotations

from native_api import fields as f
from native_api.registry import LIST, command, scope_params
from native_api.views.networks import IpForwardingRule, Network, PortForwardingRule, PublicIpAddress


@command("listNetworks", params={
    "id": f.Uuid("Network", "list networks by ID"),
    "zoneid": f.Uuid("Zone", "the zone ID of the network"),
    "type": f.String("the type of the network. Supported values are: isolated, l2, shared and all"),
    "traffictype": f.String("type of the traffic"),
    "issystem": f.Boolean("true if network is system, false otherwise"),
    "canusefordeploy": f.Boolean("list networks available for VM deployment"),
    **scope_params(),
}, shape=LIST, response=Network, description="Lists all available networks.")
def list_networks(call):
    guest_type = call.get("type")
    return call.cloud.networks.list_networks(
        call.caller, id=call.get("id"), zone=call.get("zoneid"),
        guest_type=None if guest_type in (None, "all") else guest_type.capitalize(),
        traffic_type=call.get("traffictype"), is_system=call.get("issystem"),
        can_use_for_deploy=call.params.get("canusefordeploy"),
        # Shared networks belong to no account: only an explicit owner narrows the listing.
        scope=call.scope() if call.get("account") or call.get("domainid") else None,
        keyword=call.get("keyword"), **call.paging())


@command("listPublicIpAddresses", params={
    "id": f.String("lists IP address by ID"),
    "ipaddress": f.String("lists the specified IP address"),
    "zoneid": f.Uuid("Zone", "lists all public IP addresses by zone ID"),
    "associatednetworkid": f.Uuid("Network", "lists all public IP addresses associated to the network specified"),
    "allocatedonly": f.Boolean("limits search results to allocated public IP addresses"),
    "forvirtualnetwork": f.Boolean("the virtual network for the IP address"),
    "isstaticnat": f.Boolean("list only static NAT IP addresses"),
    "issourcenat": f.Boolean("list only source NAT IP addresses"),
    **scope_params(),
}, shape=LIST, response=PublicIpAddress, description="Lists all public IP addresses")
def list_public_ip_addresses(call):
    return call.cloud.networks.list_public_ips(call.caller, scope=call.scope(), zone=call.get("zoneid"),
                                               **call.paging())


@command("listPortForwardingRules", params={
    "id": f.String("Lists rule with the specified ID."),
    "ipaddressid": f.String("the ID of IP address of the port forwarding services"),
    "networkid": f.Uuid("Network", "list port forwarding rules for certain network"),
    **scope_params(),
}, shape=LIST, response=PortForwardingRule, description="Lists all port forwarding rules for an IP address.")
def list_port_forwarding_rules(call):
    return call.cloud.networks.list_port_forwarding_rules(call.caller, scope=call.scope(), **call.paging())


@command("listIpForwardingRules", params={
    "id": f.String("Lists rule with the specified ID."),
    "ipaddressid": f.String("list the rule belonging to this public IP address"),
    "virtualmachineid": f.Uuid("VirtualMachine", "Lists all rules applied to the specified VM."),
    **scope_params(),
}, shape=LIST, response=IpForwardingRule, description="List the IP forwarding rules")
def list_ip_forwarding_rules(call):
    return call.cloud.networks.list_ip_forwarding_rules(call.caller, scope=call.scope(), **call.paging())
