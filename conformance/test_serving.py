"""The server as started by ``ec2bridge serve``: gunicorn by default (keep-alive, graceful SIGTERM,
gone with its master on kill -9), werkzeug's development server behind ``--dev``."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import time

import pytest
from cs import CloudStack

from conformance.conftest import start_server
from conformance.test_cs_client import pick, vm_state


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    stat = fh.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as a server binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def admin_client(server) -> CloudStack:
    key, secret = server.keys("admin")
    return CloudStack(endpoint=server.api_url, key=key, secret=secret)


def deploy_slowly(admin: CloudStack, wait_ms: int) -> tuple[str, str]:
    """A deploy whose start takes ``wait_ms`` on the simulator, once its VM is Starting: (job id, vm id)."""
    admin.configureSimulator(name="StartCommand", value=f"wait:{wait_ms}")
    zone, offering, template = pick(admin)
    deployed = admin.deployVirtualMachine(zoneid=zone["id"], serviceofferingid=offering["id"],
                                          templateid=template["id"])
    assert wait_until(lambda: vm_state(admin, deployed["id"]) == "Starting")
    return deployed["jobid"], deployed["id"]


@pytest.fixture
def info_server(tmp_path):
    srv = start_server(str(tmp_path / "info"), args=("--log-level", "INFO"))
    yield srv
    srv.stop()


def test_the_banner_names_both_endpoints_and_no_secret(server):
    log = server.log()
    assert f"native API : {server.url}/client/api" in log
    assert f"EC2 API    : {server.url}/" in log
    for profile in ("admin", "demo"):
        key, secret = server.keys(profile)
        assert key in log and secret not in log


def test_connections_are_kept_alive(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", "/client/api?command=listZones&response=json")
        first = conn.getresponse()
        first.read()
        sock = conn.sock
        assert first.status == 401 and not first.will_close and sock is not None
        conn.request("POST", "/", body="Action=DescribeRegions&Version=2016-11-15",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        second = conn.getresponse()
        assert second.status == 400 and b"<Code>MissingParameter</Code>" in second.read()
        assert conn.sock is sock  # the same TCP connection answered both
    finally:
        conn.close()


def test_one_worker_process_whatever_the_signals(server):
    workers = children(server.process.pid)
    assert len(workers) == 1
    for sig in (signal.SIGHUP, signal.SIGTTIN):  # gunicorn would reload or add a worker: a second job pool
        server.process.send_signal(sig)
    assert wait_until(lambda: "SIGTTIN ignored" in server.log())
    assert children(server.process.pid) == workers
    assert admin_client(server).listZones()["count"] == 2


def test_the_access_log_is_redacted_and_plain(info_server):
    conn = http.client.HTTPConnection("127.0.0.1", info_server.port, timeout=10)
    conn.request("GET", "/client/api?command=listZones&apiKey=KEY&signature=TopSecretSig")
    conn.getresponse().read()
    conn.close()
    assert wait_until(lambda: "command=listZones" in info_server.log())
    log = info_server.log()
    assert "signature=***" in log and "TopSecretSig" not in log
    assert "\x1b[" not in log


def test_sigterm_answers_the_request_in_flight_then_exits(tmp_path):
    server = start_server(str(tmp_path / "drain"))
    body = b"command=listZones&response=json&apiKey=KEY&signature=x"
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as conn:
        conn.sendall(b"POST /client/api HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
        time.sleep(0.5)  # the request is being read when the signal comes
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        conn.sendall(body[10:])
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b'"errorcode": 401' in answer or b'"errorcode":401' in answer
    assert server.process.wait(timeout=30) == 0


def test_sigterm_lets_a_running_deploy_finish(tmp_path):
    server = start_server(str(tmp_path / "graceful"))
    admin = admin_client(server)
    job_id, vm_id = deploy_slowly(admin, wait_ms=3000)
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=30) == 0

    server = start_server(server.data_dir, port=server.port)
    try:
        admin = admin_client(server)
        result = admin.queryAsyncJobResult(jobid=job_id)
        assert result["jobstatus"] == 1, result  # finished before the exit, not failed at the restart
        assert vm_state(admin, vm_id) == "Running"
    finally:
        server.stop()


def test_kill_9_of_the_server_leaves_no_worker_running(tmp_path):
    server = start_server(str(tmp_path / "killed"))
    workers = children(server.process.pid)
    assert workers
    deploy_slowly(admin_client(server), wait_ms=30000)  # a worker left alone would finish this job first
    server.stop(kill=True)
    assert wait_until(lambda: not any(running(pid) for pid in workers), timeout=10)
    assert wait_until(lambda: port_free(server.port), timeout=10)  # nothing listens on it any more


def test_the_development_server_serves_behind_dev(tmp_path):
    server = start_server(str(tmp_path / "dev"), args=("--dev", "--log-level", "INFO"))
    try:
        zones = admin_client(server).listZones()["zone"]
        assert {z["name"] for z in zones} == {"us-east-1a", "us-east-1b"}
        assert not children(server.process.pid)  # one process: werkzeug, not gunicorn's master and worker
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("GET", "/client/api?command=listZones&signature=TopSecretSig")
        assert conn.getresponse().status == 401
        conn.close()
        assert wait_until(lambda: "signature=***" in server.log())
        log = server.log()
        assert "TopSecretSig" not in log and "\x1b[" not in log  # a 401 is coloured on a terminal only
        assert f"EC2 API    : {server.url}/" in log
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0
    finally:
        server.stop()
