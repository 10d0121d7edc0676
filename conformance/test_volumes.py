"""Data volumes through the unmodified `cs` and libcloud clients against a real server (SQLite and MariaDB)."""
from __future__ import annotations

import pytest
from cs import CloudStackApiException
from libcloud.compute.types import StorageVolumeState

from conformance.conftest import ON_EACH_DATABASE, server_on_database
from conformance.test_cs_client import pick, wait_job

GiB = 1 << 30


@pytest.fixture(scope="module", params=ON_EACH_DATABASE)
def server(request, tmp_path_factory):
    """The clients' server, on SQLite and on MariaDB."""
    yield from server_on_database(request.param, str(tmp_path_factory.mktemp("volumes")))


def _custom(client):
    return next(o for o in client.listDiskOfferings()["diskoffering"] if o["iscustomized"])


def _deploy(client, name):
    zone, offering, template = pick(client)
    deployed = client.deployVirtualMachine(zoneid=zone["id"], serviceofferingid=offering["id"],
                                           templateid=template["id"], name=name)
    return wait_job(client, deployed["jobid"])["jobresult"]["virtualmachine"]


def _pool_allocated(admin, pool_id):
    return admin.listStoragePools(id=pool_id)["storagepool"][0]["disksizeallocated"]


def _storage_allocated(admin, zone):
    """listCapacity's allocated primary storage (type 3) of the zone."""
    return admin.listCapacity(zoneid=zone, type=3)["capacity"][0]["capacityused"]


def test_cs_volume_lifecycle(user_cs, admin_cs):
    vm = _deploy(user_cs, "vol-cs")
    zone = vm["zoneid"]
    zone_allocated = _storage_allocated(admin_cs, zone)
    created = user_cs.createVolume(name="cs-data", zoneid=zone, diskofferingid=_custom(user_cs)["id"], size=3)
    assert created["id"] and created["jobid"]
    job = wait_job(user_cs, created["jobid"])
    assert job["jobstatus"] == 1 and job["jobinstancetype"] == "Volume" and job["jobinstanceid"] == created["id"]
    volume = job["jobresult"]["volume"]
    assert (volume["id"], volume["name"], volume["state"], volume["size"], volume["type"]) == (
        created["id"], "cs-data", "Allocated", 3 * GiB, "DATADISK")
    assert "storageid" not in volume and "virtualmachineid" not in volume

    job = wait_job(user_cs, user_cs.attachVolume(id=volume["id"], virtualmachineid=vm["id"])["jobid"])
    assert job["jobstatus"] == 1 and job["jobinstancetype"] == "Volume", job
    attached = job["jobresult"]["volume"]
    assert attached["state"] == "Ready" and attached["virtualmachineid"] == vm["id"] and attached["deviceid"] == 1
    assert attached["vmname"] == vm["name"] and attached["attached"]
    listed = user_cs.listVolumes(virtualmachineid=vm["id"])["volume"]
    assert {v["type"] for v in listed} == {"ROOT", "DATADISK"}
    tagged = user_cs.createTags(resourcetype="Volume", resourceids=volume["id"],
                                **{"tags[0].key": "role", "tags[0].value": "db"})
    assert wait_job(user_cs, tagged["jobid"])["jobstatus"] == 1
    by_tag = user_cs.listVolumes(**{"tags[0].key": "role", "tags[0].value": "db"})["volume"]
    assert [v["id"] for v in by_tag] == [volume["id"]]
    assert by_tag[0]["tags"] == [{"key": "role", "value": "db", "resourcetype": "Volume",
                                  "resourceid": volume["id"], **{k: by_tag[0]["tags"][0][k] for k in
                                                                 by_tag[0]["tags"][0] if k not in
                                                                 ("key", "value", "resourcetype", "resourceid")}}]
    assert not user_cs.listVolumes(**{"tags[0].key": "role", "tags[0].value": "web"})
    # The admin sees where it lives, and the pool counts its bytes.
    seen = admin_cs.listVolumes(id=volume["id"], listall=True)["volume"][0]
    pool = admin_cs.listStoragePools(id=seen["storageid"])["storagepool"][0]
    assert pool["disksizeallocated"] >= 3 * GiB
    allocated = pool["disksizeallocated"]
    assert _storage_allocated(admin_cs, zone) == zone_allocated + 3 * GiB

    # Deleting an attached volume is refused; so is shrinking without shrinkok.
    with pytest.raises(CloudStackApiException) as refused:
        user_cs.deleteVolume(id=volume["id"])
    assert refused.value.error["errorcode"] == 431
    with pytest.raises(CloudStackApiException) as refused:
        user_cs.resizeVolume(id=volume["id"], size=2)
    assert refused.value.error["errorcode"] == 431

    job = wait_job(user_cs, user_cs.resizeVolume(id=volume["id"], size=5)["jobid"])
    assert job["jobstatus"] == 1 and job["jobresult"]["volume"]["size"] == 5 * GiB
    assert _pool_allocated(admin_cs, pool["id"]) == allocated + 2 * GiB

    job = wait_job(user_cs, user_cs.detachVolume(id=volume["id"])["jobid"])
    assert job["jobstatus"] == 1 and "virtualmachineid" not in job["jobresult"]["volume"]
    assert user_cs.deleteVolume(id=volume["id"])["success"] in (True, "true")
    assert not user_cs.listVolumes(id=volume["id"])
    assert not user_cs.listTags(resourceid=volume["id"])  # its tags went with it
    assert _pool_allocated(admin_cs, pool["id"]) == allocated - 3 * GiB
    assert _storage_allocated(admin_cs, zone) == zone_allocated
    wait_job(admin_cs, admin_cs.destroyVirtualMachine(id=vm["id"], expunge=True)["jobid"])


