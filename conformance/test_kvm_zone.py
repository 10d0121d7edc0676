"""A zone of KVM hosts driven by libvirt, through both APIs, with the same behaviour as the simulator zone.

The hosts are libvirt test-driver nodes (``test:///<file>.xml``, one file each). A test-driver host's
state lives in the connection of the process that opened it, so the server runs in this process (a
real werkzeug server on a free port, the real database) and the tests look at the domains through the
driver's own connections, as an operator's ``virsh`` on the host would.
"""
from __future__ import annotations

import configparser
import os
import threading
import time
import xml.etree.ElementTree as ET

import pytest

from backends.drivers import libvirt_xml as lx
from backends.drivers.base import HostRef
from conformance.conftest import free_port, wait_template_ready
from tests.libvirt_nodes import node_uri, qcow2, require_libvirt


@pytest.fixture(scope="module")
def kvm(tmp_path_factory):
    require_libvirt()
    from werkzeug.serving import make_server

    from server.app import create_app, create_cloud
    from server.logs import RedactingRequestHandler
    from server.settings import Settings

    data = tmp_path_factory.mktemp("kvm")
    uris = [node_uri(str(data), f"kvm{i}", cpus=16, mhz=2400, memory_gib=64) for i in (1, 2)]
    settings = Settings(data_dir=str(data), port=free_port(), zone_hosts={"KVM": tuple(uris)})
    cloud = create_cloud(settings)
    server = make_server("127.0.0.1", settings.port, create_app(settings, cloud), threaded=True,
                         request_handler=RedactingRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"cloud": cloud, "url": f"http://127.0.0.1:{settings.port}", "data": str(data), "uris": uris}
    server.shutdown()
    cloud.stop()


def _keys(kvm, profile):
    parser = configparser.ConfigParser()
    parser.read(os.path.join(kvm["data"], "credentials"))
    return parser[profile]["aws_access_key_id"], parser[profile]["aws_secret_access_key"]


@pytest.fixture(scope="module")
def cs_user(kvm):
    from cs import CloudStack

    key, secret = _keys(kvm, "demo")
    return CloudStack(endpoint=f"{kvm['url']}/client/api", key=key, secret=secret)


@pytest.fixture(scope="module")
def cs_admin(kvm):
    from cs import CloudStack

    key, secret = _keys(kvm, "admin")
    return CloudStack(endpoint=f"{kvm['url']}/client/api", key=key, secret=secret)


@pytest.fixture(scope="module")
def ec2(kvm):
    import boto3
    from botocore.config import Config

    key, secret = _keys(kvm, "demo")
    return boto3.client("ec2", endpoint_url=kvm["url"], region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))


def _wait(cs, job):
    deadline = time.time() + 60
    while time.time() < deadline:
        result = cs.queryAsyncJobResult(jobid=job["jobid"])
        if result["jobstatus"] != 0:
            assert result["jobstatus"] == 1, result
            return result["jobresult"]
        time.sleep(0.1)
    raise AssertionError("job did not finish")


def _deploy(cs, template_name: str, offering_name: str) -> dict:
    """deployVirtualMachine in the KVM zone, waited for."""
    zone = _zone(cs)
    template = next(t for t in cs.listTemplates(templatefilter="featured", zoneid=zone["id"])["template"]
                    if t["name"] == template_name)
    offering = next(o for o in cs.listServiceOfferings()["serviceoffering"] if o["name"] == offering_name)
    return _wait(cs, cs.deployVirtualMachine(zoneid=zone["id"], templateid=template["id"],
                                             serviceofferingid=offering["id"]))["virtualmachine"]


def _zone(cs):
    return next(z for z in cs.listZones()["zone"] if z["name"] == "us-east-1c")


def _domain(kvm, vm_row):
    """The libvirt domain of a VM on the host the cloud placed it on (None once it is gone)."""
    cloud = kvm["cloud"]
    vm = cloud.lookup("VirtualMachine", vm_row["id"])
    host = vm.host if vm.host_id is not None else vm.last_host
    driver = cloud.drivers["KVM"]
    conn = driver.connection(host.url)
    import libvirt

    try:
        return conn.lookupByName(vm.instance_name)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_NO_DOMAIN:
            raise  # only "no such domain" means gone; any other libvirt error is a failure
        return None


