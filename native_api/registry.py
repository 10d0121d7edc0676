"""The command registry: every native API command, declared once.

A declaration names the command, its parameters (marshmallow fields from
``native_api.fields``), which role types may call it, whether it is async,
and the response object it returns. Parsing, validation, role checks,
``listApis`` and the README's command reference are all derived from it.

    @command("listZones", params=dict(id=Uuid("Zone", "the ID of the zone")),
             response=views.Zone, shape=LIST, description="Lists zones")
    def list_zones(call):
        return call.cloud.infra.list_zones(call.caller, ...)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from marshmallow import Schema

from backends.api import ROLE_ADMIN, ROLE_DOMAIN_ADMIN, ROLE_RESOURCE_ADMIN, ROLE_USER, Caller, Cloud, Scope

ALL_ROLES = frozenset({ROLE_ADMIN, ROLE_RESOURCE_ADMIN, ROLE_DOMAIN_ADMIN, ROLE_USER})
ADMINS = frozenset({ROLE_ADMIN, ROLE_RESOURCE_ADMIN, ROLE_DOMAIN_ADMIN})
ROOT_ONLY = frozenset({ROLE_ADMIN})

# Response shapes.
OBJECT = "object"  # {"<cmd>response": {"<name>": {...}}}
LIST = "list"  # {"<cmd>response": {"count": N, "<name>": [...]}}
SUCCESS = "success"  # {"<cmd>response": {"success": true}}
FLAT = "flat"  # fields directly under the response key

LIST_PARAMS = ("keyword", "page", "pagesize")


@dataclass
class Command:
    name: str
    handler: Callable[["Call"], Any]
    params: dict[str, Any]
    roles: frozenset[str]
    isasync: bool
    response: type[Schema] | None
    shape: str
    description: str
    related: str = ""
    since: str | None = None
    creates: bool = False  # async create: the immediate answer carries the new object's id
    response_key: str = ""
    object_name: str | None = None

    def __post_init__(self):
        self.response_key = self.response_key or f"{self.name.lower()}response"
        if self.object_name is None and self.response is not None:
            self.object_name = self.response.Meta.object_name


@dataclass
class Call:
    """One invocation: who calls, with which (validated) parameters."""

    command: Command
    caller: Caller
    params: dict[str, Any]
    cloud: Cloud
    options: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str, default=None):
        value = self.params.get(name)
        return default if value is None else value

    def paging(self) -> dict[str, Any]:
        return {"page": self.params.get("page"), "pagesize": self.params.get("pagesize")}

    def scope(self, *, id_given: bool = False) -> Scope:
        """Which owners a list command may show, from its ``scope_params()`` (listall, domainid,
        isrecursive, account); ``id_given``: the caller named what it wants, so an admin sees it
        beyond its own account."""
        return self.cloud.accounts.scope(
            self.caller, listall=self.get("listall", False), domain=self.get("domainid"),
            isrecursive=self.get("isrecursive", False), account_name=self.get("account"), id_given=id_given)


REGISTRY: dict[str, Command] = {}


def command(name: str, *, params: dict[str, Any] | None = None, roles=ALL_ROLES, isasync: bool = False,
            response: type[Schema] | None = None, shape: str = OBJECT, description: str = "",
            related: str = "", since: str | None = None, creates: bool = False,
            response_key: str | None = None, object_name: str | None = None, list_params: bool | None = None):
    """Declare a command; ``list_params`` (default: shape is LIST) adds keyword/page/pagesize."""
    from native_api import fields as f

    declared = dict(params or {})
    if list_params if list_params is not None else shape == LIST:
        declared = {
            "keyword": f.String("List by keyword"),
            "page": f.Integer("the page number of the list"),
            "pagesize": f.Integer("the number of entries per page"),
            **declared,
        }

    def register(handler):
        if name in REGISTRY:
            raise ValueError(f"command {name} declared twice")
        REGISTRY[name] = Command(
            name=name, handler=handler, params=declared, roles=frozenset(roles), isasync=isasync,
            response=response, shape=shape, description=description or (handler.__doc__ or "").strip(),
            related=related, since=since, creates=creates, response_key=response_key or "",
            object_name=object_name,
        )
        return handler

    return register


def scope_params():
    """The listall/domainid/isrecursive/account parameters of scoped list commands."""
    from native_api import fields as f

    return {
        "listall": f.Boolean("If set to false, list only resources belonging to the command's caller; "
                             "if set to true - list resources that the caller is authorized to see."),
        "domainid": f.Uuid("Domain", "list only resources belonging to the domain specified"),
        "isrecursive": f.Boolean("defaults to false, but if true, lists all resources from the parent "
                                 "specified by the domainId till leaves."),
        "account": f.String("list resources by account. Must be used with the domainId parameter."),
    }
