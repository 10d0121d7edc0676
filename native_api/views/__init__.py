"""Response objects: how each backend entity looks in CloudStack's answers.

Each view is a marshmallow schema whose ``Meta.object_name`` is the item key
(``zone``, ``virtualmachine``...). Its fields double as the ``response`` list
of ``listApis``. Null fields are omitted and empty lists kept, as CloudStack's
serializer does; dates use CloudStack's form.
"""
from __future__ import annotations

import contextvars

from marshmallow import Schema, fields, post_dump

from native_api.fields import format_date

# The caller a dump is made for: admin-only fields depend on it.
current_caller: contextvars.ContextVar = contextvars.ContextVar("current_caller", default=None)


class Date(fields.Field):
    cs_type = "date"

    def _serialize(self, value, attr, obj, **kw):
        return format_date(value)


class Ref(fields.Field):
    """A field of a related row: ``Ref("zone.name")`` reads obj.zone.name, None-safe."""

    def __init__(self, path: str, cs_type: str = "string", **kw):
        super().__init__(**kw)
        self.path = path.split(".")
        self.cs_type = cs_type

    def get_value(self, obj, attr, accessor=None, default=None):
        value = obj
        for part in self.path:
            value = getattr(value, part, None) if value is not None else None
        return value

    def _serialize(self, value, attr, obj, **kw):
        return value


class Fn(fields.Function):
    """A computed field with its listApis type."""

    def __init__(self, func, cs_type: str = "string", **kw):
        super().__init__(func, **kw)
        self.cs_type = cs_type


class View(Schema):
    class Meta:
        object_name = ""
        ordered = True
        admin_fields: tuple[str, ...] = ()

    @post_dump
    def _drop_nulls(self, data, **kw):
        caller = current_caller.get()
        hidden = () if caller is not None and caller.is_root_admin else getattr(self.Meta, "admin_fields", ())
        return {k: v for k, v in data.items() if v is not None and k not in hidden}


def dump(view: type[Schema], obj, caller=None) -> dict:
    token = current_caller.set(caller)
    try:
        return view().dump(obj)
    finally:
        current_caller.reset(token)


def dump_many(view: type[Schema], rows, caller=None) -> list[dict]:
    token = current_caller.set(caller)
    try:
        return view(many=True).dump(list(rows))
    finally:
        current_caller.reset(token)


_TYPE_NAMES = {
    fields.String: "string", fields.Integer: "integer", fields.Boolean: "boolean", fields.Float: "float",
    fields.List: "list", fields.Nested: "list", fields.Dict: "map", fields.Raw: "object",
}


def response_fields(view: type[Schema] | None) -> list[dict]:
    """The ``response`` array of listApis for a view."""
    if view is None:
        return []
    out = []
    for name, field in view._declared_fields.items():
        cs_type = getattr(field, "cs_type", None)
        if cs_type is None:
            cs_type = next((t for cls, t in _TYPE_NAMES.items() if isinstance(field, cls)), "string")
        entry = {"name": field.data_key or name, "description": field.metadata.get("description", ""),
                 "type": cs_type}
        if isinstance(field, fields.Nested):
            entry["response"] = response_fields(field.nested if isinstance(field.nested, type) else None)
        out.append(entry)
    return out

