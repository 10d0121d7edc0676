"""CloudStack's answer envelopes, in JSON or XML.

Every answer is one top-level key, ``<command lower-case>response``; lists
carry ``count`` beside the items and are ``{}`` when empty; errors keep the
same key (or ``errorresponse``) and the HTTP status equals ``errorcode``.
"""
from __future__ import annotations

import json
import re

import xmltodict

CLOUDSTACK_VERSION = "4.22.0.0"
JSON_TYPE = "application/json; charset=UTF-8"
XML_TYPE = "text/xml; charset=UTF-8"
GENERIC_KEY = "errorresponse"

# A response key must be an XML element name; unknown command names may be anything.
_XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*", re.ASCII)
# Characters XML 1.0 forbids even as references; stored or echoed text may hold them.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def response_key(command_name: str | None) -> str:
    """``<name>response`` for a command name that can name an XML element, else ``errorresponse``."""
    if command_name and _XML_NAME.fullmatch(command_name):
        return f"{command_name.lower()}response"
    return GENERIC_KEY


def list_body(object_name: str, count: int, items: list) -> dict:
    if not count and not items:
        return {}
    body: dict = {"count": count}
    if items:
        body[object_name] = items
    return body


def error_body(code: int, text: str, cserrorcode: int | None) -> dict:
    body = {"uuidList": [], "errorcode": code}
    if cserrorcode is not None:
        body["cserrorcode"] = cserrorcode
    body["errortext"] = text
    return body


def render(key: str, body: dict, fmt: str) -> tuple[str, str]:
    """Serialise ``{key: body}``; returns (text, content type)."""
    if fmt == "json":
        return json.dumps({key: body}, ensure_ascii=False, separators=(",", ":")), JSON_TYPE
    doc = {key: {"@cloud-stack-version": CLOUDSTACK_VERSION, **_xml_ready(body)}}
    return xmltodict.unparse(doc, full_document=True, encoding="UTF-8"), XML_TYPE


def _element_name(key) -> str:
    """``key`` as an XML element name: map keys stored before names were checked may be anything."""
    key = str(key)
    if _XML_NAME.fullmatch(key) or key[:1] == "@" and _XML_NAME.fullmatch(key[1:]):  # "@name": an attribute
        return key
    return "_" + re.sub(r"[^A-Za-z0-9_.-]", "_", key)


def _xml_ready(value):
    """Booleans as true/false, numbers as text, empty lists and None dropped."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if v is None or v == []:
                continue
            if k == "uuidList":
                continue
            out[_element_name(k)] = _xml_ready(v)
        return out
    if isinstance(value, list):
        return [_xml_ready(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML_CHAR.sub("\ufffd", value if isinstance(value, str) else str(value))
