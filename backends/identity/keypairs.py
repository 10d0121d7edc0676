"""SSH key pairs: generated here (the private key is shown once, never stored) or imported.

Imported public keys are read in the forms AWS's ImportKeyPair reads: OpenSSH
(``ssh-rsa AAAA... comment``), RFC 4716 (``---- BEGIN SSH2 PUBLIC KEY ----``),
and PEM or DER, either PKCS#1 (``RSA PUBLIC KEY``) or SubjectPublicKeyInfo; only
RSA and ED25519 keys, as in AWS. They are kept in OpenSSH form.

Fingerprints follow what AWS shows, which is also what users compare against:
RSA keys the colon-separated MD5 of the DER public key, ED25519 keys the
base64 SHA-256 of the OpenSSH key blob.
"""
from __future__ import annotations

import base64
import hashlib
import re

import peewee as pw
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from backends.context import Caller
from backends.core.events import EventManager
from backends.db import page_of, write_tx
from backends.errors import InvalidParameterValue
from backends.identity.access import AccessControl
from backends.models import Account, SSHKeyPair

_FORMS = "rsa and ed25519 keys are accepted, in OpenSSH, RFC 4716 (SSH2), PEM or DER form"
_KEY_TYPE = re.compile(rb"[A-Za-z0-9@._+-]{1,64}")
RSA_BITS = (1024, 16384)


def _invalid_key(why: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Invalid public key: {why} ({_FORMS})", param="publickey")


def parse_public_key(material: str | bytes):
    """The RSA or ED25519 public key in ``material``, whichever of the accepted forms it is in."""
    data = material.encode("utf-8", "replace") if isinstance(material, str) else material
    text = data.strip()
    try:
        if text.startswith(b"---- BEGIN SSH2 PUBLIC KEY"):
            key = _from_rfc4716(text)
        elif text.startswith(b"-----BEGIN "):
            key = serialization.load_pem_public_key(text)
        elif data[:1] == b"\x30":  # an ASN.1 SEQUENCE: DER, as PKCS#1 or SubjectPublicKeyInfo
            key = serialization.load_der_public_key(data)
        else:
            key = serialization.load_ssh_public_key(text)
    except UnsupportedAlgorithm:
        word = text.split(maxsplit=1)[0] if text.split() else b""
        shown = f" '{word.decode()}'" if _KEY_TYPE.fullmatch(word) else ""
        raise _invalid_key(f"unknown key type{shown}") from None
    except (ValueError, TypeError, IndexError):
        raise _invalid_key("not a public key in a known form") from None
    if isinstance(key, rsa.RSAPublicKey):
        if not RSA_BITS[0] <= key.key_size <= RSA_BITS[1]:
            raise _invalid_key(f"an RSA key must have {RSA_BITS[0]} to {RSA_BITS[1]} bits, not {key.key_size}")
        return key
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    raise _invalid_key("only rsa and ed25519 keys are supported")


def _from_rfc4716(text: bytes):
    """RFC 4716: header lines (``Comment: ...``, continued by a trailing backslash), then the base64 blob."""
    lines = [line.strip() for line in text.splitlines()]
    if lines[-1] != b"---- END SSH2 PUBLIC KEY ----":
        raise ValueError("no end line")
    body, continued = [], False
    for line in lines[1:-1]:
        if continued or b":" in line:
            continued = line.endswith(b"\\")
        else:
            body.append(line)
    blob = base64.b64decode(b"".join(body), validate=True)
    type_length = int.from_bytes(blob[:4], "big")
    key_type = blob[4:4 + type_length]
    if not _KEY_TYPE.fullmatch(key_type):
        raise ValueError("no key type")
    return serialization.load_ssh_public_key(key_type + b" " + base64.b64encode(blob))


def fingerprint(public_key) -> str:
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        blob = public_key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        raw = base64.b64decode(blob.split()[1])
        return base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.md5(der).hexdigest()  # noqa: S324 - a fingerprint, not a security measure
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


class KeyPairManager:
    def __init__(self, events: EventManager, access: AccessControl):
        self.events = events
        self.access = access

    def create(self, caller: Caller, name: str, *, key_type: str = "rsa",
               owner: Account | None = None) -> tuple[SSHKeyPair, str]:
        """Generate a key pair; returns the row and the private key (PEM), which is not kept."""
        if key_type == "ed25519":
            private = ed25519.Ed25519PrivateKey.generate()
            pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                        serialization.NoEncryption())
        elif key_type == "rsa":
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                        serialization.NoEncryption())
        else:
            raise InvalidParameterValue(f"Invalid key type {key_type}: use rsa or ed25519")
        row = self._store(caller, name, private.public_key(), key_type, owner)
        return row, pem.decode()

    def register(self, caller: Caller, name: str, public_key: str | bytes, *,
                 owner: Account | None = None) -> SSHKeyPair:
        """Import a public key in any form ``parse_public_key`` reads (text, or DER bytes)."""
        key = parse_public_key(public_key)
        key_type = "ed25519" if isinstance(key, ed25519.Ed25519PublicKey) else "rsa"
        return self._store(caller, name, key, key_type, owner)

    def _store(self, caller, name, public_key, key_type, owner) -> SSHKeyPair:
        name = (name or "").strip()
        if not name or len(name) > 255:
            raise InvalidParameterValue("A key pair name must be 1 to 255 characters")
        account = owner or self.access.get_caller_account(caller)
        openssh = public_key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
        taken = InvalidParameterValue(f"A key pair with name '{name}' already exists")
        try:
            with write_tx():
                if SSHKeyPair.select().where(SSHKeyPair.account == account.id, SSHKeyPair.name == name).exists():
                    raise taken
                row = SSHKeyPair.create(name=name, account=account.id, domain=account.domain_id, public_key=openssh,
                                        fingerprint=fingerprint(public_key), key_type=key_type)
                self.events.record(caller, "REGISTER.SSH.KEYPAIR", f"Registered key pair {name}", resource=row)
        except pw.IntegrityError:
            raise taken from None
        return row

    def get(self, caller: Caller, name: str, *, owner: Account | None = None) -> SSHKeyPair | None:
        account = owner or self.access.get_caller_account(caller)
        return SSHKeyPair.get_or_none(SSHKeyPair.account == account.id, SSHKeyPair.name == name)

    def list(self, caller: Caller, *, scope, id=None, name=None, names=None, fingerprint=None, keyword=None,
             page=None, pagesize=None):
        query = scope.apply(SSHKeyPair.select(), SSHKeyPair)
        if id is not None:
            query = query.where(SSHKeyPair.id == id.id)
        if name:
            query = query.where(SSHKeyPair.name == name)
        if names:
            query = query.where(SSHKeyPair.name.in_(names))
        if fingerprint:
            query = query.where(SSHKeyPair.fingerprint == fingerprint)
        if keyword:
            query = query.where(SSHKeyPair.name.contains(keyword))
        return page_of(query.order_by(SSHKeyPair.id), page, pagesize)

    def delete(self, caller: Caller, name: str, *, owner: Account | None = None) -> bool:
        """Remove the key pair; False when there was none (deleting is idempotent)."""
        row = self.get(caller, name, owner=owner)
        if row is None:
            return False
        self.access.check_access(caller, row.account_id, row.domain_id, entity="SSHKeyPair", uuid=row.uuid)
        with write_tx():
            SSHKeyPair.delete().where(SSHKeyPair.id == row.id).execute()
            self.events.record(caller, "DELETE.SSH.KEYPAIR", f"Deleted key pair {name}", resource=row)
        return True
