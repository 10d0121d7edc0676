"""Launch templates: create, version, describe, modify, delete, over the launch template manager.

A version's LaunchTemplateData is stored as the JSON document this module writes from botocore's request
shape and reads back into its response shape (the two have the same members); the manager keeps it whole.
"""
from __future__ import annotations

import datetime as dt
import re

from backends.api import CloudError, LaunchTemplateNameTaken, LaunchTemplateVersionMissing
from ec2bridge import ssm
from ec2bridge.actions import Context, action
from ec2bridge.actions.filters import FilterSet, iso_time
from ec2bridge.actions.lookup import find_owned
from ec2bridge.actions.paging import paginate
from ec2bridge.codec import service_model
from ec2bridge.errors import Ec2Error, from_cloud_error, not_found
from ec2bridge.ids import ec2_id

# AWS's rule for a launch template's name, and its words when one breaks it.
NAME = re.compile(r"[a-zA-Z0-9().\-/_]{3,128}")
BAD_NAME = ("A launch template name must be between 3 and 128 characters, and may contain letters, numbers, and "
            "the following characters: - ( ) . / _.'")
NOT_BOTH = "You must specify either the launch template ID or the launch template name in the request, but not both."
NEITHER = "You must specify either the launch template ID or the launch template name in the request."
NAME_NOT_FOUND = "The specified launch template, with template name {}, does not exist."
SOME_NOT_FOUND = "At least one of the launch templates specified in the request does not exist."
ALL_TEMPLATES = ("To describe the launch template data for all your launch templates, for '--versions' specify "
                 "'$Latest', '$Default', or both, and omit '--launch-template-id', '--launch-template-name', and "
                 "version numbers. To describe the launch template data for a specific launch template, specify "
                 "'--launch-template-id' or '--launch-template-name', and for '--versions' specify one or more of "
                 "the following values: '$Latest', '$Default', or one or more version numbers.")


# ------------------------------------------------------------------ the data, in and out

def stored(data: dict) -> dict:
    """RequestLaunchTemplateData as the JSON document kept (timestamps as ISO text, blobs as base64)."""
    return _walk(service_model().shape_for("RequestLaunchTemplateData"), data, _to_json)


def shown(document: dict) -> dict:
    """A kept document as ResponseLaunchTemplateData (the request's members, timestamps parsed back)."""
    return _walk(service_model().shape_for("ResponseLaunchTemplateData"), document, _from_json)


def _walk(shape, value, convert):
    kind = shape.type_name
    if kind == "structure":
        return {name: _walk(shape.members[name], child, convert) for name, child in value.items()
                if name in shape.members and child is not None}
    if kind == "list":
        return [_walk(shape.member, item, convert) for item in value]
    return convert(kind, value)


def _to_json(kind: str, value):
    if kind == "timestamp":
        return iso_time(value)
    if kind == "blob":
        import base64

        return base64.b64encode(value).decode()
    return value


def _from_json(kind: str, value):
    if kind == "timestamp":
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if kind == "blob":
        import base64

        return base64.b64decode(value)
    return value


def _resolved(ctx: Context, data: dict) -> dict:
    """ResolveAlias: an ImageId given as ``resolve:ssm:<parameter>`` shown as the AMI id it names."""
    image = data.get("ImageId") or ""
    if image.startswith(ssm.RESOLVE_SSM):
        return {**data, "ImageId": ssm.resolve_image(ctx.region, image, served=ctx.emulator)}
    return data


# ------------------------------------------------------------------ finding templates

def find(ctx: Context, template_id: str | None, name: str | None):
    """The caller's template named by id or by name (exactly one of them), in the request's region."""
    if template_id and name:
        raise Ec2Error("InvalidParameterCombination", NOT_BOTH)
    if not template_id and not name:
        raise Ec2Error("MissingParameter", NEITHER)
    if template_id:
        template = find_owned(ctx, "LaunchTemplate", template_id)
        if template.region != ctx.region:
            raise not_found("LaunchTemplate", template_id)
        return template
    template = ctx.cloud.launch_templates.by_name(ctx.caller, ctx.region, name)
    if template is None:
        raise Ec2Error("InvalidLaunchTemplateName.NotFoundException", NAME_NOT_FOUND.format(name))
    return template


