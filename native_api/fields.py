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


_DECIMAL = re.compile(r"[+-]?[0-9]{1,25}", re.ASCII)


class Integer(CsField):
    """A decimal in the range of the Java type CloudStack declares (int here, long, short below).

    ``minimum`` narrows the range for quantities that cannot be negative (sizes, counts).
    """

    cs_type = "integer"
    BITS = 32

    def __init__(self, description: str = "", *, minimum: int | None = None, **kw):
        super().__init__(description, **kw)
        self.minimum = minimum

    def _deserialize(self, value, attr, data, **kw):
        text = str(value).strip()
        if not _DECIMAL.fullmatch(text):
            raise ValidationError("invalid")
        number = int(text)
        low, high = -(1 << (self.BITS - 1)), (1 << (self.BITS - 1)) - 1
        if self.minimum is not None:
            low = max(low, self.minimum)
        if not low <= number <= high:
            raise ValidationError(f"range:{low}:{high}")
        return number


class Long(Integer):
    cs_type = "long"
    BITS = 64


class Short(Integer):
    cs_type = "short"
    BITS = 16


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
    """A comma-separated list; of Uuid(entity) when ``entity`` is given.

    As in CloudStack a list's length is not checked, unless declared: a list kept as one
    column (host tags) declares that column's size.
    """

    cs_type = "list"

    def __init__(self, description: str = "", *, entity: str | None = None, length: int | None = None, **kw):
        super().__init__(description, **({"length": length} if length is not None else {}), **kw)
        self.entity = entity
        self.checks_length = length is not None

    def _deserialize(self, value, attr, data, **kw):
        value = self._text(value)
        if self.checks_length and len(value) > self.length:
            raise ValidationError(f"length:{self.length}")
        items = [v.strip() for v in value.split(",") if v.strip()]
        if self.required and not items:
            raise ValidationError("missing")
        return items


_MAP_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,254}", re.ASCII)


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
        for group in groups:
            # Field names become keys of stored maps (details) that answers echo as XML element names.
            bad = next((name for name in group if not _MAP_FIELD.fullmatch(name)), None)
            if bad is not None:
                raise ValidationError(f"mapfield:{bad}")
        if self.style == "keyvalue":
            # A key sent without its value is a mistake, not a wildcard (CloudStack refuses it too).
            lone = next((g["key"] for g in groups if "key" in g and "value" not in g), None)
            if lone is not None:
                raise ValidationError(f"novalue:{lone}")
            return {g["key"]: g["value"] for g in groups if "key" in g}
        if self.style == "flat":
            merged: dict[str, str] = {}
            for g in groups:
                merged.update(g)
            return merged
        return groups


class Date(CsField):
    """A date, returned as naive UTC within the years every supported database stores (MariaDB: 1000-9999)."""

    cs_type = "date"
    FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d")
    EARLIEST = dt.datetime(1000, 1, 1)
    LATEST = dt.datetime(9999, 12, 31, 23, 59, 59)

    def _deserialize(self, value, attr, data, **kw):
        text = self._text(value).strip().replace("Z", "+0000")
        for fmt in self.FORMATS:
            try:
                parsed = dt.datetime.strptime(text, fmt)
            except ValueError:
                continue
            if parsed.tzinfo is not None:
                try:
                    parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
                except OverflowError:  # an offset carried 0001-01-01 or 9999-12-31 out of datetime's range
                    raise ValidationError("daterange") from None
            if not self.EARLIEST <= parsed <= self.LATEST:
                raise ValidationError("daterange")
            return parsed
        raise ValidationError("date")


# --------------------------------------------------------------------- responses


def format_date(value: dt.datetime | None) -> str | None:
    """CloudStack's response date form: 2021-10-04T09:24:38+0000 (UTC)."""
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S+0000")
