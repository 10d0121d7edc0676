"""What the front doors may use of the backend: this module and nothing else.

``ec2bridge/`` and ``native_api/`` are handed a started ``Cloud`` and call the public methods of
its managers; the values they pass in or get back (the caller, a listing's scope, rule specs, a
job's result, the errors) are re-exported here so that neither API imports an area package, the
models, the database or a driver (an import-linter contract in pyproject.toml holds this). The
definitions stay where they belong; a new value object the APIs need is added to this list.
"""
from __future__ import annotations

from backends.cloud import Cloud
from backends.compute.launch import LaunchRequest, LaunchTokenReused, LaunchUnplaced
from backends.compute.launch_templates import LaunchTemplateNameTaken, LaunchTemplateVersionMissing
from backends.context import ROLE_ADMIN, ROLE_DOMAIN_ADMIN, ROLE_RESOURCE_ADMIN, ROLE_USER, Caller
from backends.core.jobs import JobResult
from backends.core.kinds import TAGGABLE
from backends.core.resources import RESOURCE_TYPES
from backends.errors import CloudError, InvalidParameterValue, NotFound, PermissionDenied
from backends.identity.access import Scope
from backends.identity.authentication import DEFAULT_EMULATOR_ACCOUNT, is_account_number
from backends.network.securitygroups import RuleSpec

__all__ = [
    "Caller", "Cloud", "CloudError", "DEFAULT_EMULATOR_ACCOUNT", "InvalidParameterValue", "JobResult",
    "LaunchRequest", "LaunchTemplateNameTaken", "LaunchTemplateVersionMissing", "LaunchTokenReused",
    "LaunchUnplaced", "NotFound", "PermissionDenied",
    "RESOURCE_TYPES", "ROLE_ADMIN", "ROLE_DOMAIN_ADMIN", "ROLE_RESOURCE_ADMIN", "ROLE_USER", "RuleSpec", "Scope",
    "TAGGABLE", "is_account_number",
]
