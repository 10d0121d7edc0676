"""Resource tags: createTags, deleteTags, listTags (the same tags the EC2 API shows)."""
from __future__ import annotations

from backends.api import TAGGABLE, InvalidParameterValue, JobResult
from native_api import fields as f
from native_api.commands.jobs import submit
from native_api.registry import LIST, SUCCESS, command, scope_params
from native_api.views.tags import Tag

# A resourcetype as sent (in any case, as CloudStack takes it) -> the tag resource type and its kind.
RESOURCE_TYPES = {tag_type.lower(): (tag_type, kind) for tag_type, kind in TAGGABLE.items()}


def tag_filter(call) -> dict[str, str]:
    """``tags[i].key/value`` of a list command: resources carrying any one of these pairs."""
    return call.get("tags") or None


def _resources(call):
    try:
        kind, resource = RESOURCE_TYPES[call.params["resourcetype"].lower()]
    except KeyError:
        raise InvalidParameterValue(f"Invalid resourcetype {call.params['resourcetype']}: use one of "
                                    f"{', '.join(TAGGABLE)}") from None
    rows = []
    for resource_id in call.params["resourceids"]:
        row = call.cloud.lookup(resource.entity, resource_id, call.caller)
        if row is None:
            raise InvalidParameterValue(f"Unable to find resource by id {resource_id} and type {kind}")
        rows.append(row)
    return kind, rows


@command("createTags", params={
    "resourceids": f.List("list of resources to create the tags for", required=True),
    "resourcetype": f.String("type of the resource", required=True),
    "tags": f.Map("Map of tags (key/value pairs)", required=True),
    "customer": f.String("identifies client specific tag. When the value is not null, the tag can't be used by "
                         "cloudStack code internally"),
}, isasync=True, shape=SUCCESS, description="Creates resource tag(s)")
def create_tags(call):
    kind, rows = _resources(call)
    call.cloud.tags.create(call.caller, kind, rows, call.params["tags"])  # validated and applied now; the job reports it
    return submit(call, lambda: JobResult(), sync_key=None)


@command("deleteTags", params={
    "resourceids": f.List("Delete tags for resource id(s)", required=True),
    "resourcetype": f.String("Delete tag by resource type", required=True),
    "tags": f.Map("Delete tags matching key/value pairs", style="list"),
}, isasync=True, shape=SUCCESS, description="Deleting resource tag(s)")
def delete_tags(call):
    kind, rows = _resources(call)
    tags = {entry["key"]: entry.get("value") for entry in call.get("tags", []) if "key" in entry}
    call.cloud.tags.delete(call.caller, kind, rows, tags)
    return submit(call, lambda: JobResult(), sync_key=None)


@command("listTags", params={
    "resourcetype": f.String("list by resource type"),
    "resourceid": f.String("list by resource id"),
    "key": f.String("list by key"),
    "value": f.String("list by value"),
    "customer": f.String("list by customer name"),
    **scope_params(),
}, shape=LIST, response=Tag, description="List resource tag(s)")
def list_tags(call):
    scope = call.scope()
    kind = call.get("resourcetype")
    if kind is not None:
        kind = RESOURCE_TYPES.get(kind.lower(), (kind, None))[0]
    return call.cloud.tags.list(call.caller, scope=scope, kind=kind, resource_uuid=call.get("resourceid"),
                                key=call.get("key"), value=call.get("value"), customer=call.get("customer"),
                                keyword=call.get("keyword"),
                                **call.paging())
