"""Operations beyond the basic lifecycle: events, migrate, scale, update, settings, login sessions."""
from __future__ import annotations

import pytest
import requests
from cs import CloudStackApiException

from conformance.test_cs_client import pick, vm_state, wait_job


@pytest.fixture(scope="module")
def running_vm(user_cs):
    zone, offering, template = pick(user_cs)
    deployed = user_cs.deployVirtualMachine(zoneid=zone["id"], serviceofferingid=offering["id"],
                                            templateid=template["id"], name="ops-vm")
    assert wait_job(user_cs, deployed["jobid"])["jobstatus"] == 1
    return deployed["id"]


def test_events_tell_what_happened_to_the_vm(user_cs, running_vm):
    events = user_cs.listEvents(resourceid=running_vm)["event"]
    assert {"VM.CREATE", "VM.START"} <= {e["type"] for e in events}
    assert all(e["account"] == "demo" for e in events)


def test_migrate_within_the_cluster(admin_cs, user_cs, running_vm):
    before = admin_cs.listVirtualMachines(id=running_vm)["virtualmachine"][0]
    job = wait_job(admin_cs, admin_cs.migrateVirtualMachine(virtualmachineid=running_vm)["jobid"])
    assert job["jobstatus"] == 1, job
    after = job["jobresult"]["virtualmachine"]
    assert after["hostid"] != before["hostid"] and after["clusterid"] == before["clusterid"]
    assert after["state"] == "Running"
    with pytest.raises(CloudStackApiException) as info:
        user_cs.migrateVirtualMachine(virtualmachineid=running_vm)
    assert info.value.error["errorcode"] == 432


def test_scale_needs_a_stopped_vm_and_update_renames(user_cs, running_vm):
    bigger = next(o for o in user_cs.listServiceOfferings()["serviceoffering"] if o["name"] == "t3.medium")
    job = wait_job(user_cs, user_cs.scaleVirtualMachine(id=running_vm, serviceofferingid=bigger["id"])["jobid"])
    assert job["jobstatus"] == 2 and job["jobresult"]["errorcode"] == 431  # dynamic scaling is off
    assert wait_job(user_cs, user_cs.stopVirtualMachine(id=running_vm)["jobid"])["jobstatus"] == 1
    job = wait_job(user_cs, user_cs.scaleVirtualMachine(id=running_vm, serviceofferingid=bigger["id"])["jobid"])
    assert job["jobstatus"] == 1 and job["jobresult"]["virtualmachine"]["memory"] == bigger["memory"]
    renamed = user_cs.updateVirtualMachine(id=running_vm, displayname="renamed")["virtualmachine"]
    assert renamed["displayname"] == "renamed"
    assert vm_state(user_cs, running_vm) == "Stopped"


def test_configuration_is_root_admin_only(admin_cs, user_cs):
    setting = admin_cs.listConfigurations(name="expunge.delay")["configuration"][0]
    assert setting["value"] == "86400"
    assert admin_cs.updateConfiguration(name="expunge.delay", value="3600")["configuration"]["value"] == "3600"
    assert _setting(admin_cs, "expunge.delay") == "3600"  # stored, not only echoed
    with pytest.raises(CloudStackApiException) as info:
        user_cs.listConfigurations()
    assert info.value.error["errorcode"] == 432
    with pytest.raises(CloudStackApiException) as info:
        user_cs.updateConfiguration(name="expunge.delay", value="60")
    assert info.value.error["errorcode"] == 432
    with pytest.raises(CloudStackApiException) as info:
        admin_cs.updateConfiguration(name="expunge.delay", value="soon")
    assert info.value.error["errorcode"] == 431
    assert _setting(admin_cs, "expunge.delay") == "3600"  # neither refused update changed it


def _setting(cs, name: str) -> str:
    return cs.listConfigurations(name=name)["configuration"][0]["value"]


def test_login_session_then_logout(server):
    session = requests.Session()
    reply = session.post(server.api_url, data={"command": "login", "username": "demo", "password": "password",
                                               "domain": "/", "response": "json"})
    assert reply.status_code == 200
    login = reply.json()["loginresponse"]
    assert login["username"] == "demo" and login["sessionkey"]
    zones = session.get(server.api_url, params={"command": "listZones", "response": "json",
                                                "sessionkey": login["sessionkey"]})
    assert zones.status_code == 200 and zones.json()["listzonesresponse"]["count"] == 2
    forged = requests.get(server.api_url, params={"command": "listZones", "response": "json",
                                                  "sessionkey": login["sessionkey"]})
    assert forged.status_code == 401  # the key alone, without the session cookie, is not enough
    session.get(server.api_url, params={"command": "logout", "response": "json",
                                        "sessionkey": login["sessionkey"]})
    after = session.get(server.api_url, params={"command": "listZones", "response": "json",
                                                "sessionkey": login["sessionkey"]})
    assert after.status_code == 401
    bad = requests.post(server.api_url, data={"command": "login", "username": "demo", "password": "nope",
                                              "response": "json"})
    assert bad.status_code == 531 and "sessionkey" not in bad.text
