"""Checks of start-up input, made before serving: each failure is one line saying what, where and
what to do (raised as ``StartupError``), never a traceback."""
from __future__ import annotations

import errno
import os
import socket
import time
from urllib.parse import urlparse

from server.settings import Settings, StartupError, without_password


BIND_TRIES = 5  # as gunicorn retries: a server killed a moment ago may still hold the port


def check(settings: Settings) -> None:
    check_address(settings.host, settings.port)
    check_data_dir(settings.data_dir)
    check_database(settings.db_url)


def check_address(host: str, port: int) -> None:
    """The server can listen on host:port (tried as the server binds, then let go)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise StartupError(f"cannot listen on {host}:{port} ({exc.strerror}): give --host an address or "
                           f"name of this machine (0.0.0.0 for all)") from None
    for attempt in range(BIND_TRIES):
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
                return
            except OSError as exc:
                problem = exc
        if problem.errno != errno.EADDRINUSE:
            break
        if attempt + 1 < BIND_TRIES:
            time.sleep(1)
    if problem.errno == errno.EADDRINUSE:
        raise StartupError(f"port {port} on {host} is in use (another ec2bridge?): stop what listens there or "
                           f"give --port another port")
    if problem.errno == errno.EACCES:
        raise StartupError(f"cannot listen on {host}:{port} ({problem.strerror}): ports below 1024 need "
                           f"privileges; give --port 1024 or above")
    raise StartupError(f"cannot listen on {host}:{port} ({problem.strerror}): give --host an address of this "
                       f"machine (0.0.0.0 for all)")


def check_data_dir(path: str) -> None:
    where = os.path.abspath(path)
    if os.path.exists(where) and not os.path.isdir(where):
        raise StartupError(f"data directory {where} is not a directory: give --data-dir a directory "
                           f"(it is created if missing)")
    try:
        os.makedirs(where, exist_ok=True)
    except OSError as exc:
        raise StartupError(f"cannot create data directory {where} ({exc.strerror}): create it or give "
                           f"--data-dir a directory this user can write") from None
    if not os.access(where, os.R_OK | os.W_OK | os.X_OK):
        raise StartupError(f"data directory {where} is not readable and writable by this user: fix its "
                           f"permissions or give --data-dir another directory")


def check_database(url: str) -> None:
    """Open the database once and read from it; close it again (the serving process opens its own)."""
    import peewee

    from backends import db as dbmod

    shown = without_password(url)
    sqlite = urlparse(url).scheme == "sqlite"
    database = None
    try:
        database = dbmod.connect(url)
        database.execute_sql("SELECT count(*) FROM sqlite_master" if sqlite else "SELECT 1")
    except ValueError:
        raise StartupError(f"unsupported database URL {shown}: give --db (or EC2BRIDGE_DB) sqlite:///file.db "
                           f"or mysql://user:password@host:3306/dbname") from None
    except (peewee.DatabaseError, OSError) as exc:
        raise StartupError(_database_problem(shown, sqlite, exc)) from None
    finally:
        if database is not None:
            database.close()
            database.close_all()  # pooled connections must not cross into the forked worker


def _database_problem(shown: str, sqlite: bool, exc: Exception) -> str:
    if sqlite:
        path = shown[len("sqlite:///"):]
        text = str(exc)
        if "not a database" in text or "malformed" in text:
            return (f"{path} is not a SQLite database ({text}): give --db a database file, or a path where "
                    f"none exists yet to create one")
        return f"cannot open SQLite database {path} ({text}): give --db a file in a directory this user can write"
    reason = exc.args[-1] if exc.args and isinstance(exc.args[-1], str) else str(exc)
    return (f"cannot use MySQL database {shown} ({reason}): start the database server, create the "
            f"database and its user, or fix --db")
