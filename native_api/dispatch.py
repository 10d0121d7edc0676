"""From a named command and its parameters to an answer body.

Validation follows CloudStack's order: required parameters, value types,
entity ids (an unknown id is a 431 with the text clients grep for), paging.
The handler then calls one manager; its return value is shaped by the
command's declared response shape.
"""
from __future__ import annotations

from dataclasses import dataclass

from marshmallow import EXCLUDE, Schema, ValidationError

from backends.api import CloudError, NotFound
from native_api import errors, fields as f, views
from native_api.envelope import list_body
from native_api.registry import LIST, OBJECT, SUCCESS, Call, Command



@dataclass
class Accepted:
    """An async command was accepted: the job (and, for creates, the new object)."""

    job_uuid: str
    object_uuid: str | None = None


def _schema(cmd: Command) -> Schema:
    schema = cmd.__dict__.get("_schema")
    if schema is None:
        schema = cmd.__dict__["_schema"] = Schema.from_dict(dict(cmd.params), name=f"{cmd.name}Params")
    return schema(unknown=EXCLUDE)


def validate(cmd: Command, params: dict, cloud, caller=None) -> dict:
    """Check and convert parameters; resolve entity ids to rows."""
    data = {}
    for name, field in cmd.params.items():
        if name not in params:
            continue
        value = params[name]
        # A blank optional non-string is ignored, as CloudStack does.
        if value == "" and not field.required and not isinstance(field, f.String):
            continue
        data[name] = value
    for name, field in cmd.params.items():
        if field.required and name not in data:
            raise errors.missing(cmd.name, name)
    try:
        loaded = _schema(cmd).load(data)
    except ValidationError as exc:
        raise _first_error(cmd, exc.messages, data) from None
    for name, field in cmd.params.items():
        if name not in loaded:
            continue
        if isinstance(field, f.Uuid):
            loaded[name] = _resolve(cmd, cloud, field.entity, name, loaded[name], caller)
        elif isinstance(field, f.List) and field.entity:
            loaded[name] = [_resolve(cmd, cloud, field.entity, name, v, caller) for v in loaded[name]]
        if field.admin_only and caller is not None and not caller.is_root_admin:
            raise errors.ApiError(531, f"Parameter {name} can only be specified by a Root Admin, "
                                       "permission denied", 4365)
    if cmd.shape == LIST or "page" in cmd.params:
        _paging(cmd, loaded, cloud)
    return loaded


def _resolve(cmd: Command, cloud, entity: str, name: str, value: str, caller=None):
    """The row ``value`` names; another tenant's object is as unknown as a missing one."""
    row = cloud.lookup(entity, value, caller)
    if row is None:
        raise errors.unknown_uuid(cmd.name, name, value)
    return row


def _first_error(cmd: Command, messages: dict, data: dict) -> errors.ApiError:
    for name in cmd.params:
        if name not in messages:
            continue
        code = messages[name][0] if isinstance(messages[name], list) else str(messages[name])
        value = data.get(name, "")
        if code == "missing":
            return errors.missing(cmd.name, name)
        if code.startswith("length:"):
            return errors.ApiError(431, f"Unable to execute API command {cmd.name.lower()} due to invalid "
                                        f"value. Value greater than max allowed length {code[7:]} for param: {name}")
        if code == "control":
            return errors.ApiError(431, "Received value containing illegal ASCII non-printable characters for "
                                        f"parameter {name}")
        if code == "date":
            return errors.ApiError(431, f"Unable to parse date {value} for command {cmd.name.lower()}, please "
                                        "pass dates in the format mentioned in the api documentation")
        if code == "daterange":
            return errors.ApiError(431, f"Unable to execute API command {cmd.name.lower()} due to invalid value "
                                        f"{value} for parameter {name}: dates must fall between "
                                        f"{f.Date.EARLIEST:%Y-%m-%d} and {f.Date.LATEST:%Y-%m-%d}")
        if code.startswith("range:"):
            low, high = code.split(":")[1:]
            return errors.ApiError(431, f"Unable to execute API command {cmd.name.lower()} due to invalid value "
                                        f"{value} for parameter {name}: expected a whole number from {low} to "
                                        f"{high}")
        if code.startswith("mapfield:"):
            return errors.ApiError(431, f"Unable to execute API command {cmd.name.lower()} due to invalid value "
                                        f"for parameter {name}: field name '{code[9:]}' must be letters, digits, "
                                        "'_', '.' or '-', not starting with a digit")
        if code.startswith("novalue:"):
            return errors.ApiError(431, f"No value is passed in for key {code[8:]} of parameter {name}")
        if code == "malformed":
            return errors.ApiError(430, f"Unable to decode parameter {name}; if specifying an object array, "
                                        "please use parameter[index].field=XXX, e.g. "
                                        "userGroupList[0].group=httpGroup")
        return errors.invalid_value(cmd.name, name, value if isinstance(value, str) else "")
    return errors.ApiError(431, f"Unable to execute API command {cmd.name.lower()} due to invalid value")


def _paging(cmd: Command, params: dict, cloud) -> None:
    """CloudStack's page/pagesize rules; default page size is also the maximum."""
    default = cloud.config.get_int("default.page.size")
    page, size = params.get("page"), params.get("pagesize")
    if size is not None and size == -1:
        if page is not None:
            raise errors.ApiError(431, "Can't specify page parameter when pagesize is -1 (Unlimited)")
        params["pagesize"] = None
        return
    if size is not None and page is None:
        raise errors.ApiError(431, '"page" parameter is required when "pagesize" is specified')
    if page is not None and size is None:
        raise errors.ApiError(431, '"pagesize" parameter is required when "page" is specified')
    if size is not None and default != -1 and size > default:
        raise errors.ApiError(431, f"Page size can't exceed max allowed page size value: {default}")
    if size is not None and size < 1 or page is not None and page < 1:
        raise errors.ApiError(431, "Page and page size must be positive numbers")
    params["page"] = page or 1
    params["pagesize"] = size if size is not None else (None if default == -1 else default)


def execute(cmd: Command, call: Call) -> dict:
    """Run the handler; shape its result into the response body."""
    try:
        result = cmd.handler(call)
    except NotFound as exc:
        raise _not_found(cmd, call, exc) from exc
    except CloudError as exc:
        raise errors.from_cloud_error(exc) from exc
    return shape(cmd, result, call)


def _not_found(cmd: Command, call: Call, exc: NotFound) -> errors.ApiError:
    """An object the caller may not see, found by the backend: the answer a missing id of the
    parameter that named it gets, so nothing tells it apart from one that does not exist."""
    for name, value in call.params.items():
        values = value if isinstance(value, list) else [value]
        if exc.value and any(getattr(v, "uuid", v) == exc.value for v in values):
            return errors.unknown_uuid(cmd.name, name, exc.value)
    return errors.from_cloud_error(exc)


def shape(cmd: Command, result, call: Call) -> dict:
    if isinstance(result, Accepted):
        body = {}
        if cmd.creates and result.object_uuid:
            body["id"] = result.object_uuid
        body["jobid"] = result.job_uuid
        return body
    if cmd.shape == SUCCESS:
        return {"success": True} if result is None or result is True else result
    if cmd.shape == LIST:
        count, rows = result
        return list_body(cmd.object_name, count, views.dump_many(cmd.response, rows, call.caller))
    if cmd.shape == OBJECT:
        return {cmd.object_name: views.dump(cmd.response, result, call.caller)}
    return result  # FLAT: the handler built the body
