"""EC2 errors: AWS's codes and HTTP statuses, and how backend errors become them."""
from __future__ import annotations

STATUS = {"AuthFailure": 401, "UnauthorizedOperation": 403, "DryRunOperation": 412, "InternalError": 500,
          "InsufficientInstanceCapacity": 500, "InsufficientAddressCapacity": 500, "Unavailable": 503}


class Ec2Error(Exception):
    def __init__(self, code: str, message: str):
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
    "DriverError": "InternalError",
    "InternalError": "InternalError",
}


def from_cloud_error(exc) -> Ec2Error:
    return Ec2Error(BY_KIND.get(exc.kind, "InternalError"), exc.message)
