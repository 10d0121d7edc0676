"""The resource types that limits and counts are kept for, numbered as CloudStack numbers them.

They live in core, not next to the limits in identity, because areas on identity's floor or
beside it (storage counts templates) reserve and release them too and may not import identity.
"""
from __future__ import annotations

from backends.errors import InvalidParameterValue

USER_VM, PUBLIC_IP, VOLUME, SNAPSHOT, TEMPLATE, PROJECT, NETWORK, VPC, CPU, MEMORY, PRIMARY_STORAGE, \
    SECONDARY_STORAGE = range(12)
RESOURCE_TYPES = {
    USER_VM: "user_vm", PUBLIC_IP: "public_ip", VOLUME: "volume", SNAPSHOT: "snapshot", TEMPLATE: "template",
    PROJECT: "project", NETWORK: "network", VPC: "vpc", CPU: "cpu", MEMORY: "memory",
    PRIMARY_STORAGE: "primary_storage", SECONDARY_STORAGE: "secondary_storage",
}


def type_name(resource_type: int) -> str:
    """CloudStack's name of a resource type ("user_vm", ...)."""
    try:
        return RESOURCE_TYPES[resource_type]
    except KeyError:
        raise InvalidParameterValue("Please specify valid resource type") from None
