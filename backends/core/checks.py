"""Checks many operations start with: root admins only, live rows, well-formed addresses."""
from __future__ import annotations

import ipaddress

from backends.context import Caller
from backends.errors import InvalidParameterValue, PermissionDenied


def root_only(caller: Caller, what: str) -> None:
    if not caller.is_root_admin:
        raise PermissionDenied(f"Account {caller.account_name} does not have permission to {what}")


def live(row, what: str) -> None:
    if row.removed is not None:
        raise InvalidParameterValue(f"Unable to find {what} by id {row.uuid}")


def ip_address(value: str | None, what: str) -> ipaddress.IPv4Address | None:
    if value in (None, ""):
        return None
    try:
        return ipaddress.IPv4Address(value)
    except ValueError:
        raise InvalidParameterValue(f"Invalid {what}: {value} is not an IPv4 address") from None
