"""Which VMs still hold the shared objects they were launched with (images, security groups).

A question the storage and network areas ask before deleting what VMs use; it lives below them so
that they need not import the compute area that owns VMs.
"""
from __future__ import annotations

from backends.context import Caller
from backends.errors import ResourceInUse
from backends.models import VirtualMachine


def holding_shared_objects():
    """Condition on VirtualMachine: the VM still holds the shared objects it was launched with (its
    image, its security groups). An expunged VM holds nothing; neither does one terminated through EC2:
    destroyed with an expunge time of its own (``expunge_after``), it lets go at once, as in AWS, while
    it stays listed as terminated. A native destroy keeps the hold until the expunge, as CloudStack does."""
    return VirtualMachine.removed.is_null() & VirtualMachine.expunge_after.is_null()


def refuse_while_held(what: str, holders, caller: Caller, can_see) -> None:
    """ResourceInUse when the VM query ``holders`` selects any, naming the first the caller may know
    of (another tenant's VM, using a public image, is counted, never named)."""
    rows = list(holders.order_by(VirtualMachine.id))
    if not rows:
        return
    named = next((vm for vm in rows if can_see(caller, vm)), None)
    others = len(rows) - (named is not None)
    users = " and ".join(([f"VM {named.uuid}"] if named else [])
                         + ([f"{others} {'other ' if named else ''}VM(s)"] if others else []))
    raise ResourceInUse(f"{what} is in use by {users}", dependent=("VirtualMachine", named.uuid) if named else None)
