"""Versioned schema migrations, applied on start-up.

The schema is never dropped and re-created: each migration runs once, in
order, and the applied version is recorded in ``schema_version``. Migration 1
creates the initial tables; later ones alter them (playhouse.migrate) and must
be written against the schema as the previous migration left it.
"""
from __future__ import annotations

import logging

import peewee as pw

from backends.db import database, is_sqlite, write_tx
from backends.models import ALL_MODELS, BaseModel, utcnow

log = logging.getLogger(__name__)


class SchemaVersion(BaseModel):
    version = pw.IntegerField(primary_key=True)
    applied = pw.DateTimeField(default=utcnow)
    description = pw.CharField(max_length=255)


def _initial_schema(db):
    db.create_tables(ALL_MODELS)


def _extra_models(db):
    """Tables owned by modules outside models.py (e.g. the simulator's store)."""
    from backends.drivers import simulator_store

    db.create_tables(simulator_store.MODELS)


def _launch_groups(db):
    """VM launch groups and idempotency tokens (databases created before they existed)."""
    from playhouse.migrate import SchemaMigrator, migrate as apply

    from backends.models import VirtualMachine

    have = {c.name for c in db.get_columns(VirtualMachine._meta.table_name)}
    migrator = SchemaMigrator.from_database(db)
    steps = []
    for name in ("launch_group", "client_token"):
        if name not in have:
            field = VirtualMachine._meta.fields[name]
            steps.append(migrator.add_column(VirtualMachine._meta.table_name, name, field))  # indexes it too
    if steps:
        apply(*steps)


def _resource_tags(db):
    from backends.models import ResourceTag

    db.create_tables([ResourceTag], safe=True)


def _key_pairs(db):
    from backends.models import SSHKeyPair

    db.create_tables([SSHKeyPair], safe=True)


def _security_groups(db):
    from backends.models import SecurityGroup, SecurityGroupRule, VmSecurityGroup

    db.create_tables([SecurityGroup, SecurityGroupRule, VmSecurityGroup], safe=True)


def _tag_value_index(db):
    """Only where missing: MySQL has no CREATE INDEX IF NOT EXISTS, and fresh schemas already have it."""
    from backends.models import ResourceTag

    table = ResourceTag._meta.table_name
    have = {tuple(index.columns) for index in db.get_indexes(table)}
    if ("resource_type", "key", "value") not in have:
        db.execute(ResourceTag._schema._create_index(
            pw.ModelIndex(ResourceTag, (ResourceTag.resource_type, ResourceTag.key, ResourceTag.value), unique=False)))


def _scheduled_expunge(db):
    from playhouse.migrate import SchemaMigrator, migrate as apply

    from backends.models import VirtualMachine

    table = VirtualMachine._meta.table_name
    if "expunge_after" not in {c.name for c in db.get_columns(table)}:
        apply(SchemaMigrator.from_database(db).add_column(table, "expunge_after",
                                                          VirtualMachine._meta.fields["expunge_after"]))


def _job_instance_index_and_long_user_data(db):
    """Jobs found by their instance (listings, restart recovery); user data beyond MySQL's TEXT."""
    from backends.models import AsyncJob, VirtualMachine

    table = AsyncJob._meta.table_name
    if ("instance_uuid",) not in {tuple(index.columns) for index in db.get_indexes(table)}:
        db.execute(AsyncJob._schema._create_index(pw.ModelIndex(AsyncJob, (AsyncJob.instance_uuid,), unique=False)))
    if not is_sqlite():  # SQLite's TEXT has no size; MySQL's stops at 64 KiB
        db.execute_sql(f"ALTER TABLE `{VirtualMachine._meta.table_name}` MODIFY `user_data` MEDIUMTEXT NULL")


def _launch_templates(db):
    from backends.models import LaunchTemplate, LaunchTemplateVersion

    db.create_tables([LaunchTemplate, LaunchTemplateVersion], safe=True)


MIGRATIONS = [
    (1, "initial schema", _initial_schema),
    (2, "simulator store", _extra_models),
    (3, "VM launch groups and client tokens", _launch_groups),
    (4, "resource tags", _resource_tags),
    (5, "SSH key pairs", _key_pairs),
    (6, "security groups", _security_groups),
    (7, "resource tags indexed by kind, key and value", _tag_value_index),
    (8, "VMs expunged at a time of their own", _scheduled_expunge),
    (9, "jobs indexed by instance; user data up to 16 MiB on MySQL", _job_instance_index_and_long_user_data),
    (10, "launch templates and their versions", _launch_templates),
]


def current_version() -> int:
    db = database.obj
    if not db.table_exists(SchemaVersion._meta.table_name):
        return 0
    row = SchemaVersion.select(pw.fn.MAX(SchemaVersion.version)).scalar()
    return row or 0


def migrate() -> int:
    """Bring the schema up to date; return the version reached."""
    db = database.obj
    db.create_tables([SchemaVersion])
    version = current_version()
    for number, description, apply in MIGRATIONS:
        if number <= version:
            continue
        log.info("applying schema migration %d: %s", number, description)
        with write_tx():
            apply(db)
            SchemaVersion.create(version=number, description=description)
        version = number
    return version
