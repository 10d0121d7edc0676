"""The kinds of resource the cloud holds: one row each, read by lookups, tags and errors.

A kind is named by its CloudStack entity name ("VirtualMachine", "Iso"...): the
name API parameters resolve ids by, a NotFound names, and a job's result carries.
Each front door keeps its own table keyed by the same names for what only it
knows (the EC2 id prefix and error codes, the native view); a unit test checks
that every kind here that can be tagged or looked up there has its row in both.
Adding a kind is a row here, a row in each front door's table, and its manager.
"""
from __future__ import annotations

from dataclasses import dataclass

from peewee import Model

from backends import models as m


@dataclass(frozen=True)
class Kind:
    entity: str
    model: type[Model]
    # What a tenant's object is called in errors ("Unable to find the virtual machine").
    noun: str = "resource"
    # The resource type its tags are stored (and shown, as CloudStack does) under; None: not taggable.
    tag_type: str | None = None
    # Known to everyone when public (images): acting on another's is PermissionDenied, not NotFound.
    shareable: bool = False


# Taggable kinds come in the order the errors list them: UserVm, Template, ISO, Volume, LaunchTemplate.
_ROWS = (
    Kind("VirtualMachine", m.VirtualMachine, "virtual machine", tag_type="UserVm"),
    Kind("Template", m.Template, "template", tag_type="Template", shareable=True),
    Kind("Iso", m.Template, "ISO", tag_type="ISO", shareable=True),
    Kind("Volume", m.Volume, "volume", tag_type="Volume"),
    Kind("LaunchTemplate", m.LaunchTemplate, "launch template", tag_type="LaunchTemplate"),
    Kind("SecurityGroup", m.SecurityGroup, "security group"),
    Kind("SecurityGroupRule", m.SecurityGroupRule, "security group rule"),
    Kind("SSHKeyPair", m.SSHKeyPair, "SSH key pair"),
    Kind("Nic", m.Nic, "NIC"),
    Kind("Network", m.Network),
    Kind("Region", m.Region),
    Kind("Domain", m.Domain, "domain"),
    Kind("Role", m.Role),
    Kind("Account", m.Account, "account"),
    Kind("User", m.User, "user"),
    Kind("Zone", m.Zone),
    Kind("Pod", m.Pod),
    Kind("Cluster", m.Cluster),
    Kind("Host", m.Host),
    Kind("StoragePool", m.StoragePool),
    Kind("ImageStore", m.ImageStore),
    Kind("ServiceOffering", m.ServiceOffering),
    Kind("DiskOffering", m.DiskOffering),
    Kind("OsCategory", m.OsCategory),
    Kind("OsType", m.OsType),
    Kind("AsyncJob", m.AsyncJob, "job"),
    Kind("Event", m.Event, "event"),
    Kind("ResourceTag", m.ResourceTag, "tag"),
)

KINDS: dict[str, Kind] = {kind.entity: kind for kind in _ROWS}
# Tag resource type -> its kind, for the kinds that take tags.
TAGGABLE: dict[str, Kind] = {kind.tag_type: kind for kind in _ROWS if kind.tag_type}


# Model -> the kind its rows are; templates and ISOs share a model (``entity_of`` tells them apart).
_BY_MODEL: dict[type[Model], str] = {}
for _kind in _ROWS:
    _BY_MODEL.setdefault(_kind.model, _kind.entity)


def entity_of(row: Model) -> str:
    """The kind a row is ("VirtualMachine", "Iso"...), as events and job results name it."""
    if isinstance(row, m.Template):
        return "Iso" if row.is_iso else "Template"
    return _BY_MODEL[type(row)]


def noun(entity: str) -> str:
    """What an object of ``entity`` is called in errors ("resource" for a name not in the table)."""
    kind = KINDS.get(entity)
    return kind.noun if kind else "resource"