def version_of(ctx: Context, template, which: str | None):
    """Version ``$Latest``, ``$Default`` or a number of the template (None: the default)."""
    key = _version_key(which if which is not None else "$Default")
    try:
        return ctx.cloud.launch_templates.version(template, key)
    except LaunchTemplateVersionMissing:
        raise _version_not_found(template, which) from None


def _version_key(which: str) -> int | str:
    if which == "$Latest":
        return "latest"
    if which == "$Default":
        return "default"
    if not re.fullmatch(r"[0-9]{1,18}", which or ""):
        raise Ec2Error("InvalidParameterValue", f"Invalid launch template version: '{which}'. Specify $Latest, "
                                                f"$Default or a version number.")
    return int(which)


def _version_not_found(template, which) -> Ec2Error:
    return Ec2Error("InvalidLaunchTemplateId.VersionNotFound",
                    f"Could not find the specified version {which} for the launch template with ID "
                    f"{ec2_id('LaunchTemplate', template.uuid)}.")


# ------------------------------------------------------------------ answers

def _created_by(template_or_version, owner: str) -> str:
    """The creator's ARN: a user's, or the account's root (the emulator's accounts act as their root, under a
    user named for the account's number)."""
    who = template_or_version.created_by
    return f"arn:aws:iam::{owner}:user/{who}" if who and who != owner else f"arn:aws:iam::{owner}:root"


def _template_item(ctx: Context, template, latest: int, tags: list | None = None) -> dict:
    owner = template.account.owner_number
    return {"LaunchTemplateId": ec2_id("LaunchTemplate", template.uuid), "LaunchTemplateName": template.name,
            "CreateTime": template.created, "CreatedBy": _created_by(template, owner),
            "DefaultVersionNumber": template.default_version, "LatestVersionNumber": latest,
            "Tags": tags if tags is not None else _tags(ctx, [template]).get(template.uuid, [])}


def _version_item(ctx: Context, template, version, *, resolve: bool = False) -> dict:
    data = shown(ctx.cloud.launch_templates.data_of(version))
    return {"LaunchTemplateId": ec2_id("LaunchTemplate", template.uuid), "LaunchTemplateName": template.name,
            "VersionNumber": version.number, "VersionDescription": version.description,
            "CreateTime": version.created, "CreatedBy": _created_by(version, template.account.owner_number),
            "DefaultVersion": version.number == template.default_version,
            "LaunchTemplateData": _resolved(ctx, data) if resolve else data}


def _tags(ctx: Context, templates) -> dict[str, list[dict]]:
    found = ctx.cloud.tags.tags_of("LaunchTemplate", [t.uuid for t in templates])
    return {uuid: [{"Key": t.key, "Value": t.value} for t in tags] for uuid, tags in found.items()}


def _latest(ctx: Context, template) -> int:
    return ctx.cloud.launch_templates.latest_numbers([template]).get(template.id, 0)


def _template_tags(args: dict) -> dict:
    """The TagSpecifications of a CreateLaunchTemplate: only ``launch-template`` ones, as AWS takes them."""
    from ec2bridge.actions.tags import tag_map

    tags = {}
    for tagging in args.get("TagSpecifications") or []:
        kind = tagging.get("ResourceType")
        if kind != "launch-template":
            raise Ec2Error("InvalidParameterValue",
                           f"'{kind}' is not a valid taggable resource type for this operation.")
        tags.update(tag_map(tagging.get("Tags")))
    return tags


def _refuse_operator(args: dict) -> None:
    if (args.get("Operator") or {}).get("Principal") or (args.get("LaunchTemplateData") or {}).get("Operator"):
        raise Ec2Error("UnsupportedOperation", "Launch templates managed by a service operator are not supported "
                                               "by this cloud.")


# ------------------------------------------------------------------ actions

