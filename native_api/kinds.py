"""What the native API makes of each backend kind: the view its objects are shown with.

Keyed by the backend's entity names (backends/core/kinds.py), with a row for
every kind there (tests/unit/test_resource_kinds.py checks), since any of them
can be named by a uuid parameter. Tag resource types are not repeated here: the
API names them as the backend stores them, CloudStack's own names (UserVm,
Template, ISO, Volume).
"""
from __future__ import annotations

from dataclasses import dataclass

from native_api.views import View, accounts, catalog, infra, keypairs, misc, networks, securitygroups, tags, vms


@dataclass(frozen=True)
class NativeKind:
    # How one object of this kind is shown, also as the result of an async job that ends with one
    # (None: never on its own; such a job answers {"success": true}).
    view: type[View] | None


KINDS: dict[str, NativeKind] = {
    "VirtualMachine": NativeKind(vms.VirtualMachine),
    "Template": NativeKind(catalog.Template),
    "Iso": NativeKind(catalog.Iso),
    "Volume": NativeKind(vms.Volume),
    "SecurityGroup": NativeKind(securitygroups.SecurityGroup),
    "SecurityGroupRule": NativeKind(None),  # shown inside its group
    "SSHKeyPair": NativeKind(keypairs.SSHKeyPair),
    "LaunchTemplate": NativeKind(None),  # EC2's alone: the native API names it only by its tags
    "Nic": NativeKind(vms.Nic),
    "Network": NativeKind(networks.Network),
    "Region": NativeKind(misc.Region),
    "Domain": NativeKind(accounts.Domain),
    "Role": NativeKind(None),
    "Account": NativeKind(accounts.Account),
    "User": NativeKind(accounts.User),
    "Zone": NativeKind(infra.Zone),
    "Pod": NativeKind(infra.Pod),
    "Cluster": NativeKind(infra.Cluster),
    "Host": NativeKind(infra.Host),
    "StoragePool": NativeKind(infra.StoragePool),
    "ImageStore": NativeKind(infra.ImageStore),
    "ServiceOffering": NativeKind(catalog.ServiceOffering),
    "DiskOffering": NativeKind(catalog.DiskOffering),
    "OsCategory": NativeKind(catalog.OsCategory),
    "OsType": NativeKind(catalog.OsType),
    "AsyncJob": NativeKind(None),  # its own body (views/jobs.py)
    "Event": NativeKind(misc.Event),
    "ResourceTag": NativeKind(tags.Tag),
}



def view_of(entity: str | None) -> type[View] | None:
    """The view of an object of ``entity`` (None for a kind without one, or no kind)."""
    kind = KINDS.get(entity)
    return kind.view if kind else None
