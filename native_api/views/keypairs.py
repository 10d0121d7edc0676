"""SSH key pairs as CloudStack shows them."""
from __future__ import annotations

from marshmallow import fields

from native_api.views import Fn, Ref, View


class SSHKeyPair(View):
    class Meta(View.Meta):
        object_name = "sshkeypair"

    id = fields.String(attribute="uuid")
    name = fields.String()
    fingerprint = fields.String()
    account = Ref("account.name")
    domainid = Ref("domain.uuid")
    domain = Ref("domain.name")


class KeyPair(SSHKeyPair):
    """create/registerSSHKeyPair answer under ``keypair``; create adds the private key once."""

    class Meta(SSHKeyPair.Meta):
        object_name = "keypair"

    privatekey = Fn(lambda pair: getattr(pair, "private_key", None))
