"""A value the database cannot hold is the client's error: InvalidParameterValue naming the column, with
the transaction rolled back, on every database alike (MariaDB refuses values too long for their column, and
the models refuse them before SQLite, which has no length limit, would store them)."""
from __future__ import annotations

import pytest

from backends.db import write_tx
from backends.errors import InvalidParameterValue
from backends.models import Region, Role
from tests.conftest import database_url


def test_a_value_too_long_for_its_column_is_invalid_parameter_value(db):
    with pytest.raises(InvalidParameterValue) as info:
        with write_tx():
            Region.create(name="kept only if all is", region_number=7)
            Role.create(name="r", role_type="User", description="d" * 300)
    assert "description" in info.value.message
    assert not Region.select().where(Region.region_number == 7).exists()  # rolled back
    with write_tx():
        Role.create(name="r", role_type="User", description="d" * 255)
    assert Role.get(Role.name == "r").description == "d" * 255


@pytest.mark.mysql
def test_mysql_refusing_a_value_is_invalid_parameter_value_too(tmp_path):
    """Writes the models do not check (bulk updates) still meet MySQL's own refusal, mapped the same way."""
    from backends import db as dbmod
    from backends.migrations import migrate

    url, cleanup = database_url("mysql", tmp_path)
    database = dbmod.connect(url)
    try:
        migrate()
        Role.create(name="r", role_type="User", description="d")
        with pytest.raises(InvalidParameterValue) as info:
            with write_tx():
                Region.create(name="kept only if all is", region_number=7)
                Role.update(description="d" * 300).where(Role.name == "r").execute()
        assert "description" in info.value.message
        assert not Region.select().where(Region.region_number == 7).exists()  # rolled back
    finally:
        database.close_all() if hasattr(database, "close_all") else database.close()
        cleanup()


def test_other_database_errors_are_left_alone(db):
    Region.create(name="r1", region_number=1)
    with pytest.raises(Exception) as info:
        with write_tx():
            Region.create(name="r1", region_number=1)
    assert not isinstance(info.value, InvalidParameterValue)  # a duplicate is the caller's to judge
