"""Errors the backend raises. Each is a *kind* of failure; every API maps the
kind to its own vocabulary (CloudStack errorcode/cserrorcode, EC2 error code).
"""
from __future__ import annotations


class CloudError(Exception):
    """Base of every error a manager raises on purpose."""

    kind = "InternalError"

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidParameterValue(CloudError):
    kind = "InvalidParameterValue"


class NotFound(InvalidParameterValue):
    """An id that names nothing the caller may see."""

    kind = "NotFound"

    def __init__(self, message: str, *, entity: str = "", param: str = "", value: str = ""):
        super().__init__(message, entity=entity, param=param, value=value)
        self.entity, self.param, self.value = entity, param, value


class PermissionDenied(CloudError):
    kind = "PermissionDenied"


class AccountLimitExceeded(CloudError):
    """A resource limit of the account or its domain would be exceeded."""

    kind = "ResourceAllocation"

    def __init__(self, message: str, *, resource_type: int | None = None):
        super().__init__(message, resource_type=resource_type)
        self.resource_type = resource_type


class InsufficientCapacity(CloudError):
    kind = "InsufficientCapacity"


class InsufficientAddressCapacity(InsufficientCapacity):
    kind = "InsufficientAddressCapacity"


class ResourceUnavailable(CloudError):
    kind = "ResourceUnavailable"


class ResourceInUse(CloudError):
    """The object is still needed by another; ``dependent`` is that one's (entity, uuid), when the caller
    may know it."""

    kind = "ResourceInUse"

    def __init__(self, message: str, *, dependent: tuple[str, str] | None = None):
        super().__init__(message, dependent=dependent)
        self.dependent = dependent


class InvalidState(CloudError):
    """The object is not in a state that allows the operation."""

    kind = "InvalidState"


class ConcurrentOperation(CloudError):
    """Someone else changed the object between our read and our write."""

    kind = "ConcurrentOperation"


class OperationTimedOut(CloudError):
    kind = "OperationTimedOut"


class DriverError(CloudError):
    """A hypervisor or storage driver reported a failure."""

    kind = "ResourceUnavailable"


class InternalError(CloudError):
    kind = "InternalError"


ERROR_KINDS = {cls.kind: cls for cls in (
    CloudError, InvalidParameterValue, NotFound, PermissionDenied, AccountLimitExceeded,
    InsufficientCapacity, InsufficientAddressCapacity, ResourceUnavailable, ResourceInUse,
    InvalidState, ConcurrentOperation, OperationTimedOut, InternalError,
)}
