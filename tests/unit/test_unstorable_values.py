"""A value the database cannot hold is the client's error: InvalidParameterValue naming the column, with
the transaction rolled back (MariaDB refuses values too long for their column; SQLite stores them)."""
from __future__ import annotations

import pytest

from backends.db import write_tx
from backends.errors import InvalidParameterValue
from backends.models import Region, Role
from tests.conftest import database_url


@pytest.mark.mysql
def test_a_value_too_long_for_its_column_is_invalid_parameter_value(tmp_path):
    from backends import db as dbmod
    from backends.migrations import migrate

    url, cleanup = database_url("mysql", tmp_path)
    database = dbmod.connect(url)
    try:
        migrate()
        with pytest.raises(InvalidParameterValue) as info:
            with write_tx():
                Region.create(name="kept only if all is", region_number=7)
                Role.create(name="r", role_type="User", description="d" * 300)
        assert "description" in info.value.message
        assert not Region.select().where(Region.region_number == 7).exists()  # rolled back
        with write_tx():
            Role.create(name="r", role_type="User", description="d" * 255)
        assert Role.get(Role.name == "r").description == "d" * 255
    finally:
        database.close_all() if hasattr(database, "close_all") else database.close()
        cleanup()


def test_other_database_errors_are_left_alone(db):
    Region.create(name="r1", region_number=1)
    with pytest.raises(Exception) as info:
        with write_tx():
            Region.create(name="r1", region_number=1)
    assert not isinstance(info.value, InvalidParameterValue)  # a duplicate is the caller's to judge
