"""Bulk loading of the rows a listing's objects refer to.

A page of 500 VMs names accounts, zones, hosts, templates, offerings and owns
NICs; reading those one by one costs thousands of queries. ``attach`` loads
each foreign key for the whole page in one query and ``attach_children``
does the same for a one-to-many relation, so rendering a page is a handful
of queries whatever its size.
"""
from __future__ import annotations

from collections import defaultdict

from backends.db import objects

FEW = 8


def attach(rows, *names: str) -> None:
    """Load the foreign keys ``names`` of ``rows`` in one query each (``"a.b"`` follows a chain)."""
    rows = [r for r in rows if r is not None]
    if not rows:
        return
    for name in names:
        head, _, rest = name.partition(".")
        field = type(rows[0])._meta.fields[head]
        ids = {getattr(r, field.object_id_name) for r in rows} - {None}
        if len(ids) <= FEW:
            # A page names few distinct zones, offerings or accounts: reads by id (SQL built once)
            # cost less than one IN query built afresh.
            found = {i: obj for i in ids if (obj := field.rel_model.fetch_by_id(i)) is not None}
        else:
            found = {obj.id: obj for obj in objects(field.rel_model.select().where(field.rel_model.id.in_(list(ids))))}
        for row in rows:
            target = found.get(getattr(row, field.object_id_name))
            if target is not None:
                row.__rel__[head] = target
        if rest:
            attach(list(found.values()), rest)


def attach_children(rows, backref: str, model, fk_name: str, query=None) -> list:
    """Load the ``model`` rows pointing at ``rows`` through ``fk_name`` and expose them as ``row.<backref>``
    (a list); returns all children loaded."""
    if not rows:
        return []
    fk = getattr(model, fk_name)
    wanted = fk.in_([r.id for r in rows])
    children = list(query.where(wanted)) if query is not None else objects(model.select().where(wanted))
    by_parent = defaultdict(list)
    for child in children:
        by_parent[getattr(child, fk.object_id_name)].append(child)
    for row in rows:
        row.__dict__[backref] = by_parent.get(row.id, [])
        for child in by_parent.get(row.id, []):
            child.__rel__[fk_name] = row
    return children