def test_the_kvm_hosts_report_their_capacity(cs_admin, kvm):
    hosts = cs_admin.listHosts(hypervisor="KVM")["host"]
    assert sorted(h["name"].rsplit("-", 1)[-1] for h in hosts) == ["kvm1", "kvm2"]
    assert all(h["state"] == "Up" and h["cpunumber"] == 16 and h["cpuspeed"] == 2400 for h in hosts)
    assert all(int(h["memorytotal"]) == 64 << 30 for h in hosts)


def test_native_deploy_stop_start_reboot_destroy_on_a_kvm_host(cs_user, kvm):
    vm = _deploy(cs_user, "ubuntu-22.04-kvm", "t2.micro")
    assert vm["state"] == "Running" and vm["hypervisor"] == "KVM"
    domain = _domain(kvm, vm)
    assert domain is not None and domain.isActive()
    xml = ET.fromstring(domain.XMLDesc(0))
    assert xml.findtext("vcpu") == "1" and int(xml.findtext("memory")) == 1024 * 1024
    assert xml.find("devices/interface/mac").get("address") == vm["nic"][0]["macaddress"]
    root = cs_user.listVolumes(virtualmachineid=vm["id"], type="ROOT")["volume"][0]
    assert xml.find("devices/disk/source").get("file").endswith(root["id"])

    stopped = _wait(cs_user, cs_user.stopVirtualMachine(id=vm["id"]))["virtualmachine"]
    assert stopped["state"] == "Stopped" and _domain(kvm, vm) is None  # transient: gone when off
    started = _wait(cs_user, cs_user.startVirtualMachine(id=vm["id"]))["virtualmachine"]
    assert started["state"] == "Running" and _domain(kvm, started).isActive()
    _wait(cs_user, cs_user.rebootVirtualMachine(id=vm["id"]))
    assert _domain(kvm, started).isActive()

    pool_url = kvm["cloud"].lookup("Volume", root["id"]).pool.url
    host = kvm["cloud"].lookup("VirtualMachine", vm["id"]).host
    pool = kvm["cloud"].drivers["KVM"].connection(host.url).storagePoolLookupByName(lx.pool_name(pool_url))
    assert root["id"] in pool.listVolumes()
    # A user may not expunge: destroy, then the expunge the scavenger would do.
    _wait(cs_user, cs_user.destroyVirtualMachine(id=vm["id"]))
    assert _domain(kvm, started) is None
    kvm["cloud"].config.update("expunge.delay", "0")
    assert kvm["cloud"].vms.expunge_due() >= 1
    kvm["cloud"].config.update("expunge.delay", "86400")
    pool.refresh(0)
    assert root["id"] not in pool.listVolumes()