@action("CreateLaunchTemplate")
def create_launch_template(ctx: Context, args: dict) -> dict:
    """A template and its version 1 (the default); tags of ResourceType launch-template; ClientToken."""
    name = args["LaunchTemplateName"]
    if not NAME.fullmatch(name):
        raise Ec2Error("InvalidLaunchTemplateName.MalformedException", BAD_NAME)
    _refuse_operator(args)
    data = stored(args.get("LaunchTemplateData") or {})
    tags = _template_tags(args)
    try:
        template, version = ctx.cloud.launch_templates.create(
            ctx.caller, ctx.region, name, data, description=args.get("VersionDescription"), tags=tags,
            client_token=args.get("ClientToken"))
    except LaunchTemplateNameTaken as exc:
        raise Ec2Error("InvalidLaunchTemplateName.AlreadyExistsException",
                       "Launch template name already in use.") from exc
    except CloudError as exc:
        if exc.details.get("param") == "clienttoken":
            raise Ec2Error("IdempotentParameterMismatch", exc.message) from exc
        raise from_cloud_error(exc) from exc
    return {"LaunchTemplate": _template_item(ctx, template, _latest(ctx, template))}


@action("CreateLaunchTemplateVersion")
def create_launch_template_version(ctx: Context, args: dict) -> dict:
    """A new version from LaunchTemplateData, over SourceVersion's data when given; ResolveAlias; ClientToken.

    The members given replace the source version's, as AWS documents."""
    template = find(ctx, args.get("LaunchTemplateId"), args.get("LaunchTemplateName"))
    _refuse_operator(args)
    data = stored(args.get("LaunchTemplateData") or {})
    if args.get("SourceVersion") is not None:
        source = version_of(ctx, template, args["SourceVersion"])
        data = {**ctx.cloud.launch_templates.data_of(source), **data}
    try:
        version = ctx.cloud.launch_templates.add_version(ctx.caller, template, data,
                                                         description=args.get("VersionDescription"),
                                                         client_token=args.get("ClientToken"))
    except CloudError as exc:
        if exc.details.get("param") == "clienttoken":
            raise Ec2Error("IdempotentParameterMismatch", exc.message) from exc
        raise from_cloud_error(exc) from exc
    return {"LaunchTemplateVersion": _version_item(ctx, template, version, resolve=args.get("ResolveAlias", False))}


@action("DescribeLaunchTemplates")
def describe_launch_templates(ctx: Context, args: dict) -> dict:
    """LaunchTemplateIds, LaunchTemplateNames, every filter AWS documents (see below), MaxResults/NextToken."""
    TEMPLATE_FILTERS.check(args.get("Filters"))
    wanted_ids, wanted_names = args.get("LaunchTemplateIds") or [], args.get("LaunchTemplateNames") or []
    templates = {t.id: t for t in (find(ctx, i, None) for i in dict.fromkeys(wanted_ids))}
    for name in dict.fromkeys(wanted_names):
        found = ctx.cloud.launch_templates.by_name(ctx.caller, ctx.region, name)
        if found is None:
            raise Ec2Error("InvalidLaunchTemplateName.NotFoundException", SOME_NOT_FOUND)
        templates[found.id] = found
    if not wanted_ids and not wanted_names:
        rows = ctx.cloud.launch_templates.list(ctx.caller, ctx.region, scope=ctx.cloud.accounts.scope(ctx.caller))
    else:
        rows = sorted(templates.values(), key=lambda t: t.id)
    latest = ctx.cloud.launch_templates.latest_numbers(rows)
    tags = _tags(ctx, rows)
    items = [_template_item(ctx, t, latest.get(t.id, 0), tags.get(t.uuid, [])) for t in rows]
    return paginate(args, TEMPLATE_FILTERS.apply(items, args.get("Filters")), "LaunchTemplates", bounds=(1, 200))


# Every DescribeLaunchTemplates filter AWS documents, read from the template item.
TEMPLATE_FILTERS = FilterSet({
    "create-time": lambda i: iso_time(i["CreateTime"]),
    "launch-template-name": lambda i: i["LaunchTemplateName"],
}, tags=lambda i: i["Tags"])
describe_launch_templates.filters = TEMPLATE_FILTERS  # listed in the coverage table


