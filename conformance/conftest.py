"""A real ec2bridge server for the conformance suite.

The server runs as a subprocess (``python -m server.cli serve``) on a free
port with a fresh data dir, exactly as a user starts it; the clients under
test talk to it over HTTP. One server per test module keeps the suite fast.
"""
from __future__ import annotations

import configparser
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    port: int
    data_dir: str
    process: subprocess.Popen
    log_path: str

    @property
    def api_url(self) -> str:
        return f"{self.url}/client/api"

    def keys(self, profile: str) -> tuple[str, str]:
        parser = configparser.ConfigParser()
        parser.read(os.path.join(self.data_dir, "credentials"))
        return parser[profile]["aws_access_key_id"], parser[profile]["aws_secret_access_key"]

    def stop(self, kill: bool = False) -> None:
        if self.process.poll() is None:
            self.process.kill() if kill else self.process.terminate()
            self.process.wait(timeout=20)

    def log(self) -> str:
        with open(self.log_path) as fh:
            return fh.read()


def start_server(data_dir: str, *, db: str | None = None, port: int | None = None, env=None,
                 args: tuple[str, ...] = ("--log-level", "WARNING")) -> Server:
    port = port or free_port()
    log_path = os.path.join(data_dir, "server.log")
    os.makedirs(data_dir, exist_ok=True)
    cmd = [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--data-dir", data_dir, *args]
    if db:
        cmd += ["--db", db]
    with open(log_path, "a") as log:
        process = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})})
    server = Server(f"http://127.0.0.1:{port}", port, data_dir, process, log_path)
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
        try:
            requests.get(server.api_url, timeout=1)
            return server
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still building the cloud
            time.sleep(0.1)
    server.stop(kill=True)
    raise RuntimeError(f"server did not answer within 60s:\n{server.log()}")


def server_on_database(kind: str, data_dir: str):
    """A server generator on a fresh database of ``kind`` ("sqlite" or "mysql"), dropped after it stops:
    MariaDB refuses what SQLite stores, so tests that hunt bad input run on both."""
    from tests.conftest import database_url

    url, cleanup = (None, lambda: None) if kind == "sqlite" else database_url(kind, data_dir)
    srv = start_server(data_dir, db=url)
    try:
        yield srv
    finally:
        srv.stop()
        cleanup()


ON_EACH_DATABASE = ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_server(str(tmp_path_factory.mktemp("server")))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    """A server in EC2 emulator mode (SQLite + simulator) for one test module."""
    srv = start_server(str(tmp_path_factory.mktemp("emulator")), env={"EC2BRIDGE_EMULATOR": "1"})
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def validating(tmp_path_factory):
    """An emulator-mode server that refuses AMIs it does not have (``--validate-amis``), for one test module."""
    srv = start_server(str(tmp_path_factory.mktemp("validating")), env={"EC2BRIDGE_EMULATOR": "1"},
                       args=("--validate-amis", "--log-level", "WARNING"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def admin_cs(server):
    from cs import CloudStack

    key, secret = server.keys("admin")
    return CloudStack(endpoint=server.api_url, key=key, secret=secret)


@pytest.fixture(scope="module")
def user_cs(server):
    from cs import CloudStack

    key, secret = server.keys("demo")
    return CloudStack(endpoint=server.api_url, key=key, secret=secret)


@pytest.fixture(scope="module")
def libcloud_driver(server):
    from libcloud.compute.providers import get_driver
    from libcloud.compute.types import Provider

    key, secret = server.keys("demo")
    cls = get_driver(Provider.CLOUDSTACK)
    return cls(key=key, secret=secret, host="127.0.0.1", port=server.port, path="/client/api", secure=False)


def ec2_client(server, profile: str = "demo", region: str = "us-east-1", service: str = "ec2"):
    import boto3
    from botocore.config import Config

    key, secret = server.keys(profile)
    return boto3.client(service, endpoint_url=server.url, region_name=region, aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def ec2(server):
    return ec2_client(server)


@pytest.fixture(scope="module")
def admin_ec2(server):
    return ec2_client(server, "admin")


def wait_template_ready(cs, template_id: str, timeout: float = 30) -> dict:
    """listTemplates' row of a registered template once its download finished (or at the timeout)."""
    deadline = time.time() + timeout
    while True:
        listed = cs.listTemplates(templatefilter="self", id=template_id)["template"][0]
        if listed["isready"] or time.time() > deadline:
            return listed
        time.sleep(0.2)
