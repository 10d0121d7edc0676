"""EC2 filters: AND across names, OR across values, ``*`` and ``?`` wildcards."""
from __future__ import annotations

import fnmatch
from datetime import timezone
from typing import Callable

from ec2bridge.errors import Ec2Error


def apply(items: list[dict], filters: list[dict] | None, fields: dict[str, Callable[[dict], object]]) -> list[dict]:
    """Keep the items every filter matches; ``fields`` maps filter names to value getters."""
    for flt in filters or []:
        name, values = flt.get("Name"), flt.get("Values") or []
        getter = fields.get(name)
        if getter is None:
            raise unknown_filter(name)
        items = [item for item in items if _matches(getter(item), values)]
    return items


def _matches(actual, patterns: list[str]) -> bool:
    texts = ["true" if v is True else "false" if v is False else str(v) for v in _flat(actual) if v is not None]
    return any(fnmatch.fnmatchcase(text, _glob(pattern)) for text in texts for pattern in patterns)


def _flat(actual) -> list:
    """A value or a list of them, lists nested as a per-interface list of addresses is."""
    if not isinstance(actual, (list, tuple, set)):
        return [actual]
    return [v for item in actual for v in _flat(item)]


def _glob(pattern: str) -> str:
    """EC2 wildcards are only ``*`` and ``?``: a ``[`` is a literal bracket."""
    return pattern.replace("[", "[[]") if "[" in pattern else pattern


def is_exact(values: list[str]) -> bool:
    """Whether these filter values hold no wildcard (so a database equality can do the matching)."""
    return bool(values) and not any("*" in v or "?" in v for v in values)


class FilterSet:
    """One resource kind's filters, declared once: filter name -> how to read the value(s) from the
    boto3-shaped item the handler builds. ``tags`` reads the item's ``[{"Key", "Value"}]`` list and adds
    ``tag:KEY``, ``tag-key`` and ``tag-value``. The handler, the coverage table and the tests all read it."""

    def __init__(self, fields: dict[str, Callable[[dict], object]], *,
                 tags: Callable[[dict], list[dict]] | None = None):
        self.fields = dict(fields)
        if tags is not None:
            self.fields["tag-key"] = lambda item: [t["Key"] for t in tags(item)]
            self.fields["tag-value"] = lambda item: [t["Value"] for t in tags(item)]
        self.tags = tags

    def names(self) -> list[str]:
        """The filter names accepted, ``tag:<key>`` standing for every tag key."""
        return sorted(self.fields) + (["tag:<key>"] if self.tags else [])

    def getter(self, name: str) -> Callable[[dict], object] | None:
        if self.tags is not None and name.startswith("tag:"):
            key, tags = name[4:], self.tags
            return lambda item: [t["Value"] for t in tags(item) if t["Key"] == key]
        return self.fields.get(name)

    def check(self, filters: list[dict] | None) -> None:
        """Refuse an unknown filter name before any work is done."""
        for flt in filters or []:
            if self.getter(flt.get("Name") or "") is None:
                raise unknown_filter(flt.get("Name"))

    def apply(self, items: list[dict], filters: list[dict] | None) -> list[dict]:
        """Keep the items every filter matches."""
        self.check(filters)
        return apply(items, filters, {flt["Name"]: self.getter(flt["Name"]) for flt in filters or []})


def unknown_filter(name) -> Ec2Error:
    return Ec2Error("InvalidParameterValue", f"The filter '{name}' is invalid")


def iso_time(value) -> str | None:
    """A timestamp as EC2 filters compare it (``2024-01-31T12:00:00.000Z``), naive values being UTC."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")
