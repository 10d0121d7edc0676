"""The SQL built once and reused (inserts, reads by id, lazy foreign keys, compiled selects) must give the
same rows and values as peewee's own generic path, on SQLite and MariaDB."""
from __future__ import annotations

import datetime as dt

import pytest

from backends.db import Compiled
from backends.models import Domain, Region


def test_insert_then_read_by_id_matches_peewee(db):
    root = Domain.create(name="ROOT", path="/")
    child = Domain.create(name="Child", parent=root, path="/Child/", level=1, removed=dt.datetime(2026, 1, 2, 3, 4, 5),
                          live=None)
    assert root.id and child.id and child.id != root.id and not child.dirty_fields
    for row in (root, child):
        fast = Domain.fetch_by_id(row.id)
        slow = Domain.select().where(Domain.id == row.id).get()
        assert fast.__data__ == slow.__data__ and not fast.dirty_fields
    again = Domain.get_by_id(child.id)
    assert again.removed == dt.datetime(2026, 1, 2, 3, 4, 5) and again.live is None and again.level == 1
    assert again.parent.name == "ROOT" and again.parent.id == root.id  # lazy foreign key through fetch_by_id
    assert Domain.fetch_by_id(10_000) is None
    with pytest.raises(Domain.DoesNotExist):
        Domain.get_by_id(10_000)


def test_a_saved_row_is_updated_not_inserted_again(db):
    region = Region.create(name="r1", region_number=1)
    region.endpoint = "http://r1"
    region.save()
    assert Region.select().count() == 1 and Region.get_by_id(region.id).endpoint == "http://r1"


def test_compiled_select_binds_fresh_values_and_keeps_constants(db):
    Region.create(name="east", region_number=1, endpoint="e")
    Region.create(name="west", region_number=2, endpoint="w")
    by_name = Compiled(lambda name: Region.select(Region.region_number).where(Region.name == name,
                                                                              Region.endpoint != "zzz"))
    assert by_name.first("east") == (1,)
    assert by_name.first("west") == (2,)
    assert by_name.first("north") is None


def test_objects_are_the_instances_peewee_builds(db):
    from backends.db import objects

    root = Domain.create(name="ROOT", path="/")
    Domain.create(name="Child", parent=root, path="/Child/", level=1, removed=dt.datetime(2026, 1, 2, 3, 4, 5),
                  live=None)
    query = Domain.select().order_by(Domain.id)
    fast, slow = objects(query), list(query)
    assert [type(d) for d in fast] == [Domain, Domain]
    assert [(d.__data__, d.dirty_fields, d.__rel__) for d in fast] == [(d.__data__, d.dirty_fields, d.__rel__)
                                                                        for d in slow]
    child = fast[1]
    assert child.removed == dt.datetime(2026, 1, 2, 3, 4, 5) and child.parent.id == root.id  # lazy key still works
    child.name = "Renamed"
    child.save()  # saved as an update of its row, as any instance read from the database
    assert Domain.select().count() == 2 and Domain.get_by_id(child.id).name == "Renamed"