@action("DescribeLaunchTemplateVersions")
def describe_launch_template_versions(ctx: Context, args: dict) -> dict:
    """Versions ($Latest, $Default, numbers, MinVersion..MaxVersion); filters (see below); ResolveAlias; paging.

    Without a template named: every template's $Latest and/or $Default, as AWS answers."""
    VERSION_FILTERS.check(args.get("Filters"))
    wanted = args.get("Versions") or []
    low, high = _bound(args, "MinVersion"), _bound(args, "MaxVersion")
    template_id, name = args.get("LaunchTemplateId"), args.get("LaunchTemplateName")
    pairs = []
    if template_id or name:
        template = find(ctx, template_id, name)
        if wanted:
            chosen = {}
            for which in wanted:
                version = version_of(ctx, template, which)
                chosen[version.number] = version
            versions = [chosen[n] for n in sorted(chosen) if (low is None or n >= low) and (high is None or n <= high)]
        else:
            versions = ctx.cloud.launch_templates.versions(template, low=low, high=high)
        pairs = [(template, v) for v in versions]
    else:
        if not wanted:
            raise Ec2Error("MissingParameter", ALL_TEMPLATES)
        if any(w not in ("$Latest", "$Default") for w in wanted):
            raise Ec2Error("InvalidParameterValue", ALL_TEMPLATES)
        for template in ctx.cloud.launch_templates.list(ctx.caller, ctx.region,
                                                        scope=ctx.cloud.accounts.scope(ctx.caller)):
            chosen = {}
            for which in wanted:
                version = ctx.cloud.launch_templates.version(template, _version_key(which))
                chosen[version.number] = version
            pairs += [(template, chosen[n]) for n in sorted(chosen)]
    resolve = args.get("ResolveAlias", False)
    items = [_version_item(ctx, t, v, resolve=resolve) for t, v in pairs]
    return paginate(args, VERSION_FILTERS.apply(items, args.get("Filters")), "LaunchTemplateVersions",
                    bounds=(1, 200))


def _bound(args: dict, key: str) -> int | None:
    value = args.get(key)
    if value is None:
        return None
    if not re.fullmatch(r"[0-9]{1,18}", value):
        raise Ec2Error("InvalidParameterValue", f"Value ({value}) for parameter {key} is invalid. Expecting a "
                                                "version number.")
    return int(value)


def _data(read):
    return lambda i: read(i["LaunchTemplateData"])


def _nic_cards(data: dict) -> list:
    return [n.get("NetworkCardIndex") for n in data.get("NetworkInterfaces") or []]


# Every DescribeLaunchTemplateVersions filter AWS documents, read from the version item.
VERSION_FILTERS = FilterSet({
    "create-time": lambda i: iso_time(i["CreateTime"]),
    "ebs-optimized": _data(lambda d: d.get("EbsOptimized")),
    "http-endpoint": _data(lambda d: (d.get("MetadataOptions") or {}).get("HttpEndpoint")),
    "http-protocol-ipv4": _data(lambda d: (d.get("MetadataOptions") or {}).get("HttpProtocolIpv4")),
    "host-resource-group-arn": _data(lambda d: (d.get("Placement") or {}).get("HostResourceGroupArn")),
    "http-tokens": _data(lambda d: (d.get("MetadataOptions") or {}).get("HttpTokens")),
    "iam-instance-profile": _data(lambda d: [(d.get("IamInstanceProfile") or {}).get("Arn"),
                                             (d.get("IamInstanceProfile") or {}).get("Name")]),
    "image-id": _data(lambda d: d.get("ImageId")),
    "instance-type": _data(lambda d: d.get("InstanceType")),
    "is-default-version": lambda i: i["DefaultVersion"],
    "kernel-id": _data(lambda d: d.get("KernelId")),
    "license-configuration-arn": _data(lambda d: [s.get("LicenseConfigurationArn")
                                                  for s in d.get("LicenseSpecifications") or []]),
    "network-card-index": _data(_nic_cards),
    "ram-disk-id": _data(lambda d: d.get("RamDiskId")),
})
describe_launch_template_versions.filters = VERSION_FILTERS  # listed in the coverage table


