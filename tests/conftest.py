"""Shared fixtures: a real, migrated database on SQLite and (when available) MariaDB.

MariaDB runs when EC2BRIDGE_TEST_MYSQL is set to a server URL without a
database name (``mysql://root@127.0.0.1:3306``); ``make test`` sets it after
starting the server. Each test module gets a throwaway database. Without it the
MariaDB variants skip, except in CI (``CI`` set), where they fail: a MariaDB
that did not start must not turn the run green.
"""
from __future__ import annotations

import os
import uuid

import pytest

from backends import db as dbmod
from backends.migrations import migrate

MYSQL = os.environ.get("EC2BRIDGE_TEST_MYSQL", "")

DB_PARAMS = ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)]


def _mysql_database(name: str) -> str:
    import pymysql
    from urllib.parse import urlparse

    u = urlparse(MYSQL)
    conn = pymysql.connect(host=u.hostname or "127.0.0.1", port=u.port or 3306,
                           user=u.username or "root", password=u.password or "")
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    conn.close()
    return f"{MYSQL.rstrip('/')}/{name}"


def _drop_mysql_database(name: str) -> None:
    import pymysql
    from urllib.parse import urlparse

    u = urlparse(MYSQL)
    conn = pymysql.connect(host=u.hostname or "127.0.0.1", port=u.port or 3306,
                           user=u.username or "root", password=u.password or "")
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


def require_mysql() -> None:
    """Skip a MariaDB test when no server is configured; in CI, fail it (as a missing libvirt does)."""
    if MYSQL:
        return
    if os.environ.get("CI"):
        pytest.fail("MariaDB is not configured in CI: EC2BRIDGE_TEST_MYSQL is empty, so "
                    "scripts/ensure-mariadb.sh failed (run it to see why)")
    pytest.skip("MariaDB not configured (set EC2BRIDGE_TEST_MYSQL)")


def database_url(kind: str, tmp_path) -> tuple[str, callable]:
    """A fresh database of ``kind``; returns its URL and a cleanup function."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/cloud.db", lambda: None
    require_mysql()
    name = "ec2bridge_test_" + uuid.uuid4().hex[:12]
    return _mysql_database(name), lambda: _drop_mysql_database(name)


@pytest.fixture(params=DB_PARAMS)
def db(request, tmp_path):
    """A migrated, empty database bound to the models, on SQLite and MariaDB."""
    url, cleanup = database_url(request.param, tmp_path)
    database = dbmod.connect(url)
    migrate()
    yield database
    database.close_all() if hasattr(database, "close_all") else database.close()
    cleanup()


@pytest.fixture
def sqlite_db(tmp_path):
    """A migrated SQLite database, for tests that need only one backend."""
    database = dbmod.connect(f"sqlite:///{tmp_path}/cloud.db")
    migrate()
    yield database
    database.close_all() if hasattr(database, "close_all") else database.close()
