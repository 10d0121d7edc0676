"""Find an entity by its public UUID, by CloudStack entity name.

The API layers resolve every uuid-typed parameter through this, so an unknown
id fails the same way whichever command it is given to. Removed rows are found
too (CloudStack does the same); the managers decide what that means.
"""
from __future__ import annotations

from backends import models as m

ENTITIES = {
    "Region": m.Region, "Domain": m.Domain, "Role": m.Role, "Account": m.Account, "User": m.User,
    "Zone": m.Zone, "Pod": m.Pod, "Cluster": m.Cluster, "Host": m.Host, "StoragePool": m.StoragePool,
    "ImageStore": m.ImageStore, "ServiceOffering": m.ServiceOffering, "DiskOffering": m.DiskOffering,
    "OsCategory": m.OsCategory, "OsType": m.OsType, "Template": m.Template, "Iso": m.Template,
    "Network": m.Network, "VirtualMachine": m.VirtualMachine, "Nic": m.Nic, "Volume": m.Volume,
    "AsyncJob": m.AsyncJob, "Event": m.Event, "ResourceTag": m.ResourceTag, "SSHKeyPair": m.SSHKeyPair,
    "SecurityGroup": m.SecurityGroup, "SecurityGroupRule": m.SecurityGroupRule,
}


def find(entity: str, uuid: str):
    """The row of kind ``entity`` with this uuid, or None."""
    model = ENTITIES[entity]
    return model.get_or_none(model.uuid == uuid)


def find_by_prefix(entity: str, prefix: str):
    """The one row of kind ``entity`` whose uuid starts with ``prefix``, or None (none or ambiguous).

    A range rather than LIKE, so both SQLite and MariaDB use the uuid index."""
    model = ENTITIES[entity]
    rows = list(model.select().where(model.uuid >= prefix, model.uuid < prefix + "~").limit(2))
    return rows[0] if len(rows) == 1 else None
