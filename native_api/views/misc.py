"""Events, configuration settings, regions."""
from __future__ import annotations

from marshmallow import fields

from native_api.views import Date, Fn, Ref, View


class Event(View):
    class Meta(View.Meta):
        object_name = "event"

    id = fields.String(attribute="uuid")
    username = Ref("user.username")
    type = fields.String(attribute="event_type")
    level = fields.String()
    description = fields.String()
    account = Ref("account.name")
    domainid = Ref("domain.uuid")
    domain = Ref("domain.name")
    created = Date()
    state = fields.String()
    resourceid = fields.String(attribute="resource_uuid")
    resourcetype = fields.String(attribute="resource_type")
    archived = Fn(lambda e: False, "boolean")


class Configuration(View):
    class Meta(View.Meta):
        object_name = "configuration"

    name = fields.String()
    value = fields.String()
    defaultvalue = fields.String(attribute="default_value")
    category = fields.String()
    description = fields.String()
    component = fields.String()
    scope = fields.String()
    isdynamic = fields.Boolean(attribute="is_dynamic")
    type = fields.String(attribute="value_type")


class Region(View):
    class Meta(View.Meta):
        object_name = "region"

    id = fields.Integer(attribute="region_number")
    name = fields.String()
    endpoint = fields.String()
    gslbserviceenabled = Fn(lambda r: False, "boolean")
    portableipserviceenabled = Fn(lambda r: False, "boolean")