def test_ec2_run_stop_start_terminate_on_a_kvm_host(ec2, cs_user, kvm):
    image = next(i for i in ec2.describe_images(Owners=["amazon"])["Images"] if i["Name"] == "ubuntu-22.04-kvm")
    reservation = ec2.run_instances(ImageId=image["ImageId"], InstanceType="t2.small", MinCount=2, MaxCount=2,
                                    Placement={"AvailabilityZone": "us-east-1c"})
    ids = [i["InstanceId"] for i in reservation["Instances"]]
    ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    vms = [v for v in cs_user.listVirtualMachines(zoneid=_zone(cs_user)["id"])["virtualmachine"]
           if v["id"].replace("-", "")[:17] in {i[2:] for i in ids}]
    assert len(vms) == 2 and all(v["hypervisor"] == "KVM" and _domain(kvm, v).isActive() for v in vms)
    assert all(int(ET.fromstring(_domain(kvm, v).XMLDesc(0)).findtext("memory")) == 2048 * 1024 for v in vms)

    ec2.stop_instances(InstanceIds=ids[:1])
    ec2.get_waiter("instance_stopped").wait(InstanceIds=ids[:1], WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    first = next(v for v in vms if v["id"].replace("-", "")[:17] == ids[0][2:])
    assert _domain(kvm, first) is None
    ec2.start_instances(InstanceIds=ids[:1])
    ec2.get_waiter("instance_running").wait(InstanceIds=ids[:1], WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    ec2.terminate_instances(InstanceIds=ids)
    ec2.get_waiter("instance_terminated").wait(InstanceIds=ids, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    assert all(_domain(kvm, v) is None for v in vms)


def test_a_domain_destroyed_behind_the_clouds_back_reads_stopped_after_a_sync(cs_user, kvm):
    vm = _deploy(cs_user, "debian-12-kvm", "t2.nano")
    _domain(kvm, vm).destroy()  # an operator's `virsh destroy` on the host
    kvm["cloud"].infra.ping_hosts()  # one sync interval
    assert cs_user.listVirtualMachines(id=vm["id"])["virtualmachine"][0]["state"] == "Stopped"
    again = _wait(cs_user, cs_user.startVirtualMachine(id=vm["id"]))["virtualmachine"]
    assert _domain(kvm, again).isActive()
    _wait(cs_user, cs_user.destroyVirtualMachine(id=vm["id"]))


def test_a_running_vm_scales_in_place_on_its_kvm_host(cs_user, kvm):
    cloud = kvm["cloud"]
    cloud.config.update("enable.dynamic.scale.vm", "true")
    try:
        vm = _deploy(cs_user, "ubuntu-22.04-kvm", "t2.micro")
        xml = ET.fromstring(_domain(kvm, vm).XMLDesc(0))
        assert xml.find("vcpu").get("current") == "1" and int(xml.findtext("vcpu")) == 16  # the host's cores
        bigger = next(o for o in cs_user.listServiceOfferings()["serviceoffering"] if o["name"] == "t2.medium")
        _wait(cs_user, cs_user.scaleVirtualMachine(id=vm["id"], serviceofferingid=bigger["id"]))
        xml = ET.fromstring(_domain(kvm, vm).XMLDesc(0))
        assert xml.find("vcpu").get("current") == "2" and int(xml.findtext("currentMemory")) == 4096 * 1024
        _wait(cs_user, cs_user.destroyVirtualMachine(id=vm["id"]))
    finally:
        cloud.config.update("enable.dynamic.scale.vm", "false")


def test_a_host_that_stops_answering_goes_disconnected(cs_admin, kvm):
    zone = _zone(cs_admin)
    cluster = cs_admin.listClusters(zoneid=zone["id"])["cluster"][0]
    uri = node_uri(kvm["data"], "kvm3", cpus=4, memory_gib=8)
    host = cs_admin.addHost(zoneid=zone["id"], podid=cluster["podid"], clusterid=cluster["id"], url=uri,
                            hypervisor="KVM", username="root", password="unused")["host"][0]
    assert host["state"] == "Up" and host["cpunumber"] == 4
    template = next(t for t in cs_admin.listTemplates(templatefilter="featured", zoneid=zone["id"])["template"]
                    if t["name"] == "debian-12-kvm")
    offering = next(o for o in cs_admin.listServiceOfferings()["serviceoffering"] if o["name"] == "t2.nano")
    vm = _wait(cs_admin, cs_admin.deployVirtualMachine(zoneid=zone["id"], templateid=template["id"],
                                                       serviceofferingid=offering["id"], hostid=host["id"]))
    vm = vm["virtualmachine"]
    os.remove(uri[len("test://"):])  # the host is gone: its connection drops and cannot be opened again
    cloud = kvm["cloud"]
    cloud.drivers["KVM"].disconnect_host(HostRef(url=uri))
    cloud.infra.ping_hosts()
    assert cs_admin.listHosts(id=host["id"])["host"][0]["state"] == "Disconnected"
    cloud.config.update("ping.timeout", "0")  # late at once: the next missed ping declares it Down
    try:
        cloud.infra.ping_hosts()
    finally:
        cloud.config.update("ping.timeout", "2.5")
    assert cs_admin.listHosts(id=host["id"])["host"][0]["state"] == "Down"
    assert cloud.lookup("VirtualMachine", vm["id"]).power_state == "PowerUnknown"
    events = cs_admin.listEvents(type="VM.HOST.DOWN")["event"]
    assert any(vm["name"] in e["description"] for e in events)


def test_without_libvirt_a_kvm_host_is_a_clear_error(cs_admin, kvm):
    from cs import CloudStackApiException

    zone = _zone(cs_admin)
    cluster = cs_admin.listClusters(zoneid=zone["id"])["cluster"][0]
    drivers = kvm["cloud"].drivers
    saved = drivers.pop("KVM")
    try:
        with pytest.raises(CloudStackApiException) as info:
            cs_admin.addHost(zoneid=zone["id"], podid=cluster["podid"], clusterid=cluster["id"],
                             url=node_uri(kvm["data"], "kvm4"), hypervisor="KVM", username="root", password="x")
        assert "pip install" in info.value.error["errortext"] and info.value.error["errorcode"] == 431
    finally:
        drivers["KVM"] = saved


def test_a_kvm_template_registered_by_url_is_really_downloaded_and_boots_from_its_pool_copy(cs_user, kvm):
    import functools
    import http.server


    www = os.path.join(kvm["data"], "www")
    os.makedirs(www, exist_ok=True)
    with open(os.path.join(www, "tiny.qcow2"), "wb") as fh:
        fh.write(qcow2(3 << 30))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=www)
    handler.log_message = lambda *args: None
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        zone = _zone(cs_user)
        os_type = cs_user.listOsTypes()["ostype"][0]
        template = cs_user.registerTemplate(
            name="tiny-kvm", displaytext="tiny", format="QCOW2", hypervisor="KVM", ostypeid=os_type["id"],
            zoneid=zone["id"], url=f"http://127.0.0.1:{web.server_address[1]}/tiny.qcow2")["template"][0]
        listed = wait_template_ready(cs_user, template["id"])
        assert listed["isready"] and int(listed["size"]) == 3 << 30
        vm = _wait(cs_user, cs_user.deployVirtualMachine(
            zoneid=zone["id"], templateid=template["id"],
            serviceofferingid=next(o for o in cs_user.listServiceOfferings()["serviceoffering"]
                                   if o["name"] == "t2.nano")["id"]))["virtualmachine"]
        assert vm["state"] == "Running" and _domain(kvm, vm).isActive()
        _wait(cs_user, cs_user.destroyVirtualMachine(id=vm["id"]))
    finally:
        web.shutdown()


def test_libvirt_errors_become_api_errors_and_give_everything_back(cs_admin, kvm):
    from cs import CloudStackApiException

    zone = _zone(cs_admin)
    cluster = cs_admin.listClusters(zoneid=zone["id"])["cluster"][0]
    with pytest.raises(CloudStackApiException) as info:  # nothing answers at this URI
        cs_admin.addHost(zoneid=zone["id"], podid=cluster["podid"], clusterid=cluster["id"], hypervisor="KVM",
                         url=f"test://{kvm['data']}/no-such-node.xml", username="root", password="x")
    assert info.value.error["errorcode"] == 534 and "Unable to connect" in info.value.error["errortext"]

    uri = node_uri(kvm["data"], "kvm5", cpus=4, memory_gib=4)
    host = cs_admin.addHost(zoneid=zone["id"], podid=cluster["podid"], clusterid=cluster["id"], url=uri,
                            hypervisor="KVM", username="root", password="x")["host"][0]
    # Something outside the cloud takes 3.5 GiB of the host's 4: the cloud still counts 4 GiB free.
    squatter = _vm_spec_xml("squatter", 3584)
    kvm["cloud"].drivers["KVM"].connection(uri).createXML(squatter, 0)
    template = next(t for t in cs_admin.listTemplates(templatefilter="featured", zoneid=zone["id"])["template"]
                    if t["name"] == "debian-12-kvm")
    offering = next(o for o in cs_admin.listServiceOfferings()["serviceoffering"] if o["name"] == "t2.small")
    job = cs_admin.deployVirtualMachine(zoneid=zone["id"], templateid=template["id"],
                                        serviceofferingid=offering["id"], hostid=host["id"])
    deadline = time.time() + 60
    while (result := cs_admin.queryAsyncJobResult(jobid=job["jobid"]))["jobstatus"] == 0 and time.time() < deadline:
        time.sleep(0.1)
    assert result["jobstatus"] == 2 and result["jobresult"]["errorcode"] == 533
    assert "MiB free" in result["jobresult"]["errortext"]
    listed = cs_admin.listHosts(id=host["id"])["host"][0]
    assert int(listed["memoryallocated"]) == 0 and float(listed["cpuallocated"].rstrip("%")) == 0
    vm = cs_admin.listVirtualMachines(id=job["id"], listall=True)["virtualmachine"][0]
    assert vm["state"] == "Error"
    assert not cs_admin.listVolumes(virtualmachineid=job["id"], listall=True).get("volume")


def _vm_spec_xml(name: str, memory_mib: int) -> str:
    from backends.drivers.base import VmSpec

    return lx.domain_xml(VmSpec(name=name, cpus=1, cpu_speed=1000, memory_mib=memory_mib), [], domain_type="test")
