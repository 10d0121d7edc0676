"""Resource tags as CloudStack shows them."""
from __future__ import annotations

from marshmallow import fields

from native_api.views import Ref, View


class Tag(View):
    class Meta(View.Meta):
        object_name = "tag"

    key = fields.String()
    value = fields.String()
    resourcetype = fields.String(attribute="resource_type")
    resourceid = fields.String(attribute="resource_uuid")
    account = Ref("account.name")
    domainid = Ref("domain.uuid")
    domain = Ref("domain.name")


def tag_list(tags) -> list[dict]:
    return [{"key": t.key, "value": t.value, "resourcetype": t.resource_type, "resourceid": t.resource_uuid}
            for t in tags]
