"""ec2bridge's EC2 API against moto's server, the same boto3 loops side by side (not a test; figures go in
the README).

Each target runs alone (two cores: no contention), as a subprocess on a free port with a fresh state:
ec2bridge in emulator mode on its embedded defaults (SQLite + simulator), moto's ``moto_server``, and a
bare Flask app that answers every request with a fixed body the size of ec2bridge's DescribeRegions
reply (the ceiling a Python WSGI server sets). For each fleet size N the fleet grows to N with
RunInstances batches (MinCount = MaxCount = batch, each batch tagged ``Name=batch-<k>``), then:

- DescribeInstances, the full listing through boto3's paginator (MaxResults 1000);
- DescribeInstances by one instance id, and by a ``tag:Name`` filter (the newest batch);
- StopInstances then StartInstances of one instance;
- DescribeRegions.

Every lookup reports p50/p99 and requests/s through boto3, and p50/p99 of the HTTP round trip alone: the
request boto3 would send, signed once by botocore, replayed over a kept-alive connection (the server's
share, without boto3's own ~2.5 ms per call). Server memory is read from /proc at each N (the
proportional set size of the server's processes: gunicorn's master and worker share pages).

    python benchmarks/ec2_vs_moto.py [--sizes 100,1000,10000] [--batch 100] [--only ec2bridge|moto] [--dev]
"""
from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from urllib.parse import urlencode

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REGION = "us-east-1"
KEY, SECRET = "AKIDBENCHMARK0000001", "benchmark-secret"
BIN = os.path.dirname(sys.executable)


class BenchmarkError(RuntimeError):
    """A server's answers are wrong: its figures would mean nothing."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise BenchmarkError(message)


# ----------------------------------------------------------------- servers

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Target:
    def __init__(self, name: str, cmd: list[str], port: int, workdir: str, env: dict | None = None):
        self.name, self.port, self.workdir = name, port, workdir
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(os.path.join(workdir, f"{name}.log"), "w")
        self.process = subprocess.Popen(cmd, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                        env={**os.environ, **(env or {})})
        deadline = time.time() + 120
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.process.returncode}")
            try:  # an answer, not just a listening socket: gunicorn listens before its worker is ready
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                probe.request("GET", "/")
                probe.getresponse().read()
                probe.close()
                return
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError(f"{name} did not listen within 120 s") from None
                time.sleep(0.2)

    def rss_mb(self) -> float:
        """The server's resident memory: its process and its children (gunicorn's master and worker), as
        proportional set sizes, so that pages a forked worker shares with its master count once."""
        return sum(_pss_kb(pid) for pid in [self.process.pid, *_children(self.process.pid)]) / 1024

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def _pss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        return next((int(line.split()[1]) for line in fh if line.startswith("Pss:")), 0)


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        return [int(child) for child in fh.read().split()]


def start_ec2bridge(workdir: str, instances: int, server_args: list[str] = ()) -> Target:
    data = os.path.join(workdir, "ec2bridge-data")
    port = free_port()
    target = Target("ec2bridge", [sys.executable, "-m", "server.cli", "serve", "--emulator", "--port", str(port),
                                  "--data-dir", data, "--log-level", "WARNING", *server_args], port, workdir)
    _grow_ec2bridge_cloud(target, data, instances)
    return target


def _grow_ec2bridge_cloud(target: Target, data: str, instances: int) -> None:
    """The demo cloud holds a few hundred small VMs per zone; the benchmark's fleet needs the operator
    to add hosts (through the native API, as an operator would) and to lift the per-account limits."""
    import configparser

    from cs import CloudStack

    parser = configparser.ConfigParser()
    parser.read(os.path.join(data, "credentials"))
    admin = CloudStack(endpoint=f"{target.url}/client/api", key=parser["admin"]["aws_access_key_id"],
                       secret=parser["admin"]["aws_secret_access_key"])
    for name in ("max.account.user.vms", "max.account.cpus", "max.account.memory", "max.account.volumes",
                 "max.account.primary.storage"):
        admin.updateConfiguration(name=name, value="-1")
    admin.updateConfiguration(name="storage.overprovisioning.factor", value="20")
    zone = admin.listZones(name=f"{REGION}a")["zone"][0]
    cluster = admin.listClusters(zoneid=zone["id"], name=f"{REGION}a-cluster1")["cluster"][0]
    # t2.micro: 1 vCPU at the offering's speed and 1 GiB; each added host takes 1,000 of them.
    speed = next(o for o in admin.listServiceOfferings()["serviceoffering"] if o["name"] == "t2.micro")["cpuspeed"]
    for h in range(instances // 1000 + 1):
        admin.addHost(zoneid=zone["id"], podid=cluster["podid"], clusterid=cluster["id"], hypervisor="Simulator",
                      url=f"http://sim/bench/h{h}?cpucore=1000&cpuspeed={speed}&memory={1000 << 30}",
                      username="root", password="password")


def start_moto(workdir: str) -> Target:
    port = free_port()
    return Target("moto", [os.path.join(BIN, "moto_server"), "-H", "127.0.0.1", "-p", str(port)], port, workdir)


BARE_FLASK = textwrap.dedent("""
    import logging, sys
    from flask import Flask, Response
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log, as ec2bridge is run here
    from werkzeug.serving import make_server
    body = b"x" * int(sys.argv[2])
    app = Flask("bare")
    @app.route("/", methods=["GET", "POST"])
    def answer():
        return Response(body, content_type="text/xml;charset=UTF-8")
    make_server("127.0.0.1", int(sys.argv[1]), app, threaded=True).serve_forever()
