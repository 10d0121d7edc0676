"""kill -9 the server at several points of a burst of native and EC2 launches; after each restart on the
same data nothing is pending, every VM is explained by its jobs, and nothing is held by a VM that will not run.

The kill points: right after the launches were accepted (starts queued behind slow simulated starts),
mid-start (some starts done, some running, the rest queued), and while requests are still arriving.
What is held is read through the public API (listVirtualMachines, listAsyncJobs, listHosts, listCapacity,
listVolumes, listStoragePools, DescribeInstances); resource counts, which no API shows, from the database.
"""
from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections import defaultdict
from contextlib import closing

import pytest
import requests
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError
from cs import CloudStack, CloudStackException

from conformance.conftest import ec2_client, start_server
from conformance.test_cs_client import pick
from tests.conftest import DB_PARAMS, MYSQL, _drop_mysql_database, _mysql_database

MiB, GiB = 1 << 20, 1 << 30
# CloudStack's resource types as kept in resource_count: user_vm, volume, cpu, memory, primary_storage.
RT_VM, RT_VOLUME, RT_CPU, RT_MEMORY, RT_PRIMARY = 0, 2, 8, 9, 10
LIVE = ("Running", "Stopped")


@pytest.fixture(params=DB_PARAMS)
def database(request, tmp_path):
    """``(url or None, run a read-only SQL query)`` for a fresh SQLite file or MariaDB database."""
    if request.param == "sqlite":
        path = tmp_path / "crash" / "ec2bridge.db"

        def query(sql):
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
                return conn.execute(sql).fetchall()

        yield None, query
        return
    if not MYSQL:
        pytest.skip("MariaDB not configured (set EC2BRIDGE_TEST_MYSQL)")
    import pymysql
    from urllib.parse import urlparse

    name = "ec2bridge_crash_" + uuid.uuid4().hex[:10]
    url = _mysql_database(name)
    parsed = urlparse(MYSQL)

    def query(sql):
        conn = pymysql.connect(host=parsed.hostname or "127.0.0.1", port=parsed.port or 3306,
                               user=parsed.username or "root", password=parsed.password or "", database=name)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return list(cur.fetchall())
        finally:
            conn.close()

    yield url, query
    _drop_mysql_database(name)


class Cloud:
    """The clients of one server process: native as the demo user and the admin, EC2 as the demo user."""

    def __init__(self, server):
        self.server = server
        self.user = CloudStack(endpoint=server.api_url, key=server.keys("demo")[0], secret=server.keys("demo")[1])
        self.admin = CloudStack(endpoint=server.api_url, key=server.keys("admin")[0],
                                secret=server.keys("admin")[1])
        self.ec2 = ec2_client(server)
        self.zone, self.offering, self.template = pick(self.user)
        self.image_id = self.ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]

    def deploy(self, startvm: bool = True) -> str:
        return self.user.deployVirtualMachine(zoneid=self.zone["id"], serviceofferingid=self.offering["id"],
                                              templateid=self.template["id"], startvm=str(startvm).lower())["jobid"]

    def run_instances(self, count: int) -> list[str]:
        reply = self.ec2.run_instances(ImageId=self.image_id, InstanceType="t2.micro", MinCount=1, MaxCount=count)
        return [i["InstanceId"] for i in reply["Instances"]]

    def burst(self) -> tuple[list[str], list[str], str]:
        """Native deploys and EC2 launches, interleaved, then a deploy not to be started: (job ids, instance
        ids, the job id of that last deploy)."""
        jobs, instances = [], []
        for _ in range(3):
            jobs += [self.deploy() for _ in range(3)]
            instances += self.run_instances(3)
        unstarted = self.deploy(startvm=False)
        return jobs + [unstarted], instances, unstarted


def _restart(server, db_url):
    return start_server(server.data_dir, db=db_url, port=server.port)


def _wait_job(client: CloudStack, job_id: str, timeout: float = 30) -> int:
    """The job's final status (or pending at the timeout)."""
    deadline = time.time() + timeout
    while (status := client.queryAsyncJobResult(jobid=job_id)["jobstatus"]) == 0 and time.time() < deadline:
        time.sleep(0.05)
    return status


