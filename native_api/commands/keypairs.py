"""SSH key pairs: create, register, list, delete (the same key pairs the EC2 API shows)."""
from __future__ import annotations

from backends.api import InvalidParameterValue
from native_api import fields as f
from native_api.registry import LIST, SUCCESS, command, scope_params
from native_api.views.keypairs import KeyPair, SSHKeyPair

OWNER = {
    "account": f.String("an optional account for the ssh key. Must be used with domainId."),
    "domainid": f.Uuid("Domain", "an optional domainId for the ssh key. If the account parameter is used, domainId "
                                 "must also be used."),
}


def _owner(call):
    return call.cloud.accounts.owner_for(call.caller, call.get("account"), call.get("domainid"))


@command("createSSHKeyPair", params={"name": f.String("Name of the keypair", required=True), **OWNER},
         response=KeyPair, description="Create a new keypair and returns the private key")
def create_ssh_key_pair(call):
    pair, private_key = call.cloud.keypairs.create(call.caller, call.params["name"], owner=_owner(call))
    pair.private_key = private_key
    return pair


@command("registerSSHKeyPair", params={
    "name": f.String("Name of the keypair", required=True),
    "publickey": f.String("Public key material of the keypair", required=True, length=5120),
    **OWNER,
}, response=KeyPair, description="Register a public key in a keypair under a certain name")
def register_ssh_key_pair(call):
    return call.cloud.keypairs.register(call.caller, call.params["name"], call.params["publickey"],
                                       owner=_owner(call))


@command("listSSHKeyPairs", params={
    "id": f.Uuid("SSHKeyPair", "the ID of the ssh keypair"),
    "name": f.String("A key pair name to look for"),
    "fingerprint": f.String("A public key fingerprint to look for"),
    **scope_params(),
}, shape=LIST, response=SSHKeyPair, description="List registered keypairs")
def list_ssh_key_pairs(call):
    return call.cloud.keypairs.list(call.caller, scope=call.scope(id_given=call.get("id") is not None),
                                    id=call.get("id"), name=call.get("name"),
                                    fingerprint=call.get("fingerprint"), keyword=call.get("keyword"),
                                    **call.paging())


@command("deleteSSHKeyPair", params={"name": f.String("Name of the keypair", required=True), **OWNER},
         shape=SUCCESS, description="Deletes a keypair by name")
def delete_ssh_key_pair(call):
    if not call.cloud.keypairs.delete(call.caller, call.params["name"], owner=_owner(call)):
        raise InvalidParameterValue(f"A key pair with name '{call.params['name']}' does not exist for account "
                                    f"{call.caller.account_name} in specified domain id")
