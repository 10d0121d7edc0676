"""Domains, accounts, users, API keys and resource limits as CloudStack shows them."""
from __future__ import annotations

from marshmallow import fields

from backends.api import RESOURCE_TYPES
from native_api.views import Date, Fn, Ref, View

ROLE_TYPE_NAMES = {0: "User", 1: "Admin", 2: "DomainAdmin", 3: "ResourceAdmin"}


def _has_child(domain) -> bool:
    """A listing tells for its whole page (``has_child``); a single domain (one just created) asks."""
    known = getattr(domain, "has_child", None)
    return known if known is not None else domain.children.where(domain.__class__.live == True).exists()  # noqa: E712


def _domain_path(domain) -> str:
    """CloudStack shows ROOT/Child rather than the stored /Child/."""
    return "ROOT" + domain.path.rstrip("/") if domain is not None else None


class Domain(View):
    class Meta(View.Meta):
        object_name = "domain"

    id = fields.String(attribute="uuid")
    name = fields.String()
    level = fields.Integer()
    parentdomainid = Ref("parent.uuid")
    parentdomainname = Ref("parent.name")
    haschild = Fn(_has_child, "boolean")
    path = Fn(_domain_path)
    state = fields.String()
    networkdomain = fields.String(attribute="network_domain")
    created = Date()


class User(View):
    class Meta(View.Meta):
        object_name = "user"

    id = fields.String(attribute="uuid")
    username = fields.String()
    firstname = fields.String()
    lastname = fields.String()
    email = fields.String()
    created = Date()
    state = fields.String()
    account = Ref("account.name")
    accountid = Ref("account.uuid")
    accounttype = Ref("account.account_type", "integer")
    roleid = Ref("account.role.uuid")
    rolename = Ref("account.role.name")
    roletype = Ref("account.role.role_type")
    domainid = Ref("domain.uuid")
    domain = Ref("domain.name")
    timezone = fields.String()
    isdefault = fields.Boolean(attribute="is_default")
    usersource = fields.String(attribute="source")
    apikey = Fn(lambda u: u.api_key)
    iscallerchilddomain = Fn(lambda u: False, "boolean")


def _live_users(account):
    return [u for u in account.users if u.removed is None]


class Account(View):
    class Meta(View.Meta):
        object_name = "account"

    id = fields.String(attribute="uuid")
    name = fields.String()
    accounttype = fields.Integer(attribute="account_type")
    roleid = Ref("role.uuid")
    rolename = Ref("role.name")
    roletype = Ref("role.role_type")
    domainid = Ref("domain.uuid")
    domain = Ref("domain.name")
    domainpath = Fn(lambda a: _domain_path(a.domain))
    state = fields.String()
    networkdomain = fields.String(attribute="network_domain")
    created = Date()
    isdefault = Fn(lambda a: a.name in ("admin", "system") and a.domain.parent_id is None, "boolean")
    user = Fn(lambda a: User(many=True).dump(_live_users(a)), cs_type="list")


class UserKeys(View):
    """getUserKeys answers with the pair under ``userkeys``."""

    class Meta(View.Meta):
        object_name = "userkeys"

    apikey = fields.String(attribute="api_key")
    secretkey = fields.String(attribute="secret_key")


class RegisteredKeys(UserKeys):
    """registerUserKeys answers with the pair under ``userkeys`` too."""


class ResourceLimit(View):
    class Meta(View.Meta):
        object_name = "resourcelimit"

    account = Ref("account.name")
    domainid = Ref("domain.uuid")
    domain = Ref("domain.name")
    domainpath = Fn(lambda r: _domain_path(r.domain) if r.domain is not None else None)
    resourcetype = Fn(lambda r: str(r.resource_type))
    resourcetypename = Fn(lambda r: RESOURCE_TYPES.get(r.resource_type))
    max = fields.Integer(attribute="max_value")
