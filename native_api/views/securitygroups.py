"""Security groups as CloudStack shows them (rules split into ingress and egress lists)."""
from __future__ import annotations

from marshmallow import fields

from native_api.views import Fn, Ref, View


def rule_dict(rule) -> dict:
    item = {"ruleid": rule.uuid, "protocol": rule.protocol}
    if rule.protocol == "icmp":
        item.update(icmptype=rule.start_port if rule.start_port is not None else -1,
                    icmpcode=rule.end_port if rule.end_port is not None else -1)
    elif rule.protocol in ("tcp", "udp"):
        item.update(startport=rule.start_port, endport=rule.end_port)
    if rule.cidr:
        item["cidr"] = rule.cidr
    if rule.source_group_id:
        item.update(securitygroupname=rule.source_group.name, account=rule.source_group.account.name)
    return item


def _rules(group, direction):
    # A listing's groups come with their rules loaded (a list); a single group reads them here.
    return [rule_dict(r) for r in group.rules if r.direction == direction]


class SecurityGroup(View):
    class Meta(View.Meta):
        object_name = "securitygroup"

    id = fields.String(attribute="uuid")
    name = fields.String()
    description = fields.String()
    account = Ref("account.name")
    domainid = Ref("domain.uuid")
    domain = Ref("domain.name")
    ingressrule = Fn(lambda g: _rules(g, "ingress"), cs_type="list")
    egressrule = Fn(lambda g: _rules(g, "egress"), cs_type="list")
    tags = Fn(lambda g: [], cs_type="list")
    virtualmachinecount = Fn(lambda g: None, "integer")


def vm_groups(vm) -> list[dict]:
    return [{"id": g.uuid, "name": g.name, "description": g.description} for g in vm.security_groups]
