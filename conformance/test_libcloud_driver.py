"""Apache Libcloud's CloudStack driver, unmodified, against a real server."""
from __future__ import annotations

from libcloud.compute.types import NodeState

from conformance.test_cs_client import vm_state, wait_job


def test_locations_sizes_images(libcloud_driver):
    locations = libcloud_driver.list_locations()
    assert {loc.name for loc in locations} == {"us-east-1a", "us-east-1b"}
    sizes = {s.name: s for s in libcloud_driver.list_sizes()}
    assert sizes["m5.large"].ram == 8192 and sizes["m5.large"].extra["cpu"] == 2
    images = libcloud_driver.list_images(location=locations[0])
    assert images and all(i.extra["hypervisor"] for i in images)


def test_node_lifecycle(libcloud_driver, user_cs, admin_cs):
    location = next(loc for loc in libcloud_driver.list_locations() if loc.name == "us-east-1b")
    size = next(s for s in libcloud_driver.list_sizes() if s.name == "t3.small")
    image = libcloud_driver.list_images(location=location)[0]

    node = libcloud_driver.create_node(name="lc-node", size=size, image=image, location=location,
                                       ex_start_vm=True)
    assert node.state == NodeState.RUNNING and node.private_ips
    assert any(n.id == node.id and n.name == "lc-node" for n in libcloud_driver.list_nodes())

    assert libcloud_driver.ex_stop(node) == "Stopped"
    assert vm_state(user_cs, node.id) == "Stopped"
    assert libcloud_driver.ex_start(node) == "Running"
    assert libcloud_driver.reboot_node(node)
    assert vm_state(user_cs, node.id) == "Running"

    assert libcloud_driver.destroy_node(node)
    assert not [n for n in libcloud_driver.list_nodes() if n.id == node.id]
    assert admin_cs.recoverVirtualMachine(id=node.id)["virtualmachine"]["state"] == "Stopped"
    job = wait_job(admin_cs, admin_cs.destroyVirtualMachine(id=node.id, expunge=True)["jobid"])
    assert job["jobstatus"] == 1
    assert not admin_cs.listVirtualMachines(id=node.id, listall=True)


def test_create_node_default_leaves_it_stopped(libcloud_driver, user_cs):
    """libcloud sends startvm=False unless asked otherwise: the VM is created and left Stopped."""
    location = libcloud_driver.list_locations()[0]
    size = next(s for s in libcloud_driver.list_sizes() if s.name == "t2.micro")
    image = libcloud_driver.list_images(location=location)[0]
    node = libcloud_driver.create_node(name="lc-stopped", size=size, image=image, location=location)
    assert vm_state(user_cs, node.id) == "Stopped"
    assert libcloud_driver.destroy_node(node)
