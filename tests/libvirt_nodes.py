"""libvirt test-driver hosts for the tests: each host is a node description file of its own, so hosts
do not share state (``test:///default`` is one fake shared by the whole process)."""
from __future__ import annotations

import os
import struct

import pytest

NODE = """<node>
  <cpu>
    <mhz>{mhz}</mhz>
    <model>x86_64</model>
    <active>{cpus}</active>
    <nodes>1</nodes>
    <sockets>1</sockets>
    <cores>{cpus}</cores>
    <threads>1</threads>
  </cpu>
  <memory>{memory_kib}</memory>
</node>
"""


def node_uri(directory: str, name: str, *, cpus: int = 16, mhz: int = 2400, memory_gib: int = 64) -> str:
    """Write a node description and return the ``test:///`` URI of a host built from it."""
    path = os.path.join(os.path.abspath(directory), f"{name}.xml")
    with open(path, "w") as fh:
        fh.write(NODE.format(mhz=mhz, cpus=cpus, memory_kib=memory_gib * 1024 * 1024))
    return f"test://{path}"


def require_libvirt():
    """libvirt-python, which ``make test`` installs: in CI its absence is a failure, elsewhere a skip."""
    from backends.drivers import libvirt as driver

    if not driver.AVAILABLE:
        if os.environ.get("CI"):
            pytest.fail("libvirt-python is not installed; make test installs it (scripts/ensure-libvirt.sh)")
        pytest.skip("libvirt-python is not installed (pip install 'ec2bridge[libvirt]')")
    return driver


def qcow2(virtual_size: int, padding: int = 4096) -> bytes:
    """A tiny image with a real qcow2 header (magic, version 3, virtual size at offset 24)."""
    header = b"QFI\xfb" + struct.pack(">I", 3) + b"\0" * 16 + struct.pack(">Q", virtual_size)
    return header + b"\0" * padding
