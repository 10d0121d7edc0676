"""Requests and responses driven by botocore's own EC2 service model.

``decode`` turns the flattened form (``Filter.1.Value.2=...``) into the
operation's input dict exactly as a boto3 user wrote it; ``encode`` turns a
handler's boto3-shaped result dict into the XML botocore parses back into
that same dict. No action has XML or parameter names of its own: the model
has them all.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import re
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

import botocore.session
from botocore.model import OperationNotFoundError

from ec2bridge.errors import Ec2Error

NAMESPACE = "http://ec2.amazonaws.com/doc/2016-11-15/"
_AUTH_PARAMS = re.compile(r"^(Action|Version|AWSAccessKeyId|Signature.*|Timestamp|Expires|SecurityToken|X-Amz-.*)$")


@functools.lru_cache(maxsize=None)
def service_model(name: str = "ec2"):
    return botocore.session.get_session().get_service_model(name)


def operation(action: str, service: str = "ec2"):
    try:
        return service_model(service).operation_model(action)
    except OperationNotFoundError:
        raise Ec2Error("InvalidAction", f"The action {action} is not valid for this web service.") from None


# ------------------------------------------------------------------ decoding

def decode(op, params: dict[str, str]) -> dict:
    """The operation's input as a typed dict; MissingParameter / InvalidParameterValue on bad input."""
    shape = op.input_shape
    if shape is None:
        return {}
    wanted = {k: v for k, v in params.items() if not _AUTH_PARAMS.match(k)}
    return _structure(shape, wanted, "", top=True) or {}


def _wire_name(name: str, shape) -> str:
    ser = shape.serialization
    if "queryName" in ser:
        return ser["queryName"]
    if "name" in ser:
        return ser["name"][0].upper() + ser["name"][1:]
    return name


def _structure(shape, params, prefix, top=False):
    out = {}
    for name, member in shape.members.items():
        key = _wire_name(name, member)
        full = key if top else f"{prefix}.{key}"
        value = _value(member, params, full)
        if value is not None:
            out[name] = value
    for name in shape.required_members:
        if name not in out:
            raise Ec2Error("MissingParameter", f"The request must contain the parameter "
                                               f"{_wire_name(name, shape.members[name]) if top else prefix + '.' + _wire_name(name, shape.members[name])}")
    return out or None


def _value(shape, params, key):
    kind = shape.type_name
    if kind == "structure":
        if not any(k == key or k.startswith(key + ".") for k in params):
            return None
        return _structure(shape, params, key) or {}
    if kind == "list":
        pattern = re.compile(rf"^{re.escape(key)}\.(\d+)(?:\.|$)")
        indices = sorted({int(m.group(1)) for k in params if (m := pattern.match(k))})
        items = [_value(shape.member, params, f"{key}.{i}") for i in indices]
        return [i for i in items if i is not None] or None
    if key not in params:
        return None
    return _scalar(shape, params[key], key)


def _scalar(shape, text: str, key: str):
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
        if kind == "boolean":
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true"
        if kind == "timestamp":
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if kind == "blob":
            return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raise Ec2Error("InvalidParameterValue", f"Value ({text}) for parameter {key} is invalid.") from None
    return text


# ------------------------------------------------------------------ encoding

def encode(op, result: dict | None, request_id: str) -> bytes:
    """``<ActionResponse xmlns=...>`` with ``requestId`` and the output members, as botocore reads them.

    Written as text fragments straight from the output shape (a listing of thousands of instances is
    mostly this work; building an element tree first doubled it)."""
    out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<{op.name}Response xmlns="{NAMESPACE}">'
           f"<requestId>{escape(request_id)}</requestId>"]
    shape = op.output_shape
    if shape is None or not shape.members:
        out.append("<return>true</return>")
    elif result:
        for name, tag, member in _members(shape):
            value = result.get(name)
            if value is not None:
                _write(out, tag, member, value)
    out.append(f"</{op.name}Response>")
    return "".join(out).encode("utf-8")


_MEMBERS: dict[int, list] = {}


def _members(shape) -> list:
    """``(member name, XML element name, member shape)`` of a structure, worked out once per shape."""
    found = _MEMBERS.get(id(shape))
    if found is None:
        found = _MEMBERS[id(shape)] = [(name, member.serialization.get("name", name), member)
                                       for name, member in shape.members.items()]
    return found


def _write(out: list, tag: str, shape, value) -> None:
    kind = shape.type_name
    if kind == "structure":
        out.append(f"<{tag}>")
        for name, child_tag, member in _members(shape):
            child = value.get(name)
            if child is not None:
                _write(out, child_tag, member, child)
        out.append(f"</{tag}>")
        return
    if kind == "list":
        out.append(f"<{tag}>")
        member = shape.member
        for item in value:
            if item is not None:
                _write(out, "item", member, item)
        out.append(f"</{tag}>")
        return
    if kind == "boolean":
        text = "true" if value else "false"
    elif kind == "timestamp":
        when = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        text = when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    elif kind == "blob":
        text = base64.b64encode(value).decode()
    else:
        text = escape(str(value))
    out.append(f"<{tag}>{text}</{tag}>")


def _encode(parent, tag, shape, value):
    """The same rules into an element tree (the query protocol's envelope, below)."""
    if value is None:
        return
    element = ET.SubElement(parent, tag)
    kind = shape.type_name
    if kind == "structure":
        for name, member in shape.members.items():
            if name in value:
                _encode(element, member.serialization.get("name", name), member, value[name])
    elif kind == "list":
        for item in value:
            _encode(element, "item", shape.member, item)
    elif kind == "boolean":
        element.text = "true" if value else "false"
    elif kind == "timestamp":
        when = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        element.text = when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
            f"{when.microsecond // 1000:03d}Z"
    elif kind == "blob":
        element.text = base64.b64encode(value).decode()
    else:
        element.text = str(value)


def error_body(errors: list[tuple[str, str]], request_id: str) -> bytes:
    root = ET.Element("Response")
    listed = ET.SubElement(root, "Errors")
    for code, message in errors:
        error = ET.SubElement(listed, "Error")
        ET.SubElement(error, "Code").text = code
        ET.SubElement(error, "Message").text = message
    ET.SubElement(root, "RequestID").text = request_id
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def encode_query(op, result: dict, request_id: str) -> bytes:
    """The plain query protocol's envelope (STS): ``<XResponse><XResult>...</XResult><ResponseMetadata>``."""
    root = ET.Element(f"{op.name}Response", xmlns=f"https://{op.service_model.endpoint_prefix}.amazonaws.com/doc/"
                                                f"{op.service_model.api_version}/")
    wrapper = ET.SubElement(root, op.output_shape.serialization.get("resultWrapper", f"{op.name}Result"))
    for name, member in op.output_shape.members.items():
        if result.get(name) is not None:
            _encode(wrapper, member.serialization.get("name", name), member, result[name])
    metadata = ET.SubElement(root, "ResponseMetadata")
    ET.SubElement(metadata, "RequestId").text = request_id
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")
