"""listApis: the command registry, described the way cloudmonkey/cmk sync read it."""
from __future__ import annotations

from native_api import errors, fields as f, views
from native_api.registry import FLAT, REGISTRY, command


def describe(cmd) -> dict:
    params = []
    for name, field in cmd.params.items():
        entry = {"name": name, "description": field.description, "type": field.cs_type,
                 "length": field.length, "required": bool(field.required)}
        if field.since:
            entry["since"] = field.since
        if field.related:
            entry["related"] = field.related
        params.append(entry)
    api = {"name": cmd.name, "description": cmd.description, "isasync": cmd.isasync, "related": cmd.related,
           "params": params, "response": views.response_fields(cmd.response)}
    if cmd.since:
        api["since"] = cmd.since
    return api


@command("listApis", params={"name": f.String("API name")}, shape=FLAT,
         description="lists all available apis on the server, provided by the Api Discovery plugin")
def list_apis(call):
    allowed = [c for c in REGISTRY.values() if call.caller.role_type in c.roles]
    name = call.get("name")
    if name:
        allowed = [c for c in allowed if c.name == name]
        if not allowed:
            # CloudStack answers 530 here; an unknown name is the client's mistake, so 431 naming the parameter.
            raise errors.ApiError(431, "Api Discovery plugin was unable to find an api by that name or process "
                                       "any apis (parameter name)", 4350)
    apis = [describe(c) for c in sorted(allowed, key=lambda c: c.name)]
    return {"count": len(apis), "api": apis}
