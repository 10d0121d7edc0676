"""What a test suite written for moto's server feels: ec2bridge's emulator mode against ``moto_server``, the same
boto3 loops in one run (not a test; figures go in the README's benchmark table).

Each target runs alone as a subprocess on a free port (ec2bridge: ``--emulator`` on its embedded defaults,
SQLite + simulator), and is measured on:

- ``POST /moto-api/reset``: p50/p99 of the reset alone, each after a little state was made (one instance,
  one security group), as a suite resets between tests;
- the suite-shaped loop: reset; RunInstances of 1; DescribeInstances by its id; CreateSecurityGroup;
  TerminateInstances (per iteration, p50, and iterations/s);
- RunInstances of ``--batch`` (100) as the fleet grows to each N of ``--sizes`` (instances/s over the growth
  from the previous N, each response awaited), after a reset; the growth to the first N is repeated
  ``--repeat-first`` times from an empty cloud and its median kept.

Every answer is checked (a reset really empties, a launch really runs), or its figures would mean nothing.

    python benchmarks/emulator_speed.py [--sizes 100,1000,10000] [--loops 100] [--resets 100] [--only ec2bridge|moto]
                                        [--db mysql://root@127.0.0.1:3306/somedb]
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ec2_vs_moto import Target, check, client, free_port, start_moto, summary  # noqa: E402

IMAGE = "ami-12c6146b"  # a suite's hard-coded AMI: moto and our emulator both launch it (ours on a stand-in)


def start_ec2bridge(workdir: str, server_args: list[str] = ()) -> Target:
    port = free_port()
    return Target("ec2bridge", [sys.executable, "-m", "server.cli", "serve", "--emulator", "--port", str(port),
                                "--data-dir", os.path.join(workdir, "ec2bridge-data"), "--log-level", "WARNING",
                                *server_args], port, workdir)


class Reset:
    """``POST /moto-api/reset`` on a kept-alive connection."""

    def __init__(self, target: Target):
        self.connection = http.client.HTTPConnection("127.0.0.1", target.port, timeout=120)

    def __call__(self) -> None:
        self.connection.request("POST", "/moto-api/reset", body=b"")
        reply = self.connection.getresponse()
        body = reply.read()
        check(reply.status == 200, f"reset answered {reply.status}: {body[:200]!r}")


def measure_reset(target: Target, reps: int) -> dict:
    ec2, reset = client(target), Reset(target)
    out = []
    for k in range(reps):
        instance = ec2.run_instances(ImageId=IMAGE, InstanceType="t2.micro", MinCount=1,
                                     MaxCount=1)["Instances"][0]["InstanceId"]
        ec2.create_security_group(GroupName=f"reset-{k}", Description="state a reset must drop")
        t0 = time.perf_counter()
        reset()
        out.append((time.perf_counter() - t0) * 1000)
        check(not _instances(ec2), f"[{target.name}] instance {instance} outlived a reset")
    return summary(out)


def _instances(ec2) -> list[str]:
    return [i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]
            if i["State"]["Name"] != "terminated"]


def measure_suite_loop(target: Target, loops: int) -> dict:
    ec2, reset = client(target), Reset(target)
    out = []
    for _ in range(loops):
        t0 = time.perf_counter()
        reset()
        instance = ec2.run_instances(ImageId=IMAGE, InstanceType="t2.micro", MinCount=1,
                                     MaxCount=1)["Instances"][0]["InstanceId"]
        found = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
        ec2.create_security_group(GroupName="suite", Description="a test's group")
        ec2.terminate_instances(InstanceIds=[instance])
        out.append((time.perf_counter() - t0) * 1000)
        check(found["InstanceId"] == instance, f"[{target.name}] DescribeInstances answered {found['InstanceId']}")
    row = summary(out)
    row["loops_s"] = row.pop("req_s")
    return row


def measure_launches(target: Target, sizes: list[int], batch: int, repeat_first: int) -> dict:
    """Instances/s of RunInstances batches as the fleet grows to each N (from the previous N). The first N is
    grown ``repeat_first`` times from an empty cloud (a reset before each) and its median kept, with the
    range: at N = 100 it is one or two requests, too few to time once on a shared machine."""
    ec2 = client(target)
    first = []
    for _ in range(repeat_first - 1):
        Reset(target)()
        first.append(_grow(ec2, target, 0, sizes[0], batch)[0])
    Reset(target)()
    out, launched = {}, 0
    for n in sizes:
        rate, runs = _grow(ec2, target, launched, n, batch)
        out[n] = {"instances": n - launched, "instances_per_s": rate, **summary(runs)}
        if n == sizes[0] and first:
            first.append(rate)
            out[n].update(instances_per_s=round(statistics.median(first), 1), runs_per_s=sorted(first))
        launched = n
        print(f"[{target.name}] RunInstances to N={n}: {json.dumps(out[n])}", flush=True)
    states = {}
    for page in ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 1000}):
        for r in page["Reservations"]:
            for i in r["Instances"]:
                states[i["State"]["Name"]] = states.get(i["State"]["Name"], 0) + 1
    check(states == {"running": launched}, f"[{target.name}] of {launched} instances launched: {states}")
    return out


def _grow(ec2, target: Target, launched: int, n: int, batch: int) -> tuple[float, list[float]]:
    """Launch batches until the fleet is ``n``: (instances/s, milliseconds per request)."""
    before, runs, started = launched, [], time.perf_counter()
    while launched < n:
        count = min(batch, n - launched)
        t0 = time.perf_counter()
        reply = ec2.run_instances(ImageId=IMAGE, InstanceType="t2.micro", MinCount=count, MaxCount=count)
        runs.append((time.perf_counter() - t0) * 1000)
        check(len(reply["Instances"]) == count, f"[{target.name}] launched {len(reply['Instances'])} of {count}")
        launched += count
    return round((launched - before) / (time.perf_counter() - started), 1), runs


def run_target(target: Target, args) -> dict:
    row = {"reset": measure_reset(target, args.resets)}
    print(f"[{target.name}] reset: {json.dumps(row['reset'])}", flush=True)
    row["suite_loop"] = measure_suite_loop(target, args.loops)
    print(f"[{target.name}] suite loop: {json.dumps(row['suite_loop'])}", flush=True)
    row["run_instances"] = measure_launches(target, args.sizes, args.batch, args.repeat_first)
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--resets", type=int, default=100)
    parser.add_argument("--loops", type=int, default=100)
    parser.add_argument("--only", choices=["ec2bridge", "moto"])
    parser.add_argument("--repeat-first", type=int, default=5, help="growths to the first N (median kept)")
    parser.add_argument("--db", help="ec2bridge's database URL (default: SQLite in its data dir)")
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",")]
    workdir = tempfile.mkdtemp(prefix="ec2bridge-emulator-speed-")
    report: dict = {"sizes": args.sizes, "batch": args.batch}
    try:
        starts = (("ec2bridge", lambda w: start_ec2bridge(w, ["--db", args.db] if args.db else [])),
                  ("moto", start_moto))
        for name, start in starts:
            if args.only in (None, name):
                target = start(workdir)
                try:
                    report[name] = run_target(target, args)
                finally:
                    target.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if "ec2bridge" in report and "moto" in report:
        print(markdown(report))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(report, fh, indent=1)


def markdown(report: dict) -> str:
    """The README's rows: each figure for both servers and ec2bridge's speed-up over moto."""
    ours, theirs = report["ec2bridge"], report["moto"]
    rows = ["| figure | ec2bridge | moto | × moto |", "|---|---:|---:|---:|",
            f"| `POST /moto-api/reset` p50 (ms) | {ours['reset']['p50_ms']} | {theirs['reset']['p50_ms']} | "
            f"{theirs['reset']['p50_ms'] / ours['reset']['p50_ms']:.1f} |",
            f"| suite-shaped loop p50 (ms) | {ours['suite_loop']['p50_ms']} | {theirs['suite_loop']['p50_ms']} | "
            f"{theirs['suite_loop']['p50_ms'] / ours['suite_loop']['p50_ms']:.1f} |"]
    for n in report["sizes"]:
        a, b = ours["run_instances"][n]["instances_per_s"], theirs["run_instances"][n]["instances_per_s"]
        rows.append(f"| RunInstances of {report['batch']} to N = {n:,} (instances/s) | {a} | {b} | {a / b:.1f} |")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
