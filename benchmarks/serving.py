"""Requests/s of both APIs over HTTP on the default server (gunicorn) and on werkzeug's development
server (``--dev``): what keep-alive and the server add to a cheap request (not a test; figures go in
the README).

For each server, on a fresh demo cloud (SQLite + simulator): a signed native ``listZones`` and a
SigV4 ``DescribeRegions``, each

- through the real clients (the ``cs`` library and boto3, one client reused: they keep connections
  alive when the server allows it),
- replayed as raw HTTP on one connection (signed once; ``http.client`` reconnects when the server closes),
- replayed by several clients at once, each on its own connection.

    python benchmarks/serving.py [--budget 5] [--clients 4] [--only gunicorn|dev]
"""
from __future__ import annotations

import argparse
import base64
import configparser
import hashlib
import hmac
import http.client
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from urllib.parse import quote, urlencode

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from cs import CloudStack

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.ec2_vs_moto import ROOT, Target, free_port  # noqa: E402

REGION = "us-east-1"


def start(mode: str, workdir: str) -> tuple[Target, tuple[str, str]]:
    data = os.path.join(workdir, f"{mode}-data")
    port = free_port()
    args = ["--dev"] if mode == "dev" else []
    target = Target(mode, [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--data-dir", data,
                           "--log-level", "WARNING", *args], port, workdir)
    parser = configparser.ConfigParser()
    parser.read(os.path.join(data, "credentials"))
    return target, (parser["admin"]["aws_access_key_id"], parser["admin"]["aws_secret_access_key"])


def native_request(key: str, secret: str) -> tuple[str, str, bytes, dict]:
    """A signed GET listZones, as CloudStack verifies it (sorted, encoded, lower-cased, HMAC-SHA1)."""
    params = {"command": "listZones", "response": "json", "apiKey": key}
    query = "&".join(f"{k}={quote(v, safe='*')}" for k, v in sorted(params.items(), key=lambda kv: kv[0].lower()))
    signature = base64.b64encode(hmac.new(secret.encode(), query.lower().encode(), hashlib.sha1).digest()).decode()
    return "GET", f"/client/api?{query}&signature={quote(signature, safe='')}", b"", {}


def ec2_request(key: str, secret: str, url: str) -> tuple[str, str, bytes, dict]:
    body = urlencode({"Action": "DescribeRegions", "Version": "2016-11-15"})
    request = AWSRequest(method="POST", url=url + "/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(key, secret), "ec2", REGION).add_auth(request)
    return "POST", "/", body.encode(), dict(request.headers.items())


class Connection:
    """One client connection replaying one request; counts the TCP connections it had to open."""

    def __init__(self, target: Target, request):
        self.method, self.path, self.body, self.headers = request
        self.http = http.client.HTTPConnection("127.0.0.1", target.port, timeout=60)
        self.opened = 0

    def __call__(self) -> None:
        if self.http.sock is None:
            self.opened += 1
        self.http.request(self.method, self.path, body=self.body or None, headers=self.headers)
        reply = self.http.getresponse()
        reply.read()
        if reply.status != 200:
            raise RuntimeError(f"HTTP {reply.status}")


def rate(call, budget_s: float) -> tuple[float, int]:
    """Calls per second within the budget, and how many calls."""
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < budget_s:
        call()
        calls += 1
    return calls / (time.perf_counter() - started), calls


def concurrent_rate(make_call, clients: int, budget_s: float) -> float:
    counts = [0] * clients
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            counts[i] = rate(make_call(), budget_s)[1]
        except BaseException as exc:  # reported after the threads are joined
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return sum(counts) / (time.perf_counter() - started)


def measure(mode: str, workdir: str, budget_s: float, clients: int) -> dict:
    target, (key, secret) = start(mode, workdir)
    try:
        cs = CloudStack(endpoint=f"{target.url}/client/api", key=key, secret=secret)
        ec2 = boto3.client("ec2", endpoint_url=target.url, region_name=REGION, aws_access_key_id=key,
                           aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))
        native, ec2_raw = native_request(key, secret), ec2_request(key, secret, target.url)
        row = {}
        for label, client_call, request in (("native listZones", cs.listZones, native),
                                            ("EC2 DescribeRegions", ec2.describe_regions, ec2_raw)):
            one = Connection(target, request)
            raw, calls = rate(one, budget_s)
            row[label] = {
                "client_req_s": round(rate(client_call, budget_s)[0], 1),
                "http_req_s": round(raw, 1),
                "tcp_connections_per_100": round(100 * one.opened / calls, 1),
                f"http_{clients}_clients_req_s": round(
                    concurrent_rate(lambda: Connection(target, request), clients, budget_s), 1),
            }
        print(f"[{mode}] {json.dumps(row)}", flush=True)
        return row
    finally:
        target.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--only", choices=["gunicorn", "dev"])
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="ec2bridge-serving-")
    try:
        report = {mode: measure(mode, workdir, args.budget, args.clients)
                  for mode in ("gunicorn", "dev") if args.only in (None, mode)}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
