"""kill -9 the server while deploys are in flight; after a restart nothing is pending or leaked."""
from __future__ import annotations

import time

from cs import CloudStack

from conformance.conftest import start_server
from conformance.test_cs_client import pick

MiB = 1 << 20


def test_kill_during_twenty_deploys_leaves_no_pending_job_and_exact_capacity(tmp_path):
    server = start_server(str(tmp_path / "crash"))
    try:
        key, secret = server.keys("admin")
        admin = CloudStack(endpoint=server.api_url, key=key, secret=secret)
        # Make every start take seconds on the simulator so the kill lands mid-flight.
        admin.configureSimulator(name="StartCommand", value="wait:4000")
        zone, offering, template = pick(admin)
        jobs = [admin.deployVirtualMachine(zoneid=zone["id"], serviceofferingid=offering["id"],
                                           templateid=template["id"])["jobid"] for _ in range(20)]
        time.sleep(1.0)
        assert any(admin.queryAsyncJobResult(jobid=j)["jobstatus"] == 0 for j in jobs)
    finally:
        server.stop(kill=True)

    server = start_server(server.data_dir, port=server.port)
    try:
        admin = CloudStack(endpoint=server.api_url, key=key, secret=secret)
        results = [admin.queryAsyncJobResult(jobid=j) for j in jobs]
        assert all(r["jobstatus"] != 0 for r in results)
        failed = [r for r in results if r["jobstatus"] == 2]
        assert failed and all("restart" in r["jobresult"]["errortext"] for r in failed)
        assert not [j for j in admin.listAsyncJobs(listall=True).get("asyncjobs", []) if j["jobstatus"] == 0]

        vms = admin.listVirtualMachines(listall=True).get("virtualmachine", [])
        assert all(vm["state"] in ("Running", "Stopped", "Error") for vm in vms)
        for host in admin.listHosts()["host"]:
            holders = [vm for vm in vms if vm.get("hostid") == host["id"]]
            assert host["memoryallocated"] == sum(vm["memory"] * MiB for vm in holders), host["name"]
    finally:
        server.stop()
