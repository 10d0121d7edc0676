"""EC2 errors: AWS's codes and HTTP statuses, and how backend errors become them."""
from __future__ import annotations

import re

from ec2bridge.kinds import KINDS

STATUS = {"AuthFailure": 401, "UnauthorizedOperation": 403, "DryRunOperation": 412, "InternalError": 500,
          "InsufficientInstanceCapacity": 500, "InsufficientAddressCapacity": 500, "Unavailable": 503}


# Characters XML 1.0 cannot carry: an error echoing one would not parse.
NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
MAX_ECHOED = 200
MAX_MESSAGE = 2000


def shown(value: str, limit: int = MAX_ECHOED) -> str:
    """A client's value as an error message may echo it: XML-safe, and cut short when huge."""
    text = NOT_IN_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class Ec2Error(Exception):
    def __init__(self, code: str, message: str):
        message = shown(message, MAX_MESSAGE)  # messages echo ids and values from the request
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return STATUS.get(self.code, 400)


# Backend error kind -> EC2 code, when the action has no more specific one.
BY_KIND = {
    "InvalidParameterValue": "InvalidParameterValue",
    "NotFound": "InvalidParameterValue",
    "PermissionDenied": "UnauthorizedOperation",
    "ResourceAllocation": "InstanceLimitExceeded",
    "InsufficientCapacity": "InsufficientInstanceCapacity",
    "InsufficientAddressCapacity": "InsufficientAddressCapacity",
    "ResourceUnavailable": "Unavailable",
    "ResourceInUse": "DependencyViolation",
    "InvalidState": "IncorrectInstanceState",
    "ConcurrentOperation": "IncorrectInstanceState",
    "OperationTimedOut": "InternalError",
    "InternalError": "InternalError",
}


def not_found(entity: str, name: str, *, message: str | None = None) -> Ec2Error:
    """The NotFound answer of the backend ``entity``'s EC2 kind for ``name`` (an EC2 id, or a name where the
    action takes one). ``message``: the text, when the action words it otherwise (``{}`` stands for ``name``)."""
    kind = KINDS[entity]
    return Ec2Error(kind.not_found, (message or kind.not_found_message).format(name))


def from_cloud_error(exc) -> Ec2Error:
    # A backend entity that was not found (or is another tenant's: the same answer) -> its kind's code.
    if exc.kind == "NotFound" and getattr(exc, "entity", "") in KINDS:
        return not_found(exc.entity, _ec2_id(exc.entity, exc.value))
    return Ec2Error(BY_KIND.get(exc.kind, "InternalError"), exc.message)


def dependent_id(exc) -> str:
    """The EC2 id of the object a ResourceInUse names as depending on the one in use ("" when none)."""
    entity, uuid = getattr(exc, "dependent", None) or ("", "")
    return _ec2_id(entity, uuid) if entity in KINDS else ""


def _ec2_id(entity: str, uuid: str) -> str:
    from ec2bridge.ids import ec2_id  # ids raises Ec2Error: imported here, not at the top

    return ec2_id(entity, uuid) if uuid else ""
