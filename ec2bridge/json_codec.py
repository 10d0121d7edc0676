"""Requests and responses of AWS's JSON 1.1 protocol (SSM), driven by botocore's service model.

The counterpart of ``codec.py`` for JSON services: ``decode`` checks a request body against the
operation's input shape (types, required members, lengths, ranges and enums as the model declares
them) and answers AWS's ``ValidationException`` / ``SerializationException`` words; ``encode``
writes a handler's boto3-shaped result as the JSON botocore parses back into the same dict.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import re


class JsonError(Exception):
    """An error of a JSON service: its ``__type`` code, message and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    def body(self) -> bytes:
        return json.dumps({"__type": self.code, "message": self.message}).encode()


def decode(op, body: bytes) -> dict:
    """The operation's input from a JSON request body, checked against the model."""
    try:
        value = json.loads(body or b"{}")
    except (UnicodeDecodeError, ValueError):
        raise JsonError("SerializationException", "The request body is not valid JSON") from None
    shape = op.input_shape
    if shape is None:
        return {}
    problems: list[str] = []
    decoded = _value(shape, value, "", problems)
    if problems:
        count = len(problems)
        raise JsonError("ValidationException", f"{count} validation error{'s' if count > 1 else ''} detected: "
                                               + "; ".join(problems))
    return decoded


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _shown(value) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 200 else text[:200] + "..."


def _value(shape, value, where: str, problems: list[str]):
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise _serialization(shape, where)
        out = {}
        for name, member in shape.members.items():
            if value.get(name) is not None:
                out[name] = _value(member, value[name], f"{where}.{_camel(name)}" if where else _camel(name),
                                   problems)
        for name in shape.required_members:
            if value.get(name) is None:
                path = f"{where}.{_camel(name)}" if where else _camel(name)
                problems.append(f"Value null at '{path}' failed to satisfy constraint: Member must not be null")
        return out
    if kind == "list":
        if not isinstance(value, list):
            raise _serialization(shape, where)
        _length(shape, value, where, problems)
        return [_value(shape.member, item, f"{where}.{index}.member", problems)
                for index, item in enumerate(value, 1)]
    if kind == "map":
        if not isinstance(value, dict):
            raise _serialization(shape, where)
        return {k: _value(shape.value, v, f"{where}.{k}", problems) for k, v in value.items()}
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _serialization(shape, where)
        return value
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _serialization(shape, where)
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and value < low:
            problems.append(f"Value '{value}' at '{where}' failed to satisfy constraint: Member must have value "
                            f"greater than or equal to {low}")
        if high is not None and value > high:
            problems.append(f"Value '{value}' at '{where}' failed to satisfy constraint: Member must have value "
                            f"less than or equal to {high}")
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise _serialization(shape, where)
        _length(shape, value, where, problems)
        pattern = _pattern(shape.metadata.get("pattern"))
        if pattern is not None and not pattern.search(value):
            problems.append(f"Value '{_shown(value)}' at '{where}' failed to satisfy constraint: Member must "
                            f"satisfy regular expression pattern: {shape.metadata['pattern']}")
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            problems.append(f"Value '{_shown(value)}' at '{where}' failed to satisfy constraint: Member must "
                            f"satisfy enum value set: [{', '.join(enum)}]")
        return value
    if kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _serialization(shape, where)
        try:
            return dt.datetime.fromtimestamp(value, dt.timezone.utc)
        except (OverflowError, ValueError, OSError):
            raise _serialization(shape, where) from None
    return value


@functools.lru_cache(maxsize=None)
def _pattern(text: str | None):
    """The model's pattern (Java syntax) as a Python regex; None when there is none or Python reads it otherwise."""
    if not text:
        return None
    try:
        return re.compile(text)
    except re.error:
        return None


def _length(shape, value, where: str, problems: list[str]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    shown = _shown(value)
    if low is not None and len(value) < low:
        problems.append(f"Value '{shown}' at '{where}' failed to satisfy constraint: Member must have length "
                        f"greater than or equal to {low}")
    if high is not None and len(value) > high:
        problems.append(f"Value '{shown}' at '{where}' failed to satisfy constraint: Member must have length "
                        f"less than or equal to {high}")


def _serialization(shape, where: str) -> JsonError:
    return JsonError("SerializationException", f"The value at '{where or 'the request'}' is not a valid "
                                               f"{shape.type_name}")


def encode(op, result: dict | None) -> bytes:
    """The output members of ``result`` as JSON (timestamps in epoch seconds, as botocore reads them)."""
    shape = op.output_shape
    return json.dumps(_encode(shape, result or {}) if shape is not None else {}).encode()


def _encode(shape, value):
    kind = shape.type_name
    if kind == "structure":
        return {name: _encode(member, value[name]) for name, member in shape.members.items()
                if value.get(name) is not None}
    if kind == "list":
        return [_encode(shape.member, item) for item in value]
    if kind == "map":
        return {k: _encode(shape.value, v) for k, v in value.items()}
    if kind == "timestamp":
        when = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return round(when.timestamp(), 3)
    return value
