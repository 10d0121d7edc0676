"""Rows named by EC2 ids, as the caller may see them, or the id's Invalid*.NotFound."""
from __future__ import annotations

from ec2bridge.actions import Context
from ec2bridge.errors import not_found
from ec2bridge.ids import uuid_prefix_of


def find_owned(ctx: Context, entity: str, ec2_id: str, *, message: str | None = None):
    """The live ``entity`` row that ``ec2_id`` names, if the caller may see it; else the entity's NotFound code
    (another tenant's object answers exactly as a missing one). ``message``: the text, when the action words
    it otherwise (``{}`` stands for the id)."""
    row = ctx.cloud.lookup_prefix(entity, uuid_prefix_of(entity, ec2_id), ctx.caller)
    if row is None or getattr(row, "removed", None) is not None:
        raise not_found(entity, ec2_id, message=message)
    return row
