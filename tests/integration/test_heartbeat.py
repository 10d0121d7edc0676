"""The heartbeat under load: a power report never undoes a start that finished after the report was taken."""
from __future__ import annotations

from backends.models import VirtualMachine
from tests.integration.conftest import caller_of
from tests.integration.test_vm_lifecycle import MiB, _catalog, _total_used


def test_a_report_taken_before_a_start_finished_leaves_the_vm_running(cloud):
    demo = caller_of(cloud, "demo")
    zone, offering, template = _catalog()
    vm = cloud.vms.deploy(demo, zone=zone, offering=offering, template=template)
    claim = cloud.vms.place(demo, [vm], 1)[vm.id]
    host = claim.placement.host
    report = cloud.simulator.ping(cloud.infra.host_ref(host))  # the heartbeat pings the host...
    cloud.vms.start_work(demo, vm, placement=claim)()  # ...a start finishes on it meanwhile...
    cloud.vms.sync_power_state(host, report)  # ...then the heartbeat compares the VMs with its report
    assert VirtualMachine.get_by_id(vm.id).state == "Running" and _total_used() == vm.memory * MiB

