"""CreateTags, DeleteTags, DescribeTags: the backend's resource tags under EC2 ids."""
from __future__ import annotations

from backends.api import TAGGABLE, CloudError
from ec2bridge.actions import Context, action, public_images
from ec2bridge.actions.filters import FilterSet
from ec2bridge.actions.lookup import find_owned
from ec2bridge.actions.paging import paginate
from ec2bridge.errors import Ec2Error, from_cloud_error
from ec2bridge.ids import to_ec2, uuid_prefix_of
from ec2bridge.kinds import ENTITY_OF_PREFIX, KINDS

# The backend's tag resource type of each entity that takes tags.
TAG_TYPE = {kind.entity: tag_type for tag_type, kind in TAGGABLE.items()}
# The EC2 id prefixes of resources that take tags -> the backend entity an id is looked up as.
TAGGABLE_PREFIXES = {prefix: entity for prefix, entity in ENTITY_OF_PREFIX.items() if entity in TAG_TYPE}


def resources(ctx: Context, ids: list[str]) -> dict[str, list]:
    """Backend rows by tag resource type for EC2 resource ids (NotFound codes as EC2 gives them)."""
    by_type: dict[str, list] = {}
    for resource_id in ids:
        prefix = resource_id.split("-", 1)[0]
        entity = TAGGABLE_PREFIXES.get(prefix)
        public = public_images.find(ctx.region, resource_id) if entity == "Template" and ctx.emulator else None
        if public is not None:
            # Tags on another account's public image would be the caller's own (AWS keeps them per account);
            # this cloud keeps one set of tags per resource, so they are refused as on its own public images.
            raise Ec2Error("UnauthorizedOperation", f"You are not authorized to tag {resource_id}, a public image "
                                                    f"of account {public['OwnerId']}")
        try:
            if entity is None:
                raise Ec2Error("InvalidID", "")
            uuid_prefix_of(entity, resource_id)
        except Ec2Error:  # AWS's answer to any id that is not one of a taggable kind's, whatever its prefix
            raise Ec2Error("InvalidID", f"The ID '{resource_id}' is not valid") from None
        row = find_owned(ctx, entity, resource_id, message="The ID '{}' does not exist")
        by_type.setdefault(TAG_TYPE[entity], []).append(row)
    return by_type


def _described(tag) -> dict:
    """A tag as DescribeTags lists it: its resource by EC2 type and id."""
    kind = TAGGABLE.get(tag.resource_type)
    ec2 = KINDS.get(kind.entity) if kind else None
    return {"Key": tag.key, "Value": tag.value, "ResourceType": ec2.resource_type if ec2 else tag.resource_type,
            "ResourceId": to_ec2(ec2.prefix if ec2 else "x", tag.resource_uuid)}


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
    """Filters as AWS documents them (see below); MaxResults/NextToken."""
    scope = ctx.cloud.accounts.scope(ctx.caller)
    _, rows = ctx.cloud.tags.list(ctx.caller, scope=scope)
    items = [_described(t) for t in rows]
    return paginate(args, FILTERS.apply(items, args.get("Filters")), "Tags", bounds=(5, 1000))


# Every DescribeTags filter AWS documents, read from the tag item (a tag's own key and value: ``tag:KEY``
# there means "this tag has key KEY and one of these values").
FILTERS = FilterSet({
    "key": lambda i: i["Key"],
    "resource-id": lambda i: i["ResourceId"],
    "resource-type": lambda i: i["ResourceType"],
    "value": lambda i: i["Value"],
}, tags=lambda i: [{"Key": i["Key"], "Value": i["Value"]}])
describe_tags.filters = FILTERS  # listed in the coverage table
