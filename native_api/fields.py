"""Parameter types of the native API, as marshmallow fields.

Each field knows its CloudStack type name, length and description, so one
declaration drives parsing, validation and ``listApis``. Values arrive as
strings; the failures carry CloudStack's own error texts.
"""
from __future__ import annotations

import datetime as dt
import re

from marshmallow import ValidationError, fields

_CONTROL = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]")


class CsField(fields.Field):
    """Base: carries the listApis metadata (type, length, description...)."""

    cs_type = "string"

    def __init__(self, description: str = "", *, required: bool = False, length: int = 255,
                 since: str | None = None, related: str | None = None, admin_only: bool = False, **kw):
        super().__init__(required=required, **kw)
        self.description = description
        self.length = length
        self.since = since
        self.related = related
        self.admin_only = admin_only

    def _text(self, value) -> str:
        if not isinstance(value, str):
            raise ValidationError("invalid")
        if _CONTROL.search(value):
            raise ValidationError("control")
        return value


class String(CsField):
    def _deserialize(self, value, attr, data, **kw):
        value = self._text(value)
        if len(value) > self.length:
            raise ValidationError(f"length:{self.length}")
        if self.required and value == "":
            raise ValidationError("missing")
        return value


class Boolean(CsField):
    """Only a case-insensitive "true" is true; anything else is false, never an error."""

    cs_type = "boolean"

    def _deserialize(self, value, attr, data, **kw):
        return str(value).strip().lower() == "true"


class Integer(CsField):
    cs_type = "integer"

    def _deserialize(self, value, attr, data, **kw):
        try:
            return int(str(value).strip())
        except ValueError:
            raise ValidationError("invalid") from None


class Long(Integer):
    cs_type = "long"


class Short(Integer):
    cs_type = "short"


class Uuid(CsField):
    """The uuid of an existing ``entity``; the dispatcher resolves it to the row."""

    cs_type = "uuid"

    def __init__(self, entity: str, description: str = "", **kw):
        super().__init__(description, **kw)
        self.entity = entity

    def _deserialize(self, value, attr, data, **kw):
        value = self._text(value).strip()
        if value == "":
            raise ValidationError("missing" if self.required else "blank")
        return value


class List(CsField):
    """A comma-separated list; of Uuid(entity) when ``entity`` is given."""

    cs_type = "list"

    def __init__(self, description: str = "", *, entity: str | None = None, **kw):
        super().__init__(description, **kw)
        self.entity = entity

    def _deserialize(self, value, attr, data, **kw):
        value = self._text(value)
        items = [v.strip() for v in value.split(",") if v.strip()]
        if self.required and not items:
            raise ValidationError("missing")
        return items


class Map(CsField):
    """``name[i].field=value`` parameters, pre-grouped by the request parser.

    ``style`` picks the CloudStack convention: "keyvalue" (each index holds
    key and value: tags), "flat" (all fields of all indexes merged: details),
    or "list" (a list of the per-index dicts, in index order).
    """

    cs_type = "map"

    def __init__(self, description: str = "", *, style: str = "keyvalue", **kw):
        super().__init__(description, **kw)
        self.style = style

    def _deserialize(self, value, attr, data, **kw):
        if not isinstance(value, dict):
            raise ValidationError("malformed")
        groups = [value[i] for i in sorted(value)]
        if self.style == "keyvalue":
            return {g["key"]: g.get("value", "") for g in groups if "key" in g}
        if self.style == "flat":
            merged: dict[str, str] = {}
            for g in groups:
                merged.update(g)
            return merged
        return groups


class Date(CsField):
    cs_type = "date"
    FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")

    def _deserialize(self, value, attr, data, **kw):
        text = self._text(value).strip().replace("Z", "+0000")
        for fmt in self.FORMATS:
            try:
                parsed = dt.datetime.strptime(text, fmt)
            except ValueError:
                continue
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
            return parsed
        raise ValidationError("date")


# --------------------------------------------------------------------- responses


def format_date(value: dt.datetime | None) -> str | None:
    """CloudStack's response date form: 2021-10-04T09:24:38+0000 (UTC)."""
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S+0000")