""")


def start_bare_flask(workdir: str, size: int) -> Target:
    port = free_port()
    return Target("bare-flask", [sys.executable, "-c", BARE_FLASK, str(port), str(size)], port, workdir)


# ----------------------------------------------------------------- clients

def client(target: Target):
    return boto3.client("ec2", endpoint_url=target.url, region_name=REGION, aws_access_key_id=KEY,
                        aws_secret_access_key=SECRET, config=Config(retries={"max_attempts": 1}, read_timeout=900))


class Replay:
    """One request as boto3 would send it, signed once, replayed on a kept-alive connection."""

    def __init__(self, target: Target, params: dict):
        body = urlencode({"Version": "2016-11-15", **params})
        request = AWSRequest(method="POST", url=target.url + "/", data=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        SigV4Auth(Credentials(KEY, SECRET), "ec2", REGION).add_auth(request)
        self.headers, self.body = dict(request.headers.items()), body.encode()
        self.connection = http.client.HTTPConnection("127.0.0.1", target.port, timeout=900)

    def __call__(self) -> bytes:
        self.connection.request("POST", "/", body=self.body, headers=self.headers)
        reply = self.connection.getresponse()
        payload = reply.read()
        if reply.status != 200:
            raise RuntimeError(f"HTTP {reply.status}: {payload[:300]!r}")
        return payload


def timed(call, *, reps: int, budget_s: float) -> list[float]:
    """Milliseconds per call: ``reps`` calls, fewer if the budget runs out (always at least one)."""
    out, started = [], time.perf_counter()
    for _ in range(reps):
        t0 = time.perf_counter()
        call()
        out.append((time.perf_counter() - t0) * 1000)
        if time.perf_counter() - started > budget_s:
            break
    return out


def summary(ms: list[float]) -> dict:
    ordered = sorted(ms)
    return {"n": len(ms), "p50_ms": round(statistics.median(ordered), 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
            "req_s": round(1000 * len(ms) / sum(ms), 1)}


# --------------------------------------------------------------- the loops

def run_target(target: Target, sizes: list[int], batch: int, image: str | None, budget_s: float) -> dict:
    ec2 = client(target)
    image = image or ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    results, launched, batches, ids = {}, 0, 0, []
    for n in sizes:
        row: dict = {}
        runs, before, started = [], launched, time.perf_counter()
        while launched < n:
            count = min(batch, n - launched)
            batches += 1
            t0 = time.perf_counter()
            reply = ec2.run_instances(ImageId=image, InstanceType="t2.micro", MinCount=count, MaxCount=count,
                                      TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                          {"Key": "Name", "Value": f"batch-{batches}"}]}])
            runs.append((time.perf_counter() - t0) * 1000)
            ids += [i["InstanceId"] for i in reply["Instances"]]
            launched += count
        elapsed = time.perf_counter() - started
        row["run_instances"] = {"instances": launched - before, "batches": len(runs),
                                "instances_per_s": round((launched - before) / elapsed, 1), **summary(runs)}

        t0 = time.perf_counter()
        states = [i["State"]["Name"] for page in ec2.get_paginator("describe_instances").paginate(
            PaginationConfig={"PageSize": 1000}) for r in page["Reservations"] for i in r["Instances"]]
        row["describe_all"] = {"instances": len(states), "seconds": round(time.perf_counter() - t0, 2)}
        # Every instance must have really started (a full cloud would fail them and flatter the figures).
        check(len(states) == launched and set(states) == {"running"},
              f"[{target.name}] of {launched} instances launched, the listing shows {collections.Counter(states)}")

        one = ids[len(ids) // 2]
        name = f"batch-{batches}"
        for label, kwargs, params in (
                ("describe_by_id", {"InstanceIds": [one]}, {"Action": "DescribeInstances", "InstanceId.1": one}),
                ("describe_by_tag", {"Filters": [{"Name": "tag:Name", "Values": [name]}]},
                 {"Action": "DescribeInstances", "Filter.1.Name": "tag:Name", "Filter.1.Value.1": name})):
            found = ec2.describe_instances(**kwargs)["Reservations"]
            check(bool(found), f"[{target.name}] {label} found nothing")
            row[label] = summary(timed(lambda: ec2.describe_instances(**kwargs), reps=200, budget_s=budget_s))
            row[label + "_http"] = summary(timed(Replay(target, params), reps=200, budget_s=budget_s))

        def stop_start():
            # Both targets finish a request's work before answering (ec2bridge in emulator mode): each
            # call must find the state the previous one left, or the pair timed nothing.
            stopping = ec2.stop_instances(InstanceIds=[one])["StoppingInstances"][0]
            _check_change(target, "StopInstances", stopping, "running", "stopping")
            starting = ec2.start_instances(InstanceIds=[one])["StartingInstances"][0]
            _check_change(target, "StartInstances", starting, "stopped", "pending")
        row["stop_start_pair"] = summary(timed(stop_start, reps=50, budget_s=budget_s))
        state = ec2.describe_instances(InstanceIds=[one])["Reservations"][0]["Instances"][0]["State"]["Name"]
        check(state == "running", f"[{target.name}] {one} is {state} after Stop+Start, not running")

        row["describe_regions"] = summary(timed(ec2.describe_regions, reps=500, budget_s=budget_s))
        row["describe_regions_http"] = summary(timed(Replay(target, {"Action": "DescribeRegions"}), reps=2000,
                                                      budget_s=budget_s))
        row["rss_mb"] = round(target.rss_mb(), 1)
        results[n] = row
        print(f"[{target.name}] N={n}: {json.dumps(row)}", flush=True)
    return results


def _check_change(target: Target, action: str, change: dict, before: str, after: str) -> None:
    seen = (change["PreviousState"]["Name"], change["CurrentState"]["Name"])
    check(seen == (before, after), f"[{target.name}] {action} went {seen[0]} -> {seen[1]}, not {before} -> {after}")


def describe_regions_size(target: Target) -> int:
    return len(Replay(target, {"Action": "DescribeRegions"})())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per repeated measurement")
    parser.add_argument("--only", choices=["ec2bridge", "moto"])
    parser.add_argument("--dev", action="store_true", help="ec2bridge on werkzeug's development server (--dev)")
    parser.add_argument("--out", help="write the figures as JSON here")
    parser.add_argument("--render", metavar="JSON", help="print the README table of an earlier run and exit")
    args = parser.parse_args()
    if args.render:
        with open(args.render) as fh:
            print(markdown(json.load(fh)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    workdir = tempfile.mkdtemp(prefix="ec2bridge-vs-moto-")
    report: dict = {"sizes": sizes, "batch": args.batch}
    try:
        if args.only in (None, "ec2bridge"):
            target = start_ec2bridge(workdir, max(sizes), ["--dev"] if args.dev else [])
            try:
                size = describe_regions_size(target)
                report["ec2bridge"] = run_target(target, sizes, args.batch, None, args.budget)
            finally:
                target.stop()
            bare = start_bare_flask(workdir, size)
            try:
                report["bare_flask"] = {"body_bytes": size, "http": summary(timed(
                    Replay(bare, {"Action": "DescribeRegions"}), reps=2000, budget_s=args.budget))}
                print(f"[bare-flask] {json.dumps(report['bare_flask'])}", flush=True)
            finally:
                bare.stop()
        if args.only in (None, "moto"):
            target = start_moto(workdir)
            try:
                report["moto"] = run_target(target, sizes, args.batch, None, args.budget)
            finally:
                target.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if "ec2bridge" in report and "moto" in report:
        report["ratios"] = ratios(report)
        print(json.dumps(report["ratios"], indent=1))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(report, fh, indent=1)
    if "ratios" in report:
        print(markdown(json.loads(json.dumps(report))))


def markdown(report: dict) -> str:
    """The README's table: both servers per N, and the ratios (JSON keys are strings once stored)."""
    rows = ["| N | server | RunInstances inst/s | full listing s | by id p50 / p99 ms (HTTP alone) | "
            "tag:Name p50 / p99 ms (HTTP alone) | Stop+Start p50 ms | DescribeRegions req/s (HTTP alone) | RSS MB |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for n in report["sizes"]:
        for who in ("ec2bridge", "moto"):
            r = report[who][str(n)] if str(n) in report[who] else report[who][n]
            rows.append(
                f"| {n:,} | {who} | {r['run_instances']['instances_per_s']} | {r['describe_all']['seconds']} | "
                f"{r['describe_by_id']['p50_ms']} / {r['describe_by_id']['p99_ms']} "
                f"({r['describe_by_id_http']['p50_ms']} / {r['describe_by_id_http']['p99_ms']}) | "
                f"{r['describe_by_tag']['p50_ms']} / {r['describe_by_tag']['p99_ms']} "
                f"({r['describe_by_tag_http']['p50_ms']} / {r['describe_by_tag_http']['p99_ms']}) | "
                f"{r['stop_start_pair']['p50_ms']} | {r['describe_regions']['req_s']} "
                f"({r['describe_regions_http']['req_s']}) | {r['rss_mb']} |")
    ratios = report["ratios"]
    rows += ["", "| N | RunInstances × moto | full listing × | by id × | tag:Name × | Stop+Start × | RSS / moto |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for n in report["sizes"]:
        q = ratios[str(n)] if str(n) in ratios else ratios[n]
        rows.append(f"| {n:,} | {q['run_instances_per_s']} | {q['describe_all_speedup']} | {q['by_id_speedup']} | "
                    f"{q['by_tag_speedup']} | {q['stop_start_speedup']} | {q['rss_fraction_of_moto']} |")
    growth = ratios["ec2bridge_lookup_growth"]
    rows += ["", f"Lookups at {report['sizes'][-1]:,} relative to {report['sizes'][0]:,} (HTTP alone, p50): by id "
                 f"{growth['describe_by_id_http']}, tag:Name {growth['describe_by_tag_http']}. DescribeRegions "
                 f"(HTTP alone) / bare Flask ({report['bare_flask']['http']['req_s']} req/s): "
                 f"{ratios['describe_regions_vs_bare_flask']}."]
    return "\n".join(rows)


def ratios(report: dict) -> dict:
    """ec2bridge relative to moto per N (>1 means ec2bridge is better), and to the bare Flask app."""
    out = {}
    for n in report["sizes"]:
        ours, theirs = report["ec2bridge"][n], report["moto"][n]
        out[n] = {
            "run_instances_per_s": round(ours["run_instances"]["instances_per_s"]
                                         / theirs["run_instances"]["instances_per_s"], 1),
            "describe_all_speedup": round(theirs["describe_all"]["seconds"] / ours["describe_all"]["seconds"], 1),
            "by_id_speedup": round(theirs["describe_by_id"]["p50_ms"] / ours["describe_by_id"]["p50_ms"], 1),
            "by_tag_speedup": round(theirs["describe_by_tag"]["p50_ms"] / ours["describe_by_tag"]["p50_ms"], 1),
            "stop_start_speedup": round(theirs["stop_start_pair"]["p50_ms"] / ours["stop_start_pair"]["p50_ms"], 1),
            "rss_fraction_of_moto": round(ours["rss_mb"] / theirs["rss_mb"], 2),
        }
    first, last = report["sizes"][0], report["sizes"][-1]
    ours = report["ec2bridge"]
    out["ec2bridge_lookup_growth"] = {
        label: round(ours[last][label]["p50_ms"] / ours[first][label]["p50_ms"], 2)
        for label in ("describe_by_id_http", "describe_by_tag_http")}
    out["describe_regions_vs_bare_flask"] = round(
        ours[last]["describe_regions_http"]["req_s"] / report["bare_flask"]["http"]["req_s"], 2)
    return out


if __name__ == "__main__":
    main()
