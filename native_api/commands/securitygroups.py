"""Security groups (Basic zones): create, list, delete, authorize and revoke ingress/egress rules."""
from __future__ import annotations

from backends.api import InvalidParameterValue, JobResult, RuleSpec
from native_api import fields as f
from native_api.commands.jobs import submit
from native_api.commands.tags import tag_filter
from native_api.registry import LIST, SUCCESS, command, scope_params
from native_api.views.securitygroups import SecurityGroup

OWNER = {
    "account": f.String("an optional account for the security group. Must be used with domainId."),
    "domainid": f.Uuid("Domain", "an optional domainId for the security group. If the account parameter is "
                                 "used, domainId must also be used."),
}


def _owner(call):
    return call.cloud.accounts.owner_for(call.caller, call.get("account"), call.get("domainid"))


def _group(call, id_param="securitygroupid", name_param="securitygroupname"):
    group = call.get(id_param)
    if group is None and call.get(name_param):
        group = call.cloud.security_groups.by_name(call.caller, call.params[name_param], owner=_owner(call))
        if group is None:
            raise InvalidParameterValue(f"Unable to find security group {call.params[name_param]}")
    if group is None:
        raise InvalidParameterValue(f"Either {id_param} or {name_param} is required")
    return group


@command("createSecurityGroup", params={
    "name": f.String("name of the security group", required=True),
    "description": f.String("the description of the security group"),
    **OWNER,
}, response=SecurityGroup, description="Creates a security group")
def create_security_group(call):
    return call.cloud.security_groups.create(call.caller, call.params["name"], call.get("description", ""),
                                             owner=_owner(call))


@command("listSecurityGroups", params={
    "id": f.Uuid("SecurityGroup", "list the security group by the id provided"),
    "securitygroupname": f.String("lists security groups by name"),
    "virtualmachineid": f.Uuid("VirtualMachine", "lists security groups by virtual machine id"),
    "tags": f.Map("List resources by tags (key/value pairs)"),
    **scope_params(),
}, shape=LIST, response=SecurityGroup, description="Lists security groups")
def list_security_groups(call):
    return call.cloud.security_groups.list(call.caller, scope=call.scope(id_given=call.get("id") is not None),
                                           id=call.get("id"), name=call.get("securitygroupname"),
                                           vm=call.get("virtualmachineid"),
                                           any_tag=tag_filter(call), keyword=call.get("keyword"), **call.paging())


@command("deleteSecurityGroup", params={
    "id": f.Uuid("SecurityGroup", "The ID of the security group. Mutually exclusive with name parameter"),
    "name": f.String("The ID of the security group. Mutually exclusive with id parameter"),
    **OWNER,
}, shape=SUCCESS, description="Deletes security group")
def delete_security_group(call):
    call.cloud.security_groups.delete(call.caller, _group(call, "id", "name"))


RULE_PARAMS = {
    "protocol": f.String("TCP is default. UDP is the other supported protocol"),
    "startport": f.Integer("start port for this ingress rule"),
    "endport": f.Integer("end port for this ingress rule"),
    "icmptype": f.Integer("type of the icmp message being sent"),
    "icmpcode": f.Integer("error code for this icmp message"),
    "cidrlist": f.List("the cidr list associated. Multiple entries must be separated by a single comma "
                       "character (,)."),
    "usersecuritygrouplist": f.Map("user to security group mapping", style="list"),
    "securitygroupid": f.Uuid("SecurityGroup", "The ID of the security group. Mutually exclusive with "
                                               "securityGroupName parameter"),
    "securitygroupname": f.String("The name of the security group. Mutually exclusive with securityGroupId "
                                  "parameter"),
    **OWNER,
}


def _specs(call, group) -> list[RuleSpec]:
    protocol = (call.get("protocol") or "tcp").lower()
    if protocol == "icmp":
        start, end = call.get("icmptype", -1), call.get("icmpcode", -1)
    else:
        start, end = call.get("startport"), call.get("endport", call.get("startport"))
    specs = [RuleSpec(protocol, start, end, cidr=c) for c in call.get("cidrlist", [])]
    for pair in call.get("usersecuritygrouplist", []):
        source = call.cloud.security_groups.by_name(call.caller, pair.get("group", ""), owner=group.account)
        if source is None:
            raise InvalidParameterValue(f"Unable to find security group {pair.get('group')}")
        specs.append(RuleSpec(protocol, start, end, source_group=source))
    if not specs:
        specs = [RuleSpec(protocol, start, end, cidr="0.0.0.0/0")]
    return specs


def _authorize(call, direction):
    group = _group(call)
    call.cloud.security_groups.authorize(call.caller, group, direction, _specs(call, group))
    return submit(call, lambda: JobResult("SecurityGroup", group.uuid), instance=group,
                  instance_type="SecurityGroup", sync_key=f"sg:{group.id}")


@command("authorizeSecurityGroupIngress", params=RULE_PARAMS, isasync=True, response=SecurityGroup,
         description="Authorizes a particular ingress rule for this security group")
def authorize_security_group_ingress(call):
    return _authorize(call, "ingress")


@command("authorizeSecurityGroupEgress", params=RULE_PARAMS, isasync=True, response=SecurityGroup,
         description="Authorizes a particular egress rule for this security group")
def authorize_security_group_egress(call):
    return _authorize(call, "egress")


def _revoke(call, direction):
    rule = call.params["id"]
    if rule.direction != direction:
        raise InvalidParameterValue(f"Rule {rule.uuid} is not an {direction} rule")
    call.cloud.security_groups.revoke_rule(call.caller, rule)
    return submit(call, lambda: JobResult(), sync_key=None)


@command("revokeSecurityGroupIngress", params={"id": f.Uuid("SecurityGroupRule", "The ID of the ingress rule",
                                                            required=True)},
         isasync=True, shape=SUCCESS, description="Deletes a particular ingress rule from this security group")
def revoke_security_group_ingress(call):
    return _revoke(call, "ingress")


@command("revokeSecurityGroupEgress", params={"id": f.Uuid("SecurityGroupRule", "The ID of the egress rule",
                                                           required=True)},
         isasync=True, shape=SUCCESS, description="Deletes a particular egress rule from this security group")
def revoke_security_group_egress(call):
    return _revoke(call, "egress")