@action("ModifyLaunchTemplate")
def modify_launch_template(ctx: Context, args: dict) -> dict:
    """DefaultVersion (a version number of the template)."""
    template = find(ctx, args.get("LaunchTemplateId"), args.get("LaunchTemplateName"))
    which = args.get("DefaultVersion")
    if which is not None:
        if not re.fullmatch(r"[0-9]{1,18}", which):
            raise Ec2Error("InvalidParameterValue", f"Value ({which}) for parameter DefaultVersion is invalid. "
                                                    "Expecting a version number.")
        try:
            template = ctx.cloud.launch_templates.set_default(ctx.caller, template, int(which))
        except LaunchTemplateVersionMissing:
            raise _version_not_found(template, which) from None
    return {"LaunchTemplate": _template_item(ctx, template, _latest(ctx, template))}


@action("DeleteLaunchTemplate")
def delete_launch_template(ctx: Context, args: dict) -> dict:
    """The template with all its versions and tags."""
    template = find(ctx, args.get("LaunchTemplateId"), args.get("LaunchTemplateName"))
    item = _template_item(ctx, template, _latest(ctx, template), [])
    del item["Tags"]
    ctx.cloud.launch_templates.delete(ctx.caller, template)
    return {"LaunchTemplate": item}


@action("DeleteLaunchTemplateVersions")
def delete_launch_template_versions(ctx: Context, args: dict) -> dict:
    """Each version on its own: those deleted, and those not with AWS's reason (the default, a missing number)."""
    template = find(ctx, args.get("LaunchTemplateId"), args.get("LaunchTemplateName"))
    numbers = []
    for which in args["Versions"]:
        if not re.fullmatch(r"[0-9]{1,18}", which):
            raise Ec2Error("InvalidParameterValue", f"Value ({which}) for parameter LaunchTemplateVersion is "
                                                    "invalid. Expecting a version number.")
        numbers.append(int(which))
    if len(numbers) > 200:
        raise Ec2Error("InvalidParameterValue", "You can specify up to 200 launch template version numbers.")
    deleted, refused = ctx.cloud.launch_templates.delete_versions(ctx.caller, template, numbers)
    named = {"LaunchTemplateId": ec2_id("LaunchTemplate", template.uuid), "LaunchTemplateName": template.name}
    reasons = {"default": ("unexpectedError", "Cannot delete the default version of a launch template."),
               "missing": ("launchTemplateVersionDoesNotExist", "The specified launch template version does not "
                                                               "exist.")}
    return {"SuccessfullyDeletedLaunchTemplateVersions": [{**named, "VersionNumber": n} for n in deleted],
            "UnsuccessfullyDeletedLaunchTemplateVersions": [
                {**named, "VersionNumber": n, "ResponseError": {"Code": reasons[why][0], "Message": reasons[why][1]}}
                for n, why in refused.items()]}


# ------------------------------------------------------------------ launching from a template

def launch_args(ctx: Context, args: dict) -> tuple[dict, dict[str, str]]:
    """RunInstances' arguments with its LaunchTemplate's data under them (a parameter given explicitly wins;
    instance and volume tags are merged key by key, the request's winning), and the tags AWS puts on an
    instance launched from a template. Without LaunchTemplate: the arguments as they were, no tags."""
    spec = args.get("LaunchTemplate")
    if spec is None:
        return args, {}
    template = find(ctx, spec.get("LaunchTemplateId"), spec.get("LaunchTemplateName"))
    version = version_of(ctx, template, spec.get("Version"))
    data = shown(ctx.cloud.launch_templates.data_of(version))
    accepted = codec_members("RunInstances")
    merged = dict(args)
    for name, value in data.items():
        if name == "TagSpecifications":
            merged[name] = _merged_tagging(value, args.get(name) or [])
        elif name in accepted and name not in args:
            merged[name] = value
    return merged, {"aws:ec2launchtemplate:id": ec2_id("LaunchTemplate", template.uuid),
                    "aws:ec2launchtemplate:version": str(version.number)}


def codec_members(operation: str) -> set[str]:
    return set(service_model().operation_model(operation).input_shape.members)


def _merged_tagging(from_template: list[dict], given: list[dict]) -> list[dict]:
    by_type: dict[str, dict[str, str]] = {}
    for tagging in [*from_template, *given]:
        tags = by_type.setdefault(tagging.get("ResourceType"), {})
        tags.update({t.get("Key"): t.get("Value", "") for t in tagging.get("Tags") or []})
    return [{"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
            for kind, tags in by_type.items()]
