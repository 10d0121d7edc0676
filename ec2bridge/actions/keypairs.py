"""Key pairs: CreateKeyPair, ImportKeyPair, DescribeKeyPairs, DeleteKeyPair."""
from __future__ import annotations

from backends.api import CloudError
from ec2bridge.actions import Context, action
from ec2bridge.actions.filters import FilterSet
from ec2bridge.errors import Ec2Error, from_cloud_error, not_found
from ec2bridge.ids import ec2_id, uuid_prefix_of


def _item(pair, include_public_key=False) -> dict:
    item = {"KeyPairId": ec2_id("SSHKeyPair", pair.uuid), "KeyFingerprint": pair.fingerprint, "KeyName": pair.name,
            "KeyType": pair.key_type, "CreateTime": pair.created, "Tags": []}
    if include_public_key:
        item["PublicKey"] = pair.public_key
    return item


def _new(ctx: Context, name: str, create) -> object:
    try:
        return create()
    except CloudError as exc:
        if exc.details.get("param") == "publickey":
            raise Ec2Error("InvalidKey.Format", exc.message) from exc
        if "already exists" in exc.message:
            raise Ec2Error("InvalidKeyPair.Duplicate", f"The keypair '{name}' already exists.") from exc
        raise from_cloud_error(exc) from exc


@action("CreateKeyPair")
def create_key_pair(ctx: Context, args: dict) -> dict:
    """RSA or ED25519, PEM; the private key is returned once and not kept."""
    if args.get("KeyFormat", "pem") != "pem":
        raise Ec2Error("UnsupportedOperation", "Only KeyFormat pem is supported")
    pair, private_key = _new(ctx, args["KeyName"], lambda: ctx.cloud.keypairs.create(ctx.caller, args["KeyName"],
                                                                     key_type=args.get("KeyType", "rsa")))
    item = _item(pair)
    del item["CreateTime"], item["KeyType"]
    return {**item, "KeyMaterial": private_key}


@action("ImportKeyPair")
def import_key_pair(ctx: Context, args: dict) -> dict:
    """RSA/ED25519 public keys as OpenSSH, RFC 4716, PEM or DER (the blob's raw bytes); AWS-style fingerprints."""
    material = args["PublicKeyMaterial"]
    pair = _new(ctx, args["KeyName"], lambda: ctx.cloud.keypairs.register(ctx.caller, args["KeyName"], material))
    return {"KeyFingerprint": pair.fingerprint, "KeyName": pair.name, "KeyPairId": ec2_id("SSHKeyPair", pair.uuid),
            "Tags": []}


@action("DescribeKeyPairs")
def describe_key_pairs(ctx: Context, args: dict) -> dict:
    """KeyNames, KeyPairIds, IncludePublicKey; filters as AWS documents them (see below)."""
    _, pairs = ctx.cloud.keypairs.list(ctx.caller, scope=ctx.cloud.accounts.scope(ctx.caller))
    items = [_item(p, args.get("IncludePublicKey", False)) for p in pairs]
    for name in args.get("KeyNames") or []:
        if name not in {i["KeyName"] for i in items}:
            raise not_found("SSHKeyPair", name)
    for key_id in args.get("KeyPairIds") or []:
        uuid_prefix_of("SSHKeyPair", key_id)
        if key_id not in {i["KeyPairId"] for i in items}:
            raise not_found("SSHKeyPair", key_id)
    if args.get("KeyNames"):
        items = [i for i in items if i["KeyName"] in args["KeyNames"]]
    if args.get("KeyPairIds"):
        items = [i for i in items if i["KeyPairId"] in args["KeyPairIds"]]
    return {"KeyPairs": FILTERS.apply(items, args.get("Filters"))}


# Every DescribeKeyPairs filter AWS documents, read from the key pair item.
FILTERS = FilterSet({
    "fingerprint": lambda i: i["KeyFingerprint"],
    "key-name": lambda i: i["KeyName"],
    "key-pair-id": lambda i: i["KeyPairId"],
    "key-type": lambda i: i["KeyType"],
}, tags=lambda i: i["Tags"])
describe_key_pairs.filters = FILTERS  # listed in the coverage table


@action("DeleteKeyPair")
def delete_key_pair(ctx: Context, args: dict) -> dict:
    """By KeyName or KeyPairId; deleting a missing key pair succeeds, as in AWS."""
    name = args.get("KeyName")
    if name is None and args.get("KeyPairId"):
        _, pairs = ctx.cloud.keypairs.list(ctx.caller, scope=ctx.cloud.accounts.scope(ctx.caller))
        name = next((p.name for p in pairs if ec2_id("SSHKeyPair", p.uuid) == args["KeyPairId"]), None)
        if name is None:
            raise not_found("SSHKeyPair", args["KeyPairId"])
    if name is None:
        raise Ec2Error("MissingParameter", "The request must contain the parameter KeyName or KeyPairId")
    pair = ctx.cloud.keypairs.get(ctx.caller, name)
    ctx.cloud.keypairs.delete(ctx.caller, name)  # AWS: deleting a missing key pair succeeds
    return {"Return": True, "KeyPairId": ec2_id("SSHKeyPair", pair.uuid) if pair else None}
