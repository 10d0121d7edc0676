"""The unmodified `cs` library against a real server: the VM lifecycle and the error cases."""
from __future__ import annotations

import time

import pytest
import requests
from cs import CloudStack, CloudStackApiException

from native_api import signing


def wait_job(client, jobid, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        result = client.queryAsyncJobResult(jobid=jobid)
        if result["jobstatus"] != 0:
            return result
        time.sleep(0.2)
    raise AssertionError(f"job {jobid} still pending after {timeout}s")


def pick(client):
    zone = client.listZones()["zone"][0]
    offering = next(o for o in client.listServiceOfferings()["serviceoffering"] if o["name"] == "t2.micro")
    template = client.listTemplates(templatefilter="executable", zoneid=zone["id"])["template"][0]
    return zone, offering, template


def vm_state(client, vm_id):
    listing = client.listVirtualMachines(id=vm_id)
    return listing["virtualmachine"][0]["state"] if listing else None


def test_list_zones_shows_the_demo_zones(user_cs):
    zones = user_cs.listZones()
    assert {z["name"] for z in zones["zone"]} == {"us-east-1a", "us-east-1b"}
    assert zones["count"] == 2
    assert all(z["networktype"] == "Basic" for z in zones["zone"])


def test_full_vm_lifecycle(user_cs, admin_cs):
    zone, offering, template = pick(user_cs)
    deployed = user_cs.deployVirtualMachine(zoneid=zone["id"], serviceofferingid=offering["id"],
                                            templateid=template["id"], name="web-1")
    assert deployed["id"] and deployed["jobid"]
    job = wait_job(user_cs, deployed["jobid"])
    assert job["jobstatus"] == 1 and job["jobresultcode"] == 0
    vm = job["jobresult"]["virtualmachine"]
    assert vm["id"] == deployed["id"] and vm["state"] == "Running" and vm["name"] == "web-1"
    assert vm["nic"] and vm["nic"][0]["ipaddress"].startswith("10.")
    assert vm["cpunumber"] == offering["cpunumber"] and vm["memory"] == offering["memory"]

    listed = user_cs.listVirtualMachines(id=vm["id"])["virtualmachine"][0]
    assert listed["state"] == "Running" and listed["zonename"] == zone["name"]
    assert "hostid" not in listed  # admin-only field
    assert "hostid" in admin_cs.listVirtualMachines(id=vm["id"])["virtualmachine"][0]

    for command, expected in (("stopVirtualMachine", "Stopped"), ("startVirtualMachine", "Running"),
                              ("rebootVirtualMachine", "Running")):
        job = wait_job(user_cs, getattr(user_cs, command)(id=vm["id"])["jobid"])
        assert job["jobstatus"] == 1, job
        assert job["jobresult"]["virtualmachine"]["state"] == expected
        assert vm_state(user_cs, vm["id"]) == expected

    job = wait_job(user_cs, user_cs.destroyVirtualMachine(id=vm["id"])["jobid"])
    assert job["jobresult"]["virtualmachine"]["state"] == "Destroyed"
    # Users do not see destroyed VMs; admins do, and recover them.
    assert not user_cs.listVirtualMachines(id=vm["id"])
    assert admin_cs.recoverVirtualMachine(id=vm["id"])["virtualmachine"]["state"] == "Stopped"
    assert vm_state(user_cs, vm["id"]) == "Stopped"
    job = wait_job(admin_cs, admin_cs.destroyVirtualMachine(id=vm["id"], expunge=True)["jobid"])
    assert job["jobstatus"] == 1
    assert not admin_cs.listVirtualMachines(id=vm["id"], listall=True)
    volumes = admin_cs.listVolumes(virtualmachineid=vm["id"], listall=True)
    assert not volumes


def test_deploy_stopped_and_expunge(user_cs, admin_cs):
    zone, offering, template = pick(user_cs)
    deployed = user_cs.deployVirtualMachine(zoneid=zone["id"], serviceofferingid=offering["id"],
                                            templateid=template["id"], startvm=False)
    job = wait_job(user_cs, deployed["jobid"])
    assert job["jobresult"]["virtualmachine"]["state"] == "Stopped"
    root = user_cs.listVolumes(virtualmachineid=deployed["id"])["volume"][0]
    assert root["type"] == "ROOT" and root["state"] == "Allocated"
    wait_job(admin_cs, admin_cs.destroyVirtualMachine(id=deployed["id"])["jobid"])
    job = wait_job(admin_cs, admin_cs.expungeVirtualMachine(id=deployed["id"])["jobid"])
    assert job["jobstatus"] == 1 and job["jobresult"] == {"success": True}
    assert not admin_cs.listVirtualMachines(id=deployed["id"], listall=True)


def test_async_jobs_are_listed(user_cs):
    zone, offering, template = pick(user_cs)
    deployed = user_cs.deployVirtualMachine(zoneid=zone["id"], serviceofferingid=offering["id"],
                                            templateid=template["id"], startvm=False)
    wait_job(user_cs, deployed["jobid"])
    jobs = user_cs.listAsyncJobs()
    assert all({"jobid", "jobstatus", "cmd", "jobresultcode"} <= set(j) for j in jobs["asyncjobs"])
    listed = next(j for j in jobs["asyncjobs"] if j["jobid"] == deployed["jobid"])
    assert listed["jobstatus"] == 1 and listed["jobresultcode"] == 0, listed
    assert listed["cmd"] == "deployVirtualMachine", listed


# ------------------------------------------------------------------------ errors
def raw_call(server, params, secret):
    params = dict(params, response="json")
    params["signature"] = signing.sign(params, secret)
    return requests.get(server.api_url, params=params, timeout=10)


def test_bad_signature_is_401(server):
    key, secret = server.keys("demo")
    reply = raw_call(server, {"command": "listZones", "apiKey": key}, secret + "x")
    assert reply.status_code == 401
    body = reply.json()["listzonesresponse"]
    assert body["errorcode"] == 401
    assert body["errortext"] == "unable to verify user credentials and/or request signature"
    assert reply.headers["Content-Type"].startswith("application/json")


def test_missing_parameter_is_431_naming_it(user_cs):
    with pytest.raises(CloudStackApiException) as info:
        user_cs.deployVirtualMachine(serviceofferingid="x", templateid="y")
    assert info.value.error["errorcode"] == 431
    assert info.value.error["errortext"] == ("Unable to execute API command deployvirtualmachine due to "
                                             "missing parameter zoneid")


def test_unknown_id_is_431_with_the_canonical_text(user_cs):
    with pytest.raises(CloudStackApiException) as info:
        user_cs.stopVirtualMachine(id="8c4a3bd5-0000-4000-8000-000000000000")
    assert info.value.error["errorcode"] == 431
    assert ("Invalid parameter id value=8c4a3bd5-0000-4000-8000-000000000000 due to incorrect long value "
            "format, or entity does not exist") in info.value.error["errortext"]


def test_unknown_command_is_432(server):
    key, secret = server.keys("demo")
    reply = raw_call(server, {"command": "listUnicorns", "apiKey": key}, secret)
    assert reply.status_code == 432
    assert reply.json()["errorresponse"]["errorcode"] == 432


def test_command_names_are_case_sensitive(server):
    key, secret = server.keys("demo")
    assert raw_call(server, {"command": "listzones", "apiKey": key}, secret).status_code == 432


def test_user_calling_an_admin_command_is_432(user_cs):
    with pytest.raises(CloudStackApiException) as info:
        user_cs.listHosts()
    assert info.value.error["errorcode"] == 432


def test_xml_is_the_default_format(server):
    key, secret = server.keys("demo")
    params = {"command": "listZones", "apiKey": key}
    params["signature"] = signing.sign(params, secret)
    reply = requests.get(server.api_url, params=params, timeout=10)
    assert reply.status_code == 200 and reply.headers["Content-Type"].startswith("text/xml")
    assert "<listzonesresponse" in reply.text and "<zone>" in reply.text


def test_post_form_requests_are_accepted(server):
    key, secret = server.keys("demo")
    client = CloudStack(endpoint=server.api_url, key=key, secret=secret, method="post")
    assert client.listZones()["count"] == 2


def test_tilde_and_brackets_in_values_sign_as_cs_does(user_cs):
    # cs leaves ~ bare where CloudStack expects %7E; the server accepts the client's variant.
    assert user_cs.listVirtualMachines(keyword="no~such[vm]") == {}


def test_no_capacity_fails_the_job_with_533_and_leaks_nothing(server, admin_cs, user_cs):
    zone, _, template = pick(user_cs)
    hosts = admin_cs.listHosts(zoneid=zone["id"])["host"]
    before = {h["id"]: h["memoryallocated"] for h in hosts}
    demo = user_cs.listAccounts()["account"][0]
    # Lift the account's limits so the planner, not the limit check, is what refuses.
    for resource_type in (8, 9):
        admin_cs.updateResourceLimit(resourcetype=resource_type, max=-1, account=demo["name"],
                                     domainid=demo["domainid"])
    huge = admin_cs.createServiceOffering(name="huge", displaytext="bigger than any host", cpunumber=2,
                                          cpuspeed=2000, memory=1024 * 1024)["serviceoffering"]
    deployed = user_cs.deployVirtualMachine(zoneid=zone["id"], serviceofferingid=huge["id"],
                                            templateid=template["id"])
    job = wait_job(user_cs, deployed["jobid"])
    assert job["jobstatus"] == 2 and job["jobresultcode"] == 533
    assert job["jobresult"]["errorcode"] == 533 and job["jobresult"]["errortext"]
    after = {h["id"]: h["memoryallocated"] for h in admin_cs.listHosts(zoneid=zone["id"])["host"]}
    assert after == before
    vm = admin_cs.listVirtualMachines(id=deployed["id"], listall=True)["virtualmachine"][0]
    assert vm["state"] == "Error"


def test_list_apis_is_what_cloudmonkey_sync_reads(admin_cs, user_cs):
    """cloudmonkey's `sync` builds its grammar from listApis: count, and per api name, description,
    isasync (bool), related (str), params (name/type/description/required bool/length int), response."""
    listing = admin_cs.listApis()
    assert listing["count"] == len(listing["api"]) > 60
    by_name = {api["name"]: api for api in listing["api"]}
    for api in listing["api"]:
        assert isinstance(api["isasync"], bool) and isinstance(api["related"], str)
        for param in api["params"]:
            assert isinstance(param["required"], bool) and isinstance(param["length"], int)
            assert param["name"] == param["name"].lower() and param["type"]
    deploy = by_name["deployVirtualMachine"]
    assert deploy["isasync"] is True
    assert {p["name"] for p in deploy["params"] if p["required"]} == {"zoneid", "serviceofferingid", "templateid"}
    assert "nic" in {r["name"] for r in deploy["response"]}
    user_apis = {api["name"] for api in user_cs.listApis()["api"]}
    assert "deployVirtualMachine" in user_apis and "listHosts" not in user_apis
