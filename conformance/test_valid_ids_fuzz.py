"""Every command called with real ids of the right kind and plausible values: errors are CloudStack's,
never an internal error, whether the caller is the root admin or a regular user, and so are the jobs."""
from __future__ import annotations

import time

import pytest
import requests

from native_api import commands, fields as f, signing  # noqa: F401  (commands fill the registry)
from native_api.registry import REGISTRY

ALLOWED = {200, 401, 430, 431, 432, 531, 533, 534, 535, 536}
LISTS = {  # entity -> (list command, extra params, item key)
    "Zone": ("listZones", {}, "zone"), "Pod": ("listPods", {}, "pod"), "Cluster": ("listClusters", {}, "cluster"),
    "Host": ("listHosts", {}, "host"), "StoragePool": ("listStoragePools", {}, "storagepool"),
    "ImageStore": ("listImageStores", {}, "imagestore"),
    "ServiceOffering": ("listServiceOfferings", {}, "serviceoffering"),
    "DiskOffering": ("listDiskOfferings", {}, "diskoffering"), "OsType": ("listOsTypes", {}, "ostype"),
    "OsCategory": ("listOsCategories", {}, "oscategory"),
    "Template": ("listTemplates", {"templatefilter": "all"}, "template"),
    "Iso": ("listIsos", {"isofilter": "all"}, "iso"), "Network": ("listNetworks", {"listall": "true"}, "network"),
    "Domain": ("listDomains", {}, "domain"), "Account": ("listAccounts", {"listall": "true"}, "account"),
    "User": ("listUsers", {"listall": "true"}, "user"),
    "VirtualMachine": ("listVirtualMachines", {"listall": "true"}, "virtualmachine"),
    "Volume": ("listVolumes", {"listall": "true"}, "volume"), "Event": ("listEvents", {"listall": "true"}, "event"),
}
SKIP = {"login", "logout", "listApis", "configureSimulator", "deleteAccount", "deleteZone", "updateConfiguration",
        "registerUserKeys"}  # these would lock the fuzzing callers out or change the server under it


def _call(server, profile, params):
    key, secret = server.keys(profile)
    params = {**params, "response": "json", "apiKey": key}
    params["signature"] = signing.sign(params, secret)
    reply = requests.get(server.api_url, params=params, timeout=60)
    return reply.status_code, next(iter(reply.json().values()))


@pytest.fixture(scope="module")
def ids(server):
    from conformance.test_cs_client import pick

    found = {}
    status, body = _call(server, "demo", {"command": "deployVirtualMachine", **_deploy_params(server, pick)})
    assert status == 200
    time.sleep(1)
    for entity, (command, extra, item) in LISTS.items():
        status, body = _call(server, "admin", {"command": command, **extra})
        assert status == 200, (command, body)
        if body.get(item):
            found[entity] = body[item][0]["id"]
    return found


def _deploy_params(server, pick):
    from cs import CloudStack

    key, secret = server.keys("demo")
    zone, offering, template = pick(CloudStack(endpoint=server.api_url, key=key, secret=secret))
    return {"zoneid": zone["id"], "serviceofferingid": offering["id"], "templateid": template["id"]}


def _value(field, ids):
    if isinstance(field, f.Uuid):
        return ids.get(field.entity, "00000000-0000-4000-8000-000000000000")
    if isinstance(field, f.List) and field.entity:
        return ids.get(field.entity, "00000000-0000-4000-8000-000000000000")
    if isinstance(field, f.Boolean):
        return "true"
    if isinstance(field, f.Integer):
        return "1"
    if isinstance(field, f.Map):
        return None
    if isinstance(field, f.Date):
        return "2026-01-01"
    return "x1"


@pytest.mark.parametrize("profile", ["demo", "admin"])
def test_real_ids_never_cause_internal_errors(server, ids, profile):
    problems, jobs, outcomes = [], [], {}
    for name in sorted(REGISTRY):
        if name in SKIP:
            continue
        cmd = REGISTRY[name]
        params = {"command": name}
        for param, field in cmd.params.items():
            if param in ("page", "pagesize", "keyword"):
                continue
            value = _value(field, ids)
            if value is not None:
                params[param] = value
        status, body = _call(server, profile, params)
        outcomes[status] = outcomes.get(status, 0) + 1
        if status not in ALLOWED:
            problems.append((name, status, body.get("errortext")))
        elif status == 200 and "jobid" in body:
            jobs.append((name, body["jobid"]))
    deadline = time.time() + 60
    for name, jobid in jobs:
        problem = _job_problem(server, profile, jobid, deadline)
        if problem is not None:
            problems.append((name, "job", problem))
    assert not problems, problems
    assert outcomes.get(200, 0) >= 8, outcomes  # the calls got past validation, into the managers


def _job_problem(server, profile: str, jobid: str, deadline: float):
    """What is wrong with a job's outcome, or None: a query that does not answer 200, a job still
    pending at the deadline and a job failing with an error code outside ALLOWED are all problems."""
    while True:
        status, body = _call(server, profile, {"command": "queryAsyncJobResult", "jobid": jobid})
        if status != 200:
            return f"queryAsyncJobResult answered {status}: {body.get('errortext')}"
        if body.get("jobstatus") != 0:
            break
        if time.time() > deadline:
            return "still pending at the deadline"
        time.sleep(0.2)
    if body.get("jobstatus") not in (1, 2):
        return f"jobstatus {body.get('jobstatus')!r} is neither succeeded nor failed"
    if body.get("jobstatus") == 2 and body["jobresult"].get("errorcode") not in ALLOWED:
        return body["jobresult"]
    return None
