"""EC2 filters: AND across names, OR across values, ``*`` and ``?`` wildcards."""
from __future__ import annotations

import fnmatch
from typing import Callable

from ec2bridge.errors import Ec2Error


def apply(items: list[dict], filters: list[dict] | None, fields: dict[str, Callable[[dict], object]]) -> list[dict]:
    """Keep the items every filter matches; ``fields`` maps filter names to value getters."""
    for flt in filters or []:
        name, values = flt.get("Name"), flt.get("Values") or []
        getter = fields.get(name)
        if getter is None:
            raise Ec2Error("InvalidParameterValue", f"The filter '{name}' is invalid")
        items = [item for item in items if _matches(getter(item), values)]
    return items


def _matches(actual, patterns: list[str]) -> bool:
    values = actual if isinstance(actual, (list, tuple, set)) else [actual]
    texts = ["true" if v is True else "false" if v is False else str(v) for v in values if v is not None]
    return any(fnmatch.fnmatchcase(text, _glob(pattern)) for text in texts for pattern in patterns)


def _glob(pattern: str) -> str:
    """EC2 wildcards are only ``*`` and ``?``: a ``[`` is a literal bracket."""
    return pattern.replace("[", "[[]") if "[" in pattern else pattern


def is_exact(values: list[str]) -> bool:
    """Whether these filter values hold no wildcard (so a database equality can do the matching)."""
    return bool(values) and not any("*" in v or "?" in v for v in values)
