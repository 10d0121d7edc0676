"""How long the EC2 endpoint takes over requests with many list members (not a test; figures go in the README).

Against a real server on a fresh data dir, signed SigV4 form posts of DescribeInstances with: 4,000
``Filter.N`` pairs (refused with FilterLimitExceeded), the most filters accepted (200, one value each), 200
filters of 200 values (the most values), 1,000 instance ids (the most ids accepted), and 40,000 unknown
parameters (ignored, but read). Reports the median and worst of a few round trips each, and checks each
answer's status and code.

    python benchmarks/ec2_large_requests.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from urllib.parse import urlencode

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from conformance.conftest import start_server  # noqa: E402


def _filters(count: int, values: int) -> dict:
    params = {}
    for i in range(1, count + 1):
        params[f"Filter.{i}.Name"] = "instance-id"
        params.update({f"Filter.{i}.Value.{j}": f"i-{i:08x}{j:09x}" for j in range(1, values + 1)})
    return params


CASES = [
    ("4,000 filters", _filters(4000, 1), 400, b"FilterLimitExceeded"),
    ("200 filters x 1 value", _filters(200, 1), 200, b"reservationSet"),
    ("200 filters x 200 values", _filters(200, 200), 200, b"reservationSet"),
    ("1,000 instance ids", {f"InstanceId.{i}": f"i-{i:017x}" for i in range(1, 1001)}, 400,
     b"InvalidInstanceID.NotFound"),
    ("40,000 unknown parameters", {f"Junk.{i}.X": "x" for i in range(40000)}, 200, b"reservationSet"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        server = start_server(data_dir)
        try:
            key, secret = server.keys("demo")
            session = requests.Session()
            for label, params, status, marker in CASES:
                body = urlencode({"Action": "DescribeInstances", "Version": "2016-11-15", **params})
                times = []
                for _ in range(args.repeat):
                    request = AWSRequest(method="POST", url=server.url + "/", data=body, headers={
                        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
                    SigV4Auth(Credentials(key, secret), "ec2", "us-east-1").add_auth(request)
                    started = time.perf_counter()
                    reply = session.post(server.url + "/", data=body, headers=dict(request.headers.items()),
                                         timeout=60)
                    times.append(time.perf_counter() - started)
                    if reply.status_code != status or marker not in reply.content:
                        raise SystemExit(f"{label}: expected {status} with {marker!r}, got {reply.status_code}: "
                                         f"{reply.text[:300]}")
                print(f"{label:28} {len(body) / 1024:8.0f} KiB  median {statistics.median(times) * 1000:7.1f} ms"
                      f"  worst {max(times) * 1000:7.1f} ms")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
