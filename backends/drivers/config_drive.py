"""The config drive: an ISO labelled ``config-2`` in OpenStack's layout, which cloud-init's ConfigDrive
data source reads at first boot (CloudStack's KVM zones hand guests the same kind of disk). It carries the
VM's hostname, its SSH public key and its user data.
"""
from __future__ import annotations

import base64
import binascii
import io
import json

from backends.drivers.specs import VmSpec

LABEL = "config-2"
META_DATA = "/openstack/latest/meta_data.json"
USER_DATA = "/openstack/latest/user_data"


def needed(vm: VmSpec) -> bool:
    return bool(vm.user_data or vm.ssh_public_key)


def contents(vm: VmSpec, instance_uuid: str) -> dict[str, bytes]:
    """The files of the drive, by path."""
    meta = {"uuid": instance_uuid, "name": vm.name, "hostname": vm.hostname or vm.name,
            "availability_zone": "", "launch_index": 0}
    if vm.ssh_public_key:
        meta["public_keys"] = {"key": vm.ssh_public_key}
    files = {META_DATA: json.dumps(meta, indent=1, sort_keys=True).encode()}
    if vm.user_data:
        try:
            files[USER_DATA] = base64.b64decode(vm.user_data, validate=True)
        except (binascii.Error, ValueError):  # the API stores base64; anything else is passed as it is
            files[USER_DATA] = vm.user_data.encode()
    return files


def build(vm: VmSpec, instance_uuid: str) -> bytes:
    """The ISO image (Rock Ridge and Joliet names, so the guest sees ``meta_data.json`` as it is)."""
    import pycdlib

    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, joliet=3, rock_ridge="1.09", vol_ident=LABEL)
    made = set()
    for path, data in sorted(contents(vm, instance_uuid).items()):
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts)):
            directory = "/" + "/".join(parts[:depth])
            if directory not in made:
                iso.add_directory(_iso_name(directory), rr_name=parts[depth - 1], joliet_path=directory)
                made.add(directory)
        iso.add_fp(io.BytesIO(data), len(data), _iso_name(path) + ";1", rr_name=parts[-1], joliet_path=path)
    out = io.BytesIO()
    iso.write_fp(out)
    iso.close()
    return out.getvalue()


def _iso_name(path: str) -> str:
    """ISO 9660 names: upper case, ``[A-Z0-9_]`` only (the real names travel as Rock Ridge and Joliet)."""
    def clean(part: str) -> str:
        stem, dot, ext = part.upper().partition(".")
        keep = lambda text: "".join(c if c.isalnum() or c == "_" else "_" for c in text)  # noqa: E731
        return keep(stem)[:30] + (("." + keep(ext)[:3]) if dot else "")
    return "/" + "/".join(clean(p) for p in path.strip("/").split("/"))
