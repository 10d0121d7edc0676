"""Security groups: create, describe, authorize/revoke ingress and egress, delete."""
from __future__ import annotations

from backends.api import CloudError, RuleSpec
from ec2bridge.actions import Context, action
from ec2bridge.actions.filters import FilterSet
from ec2bridge.actions.lookup import find_owned
from ec2bridge.actions.paging import paginate
from ec2bridge.errors import Ec2Error, dependent_id, from_cloud_error, not_found
from ec2bridge.ids import ec2_id

PROTOCOL_OUT = {"all": "-1", "tcp": "tcp", "udp": "udp", "icmp": "icmp"}


def group_id(group) -> str:
    return ec2_id("SecurityGroup", group.uuid)


def find(ctx: Context, group_id_: str | None = None, name: str | None = None):
    if group_id_:
        return find_owned(ctx, "SecurityGroup", group_id_)
    if name:
        group = ctx.cloud.security_groups.by_name(ctx.caller, name)
        if group is None:
            raise not_found("SecurityGroup", name, message="The security group '{}' does not exist in default VPC")
        return group
    raise Ec2Error("MissingParameter", "The request must contain the parameter GroupId or GroupName")


def permissions(rules, direction: str) -> list[dict]:
    merged: dict[tuple, dict] = {}
    for rule in rules:
        if rule.direction != direction:
            continue
        key = (rule.protocol, rule.start_port, rule.end_port)
        perm = merged.get(key)
        if perm is None:
            perm = merged[key] = {"IpProtocol": PROTOCOL_OUT[rule.protocol], "IpRanges": [], "Ipv6Ranges": [],
                                  "PrefixListIds": [], "UserIdGroupPairs": []}
            if rule.protocol != "all":
                perm["FromPort"], perm["ToPort"] = rule.start_port, rule.end_port
        if rule.cidr:
            target = perm["Ipv6Ranges"] if ":" in rule.cidr else perm["IpRanges"]
            entry = {"CidrIpv6" if ":" in rule.cidr else "CidrIp": rule.cidr}
            if rule.description:
                entry["Description"] = rule.description
            target.append(entry)
        if rule.source_group_id:
            perm["UserIdGroupPairs"].append({"GroupId": group_id(rule.source_group),
                                             "UserId": rule.source_group.account.owner_number})
    return list(merged.values())


def _describe(ctx: Context, group) -> dict:
    rules = group.rules  # a listing's groups come with their rules loaded
    owner = group.account.owner_number
    return {"GroupId": group_id(group), "GroupName": group.name, "Description": group.description,
            "SecurityGroupArn": f"arn:aws:ec2:{ctx.region}:{owner}:security-group/{group_id(group)}",
            "OwnerId": owner, "IpPermissions": permissions(rules, "ingress"),
            "IpPermissionsEgress": permissions(rules, "egress"), "Tags": []}


def _specs(ctx: Context, args: dict) -> list[RuleSpec]:
    perms = list(args.get("IpPermissions") or [])
    if not perms and args.get("IpProtocol"):  # the legacy flat form
        perm = {"IpProtocol": args["IpProtocol"], "FromPort": args.get("FromPort"), "ToPort": args.get("ToPort"),
                "IpRanges": [{"CidrIp": args["CidrIp"]}] if args.get("CidrIp") else []}
        if args.get("SourceSecurityGroupName"):
            perm["UserIdGroupPairs"] = [{"GroupName": args["SourceSecurityGroupName"]}]
        perms = [perm]
    if not perms:
        raise Ec2Error("MissingParameter", "The request must contain the parameter IpPermissions")
    specs = []
    for perm in perms:
        protocol = str(perm.get("IpProtocol", "")).lower()
        start, end = perm.get("FromPort"), perm.get("ToPort")
        for entry in perm.get("IpRanges") or []:
            specs.append(RuleSpec(protocol, start, end, cidr=entry.get("CidrIp"),
                                  description=entry.get("Description", "")))
        for entry in perm.get("Ipv6Ranges") or []:
            specs.append(RuleSpec(protocol, start, end, cidr=entry.get("CidrIpv6"),
                                  description=entry.get("Description", "")))
        for pair in perm.get("UserIdGroupPairs") or []:
            source = find(ctx, pair.get("GroupId"), pair.get("GroupName"))
            specs.append(RuleSpec(protocol, start, end, source_group=source, description=pair.get("Description", "")))
    return specs


def _rule_change(ctx: Context, args: dict, direction: str, authorize: bool) -> dict:
    group = find(ctx, args.get("GroupId"), args.get("GroupName"))
    specs = _specs(ctx, args)
    manager = ctx.cloud.security_groups
    try:
        if authorize:
            manager.authorize(ctx.caller, group, direction, specs)
        else:
            manager.revoke(ctx.caller, group, direction, specs)
    except CloudError as exc:
        if "already exists" in exc.message:
            raise Ec2Error("InvalidPermission.Duplicate", exc.message) from exc
        if "does not exist" in exc.message:
            raise Ec2Error("InvalidPermission.NotFound", "The specified rule does not exist in this security "
                                                         "group.") from exc
        raise from_cloud_error(exc) from exc
    return {"Return": True}


