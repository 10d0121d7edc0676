"""API errors and how backend error kinds map onto CloudStack's codes."""
from __future__ import annotations

from backends.api import CloudError

# backend error kind -> (errorcode = HTTP status, cserrorcode = exception class code)
KIND_CODES = {
    "InvalidParameterValue": (431, 4350),
    "NotFound": (431, 4350),
    "InvalidState": (431, 4350),
    "PermissionDenied": (531, 4365),
    "ResourceAllocation": (535, 4370),
    "InsufficientCapacity": (533, 4335),
    "InsufficientAddressCapacity": (533, 4320),
    "ResourceUnavailable": (534, 4380),
    "ResourceInUse": (536, 4375),
    "ConcurrentOperation": (530, 4300),
    "OperationTimedOut": (530, 4560),
    "InternalError": (530, 4250),
}

AUTH_FAILED = "unable to verify user credentials and/or request signature"
INTERNAL = "Internal error executing command, please contact your system administrator"


class ApiError(Exception):
    """An error answer: ``code`` is both the HTTP status and ``errorcode``."""

    def __init__(self, code: int, text: str, cserrorcode: int | None = 9999, *, generic_key: bool = False):
        super().__init__(text)
        self.code = code
        self.text = text
        self.cserrorcode = cserrorcode
        # Unknown/forbidden commands answer under "errorresponse", not "<cmd>response".
        self.generic_key = generic_key


def codes_for(kind: str) -> tuple[int, int]:
    return KIND_CODES.get(kind, (530, 4250))


def from_cloud_error(exc: CloudError) -> ApiError:
    code, cs = codes_for(exc.kind)
    return ApiError(code, exc.message, cs)


def missing(command: str, param: str) -> ApiError:
    return ApiError(431, f"Unable to execute API command {command.lower()} due to missing parameter {param}")


def invalid_value(command: str, param: str, value: str) -> ApiError:
    return ApiError(431, f"Unable to execute API command {command.lower()} due to invalid value {value} "
                         f"for parameter {param}")


def unknown_uuid(command: str, param: str, value: str) -> ApiError:
    return ApiError(431, f"Unable to execute API command {command.lower()} due to invalid value. Invalid "
                         f"parameter {param} value={value} due to incorrect long value format, or entity does "
                         f"not exist or due to incorrect parameter annotation for the field in api cmd class.")
