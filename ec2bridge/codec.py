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

from ec2bridge.errors import NOT_IN_XML, Ec2Error, shown

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

# EC2's integers are 32-bit and its longs 64-bit (botocore's model types); a value past them is refused
# as AWS refuses it, not handed on to overflow a database column.
_RANGES = {"integer": (-2 ** 31, 2 ** 31 - 1), "long": (-2 ** 63, 2 ** 63 - 1)}
# Bounds AWS documents where the model gives none: a volume is 1 GiB to 64 TiB (io2), rates are not negative.
_DOCUMENTED_RANGES = {"VolumeSize": (1, 65536), "Iops": (0, 256000), "Throughput": (0, 2000)}
# How many members a list may have, as AWS bounds them: Filter.N and Filter.N.Value.M answer
# FilterLimitExceeded (EC2's code for too many filters or values) past 200, the number of values per
# filter EC2 is known to take; any other list past 1000 (the most results a Describe page holds) is
# InvalidParameterValue. Bounding the count also bounds the work a request can ask for.
MAX_FILTERS = 200
MAX_LIST_MEMBERS = 1000
_FILTER_SHAPES = {"FilterList", "ValueStringList"}
_INTEGER = re.compile(r"[+-]?[0-9]{1,30}")


# A prefix's own value, in the tree below, when it also has keys under it (``X=1`` and ``X.Y=2``).
_OWN = None


def _tree(params: dict[str, str], names: frozenset) -> dict:
    """The parameters grouped by dotted prefix in one pass (``Filter.1.Value.2`` under Filter, 1, Value, 2):
    a dict per prefix, a plain string per leaf. Keys outside the input's top-level ``names`` are skipped
    before anything is built for them."""
    root: dict = {}
    for key, value in params.items():
        parts = key.split(".")
        if parts[0] not in names or _AUTH_PARAMS.match(key):
            continue
        node = root
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {} if child is None else {_OWN: child}
            node = child
        leaf = parts[-1]
        if isinstance(node.get(leaf), dict):
            node[leaf][_OWN] = value
        else:
            node[leaf] = value
    return root


_TOP_NAMES: dict[int, frozenset] = {}


def decode(op, params: dict[str, str]) -> dict:
    """The operation's input as a typed dict; MissingParameter / InvalidParameterValue on bad input.

    Linear in the number of parameters: they are grouped by prefix once, then the input shape is walked
    over that tree, so a request with thousands of list members costs little more than reading it."""
    shape = op.input_shape
    if shape is None:
        return {}
    names = _TOP_NAMES.get(id(shape))
    if names is None:
        names = _TOP_NAMES[id(shape)] = frozenset(_wire_name(n, m) for n, m in shape.members.items())
    return _structure(shape, _tree(params, names), "") or {}


def _wire_name(name: str, shape) -> str:
    ser = shape.serialization
    if "queryName" in ser:
        return ser["queryName"]
    if "name" in ser:
        return ser["name"][0].upper() + ser["name"][1:]
    return name


def _structure(shape, node: dict, prefix: str):
    out = {}
    for name, member in shape.members.items():
        key = _wire_name(name, member)
        child = node.get(key)
        if child is not None:
            value = _value(member, child, prefix + key)
            if value is not None:
                out[name] = value
    for name in shape.required_members:
        if name not in out:
            raise Ec2Error("MissingParameter", f"The request must contain the parameter "
                                               f"{prefix}{_wire_name(name, shape.members[name])}")
    return out or None


def _value(shape, node: dict | str, key: str):
    kind = shape.type_name
    if kind == "structure":
        return (_structure(shape, node, key + ".") if isinstance(node, dict) else None) or {}
    if kind == "list":
        return _list(shape, node, key) if isinstance(node, dict) else None
    text = node.get(_OWN) if isinstance(node, dict) else node
    return None if text is None else _scalar(shape, text, key)


def _list(shape, node: dict, key: str):
    """``Key.N`` members in the order of N (gaps allowed; other keys under the list are not members)."""
    # An index too long to be a real one sorts last (and is never handed to int(), which refuses
    # strings of thousands of digits).
    indexed = [(int(index) if len(index) < 10 else 10 ** 10, index, child) for index, child in node.items()
               if index is not _OWN and index.isdecimal() and index.isascii()]
    if shape.name in _FILTER_SHAPES and len(indexed) > MAX_FILTERS:
        raise Ec2Error("FilterLimitExceeded", f"The request uses too many filters or too many filter values: "
                                              f"{key} takes at most {MAX_FILTERS}.")
    most = min(MAX_LIST_MEMBERS, shape.metadata.get("max", MAX_LIST_MEMBERS))  # the model's bound, if any
    if len(indexed) > most:
        raise Ec2Error("InvalidParameterValue", f"The request has {len(indexed)} members of {key}; "
                                                f"at most {most} are accepted.")
    indexed.sort(key=lambda entry: entry[:2])
    items = [_value(shape.member, child, f"{key}.{index}") for _, index, child in indexed]
    return [i for i in items if i is not None] or None


def _scalar(shape, text: str, key: str):
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            if not _INTEGER.fullmatch(text):
                raise ValueError(text)
            return _bounded(shape, int(text), text, key)
        if kind in ("float", "double"):
            value = float(text)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError(text)
            return value
        if kind == "boolean":
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true"
        if kind == "timestamp":
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if kind == "blob":
            return base64.b64decode(text, validate=True)
    except (ValueError, OverflowError, binascii.Error):
        raise Ec2Error("InvalidParameterValue", f"Value ({shown(text)}) for parameter {key} is invalid.") from None
    if NOT_IN_XML.search(text):  # it could never be echoed back in a response
        raise Ec2Error("InvalidParameterValue", f"Value ({shown(text)}) for parameter {key} is invalid: "
                                                "it holds a control character or a non-character.")
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and len(text) < low or high is not None and len(text) > high:
        raise Ec2Error("InvalidParameterValue", f"Value ({shown(text)}) for parameter {key} is invalid: its length "
                                                f"must be between {low or 0} and {high if high is not None else 'any'}.")
    return text


def _bounded(shape, value: int, text: str, key: str) -> int:
    low, high = _RANGES[shape.type_name]
    documented = _DOCUMENTED_RANGES.get(key.rsplit(".", 1)[-1], (low, high))
    low = max(low, shape.metadata.get("min", low), documented[0])
    high = min(high, shape.metadata.get("max", high), documented[1])
    if not low <= value <= high:
        raise Ec2Error("InvalidParameterValue", f"Value ({shown(text)}) for parameter {key} is invalid: "
                                                f"it must be between {low} and {high}.")
    return value


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
_TIMES: dict = {}  # datetime -> its text (bounded)


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
        text = _TIMES.get(value)
        if text is None:  # an answer repeats a few times (a launch's VMs share theirs): each formatted once
            if len(_TIMES) > 4096:
                _TIMES.clear()
            when = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
            text = _TIMES[value] = (when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.")
                                    + f"{when.microsecond // 1000:03d}Z")
    elif kind == "blob":
        text = base64.b64encode(value).decode()
    else:
        text = value if type(value) is str else str(value)
        # Without characters XML 1.0 cannot carry (a name stored through the native API may hold one), looked
        # for only in a value with a non-printable character; then escaped.
        if not text.isprintable():
            text = NOT_IN_XML.sub("\ufffd", text)
        if "&" in text or "<" in text or ">" in text:  # most values need no escaping: no call for them
            text = escape(text)
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
        element.text = NOT_IN_XML.sub("\ufffd", str(value))


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