def test_cs_detach_by_vm_and_device_and_destroy_leaves_the_volume(user_cs, admin_cs):
    vm = _deploy(user_cs, "vol-cs-2")
    volume = user_cs.createVolume(zoneid=vm["zoneid"], diskofferingid=_custom(user_cs)["id"], size=1)
    wait_job(user_cs, volume["jobid"])
    job = wait_job(user_cs, user_cs.attachVolume(id=volume["id"], virtualmachineid=vm["id"], deviceid=5)["jobid"])
    assert job["jobresult"]["volume"]["deviceid"] == 5
    job = wait_job(user_cs, user_cs.detachVolume(virtualmachineid=vm["id"], deviceid=5)["jobid"])
    assert job["jobstatus"] == 1 and job["jobresult"]["volume"]["id"] == volume["id"]
    wait_job(user_cs, user_cs.attachVolume(id=volume["id"], virtualmachineid=vm["id"])["jobid"])
    assert wait_job(admin_cs, admin_cs.destroyVirtualMachine(id=vm["id"], expunge=True)["jobid"])["jobstatus"] == 1
    left = user_cs.listVolumes(id=volume["id"])["volume"][0]
    assert left["state"] == "Ready" and "virtualmachineid" not in left
    user_cs.deleteVolume(id=volume["id"])


def test_cs_bad_volume_requests_get_cloudstacks_errors(user_cs):
    zone = user_cs.listZones()["zone"][0]
    fixed = next(o for o in user_cs.listDiskOfferings()["diskoffering"] if not o["iscustomized"])
    for params in ({"zoneid": zone["id"]},  # no disk offering
                   {"zoneid": zone["id"], "diskofferingid": fixed["id"], "size": 3},  # size on a fixed offering
                   {"zoneid": zone["id"], "diskofferingid": _custom(user_cs)["id"]}):  # custom without a size
        with pytest.raises(CloudStackApiException) as refused:
            user_cs.createVolume(**params)
        assert refused.value.error["errorcode"] == 431, params
    with pytest.raises(CloudStackApiException) as refused:
        user_cs.detachVolume()
    assert refused.value.error["errorcode"] == 431


def test_libcloud_volume_calls(libcloud_driver, user_cs, admin_cs):
    location = libcloud_driver.list_locations()[0]
    size = next(s for s in libcloud_driver.list_sizes() if s.name == "t2.micro")
    image = libcloud_driver.list_images(location=location)[0]
    node = libcloud_driver.create_node(name="lc-vol", size=size, image=image, location=location, ex_start_vm=True)

    volume = libcloud_driver.create_volume(size=4, name="lc-data", location=location)
    assert volume.id and volume.size == 4 and volume.state == StorageVolumeState.AVAILABLE
    assert any(v.id == volume.id and v.name == "lc-data" for v in libcloud_driver.list_volumes())

    assert libcloud_driver.attach_volume(node, volume)
    on_node = {v.id: v for v in libcloud_driver.list_volumes(node=node)}
    assert volume.id in on_node and on_node[volume.id].state == StorageVolumeState.INUSE
    assert on_node[volume.id].size == 4 * GiB
    assert libcloud_driver.detach_volume(volume)
    assert volume.id not in {v.id for v in libcloud_driver.list_volumes(node=node)}
    assert libcloud_driver.destroy_volume(volume)
    assert volume.id not in {v.id for v in libcloud_driver.list_volumes()}
    assert libcloud_driver.destroy_node(node)


def test_cs_destroy_with_volumeids_deletes_those_data_volumes(user_cs, admin_cs):
    vm = _deploy(user_cs, "vol-cs-3")
    kept, gone = (user_cs.createVolume(zoneid=vm["zoneid"], diskofferingid=_custom(user_cs)["id"], size=1)
                  for _ in range(2))
    for volume in (kept, gone):
        wait_job(user_cs, volume["jobid"])
        wait_job(user_cs, user_cs.attachVolume(id=volume["id"], virtualmachineid=vm["id"])["jobid"])
    root = next(v for v in user_cs.listVolumes(virtualmachineid=vm["id"])["volume"] if v["type"] == "ROOT")
    with pytest.raises(CloudStackApiException) as refused:  # only its data volumes
        user_cs.destroyVirtualMachine(id=vm["id"], volumeids=root["id"])
    assert refused.value.error["errorcode"] == 431
    job = wait_job(user_cs, user_cs.destroyVirtualMachine(id=vm["id"], volumeids=gone["id"])["jobid"])
    assert job["jobstatus"] == 1
    assert not user_cs.listVolumes(id=gone["id"])
    assert user_cs.listVolumes(id=kept["id"])["volume"][0]["state"] == "Ready"
    user_cs.deleteVolume(id=kept["id"])