def _wait_for_some_done(admin: CloudStack, jobs: list[str], timeout: float = 30) -> list[str]:
    """Until at least one of these jobs succeeded (or the timeout); the ones that did."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        done = [j for j in jobs if admin.queryAsyncJobResult(jobid=j)["jobstatus"] == 1]
        if done:
            return done
        time.sleep(0.05)
    return []


def _keep_launching(cloud: Cloud, stop: threading.Event, accepted: list, use_ec2: bool) -> None:
    """Launch until told to stop or the server dies under us."""
    while not stop.is_set():
        try:
            accepted.append(cloud.run_instances(2) if use_ec2 else cloud.deploy())
        except (requests.RequestException, BotoCoreError, ClientError, ResponseParserError, CloudStackException,
                ValueError):  # whatever a reply cut off by the kill makes of it
            return


def assert_recovered(cloud: Cloud, query, native_jobs: list[str], instances: list[str],
                     unstarted: set[str]) -> dict[str, str]:
    """Every invariant a crash must leave intact (``unstarted``: the jobs of deploys not to be started);
    returns each VM's state."""
    admin = cloud.admin
    jobs = admin.listAsyncJobs(listall=True).get("asyncjobs", [])
    assert not [j for j in jobs if j["jobstatus"] == 0], "jobs still pending after recovery"
    for job_id in native_jobs:
        assert admin.queryAsyncJobResult(jobid=job_id)["jobstatus"] in (1, 2)
    failures = [j["jobresult"]["errortext"] for j in jobs if j["jobstatus"] == 2]
    assert all("management server restart" in text for text in failures), failures

    # Every VM is explained by its jobs: its first job (the one that created it) says how its deploy ended.
    jobs_of = defaultdict(list)
    for job in reversed(jobs):  # listAsyncJobs answers newest first
        jobs_of[job.get("jobinstanceid")].append(job)
    vms = admin.listVirtualMachines(listall=True).get("virtualmachine", [])
    for vm in vms:
        assert jobs_of[vm["id"]], f"VM {vm['id']} ({vm['state']}) has no job"
        first = jobs_of[vm["id"]][0]
        assert (vm["state"], first["jobstatus"]) in (("Running", 1), ("Stopped", 1), ("Error", 2)), vm["state"]
        assert (vm["state"] == "Stopped") == (first["jobid"] in unstarted and first["jobstatus"] == 1), vm["state"]
    live = [vm for vm in vms if vm["state"] in LIVE]
    running = [vm for vm in vms if vm["state"] == "Running"]

    # Host capacity is held by the running VMs only.
    for host in admin.listHosts(type="Routing")["host"]:
        on_host = [vm for vm in running if vm.get("hostid") == host["id"]]
        assert host["memoryallocated"] == sum(vm["memory"] * MiB for vm in on_host), host["name"]
        assert host["cpuallocatedvalue"] == sum(vm["cpunumber"] * vm["cpuspeed"] for vm in on_host), host["name"]
    used = {c["type"]: c["capacityused"] for c in admin.listCapacity(zoneid=cloud.zone["id"])["capacity"]}
    in_zone = [vm for vm in running if vm["zoneid"] == cloud.zone["id"]]
    assert used[0] == sum(vm["memory"] * MiB for vm in in_zone)
    assert used[1] == sum(vm["cpunumber"] * vm["cpuspeed"] for vm in in_zone)

    # Addresses and volumes are held by live VMs only, one each; pools count exactly those volumes.
    assert used[8] == sum(len(vm.get("nic", [])) for vm in live if vm["zoneid"] == cloud.zone["id"])
    assert not [vm["id"] for vm in vms if vm["state"] == "Error" and vm.get("nic")]
    volumes = admin.listVolumes(listall=True).get("volume", [])
    assert sorted(v.get("virtualmachineid") for v in volumes) == sorted(vm["id"] for vm in live)
    assert all(v["state"] == "Ready" for v in volumes if v["virtualmachineid"] in {vm["id"] for vm in running})
    on_pool = defaultdict(int)
    for volume in volumes:
        if volume.get("storageid"):
            on_pool[volume["storageid"]] += volume["size"]
    for pool in admin.listStoragePools()["storagepool"]:
        assert pool["disksizeallocated"] == on_pool[pool["id"]], pool["name"]

    # Resource counts (quota) are what the live VMs of each account use.
    counts = defaultdict(dict)
    for account, resource_type, count in query(
            "SELECT a.uuid, c.resource_type, c.count FROM resource_count c JOIN account a ON a.id = c.account_id"):
        counts[account][resource_type] = count
    size_of = {v["virtualmachineid"]: v["size"] for v in volumes}
    for account in admin.listAccounts(listall=True)["account"]:
        mine = [vm for vm in live if vm["accountid"] == account["id"]]
        assert {t: counts[account["id"]].get(t, 0) for t in (RT_VM, RT_VOLUME, RT_CPU, RT_MEMORY, RT_PRIMARY)} == {
            RT_VM: len(mine), RT_VOLUME: len(mine), RT_CPU: sum(vm["cpunumber"] for vm in mine),
            RT_MEMORY: sum(vm["memory"] for vm in mine),
            RT_PRIMARY: sum(-(-size_of[vm["id"]] // GiB) for vm in mine)}, account["name"]

    # EC2 shows each launched instance running or terminated (a launch the restart cut short), never stopped.
    if instances:
        described = [i for r in cloud.ec2.describe_instances(InstanceIds=instances)["Reservations"]
                     for i in r["Instances"]]
        assert {i["State"]["Name"] for i in described} <= {"running", "terminated"}
    return {vm["id"]: vm["state"] for vm in vms}


def test_kills_during_bursts_of_launches_leave_nothing_pending_or_held(database, tmp_path):
    db_url, query = database
    server = start_server(str(tmp_path / "crash"), db=db_url)
    try:
        cloud = Cloud(server)
        # The heartbeat runs every second after the first restart: it must keep up with the bursts.
        cloud.admin.updateConfiguration(name="ping.interval", value="1")
        demo = cloud.admin.listAccounts(name="demo", listall=True)["account"][0]
        for resource_type in (RT_VM, RT_VOLUME, RT_CPU, RT_MEMORY, RT_PRIMARY):  # room for every launch
            cloud.admin.updateResourceLimit(resourcetype=resource_type, account="demo", domainid=demo["domainid"],
                                            max=-1)
        # Deploys that completed before any crash: each kill must leave them as they are.
        settled_jobs = [cloud.deploy(), cloud.deploy(startvm=False)]
        assert [_wait_job(cloud.user, job) for job in settled_jobs] == [1, 1]
        settled = {cloud.user.queryAsyncJobResult(jobid=job)["jobinstanceid"]: state
                   for job, state in zip(settled_jobs, ("Running", "Stopped"))}
        native, unstarted = list(settled_jobs), {settled_jobs[1]}

        # 1. Right after the launches were accepted: starts take 1.5 s, so nearly all are queued.
        cloud.admin.configureSimulator(name="StartCommand", value="wait:1500")
        jobs, instances, not_started = cloud.burst()
        native, unstarted = native + jobs, unstarted | {not_started}
        server.stop(kill=True)
        server = _restart(server, db_url)
        cloud = Cloud(server)
        states = assert_recovered(cloud, query, native, instances, unstarted)
        assert {vm: states[vm] for vm in settled} == settled
        assert "Error" in states.values()  # deploys the restart cut short

        # 2. Mid-start: the first starts have finished, the next are on their hosts, the rest queued.
        cloud.admin.configureSimulator(name="StartCommand", value="wait:400")
        jobs, launched, not_started = cloud.burst()
        native, instances, unstarted = native + jobs, instances + launched, unstarted | {not_started}
        done = _wait_for_some_done(cloud.admin, jobs)
        server.stop(kill=True)
        server = _restart(server, db_url)
        cloud = Cloud(server)
        states = assert_recovered(cloud, query, native, instances, unstarted)
        assert {vm: states[vm] for vm in settled} == settled
        assert done and all(cloud.admin.queryAsyncJobResult(jobid=job)["jobstatus"] == 1 for job in done)

        # 3. While launches are still arriving, from three clients at once, starts quick.
        cloud.admin.configureSimulator(name="StartCommand", value="wait:50")
        stop, accepted = threading.Event(), []
        clients = [threading.Thread(target=_keep_launching, args=(cloud, stop, accepted, use_ec2))
                   for use_ec2 in (False, False, True)]
        for client in clients:
            client.start()
        deadline = time.time() + 30
        while len(accepted) < 15 and time.time() < deadline:
            time.sleep(0.02)
        server.stop(kill=True)
        stop.set()
        for client in clients:
            client.join(timeout=30)
        native += [a for a in accepted if isinstance(a, str)]
        instances += [i for a in accepted if isinstance(a, list) for i in a]
        server = _restart(server, db_url)
        cloud = Cloud(server)
        states = assert_recovered(cloud, query, native, instances, unstarted)
        assert {vm: states[vm] for vm in settled} == settled

        # The restarted server works: a launch after all this runs.
        cloud.admin.configureSimulator(name="StartCommand", value="wait:0")
        assert _wait_job(cloud.user, cloud.deploy()) == 1
        time.sleep(1.5)  # one more heartbeat with every VM in place
    finally:
        server.stop()
    log = server.log()
    assert "database is locked" not in log
    assert "periodic task" not in log, log
