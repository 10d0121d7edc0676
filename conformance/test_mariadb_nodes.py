"""Two management servers on one MariaDB database: one cloud, whichever node a client talks to."""
from __future__ import annotations

import uuid

import pytest
from cs import CloudStack

from conformance.conftest import start_server
from conformance.test_cs_client import pick, vm_state, wait_job
from tests.conftest import _drop_mysql_database, _mysql_database, require_mysql

pytestmark = pytest.mark.mysql


@pytest.fixture
def nodes(tmp_path):
    require_mysql()
    name = "ec2bridge_conf_" + uuid.uuid4().hex[:10]
    url = _mysql_database(name)
    first = start_server(str(tmp_path / "node1"), db=url, env={"EC2BRIDGE_NODE_ID": "node-1"})
    second = None
    try:
        second = start_server(str(tmp_path / "node2"), db=url, env={"EC2BRIDGE_NODE_ID": "node-2"})
        yield first, second
    finally:
        for server in (second, first):
            if server is not None:
                server.stop()
        _drop_mysql_database(name)


def test_a_vm_deployed_on_one_node_is_driven_from_the_other(nodes):
    first, second = nodes
    key, secret = first.keys("demo")
    # The second node found the cloud already bootstrapped and wrote no new keys: the first node's work.
    one = CloudStack(endpoint=first.api_url, key=key, secret=secret)
    two = CloudStack(endpoint=second.api_url, key=key, secret=secret)
    zone, offering, template = pick(one)
    deployed = one.deployVirtualMachine(zoneid=zone["id"], serviceofferingid=offering["id"],
                                        templateid=template["id"], name="shared-vm")
    assert wait_job(one, deployed["jobid"])["jobstatus"] == 1
    assert vm_state(two, deployed["id"]) == "Running"
    job = wait_job(two, two.stopVirtualMachine(id=deployed["id"])["jobid"])
    assert job["jobstatus"] == 1 and vm_state(one, deployed["id"]) == "Stopped"
    job = wait_job(one, one.destroyVirtualMachine(id=deployed["id"])["jobid"])
    assert job["jobresult"]["virtualmachine"]["state"] == "Destroyed"
    assert not two.listVirtualMachines(id=deployed["id"])
