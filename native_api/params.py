"""Turning the wire form into named values.

Names of command parameters are case-insensitive (lower-cased here); the
fields inside ``name[i].field`` maps keep their case. The signature is checked
over the raw names and values, so those are kept as received too.
"""
from __future__ import annotations

import re

from native_api.errors import ApiError

_MAP_NAME = re.compile(r"^([^\[\]]+)\[(\d+)\]\.(.+)$")


def merge(query_pairs, form_pairs) -> dict[str, str]:
    """First value of each name; the query string wins over the body (as CloudStack)."""
    raw: dict[str, str] = {}
    for name, value in list(query_pairs) + list(form_pairs):
        raw.setdefault(name, value)
    return raw


def normalise(raw: dict[str, str]) -> dict[str, object]:
    """Lower-case parameter names and group ``name[i].field`` into {i: {field: value}}."""
    out: dict[str, object] = {}
    for name, value in raw.items():
        if "[" in name or "]" in name:
            match = _MAP_NAME.match(name)
            if not match:
                raise ApiError(430, f"Unable to decode parameter {name}; if specifying an object array, please "
                                    "use parameter[index].field=XXX, e.g. userGroupList[0].group=httpGroup")
            base, index, field = match.group(1).lower(), int(match.group(2)), match.group(3)
            groups = out.setdefault(base, {})
            if not isinstance(groups, dict):
                groups = out[base] = {}
            groups.setdefault(index, {})[field] = value
        else:
            out.setdefault(name.lower(), value)
    return out


def get_ci(raw: dict[str, str], name: str) -> str | None:
    """A framework parameter whose name is matched case-insensitively (apiKey, signature...)."""
    lowered = name.lower()
    for key, value in raw.items():
        if key.lower() == lowered:
            return value
    return None
