"""A copy of the whole database taken once and put back in place: the EC2 emulator's reset restores the
freshly bootstrapped cloud this way instead of dropping every table and building the cloud again (schema,
settings, accounts with their password hashes, zones, hosts, offerings, images: ~300 ms against a few).

SQLite: SQLite's online backup, into a private in-memory database when taken and back over the live file when
restored, page by page under the process's write lock (other processes wait on the busy timeout as for any
write). MariaDB: a copy of each table in the same database (``snapshot__<table>``, no foreign keys) filled with
``INSERT … SELECT``; restoring empties each live table and refills it from its copy in one transaction with the
foreign-key checks off. Slower than SQLite's (a statement pair per table) and auto-increment counters are not
rewound, which nothing outside the backend sees.
"""
from __future__ import annotations

import sqlite3
import time

from backends import db as dbmod

PREFIX = "snapshot__"


class Snapshot:
    """The database as it was when :meth:`take` ran."""

    @staticmethod
    def take() -> "Snapshot":
        return _SqliteSnapshot() if dbmod.is_sqlite() else _MysqlSnapshot()

    def restore(self) -> None:
        raise NotImplementedError


class _SqliteSnapshot(Snapshot):
    def __init__(self):
        db = dbmod.database.obj
        self._copy = sqlite3.connect(":memory:", check_same_thread=False)
        with db.write_lock:
            _backup(db.connection(), self._copy)

    def restore(self) -> None:
        db = dbmod.database.obj
        with db.write_lock:
            _backup(self._copy, db.connection())


def _backup(source: sqlite3.Connection, target: sqlite3.Connection, attempts: int = 100) -> None:
    """All pages of ``source`` over ``target``; a reader of another connection holding the file briefly
    (a timer's query) is waited for."""
    for attempt in range(attempts):
        try:
            source.backup(target)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.01)


class _MysqlSnapshot(Snapshot):
    def __init__(self):
        db = dbmod.database.obj
        self._tables = [t for t in db.get_tables() if not t.startswith(PREFIX)]
        with dbmod.write_tx():
            for table in self._tables:
                copy = _quoted(PREFIX + table)
                db.execute_sql(f"DROP TABLE IF EXISTS {copy}")
                db.execute_sql(f"CREATE TABLE {copy} LIKE {_quoted(table)}")
                db.execute_sql(f"INSERT INTO {copy} SELECT * FROM {_quoted(table)}")

    def restore(self) -> None:
        db = dbmod.database.obj
        db.execute_sql("SET FOREIGN_KEY_CHECKS = 0")
        try:
            with dbmod.write_tx():
                for table in self._tables:
                    db.execute_sql(f"DELETE FROM {_quoted(table)}")
                    db.execute_sql(f"INSERT INTO {_quoted(table)} SELECT * FROM {_quoted(PREFIX + table)}")
        finally:
            db.execute_sql("SET FOREIGN_KEY_CHECKS = 1")


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"
