"""Signature bypasses of issue 9, tried over real HTTP against a real server.

Each forgery starts from a request the real key signed, changed the way an
attacker holding only that signed request could change it.
"""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import boto3
import pytest
import requests
import xmltodict
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conformance.conftest import ec2_client
from native_api.signing import sign


def _ec2_error(response) -> tuple[int, str]:
    errors = xmltodict.parse(response.text)["Response"]["Errors"]["Error"]
    return response.status_code, errors["Code"]


def _key_names(ec2) -> set[str]:
    return {k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]}


def _presigned_url(server, action: str) -> str:
    ec2 = ec2_client(server)
    return ec2.generate_presigned_url(action, Params={}, ExpiresIn=300)


# ---------------------------------------------------------------------------------------- EC2

def test_a_presigned_url_works_on_its_own(server):
    # botocore presigns EC2's (POST) operations for POST with the parameters moved into the query.
    response = requests.post(_presigned_url(server, "describe_regions"), timeout=10)
    assert response.status_code == 200 and "<regionName>us-east-1</regionName>" in response.text


def test_a_form_body_cannot_add_to_a_presigned_request(server, ec2):
    url = _presigned_url(server, "describe_regions")
    for body in ("Action=CreateKeyPair&KeyName=forged&Version=2016-11-15", "KeyName=forged"):
        response = requests.post(url, data=body, timeout=10,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert _ec2_error(response) == (400, "InvalidParameterCombination")
    # With an empty Authorization header the request is still presigned.
    response = requests.post(url, data="Action=CreateKeyPair&KeyName=forged", timeout=10,
                             headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": ""})
    assert _ec2_error(response) == (400, "InvalidParameterCombination")
    assert "forged" not in _key_names(ec2)


class _PartlySigned(SigV4Auth):
    """botocore's signer, leaving some headers out of SignedHeaders (they are still sent)."""

    def __init__(self, credentials, service, region, unsigned):
        super().__init__(credentials, service, region)
        self.unsigned = unsigned

    def headers_to_sign(self, request):
        headers = super().headers_to_sign(request)
        for name in self.unsigned:
            del headers[name]
        return headers


def _signed_post(server, *, service="ec2", region="us-east-1", body="Action=DescribeRegions&Version=2016-11-15",
                 unsigned: tuple[str, ...] = ()):
    key, secret = server.keys("demo")
    request = AWSRequest(method="POST", url=server.url + "/", data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    _PartlySigned(Credentials(key, secret), service, region, unsigned).add_auth(request)
    prepared = request.prepare()
    return requests.post(prepared.url, data=prepared.body, headers=dict(prepared.headers), timeout=10)


def test_sigv4_scope_and_signed_headers_as_aws_checks_them(server):
    assert _signed_post(server).status_code == 200
    assert _ec2_error(_signed_post(server, service="sts")) == (401, "AuthFailure")
    assert _ec2_error(_signed_post(server, service="s3")) == (401, "AuthFailure")
    assert _ec2_error(_signed_post(server, region="eu-west-3")) == (401, "AuthFailure")
    assert _ec2_error(_signed_post(server, unsigned=("host",))) == (400, "IncompleteSignature")
    assert _ec2_error(_signed_post(server, unsigned=("X-Amz-Date",))) == (400, "IncompleteSignature")
    # sts scope is for GetCallerIdentity only (boto3's sts client signs it so).
    assert ec2_client(server, service="sts").get_caller_identity()["Arn"].endswith(":user/demo")


def test_presigned_expiry_bounds(server):
    ec2 = ec2_client(server)
    url = ec2.generate_presigned_url("describe_regions", Params={}, ExpiresIn=604801)
    assert _ec2_error(requests.post(url, timeout=10)) == (401, "AuthFailure")
    url = ec2.generate_presigned_url("describe_regions", Params={}, ExpiresIn=604800)
    assert requests.post(url, timeout=10).status_code == 200


def test_emulator_still_takes_any_key_and_region(tmp_path_factory):
    from conformance.conftest import start_server

    srv = start_server(str(tmp_path_factory.mktemp("emulator")), env={"EC2BRIDGE_EMULATOR": "1"})
    try:
        client = boto3.client("ec2", endpoint_url=srv.url, region_name="ap-south-2", aws_access_key_id="AKIAANY",
                              aws_secret_access_key="whatever")
        assert "ap-south-2" in {r["RegionName"] for r in client.describe_regions()["Regions"]}
        # A disabled account is refused, not created again (any key that is no account id is the default one).
        from cs import CloudStack

        key, secret = srv.keys("admin")
        admin = CloudStack(endpoint=srv.api_url, key=key, secret=secret)
        name = "123456789012"
        account = admin.listAccounts(name=name, listall="true")["account"][0]
        admin.lockAccount(account=name, domainid=account["domainid"])
        with pytest.raises(ClientError) as refused:
            client.describe_regions()
        assert refused.value.response["Error"]["Code"] == "AuthFailure"
        admin.enableAccount(id=account["id"])
        assert client.describe_regions()["Regions"]
    finally:
        srv.stop()


# ------------------------------------------------------------------------------------- native

def _native(server, params: dict[str, str]) -> requests.Response:
    return requests.get(server.api_url + "?" + urlencode(params), timeout=10)


def test_an_expired_signed_request_cannot_be_revived_by_a_crafted_name(server):
    key, secret = server.keys("demo")
    expires = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    signed = {"apiKey": key, "command": "listVirtualMachines", "expires": expires, "response": "json",
              "signatureVersion": "3"}
    signature = sign(signed, secret)
    assert _native(server, {**signed, "signature": signature}).status_code == 401  # expired, as it should be
    encoded = expires.replace(":", "%3A").replace("+", "%2B")
    forged = {"apiKey": key, "command": "listVirtualMachines",
              f"expires={encoded}&response=json&signatureVersion": "3", "signature": signature}
    response = _native(server, forged)
    assert response.status_code == 401 and "<errorcode>401</errorcode>" in response.text
    assert "<virtualmachine>" not in response.text


def test_a_signed_filter_cannot_be_dropped_by_a_crafted_name(server, user_cs):
    created = [user_cs.createSSHKeyPair(name=name)["keypair"]["name"] for name in ("sig-x", "sig-y")]
    key, secret = server.keys("demo")
    signed = {"apiKey": key, "command": "listSSHKeyPairs", "name": "sig-x", "response": "json"}
    signature = sign(signed, secret)
    honest = _native(server, {**signed, "signature": signature})
    assert [k["name"] for k in honest.json()["listsshkeypairsresponse"]["sshkeypair"]] == ["sig-x"]
    forged = {"apiKey": key, "command": "listSSHKeyPairs", "name=sig-x&response": "json", "signature": signature}
    response = _native(server, forged)
    assert response.status_code == 401 and "sig-y" not in response.text
    for name in created:
        user_cs.deleteSSHKeyPair(name=name)


@pytest.mark.parametrize("name", ["a=b", "a&b", "a b", "a%", "é", "a-b", ""])
def test_names_that_are_not_plain_are_refused_before_the_signature(server, name):
    key, secret = server.keys("demo")
    params = {"apiKey": key, "command": "listZones", "response": "json", name: "1"}
    response = _native(server, {**params, "signature": sign(params, secret)})
    assert response.status_code == 401
    assert response.json()["listzonesresponse"]["errorcode"] == 401
