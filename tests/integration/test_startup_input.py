"""Start-up input the server cannot serve with: one line saying what, where and what to do, exit status 2.

Each case runs ``python -m server.cli serve`` as a user would and reads what it printed."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from server.settings import Settings, absolute_sqlite_url

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2
PR_CAPBSET_DROP = 24


def serve(cwd, *args, env=None, preexec_fn=None) -> subprocess.CompletedProcess:
    """The CLI with ``args``; it is expected to refuse before serving (a timeout fails the test)."""
    return subprocess.run([sys.executable, "-m", "server.cli", "serve", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": ROOT, **(env or {})},
                          preexec_fn=preexec_fn)


def without_root_file_powers() -> None:
    """Root minus the capabilities that bypass file permissions, so permissions apply to it as to anyone."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def refused_with(result: subprocess.CompletedProcess) -> str:
    """The one line of a refusal (stdout stays empty, no traceback)."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ec2bridge: ")
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("port", ["0", "65536", "-1", "80a"])
def test_a_port_outside_1_to_65535_is_refused(tmp_path, port):
    line = refused_with(serve(tmp_path, "--port", port, "--data-dir", "data"))
    assert "port (--port, EC2BRIDGE_PORT) must be" in line and "from 1 to 65535" in line and port in line
    assert not (tmp_path / "data").exists()  # refused before anything was created


def test_a_port_in_use_is_refused(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = refused_with(serve(tmp_path, "--port", str(port), "--data-dir", "data"))
    assert f"port {port} on 127.0.0.1 is in use" in line and "--port" in line


def test_an_address_not_of_this_machine_is_refused(tmp_path):
    line = refused_with(serve(tmp_path, "--host", "192.0.2.1", "--port", str(free_port()), "--data-dir", "data"))
    assert "cannot listen on 192.0.2.1:" in line and "--host" in line


def test_a_port_from_the_environment_is_checked_the_same(tmp_path):
    line = refused_with(serve(tmp_path, "--data-dir", "data", env={"EC2BRIDGE_PORT": "70000"}))
    assert "EC2BRIDGE_PORT" in line and "70000" in line


def test_a_data_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "data").write_text("not a directory")
    line = refused_with(serve(tmp_path, "--data-dir", "data"))
    assert f"{tmp_path}/data is not a directory" in line and "--data-dir" in line


def test_a_data_dir_that_cannot_be_created_is_refused(tmp_path):
    (tmp_path / "file").write_text("")
    line = refused_with(serve(tmp_path, "--data-dir", "file/data"))
    assert f"cannot create data directory {tmp_path}/file/data" in line and "--data-dir" in line


def test_an_unreadable_data_dir_is_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0)
    try:
        result = serve(tmp_path, "--data-dir", str(data),
                       preexec_fn=without_root_file_powers if os.geteuid() == 0 else None)
    finally:
        data.chmod(0o700)
    line = refused_with(result)
    assert f"data directory {data} is not readable and writable" in line and "permissions" in line


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "ec2bridge.db").write_text("these are my notes, not a database\n" * 100)
    line = refused_with(serve(tmp_path, "--data-dir", "data"))
    assert f"{tmp_path}/data/ec2bridge.db is not a SQLite database" in line and "--db" in line
    assert (tmp_path / "data" / "ec2bridge.db").read_text().startswith("these are my notes")


def test_a_relative_sqlite_path_is_taken_from_the_working_directory(tmp_path):
    (tmp_path / "notes.txt").write_text("plain text\n" * 100)
    line = refused_with(serve(tmp_path, "--data-dir", "data", "--db", "sqlite:///notes.txt"))
    assert f"{tmp_path}/notes.txt is not a SQLite database" in line


def test_an_unreachable_mysql_is_refused_without_its_password(tmp_path):
    url = f"mysql://cloud:hunter2@127.0.0.1:{free_port()}/cloud"  # nothing listens there
    line = refused_with(serve(tmp_path, "--data-dir", "data", "--db", url))
    assert f"cannot use MySQL database mysql://cloud:***@127.0.0.1:" in line
    assert "hunter2" not in line and "start the database server" in line


def test_an_unsupported_database_url_is_refused_without_its_password(tmp_path):
    line = refused_with(serve(tmp_path, "--data-dir", "data", "--db", "postgres://cloud:hunter2@db/cloud"))
    assert "unsupported database URL postgres://cloud:***@db/cloud" in line and "hunter2" not in line


def test_sqlite_urls_are_made_absolute_from_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert absolute_sqlite_url("sqlite:///relative.db") == f"sqlite:///{tmp_path}/relative.db"
    assert absolute_sqlite_url("sqlite:///sub/dir.db") == f"sqlite:///{tmp_path}/sub/dir.db"
    assert absolute_sqlite_url("sqlite:////srv/cloud.db") == "sqlite:////srv/cloud.db"
    assert absolute_sqlite_url("bare.db") == f"sqlite:///{tmp_path}/bare.db"
    assert absolute_sqlite_url("mysql://root@db/cloud") == "mysql://root@db/cloud"
    assert Settings(db="sqlite:///relative.db").db_url == f"sqlite:///{tmp_path}/relative.db"
