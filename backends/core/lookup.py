"""Find an entity by its public UUID, by CloudStack entity name.

The API layers resolve every uuid-typed parameter through this, so an unknown
id fails the same way whichever command it is given to. Removed rows are found
too (CloudStack does the same); the managers decide what that means. Which
model an entity name stands for is the table of kinds' business.
"""
from __future__ import annotations

from backends.core.kinds import KINDS


def find(entity: str, uuid: str):
    """The row of kind ``entity`` with this uuid, or None."""
    model = KINDS[entity].model
    return model.get_or_none(model.uuid == uuid)


def find_by_prefix(entity: str, prefix: str):
    """The one row of kind ``entity`` whose uuid starts with ``prefix``, or None (none or ambiguous).

    A range rather than LIKE, so both SQLite and MariaDB use the uuid index."""
    model = KINDS[entity].model
    rows = list(model.select().where(model.uuid >= prefix, model.uuid < prefix + "~").limit(2))
    return rows[0] if len(rows) == 1 else None
