"""Disabling, locking and enabling accounts and users, seen through the unmodified `cs` client and boto3."""
from __future__ import annotations

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from cs import CloudStack, CloudStackApiException

from conformance.test_cs_client import pick, vm_state, wait_job


@pytest.fixture(scope="module")
def tenant(server, admin_cs):
    """A fresh account ``ctl`` with API keys, its `cs` and boto3 clients."""
    root = admin_cs.listDomains(name="ROOT")["domain"][0]
    account = admin_cs.createAccount(username="ctl", password="pw-ctl", email="ctl@example.com", firstname="C",
                                     lastname="Tl", accounttype=0, domainid=root["id"])["account"]
    user = account["user"][0]
    keys = admin_cs.registerUserKeys(id=user["id"])["userkeys"]
    cs = CloudStack(endpoint=server.api_url, key=keys["apikey"], secret=keys["secretkey"])
    ec2 = boto3.client("ec2", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=keys["apikey"],
                       aws_secret_access_key=keys["secretkey"], config=Config(retries={"max_attempts": 1}))
    return account, user, cs, ec2


def _login(server) -> tuple[requests.Session, str]:
    session = requests.Session()
    reply = session.post(server.api_url, data={"command": "login", "username": "ctl", "password": "pw-ctl",
                                               "response": "json"}, timeout=10)
    assert reply.status_code == 200, reply.text
    return session, reply.json()["loginresponse"]["sessionkey"]


def _session_status(server, session: requests.Session, key: str) -> int:
    return session.get(server.api_url, params={"command": "listZones", "sessionkey": key, "response": "json"},
                       timeout=10).status_code


def _refused(cs, ec2) -> tuple[int, str]:
    with pytest.raises(CloudStackApiException) as native:
        cs.listZones()
    with pytest.raises(ClientError) as aws:
        ec2.describe_availability_zones()
    return native.value.error["errorcode"], aws.value.response["Error"]["Code"]


def _works(cs, ec2) -> None:
    assert cs.listZones()["count"] == 2
    assert len(ec2.describe_availability_zones()["AvailabilityZones"]) == 2


def test_disable_account_refuses_both_apis_ends_sessions_and_stops_vms(server, admin_cs, tenant):
    account, _, cs, ec2 = tenant
    _works(cs, ec2)
    zone, offering, template = pick(cs)
    deployed = cs.deployVirtualMachine(zoneid=zone["id"], serviceofferingid=offering["id"],
                                       templateid=template["id"])
    assert wait_job(cs, deployed["jobid"])["jobstatus"] == 1
    session, key = _login(server)
    assert _session_status(server, session, key) == 200

    job = admin_cs.disableAccount(id=account["id"], lock="false")
    done = wait_job(admin_cs, job["jobid"])
    assert done["jobstatus"] == 1 and done["jobresult"]["account"]["state"] == "disabled"
    assert _refused(cs, ec2) == (401, "AuthFailure")
    assert _session_status(server, session, key) == 401
    assert vm_state(admin_cs, deployed["id"]) == "Stopped"  # CloudStack stops a disabled account's VMs
    reply = requests.post(server.api_url, data={"command": "login", "username": "ctl", "password": "pw-ctl",
                                                "response": "json"}, timeout=10)
    assert reply.status_code == 531

    enabled = admin_cs.enableAccount(id=account["id"])["account"]
    assert enabled["state"] == "enabled"
    _works(cs, ec2)
    assert _session_status(server, session, key) == 401  # the old session stays ended
    session, key = _login(server)
    assert _session_status(server, session, key) == 200
    wait_job(admin_cs, admin_cs.destroyVirtualMachine(id=deployed["id"], expunge=True)["jobid"])


def test_lock_account_by_name_keeps_vms_but_refuses_the_apis(server, admin_cs, tenant):
    account, _, cs, ec2 = tenant
    locked = admin_cs.lockAccount(account="ctl", domainid=account["domainid"])["account"]
    assert locked["state"] == "locked"
    assert _refused(cs, ec2) == (401, "AuthFailure")
    assert admin_cs.listAccounts(id=account["id"], state="locked")["account"][0]["name"] == "ctl"
    admin_cs.enableAccount(account="ctl", domainid=account["domainid"])
    _works(cs, ec2)


def test_disable_lock_and_enable_a_user(server, admin_cs, tenant):
    _, user, cs, ec2 = tenant
    session, key = _login(server)
    job = admin_cs.disableUser(id=user["id"])
    done = wait_job(admin_cs, job["jobid"])
    assert done["jobstatus"] == 1 and done["jobresult"]["user"]["state"] == "disabled"
    assert _refused(cs, ec2) == (401, "AuthFailure")
    assert _session_status(server, session, key) == 401
    assert admin_cs.enableUser(id=user["id"])["user"]["state"] == "enabled"
    _works(cs, ec2)

    assert admin_cs.lockUser(id=user["id"])["user"]["state"] == "locked"
    assert _refused(cs, ec2) == (401, "AuthFailure")
    # Its only user locked, the account is locked too; enabling the user enables both.
    assert admin_cs.listAccounts(id=user["accountid"])["account"][0]["state"] == "locked"
    admin_cs.enableUser(id=user["id"])
    assert admin_cs.listAccounts(id=user["accountid"])["account"][0]["state"] == "enabled"
    _works(cs, ec2)


def test_nobody_disables_themselves_and_users_may_not(admin_cs, user_cs, tenant):
    account, user, _, _ = tenant
    admin_account = admin_cs.listAccounts(name="admin")["account"][0]
    with pytest.raises(CloudStackApiException) as own:
        admin_cs.lockAccount(account="admin", domainid=admin_account["domainid"])
    assert own.value.error["errorcode"] == 431
    with pytest.raises(CloudStackApiException) as own:
        admin_cs.lockUser(id=admin_account["user"][0]["id"])
    assert own.value.error["errorcode"] == 431
    for call, params in ((user_cs.lockUser, {"id": user["id"]}), (user_cs.enableAccount, {"id": account["id"]}),
                         (user_cs.disableAccount, {"id": account["id"], "lock": "true"})):
        with pytest.raises(CloudStackApiException) as denied:
            call(**params)
        assert denied.value.error["errorcode"] == 432  # not available to a user, as in CloudStack
    assert admin_cs.listAccounts(id=account["id"])["account"][0]["state"] == "enabled"
    with pytest.raises(CloudStackApiException) as missing:
        admin_cs.enableAccount(account="ctl")
    assert missing.value.error["errorcode"] == 431
