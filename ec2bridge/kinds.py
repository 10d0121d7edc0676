"""What EC2 calls each backend kind: its id prefix, its resource type and its NotFound answer.

Keyed by the backend's entity names (backends/core/kinds.py); ids, errors and
tags read from here. A backend kind that can be tagged needs its row, or its
tags could not be shown under EC2 ids (tests/unit/test_resource_kinds.py checks).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ec2Kind:
    prefix: str  # i-0f4c2a9e5b7d4e1a9
    resource_type: str  # DescribeTags' ResourceType
    not_found: str  # the code for an id that names nothing (or another tenant's object)
    not_found_message: str  # '{}' is the EC2 id
    # The code an id that is not one of this kind's is ``<malformed>.Malformed`` under.
    malformed: str = "InvalidID"


_IMAGE = Ec2Kind("ami", "image", "InvalidAMIID.NotFound", "The image id '[{}]' does not exist", "InvalidAMIID")

# In this order an EC2 id prefix names its first kind: an ami- id is looked up (and tagged) as a Template;
# an ISO is an image too, and the same rows.
KINDS: dict[str, Ec2Kind] = {
    "VirtualMachine": Ec2Kind("i", "instance", "InvalidInstanceID.NotFound", "The instance ID '{}' does not exist",
                              "InvalidInstanceID"),
    "Template": _IMAGE,
    "Iso": _IMAGE,
    "Volume": Ec2Kind("vol", "volume", "InvalidVolume.NotFound", "The volume '{}' does not exist."),
    "SecurityGroup": Ec2Kind("sg", "security-group", "InvalidGroup.NotFound",
                             "The security group '{}' does not exist"),
    "LaunchTemplate": Ec2Kind("lt", "launch-template", "InvalidLaunchTemplateId.NotFound",
                              "The specified launch template, with template ID {}, does not exist.",
                              "InvalidLaunchTemplateId"),
    "SSHKeyPair": Ec2Kind("key", "key-pair", "InvalidKeyPair.NotFound", "The key pair '{}' does not exist"),
}

# EC2 id prefix -> the backend entity it is looked up as.
ENTITY_OF_PREFIX: dict[str, str] = {}
for _entity, _kind in KINDS.items():
    ENTITY_OF_PREFIX.setdefault(_kind.prefix, _entity)
