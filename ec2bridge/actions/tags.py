"""CreateTags, DeleteTags, DescribeTags: the backend's resource tags under EC2 ids."""
from __future__ import annotations

from backends.errors import CloudError
from ec2bridge.actions import Context, action
from ec2bridge.actions.filters import apply
from ec2bridge.errors import Ec2Error, from_cloud_error
from ec2bridge.ids import to_ec2, uuid_prefix

# EC2 id prefix -> (backend tag kind, backend entity, EC2 resource type, NotFound code)
PREFIXES = {"i": ("UserVm", "VirtualMachine", "instance", "InvalidInstanceID.NotFound"),
            "ami": ("Template", "Template", "image", "InvalidAMIID.NotFound"),
            "vol": ("Volume", "Volume", "volume", "InvalidVolume.NotFound")}
EC2_TYPE = {kind: ec2 for kind, _, ec2, _ in PREFIXES.values()}
EC2_TYPE["ISO"] = "image"
PREFIX_OF = {kind: prefix for prefix, (kind, *_rest) in PREFIXES.items()}
PREFIX_OF["ISO"] = "ami"


def resources(ctx: Context, ids: list[str]) -> dict[str, list]:
    """Backend rows by tag kind for EC2 resource ids (NotFound codes as EC2 gives them)."""
    by_kind: dict[str, list] = {}
    for resource_id in ids:
        prefix = resource_id.split("-", 1)[0]
        if prefix not in PREFIXES:
            raise Ec2Error("InvalidID", f"The ID '{resource_id}' is not valid")
        kind, entity, _, not_found = PREFIXES[prefix]
        row = ctx.cloud.lookup_prefix(entity, uuid_prefix(prefix, resource_id), ctx.caller)
        if row is None or row.removed is not None:
            raise Ec2Error(not_found, f"The ID '{resource_id}' does not exist")
        by_kind.setdefault(kind, []).append(row)
    return by_kind


def tag_map(tags: list[dict] | None, *, values_required: bool = True) -> dict:
    """{key: value} from EC2 Tag structures; a tag without a key is InvalidParameterValue."""
    out = {}
    for tag in tags or []:
        if not tag.get("Key"):
            raise Ec2Error("InvalidParameterValue", "Tag keys must be given and not be empty")
        out[tag["Key"]] = tag.get("Value", "" if values_required else None)
    return out


def ec2_tags(tags) -> list[dict]:
    return [{"Key": t.key, "Value": t.value} for t in tags]


@action("CreateTags")
def create_tags(ctx: Context, args: dict) -> None:
    """Instances, images, volumes; the same tags as the native createTags."""
    tags = tag_map(args.get("Tags"))
    if not tags:
        raise Ec2Error("MissingParameter", "The request must contain the parameter Tag")
    for kind, rows in resources(ctx, args["Resources"]).items():
        try:
            ctx.cloud.tags.create(ctx.caller, kind, rows, tags)
        except CloudError as exc:
            raise from_cloud_error(exc) from exc


@action("DeleteTags")
def delete_tags(ctx: Context, args: dict) -> None:
    """Keys, optionally only where the value matches."""
    tags = tag_map(args.get("Tags"), values_required=False)
    for kind, rows in resources(ctx, args["Resources"]).items():
        try:
            ctx.cloud.tags.delete(ctx.caller, kind, rows, tags or None)
        except CloudError as exc:
            raise from_cloud_error(exc) from exc


@action("DescribeTags")
def describe_tags(ctx: Context, args: dict) -> dict:
    """Filters key, value, resource-id, resource-type."""
    scope = ctx.cloud.accounts.scope(ctx.caller)
    _, rows = ctx.cloud.tags.list(ctx.caller, scope=scope)
    items = [{"Key": t.key, "Value": t.value, "ResourceType": EC2_TYPE.get(t.resource_type, t.resource_type),
              "ResourceId": to_ec2(PREFIX_OF.get(t.resource_type, "x"), t.resource_uuid)} for t in rows]
    items = apply(items, args.get("Filters"), {
        "key": lambda i: i["Key"], "value": lambda i: i["Value"], "resource-id": lambda i: i["ResourceId"],
        "resource-type": lambda i: i["ResourceType"], "tag-key": lambda i: i["Key"],
        "tag-value": lambda i: i["Value"]})
    return {"Tags": items}
