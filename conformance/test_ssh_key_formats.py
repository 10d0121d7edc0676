"""Public keys are imported in the forms AWS's ImportKeyPair reads (OpenSSH, RFC 4716, PEM and DER, PKCS#1 and
SubjectPublicKeyInfo), through boto3 and the native cs client alike, with AWS's fingerprints; keys of unknown
types are refused with a clear error on both APIs (EC2 ``InvalidKey.Format``, native 431)."""
from __future__ import annotations

import base64
import hashlib
import textwrap

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cs import CloudStackApiException


def _rsa():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()


def _ed25519():
    return ed25519.Ed25519PrivateKey.generate().public_key()


def _openssh(key) -> bytes:
    return key.public_bytes(ser.Encoding.OpenSSH, ser.PublicFormat.OpenSSH)


def _rfc4716(key) -> str:
    body = "\n".join(textwrap.wrap(_openssh(key).split()[1].decode(), 70))
    return ("---- BEGIN SSH2 PUBLIC KEY ----\n"
            'Comment: "2048-bit key, converted by a user \\\n'
            'on a laptop"\n'
            f"{body}\n---- END SSH2 PUBLIC KEY ----\n")


def _aws_fingerprint(key) -> str:
    """What AWS shows for an imported key: RSA the MD5 of the DER public key (colon-separated), ED25519 the
    base64 SHA-256 of the key blob, as ``ssh-keygen -l`` prints it."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        blob = base64.b64decode(_openssh(key).split()[1])
        return base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    digest = hashlib.md5(key.public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo)).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


def _forms(key) -> dict[str, bytes]:
    forms = {"openssh": _openssh(key) + b" me@laptop", "rfc4716": _rfc4716(key).encode()}
    if isinstance(key, rsa.RSAPublicKey):
        forms.update({
            "pem-spki": key.public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo),
            "pem-pkcs1": key.public_bytes(ser.Encoding.PEM, ser.PublicFormat.PKCS1),
            "der-spki": key.public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo),
            "der-pkcs1": key.public_bytes(ser.Encoding.DER, ser.PublicFormat.PKCS1),
        })
    else:
        forms.update({
            "pem-spki": key.public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo),
            "der-spki": key.public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo),
        })
    return forms


@pytest.mark.parametrize("make_key, key_type", [(_rsa, "rsa"), (_ed25519, "ed25519")])
def test_every_form_imports_through_boto3_with_aws_fingerprints(ec2, user_cs, make_key, key_type):
    key = make_key()
    for form, material in _forms(key).items():
        name = f"{key_type}-{form}"
        imported = ec2.import_key_pair(KeyName=name, PublicKeyMaterial=material)
        assert imported["KeyFingerprint"] == _aws_fingerprint(key), form
        described = ec2.describe_key_pairs(KeyNames=[name], IncludePublicKey=True)["KeyPairs"][0]
        assert described["KeyType"] == key_type
        # Kept as the OpenSSH key, whatever form it came in.
        assert described["PublicKey"].split()[:2] == _openssh(key).decode().split()
        native = user_cs.listSSHKeyPairs(name=name)["sshkeypair"][0]
        assert native["fingerprint"] == _aws_fingerprint(key)
        ec2.delete_key_pair(KeyName=name)


@pytest.mark.parametrize("make_key, key_type", [(_rsa, "rsa"), (_ed25519, "ed25519")])
def test_text_forms_register_through_the_native_api(ec2, user_cs, make_key, key_type):
    key = make_key()
    for form, material in _forms(key).items():
        if form.startswith("der"):
            continue  # the native parameter is text
        name = f"native-{key_type}-{form}"
        registered = user_cs.registerSSHKeyPair(name=name, publickey=material.decode())["keypair"]
        assert registered["fingerprint"] == _aws_fingerprint(key), form
        shown = ec2.describe_key_pairs(KeyNames=[name])["KeyPairs"][0]
        assert shown["KeyFingerprint"] == _aws_fingerprint(key) and shown["KeyType"] == key_type
        user_cs.deleteSSHKeyPair(name=name)


BAD_KEYS = {
    "unknown type": b"ssh-foo AAAA",
    "unknown type in an SSH2 blob": b"---- BEGIN SSH2 PUBLIC KEY ----\n"
                                    + base64.b64encode(b"\x00\x00\x00\x07ssh-foo\x00\x00\x00\x01A")
                                    + b"\n---- END SSH2 PUBLIC KEY ----",
    "truncated rsa": b"ssh-rsa AAAAB3NzaC1yc2EAAAADAQAB",
    "not base64": b"ssh-ed25519 !!!!",
    "empty": b" ",
    "pem garbage": b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    "der garbage": b"\x30\x03\x02\x01\x00",
    "a private key": b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    "no end line": b"---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n",
    "ecdsa, which AWS refuses": b"ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEm"
                                b"jZrbgrAu4YHKIyLpcJVwOJA9Ak1/Mb1BVZDRjSmMmSmb2WxmFiD3qf7+X5XWtMbyTr2rzhnlDb1BMKyXT/9U=",
    "512-bit rsa": _openssh(rsa.RSAPublicNumbers(65537, (1 << 511) | (1 << 300) | 1).public_key()),
}


@pytest.mark.parametrize("label", sorted(BAD_KEYS))
def test_bad_keys_are_refused_on_both_apis(ec2, user_cs, label):
    material = BAD_KEYS[label]
    with pytest.raises(ClientError) as info:
        ec2.import_key_pair(KeyName="bad", PublicKeyMaterial=material)
    error = info.value.response["Error"]
    assert error["Code"] == "InvalidKey.Format" and "public key" in error["Message"]
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    if label == "unknown type":
        assert "unknown key type 'ssh-foo'" in error["Message"]
    if b"\x00" not in material and material.strip():
        with pytest.raises(CloudStackApiException) as native:
            user_cs.registerSSHKeyPair(name="bad", publickey=material.decode("latin-1"))
        assert native.value.error["errorcode"] == 431 and "public key" in native.value.error["errortext"]
    assert "bad" not in {k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]}
