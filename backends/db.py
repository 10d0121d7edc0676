"""Database connection: SQLite (embedded default) or MySQL/MariaDB, chosen by URL.

All models bind to ``database``, a proxy initialised once by :func:`connect`.
Write transactions go through :func:`write_tx`, which on SQLite takes the write
lock up front (``BEGIN IMMEDIATE``) so two writers queue on the busy timeout
instead of one failing with "database is locked" half-way through.
"""
from __future__ import annotations

import functools
import os
import re
import threading
from contextlib import contextmanager
from urllib.parse import parse_qs, unquote, urlparse

import peewee
from pymysql.constants import CLIENT
from playhouse.pool import PooledMySQLDatabase, PooledSqliteDatabase

from backends.errors import InvalidParameterValue

database = peewee.DatabaseProxy()

_SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 30000,
    "foreign_keys": 1,
    "synchronous": "normal",
    "cache_size": -32000,
}


class _SqliteDatabase(PooledSqliteDatabase):
    """SQLite with a process-wide write lock in front of ``BEGIN IMMEDIATE``.

    SQLite's own busy handler sleeps in coarse steps; serialising writers of
    one process on a Python lock first keeps latency low, and the busy
    timeout still covers writers in other processes (gunicorn workers).
    Connections are pooled: the HTTP server runs each request on a new thread,
    and opening a connection (with its pragmas) costs more than most queries."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.write_lock = threading.RLock()

    def execute_sql(self, sql, params=None):
        """Run a statement; the rows of one that returns rows are read at once.

        A SELECT still being stepped keeps its connection's read snapshot open. A write
        transaction begun on that connection meanwhile (a loop over a query that writes as it
        goes, as the heartbeat does) cannot take the write lock once another connection has
        committed: SQLite answers "database is locked" at once, without waiting on the busy
        timeout. Reading every row first ends the statement before the caller sees a row."""
        cursor = super().execute_sql(sql, params)
        return cursor if cursor.description is None else _ReadCursor(cursor)


class _ReadCursor:
    """The rows of a finished statement, served as the DB-API cursor that produced them would."""

    def __init__(self, cursor):
        self.description, self.lastrowid, self.rowcount = cursor.description, cursor.lastrowid, cursor.rowcount
        self._serve(iter(cursor.fetchall()))
        cursor.close()

    def _serve(self, rows) -> None:
        self._rows = rows
        self.fetchone = functools.partial(next, rows, None)  # no Python frame per row: listings read many

    def fetchall(self) -> list:
        return list(self._rows)

    def __iter__(self):
        return self._rows

    def close(self) -> None:
        self._serve(iter(()))


def connect(url: str) -> peewee.Database:
    """Open the database named by ``url`` and bind the model proxy to it.

    ``sqlite:///path/to/file.db`` (or a bare path) or
    ``mysql://user:password@host:port/dbname``.
    """
    parsed = urlparse(url if "://" in url else "sqlite:///" + url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        if parsed.netloc:  # sqlite://relative/path
            path = parsed.netloc + path
        if path not in (":memory:", "/:memory:") and os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        db = _SqliteDatabase(path, pragmas=_SQLITE_PRAGMAS, check_same_thread=False, timeout=30,
                             max_connections=None, stale_timeout=None)  # as many as request threads
    elif parsed.scheme in ("mysql", "mariadb", "mysql+pymysql"):
        options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        db = PooledMySQLDatabase(
            unquote(parsed.path.lstrip("/")),
            user=unquote(parsed.username or "root"),
            password=unquote(parsed.password or ""),
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 3306,
            charset="utf8mb4",
            # Row counts are rows matched, as on SQLite: a conditional UPDATE that matched is a success
            # even when it left a value unchanged.
            client_flag=CLIENT.FOUND_ROWS,
            max_connections=int(options.get("max_connections", 32)),
            stale_timeout=300,
            timeout=30,
        )
    else:
        raise ValueError(f"unsupported database URL {url!r}: use sqlite:///file or mysql://user@host/db")
    database.initialize(db)
    db.connect(reuse_if_open=True)
    return db


def is_sqlite() -> bool:
    return isinstance(database.obj, peewee.SqliteDatabase)


@contextmanager
def write_tx():
    """A transaction that will write: serialised and lock-first on SQLite.

    A value the database cannot hold (MariaDB: too long for its column, out of its range) is the
    client's error, not the server's: it becomes InvalidParameterValue naming the column, after the
    transaction rolled back."""
    try:
        with _write_transaction():
            yield
    except peewee.DataError as exc:
        raise _not_storable(exc) from None


@contextmanager
def _write_transaction():
    db = database.obj
    if isinstance(db, _SqliteDatabase):
        if db.in_transaction():
            with db.atomic():
                yield
            return
        with db.write_lock:
            with db.atomic("IMMEDIATE"):
                yield
    else:
        with db.atomic():
            yield


def _not_storable(exc: peewee.DataError) -> InvalidParameterValue:
    found = re.search(r"column '(\w+)'", str(exc))
    column = found.group(1) if found else "a value"
    return InvalidParameterValue(f"Invalid value for {column}: too long, out of range or not storable")


def read_tx():
    """A consistent read snapshot (several SELECTs that must agree)."""
    return database.obj.atomic()


def page_of(query, page: int | None, pagesize: int | None) -> tuple[int, list]:
    """``(total, rows)`` of a list query: the count of all matches and the requested page. ``query`` may
    also be a list already built in Python (rows that are not all in the database, as default limits)."""
    if isinstance(query, list):
        if pagesize:
            start = ((page or 1) - 1) * pagesize
            return len(query), query[start:start + pagesize]
        return len(query), query
    total = query.count()
    if pagesize:
        query = query.paginate(page or 1, pagesize)
    return total, list(query)


def dialect(db) -> tuple[str, str]:
    """What the SQL text built for a database depends on: its parameter style and quoting. Caches of
    built SQL are keyed by it (never by the database object: a new one may reuse a freed one's id)."""
    return db.param, db.quote


class Compiled:
    """A SELECT whose SQL peewee builds once per database, later runs only binding parameters.

    For per-request hot paths (authentication), where building peewee's SQL costs more than
    the database running it. ``build`` receives one placeholder per parameter and returns the
    query; the placeholders are swapped for the real values at each run. With ``model`` the
    query must select that model's whole rows (``model.select()``), and :meth:`objects` returns
    them as model instances."""

    def __init__(self, build, arity: int = 1, model=None):
        self._build, self._arity, self._model = build, arity, model
        self._compiled: dict[tuple, tuple[str, list]] = {}

    def cursor(self, *values):
        db = database.obj
        compiled = self._compiled.get(dialect(db))
        if compiled is None:
            marks = [f"\x00param{i}\x00" for i in range(self._arity)]
            sql, params = self._build(*marks).sql()
            compiled = self._compiled[dialect(db)] = (sql, [marks.index(p) if p in marks else (None, p) for p in params])
        sql, slots = compiled
        return db.execute_sql(sql, [values[slot] if isinstance(slot, int) else slot[1] for slot in slots])

    def first(self, *values):
        return self.cursor(*values).fetchone()

    def objects(self, *values) -> list:
        return [instance(self._model, row) for row in self.cursor(*values).fetchall()]


def instance(model, row):
    """A model instance from a row of all its columns in ``sorted_fields`` order (``model.select()``),
    converted as peewee's own cursor wrapper does. Its state is set as ``Model.__init__`` leaves it (values by
    field name, foreign keys as ids, nothing dirty, no related row loaded) without a ``setattr`` per field:
    listings build thousands of rows, and peewee's per-field descriptors cost more than reading them."""
    obj = model.__new__(model)
    obj.__data__ = {f.name: f.python_value(value) for f, value in zip(model._meta.sorted_fields, row)}
    obj._dirty = set()
    obj.__rel__ = {}
    return obj


def objects(query) -> list:
    """The rows of ``Model.select()...`` (every column of the model, nothing joined) as model instances, built
    by :func:`instance`; what iterating the query would return."""
    sql, params = query.sql()
    model = query.model
    return [instance(model, row) for row in database.obj.execute_sql(sql, params).fetchall()]


def insert_rows(model, rows: list[dict], per_statement: int = 100, check=None) -> None:
    """INSERT new rows of ``model`` (field name -> value, the same fields in every row; the fields' defaults
    filled in as a new instance has them; ``check`` called on each row's values first), a multi-row statement
    per ``per_statement`` rows with SQL built by hand: a launch inserts hundreds of rows of a kind, and
    peewee's ``insert_many`` (or an instance per row) spends far longer than the database storing them."""
    if not rows:
        return
    fields = model._meta.fields
    pk_name = model._meta.primary_key.name
    defaults = [(f.name, f.default) for f in model._meta.sorted_fields
                if f.default is not None and f.name not in rows[0] and f.name != pk_name]
    data = []
    for row in rows:
        values = dict(row)
        for name, default in defaults:
            values[name] = default() if callable(default) else default
        if check is not None:
            check(values)
        data.append(values)
    names = tuple(data[0])
    db = database.obj
    left, right = db.quote
    head = (f"INSERT INTO {left}{model._meta.table_name}{right} "
            f"({', '.join(f'{left}{fields[n].column_name}{right}' for n in names)}) VALUES ")
    one = f"({', '.join([db.param] * len(names))})"
    for start in range(0, len(data), per_statement):
        part = data[start:start + per_statement]
        params = []
        for values in part:
            if tuple(values) != names:
                raise ValueError(f"rows of {model.__name__} inserted together must name the same fields")
            params += [fields[name].db_value(value) for name, value in values.items()]
        db.execute_sql(head + ", ".join([one] * len(part)), params)


def close() -> None:
    if database.obj is not None and not database.obj.is_closed():
        database.obj.close()
