"""Planner and listing at scale, through the managers (not a test; figures go in the README).

Builds a zone of 1,000 simulated hosts on a fresh SQLite database, then deploys
VMs through the public path, a signed deployVirtualMachine to the native API's
WSGI app (limits, NIC/IP, root volume, then the start job: planner, capacity
claim, simulator start), up to each target count, timing every placement
(planner.plan) and, at each target, a listVirtualMachines page of 500 (signing,
validation, views, JSON). Every deploy job must succeed and every VM run, or the
benchmark stops with an error. Reports p50/p99 and the process RSS.

    python benchmarks/planner_and_listing.py [--hosts 1000] [--targets 10000,100000] [--db URL]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from backends import bootstrap  # noqa: E402
from backends.cloud import Cloud  # noqa: E402
from backends.models import Account, User  # noqa: E402
from native_api import signing  # noqa: E402
from server.app import create_app  # noqa: E402
from server.settings import Settings  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class BenchmarkError(RuntimeError):
    """The benchmark's own results are wrong: its figures would mean nothing."""


def check(condition: bool, message: str) -> None:
    if not condition:
        raise BenchmarkError(message)


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--targets", default="10000,100000")
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    targets = [int(t) for t in args.targets.split(",")]

    tmp = tempfile.mkdtemp(prefix="ec2bridge-bench-")
    settings = Settings(data_dir=tmp, db=args.db or f"sqlite:///{tmp}/bench.db")
    cloud = Cloud(settings.db_url, data_dir=tmp, background=False, job_workers=1).start()
    bootstrap.ensure_demo_cloud(cloud)
    for name in ("max.account.user.vms", "max.account.cpus", "max.account.memory", "max.account.volumes",
                 "max.account.primary.storage"):
        cloud.config.set(name, "-1")
    caller = bootstrap.system_caller(cloud)
    zone = cloud.infra.list_zones(caller, name="us-east-1a")[1][0]
    pod = cloud.infra.list_pods(caller, zone=zone)[1][0]
    t0 = time.perf_counter()
    for c in range(args.hosts // 50):
        cluster = cloud.infra.add_cluster(caller, zone, pod, name=f"bench-c{c}", hypervisor="Simulator")
        cloud.infra.create_storage_pool(caller, zone, name=f"bench-p{c}", url=f"nfs://bench/p{c}",
                                        scope="CLUSTER", pod=pod, cluster=cluster, capacity_bytes=1 << 50)
        for h in range(50):
            cloud.infra.add_host(caller, zone, pod, hypervisor="Simulator", cluster=cluster,
                                 url=f"http://sim/bench/c{c}/h{h}?cpucore=256&cpuspeed=4000&memory={1 << 40}")
    print(f"added {args.hosts} hosts in {time.perf_counter() - t0:.1f}s", flush=True)

    offering = cloud.offerings.by_instance_type("t2.nano")
    template = cloud.templates.list(caller, is_iso=False, filter="featured", zone=zone)[1][0].template
    network = cloud.networks.default_network(zone)
    # One guest /16 holds 65k addresses: widen the demo network so 100k VMs fit.
    network.start_ip, network.end_ip = network.start_ip, network.start_ip + max(targets) + 10
    network.save()

    timed_plan = cloud.planner.plan
    placements: list[float] = []

    def plan(**kw):
        start = time.perf_counter()
        try:
            return timed_plan(**kw)
        finally:
            placements.append((time.perf_counter() - start) * 1000)

    cloud.planner.plan = plan
    app = create_app(settings, cloud).test_client()
    admin = User.select().join(Account).where(Account.name == "admin").get()

    def request(**params):
        """A signed native API call as the root admin; its response object, and the time it took in ms."""
        params = {**params, "response": "json", "apiKey": admin.api_key}
        params["signature"] = signing.sign(params, admin.secret_key)
        start = time.perf_counter()
        reply = app.get("/client/api", query_string=params)
        took = (time.perf_counter() - start) * 1000
        body = next(iter(reply.json.values()))
        check(reply.status_code == 200, f"{params['command']} answered {reply.status_code}: {body}")
        return body, took

    deploy = {"command": "deployVirtualMachine", "zoneid": zone.uuid, "serviceofferingid": offering.uuid,
              "templateid": template.uuid}
    deployed = 0
    started = time.perf_counter()
    for target in targets:
        placements.clear()
        before = deployed
        while deployed < target:
            job = request(**deploy)[0]["jobid"]
            check(cloud.jobs.wait(job, timeout=120), f"deploy job {job} did not finish within 120 s")
            deployed += 1
            if deployed % 10000 == 0:
                print(f"  {deployed} VMs ({time.perf_counter() - started:.0f}s)", flush=True)
        # Every deploy job succeeded and its VM runs: a failed start would flatter the figures.
        running = request(command="listVirtualMachines", listall="true", state="Running", page="1", pagesize="1")[0]
        check(running.get("count") == deployed, f"{running.get('count')} of {deployed} deployed VMs are Running")
        check(len(placements) >= target - before, f"{len(placements)} placements timed for {target - before} deploys")
        latencies = []
        for page in range(1, min(20, target // 500) + 1):
            body, took = request(command="listVirtualMachines", listall="true", page=str(page), pagesize="500")
            latencies.append(took)
            check(len(body.get("virtualmachine", [])) == 500,
                  f"listVirtualMachines page {page} has {len(body.get('virtualmachine', []))} VMs, not 500")
        print(f"{target:>7} VMs: placement p50 {pct(placements, 0.5):.2f} ms p99 {pct(placements, 0.99):.2f} ms "
              f"(last {len(placements)} deploys); listVirtualMachines page of 500 p50 "
              f"{statistics.median(latencies):.0f} ms p99 {pct(latencies, 0.99):.0f} ms; RSS {rss_mb():.0f} MB",
              flush=True)
    cloud.stop()


if __name__ == "__main__":
    main()
