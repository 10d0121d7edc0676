"""Migrations bring an older database up to date and leave a current one alone."""
from __future__ import annotations

from backends import migrations
from backends.db import database
from backends.models import VirtualMachine


def test_migration_3_adds_launch_columns_to_an_older_database(sqlite_db):
    table = VirtualMachine._meta.table_name
    for index in database.obj.get_indexes(table):
        if set(index.columns) & {"launch_group", "client_token"}:
            database.obj.execute_sql(f'DROP INDEX "{index.name}"')
    for column in ("launch_group", "client_token"):
        database.obj.execute_sql(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    migrations.SchemaVersion.delete().where(migrations.SchemaVersion.version >= 3).execute()
    assert migrations.current_version() == 2

    assert migrations.migrate() == len(migrations.MIGRATIONS)
    columns = {c.name for c in database.obj.get_columns(table)}
    assert {"launch_group", "client_token"} <= columns
    assert migrations.migrate() == len(migrations.MIGRATIONS)  # nothing left to do


def test_migration_9_indexes_jobs_by_instance_on_an_older_database(db):
    from backends.models import AsyncJob

    table = AsyncJob._meta.table_name
    for index in database.obj.get_indexes(table):
        if index.columns == ["instance_uuid"]:
            database.obj.execute_sql(f'DROP INDEX "{index.name}"' if migrations.is_sqlite()
                                     else f"DROP INDEX `{index.name}` ON `{table}`")
    migrations.SchemaVersion.delete().where(migrations.SchemaVersion.version >= 9).execute()

    assert migrations.migrate() == len(migrations.MIGRATIONS)
    assert ["instance_uuid"] in [index.columns for index in database.obj.get_indexes(table)]