@action("CreateSecurityGroup")
def create_security_group(ctx: Context, args: dict) -> dict:
    """GroupName and Description (both required, as in AWS); new groups allow all egress."""
    if "Description" not in args:
        raise Ec2Error("MissingParameter", "The request must contain the parameter GroupDescription")
    try:
        group = ctx.cloud.security_groups.create(ctx.caller, args["GroupName"], args["Description"])
    except CloudError as exc:
        if "already exists" in exc.message:
            raise Ec2Error("InvalidGroup.Duplicate", f"The security group '{args['GroupName']}' already exists") \
                from exc
        raise from_cloud_error(exc) from exc
    owner = ctx.cloud.accounts.get_caller_account(ctx.caller).owner_number
    return {"GroupId": group_id(group), "Tags": [],
            "SecurityGroupArn": f"arn:aws:ec2:{ctx.region}:{owner}:security-group/{group_id(group)}"}


@action("DescribeSecurityGroups")
def describe_security_groups(ctx: Context, args: dict) -> dict:
    """The caller's groups (its default group included); GroupIds, GroupNames, filters, MaxResults/NextToken."""
    _, groups = ctx.cloud.security_groups.list(ctx.caller, scope=ctx.cloud.accounts.scope(ctx.caller))
    items = [_describe(ctx, g) for g in groups]
    for wanted, field in ((args.get("GroupIds"), "GroupId"), (args.get("GroupNames"), "GroupName")):
        if wanted:
            missing = sorted(set(wanted) - {i[field] for i in items})
            if missing:
                raise not_found("SecurityGroup", missing[0])
            items = [i for i in items if i[field] in wanted]
    return paginate(args, FILTERS.apply(items, args.get("Filters")), "SecurityGroups", bounds=(5, 1000))


def _rules(member: str, read):
    """A filter over the group's ingress (``IpPermissions``) or egress rules: any rule may match."""
    return lambda item: [read(rule) for rule in item[member]]


def _rule_filters(prefix: str, member: str) -> dict:
    return {
        f"{prefix}.cidr": _rules(member, lambda r: [x["CidrIp"] for x in r["IpRanges"]]),
        f"{prefix}.from-port": _rules(member, lambda r: r.get("FromPort")),
        f"{prefix}.group-id": _rules(member, lambda r: [p["GroupId"] for p in r["UserIdGroupPairs"]]),
        f"{prefix}.group-name": _rules(member, lambda r: [p.get("GroupName") for p in r["UserIdGroupPairs"]]),
        f"{prefix}.ipv6-cidr": _rules(member, lambda r: [x["CidrIpv6"] for x in r.get("Ipv6Ranges", [])]),
        f"{prefix}.prefix-list-id": _rules(member, lambda r: [x["PrefixListId"] for x in r.get("PrefixListIds", [])]),
        f"{prefix}.protocol": _rules(member, lambda r: r["IpProtocol"]),
        f"{prefix}.to-port": _rules(member, lambda r: r.get("ToPort")),
        f"{prefix}.user-id": _rules(member, lambda r: [p.get("UserId") for p in r["UserIdGroupPairs"]]),
    }


# Every DescribeSecurityGroups filter AWS documents, read from the group item.
FILTERS = FilterSet({
    "description": lambda i: i["Description"],
    "group-id": lambda i: i["GroupId"],
    "group-name": lambda i: i["GroupName"],
    "owner-id": lambda i: i["OwnerId"],
    "vpc-id": lambda i: i.get("VpcId"),
    **_rule_filters("ip-permission", "IpPermissions"),
    **_rule_filters("egress.ip-permission", "IpPermissionsEgress"),
}, tags=lambda i: i["Tags"])
describe_security_groups.filters = FILTERS  # listed in the coverage table


@action("DeleteSecurityGroup")
def delete_security_group(ctx: Context, args: dict) -> dict:
    """By GroupId or GroupName; refused while instances not terminated use it (DependencyViolation, naming one)."""
    group = find(ctx, args.get("GroupId"), args.get("GroupName"))
    if group.name == "default":
        raise Ec2Error("CannotDelete", 'the specified group: "default" name: "default" cannot be deleted by a user')
    try:
        ctx.cloud.security_groups.delete(ctx.caller, group)
    except CloudError as exc:
        if exc.kind == "ResourceInUse":
            raise Ec2Error("DependencyViolation", f"resource {group_id(group)} has a dependent object "
                                                  f"{dependent_id(exc)}".rstrip()) from exc
        raise from_cloud_error(exc) from exc
    return {"Return": True, "GroupId": group_id(group)}


@action("AuthorizeSecurityGroupIngress")
def authorize_ingress(ctx: Context, args: dict) -> dict:
    """IpPermissions (CIDRs, IPv6 ranges, source groups) or the legacy flat form."""
    return _rule_change(ctx, args, "ingress", True)


@action("AuthorizeSecurityGroupEgress")
def authorize_egress(ctx: Context, args: dict) -> dict:
    """IpPermissions (CIDRs, IPv6 ranges, source groups)."""
    return _rule_change(ctx, args, "egress", True)


@action("RevokeSecurityGroupIngress")
def revoke_ingress(ctx: Context, args: dict) -> dict:
    """Removes rules given by content; an unknown rule is InvalidPermission.NotFound."""
    return _rule_change(ctx, args, "ingress", False)


@action("RevokeSecurityGroupEgress")
def revoke_egress(ctx: Context, args: dict) -> dict:
    """Removes rules given by content; an unknown rule is InvalidPermission.NotFound."""
    return _rule_change(ctx, args, "egress", False)
