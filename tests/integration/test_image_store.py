"""Secondary storage on the management server: real downloads over HTTP from a loopback server."""
from __future__ import annotations

import functools
import http.server
import os
import threading

import pytest

from backends.drivers.base import DriverError
from backends.drivers.image_store import LocalImageStore
from tests.libvirt_nodes import qcow2

GiB = 1 << 30


@pytest.fixture
def web(tmp_path):
    """A loopback HTTP server for the files of ``tmp_path/www``."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_template_is_downloaded_checked_and_kept(tmp_path, web):
    root, url = web
    (root / "tiny.qcow2").write_bytes(qcow2(8 * GiB))
    store = LocalImageStore(str(tmp_path / "secondary"))
    info = store.download_template("nfs://images/export", "zone-1", "tmpl-1", f"{url}/tiny.qcow2", "QCOW2")
    assert info.size == 8 * GiB and info.physical_size == len(qcow2(8 * GiB))
    assert store.local_path(info.install_path) == os.path.join(str(tmp_path / "secondary"), info.install_path)
    with open(store.local_path(info.install_path), "rb") as fh:
        assert fh.read(4) == b"QFI\xfb"
    assert store.local_path("template/tmpl/zone-1/other/other.qcow2") is None


def test_bad_images_and_urls_are_refused_and_leave_nothing(tmp_path, web):
    root, url = web
    (root / "fake.qcow2").write_bytes(b"not an image" * 100)
    (root / "big.raw").write_bytes(b"\0" * 5000)
    store = LocalImageStore(str(tmp_path / "secondary"), max_bytes=4096)
    with pytest.raises(DriverError, match="not a QCOW2 image"):
        store.download_template("", "z", "t1", f"{url}/fake.qcow2", "QCOW2")
    with pytest.raises(DriverError, match="larger than"):
        store.download_template("", "z", "t2", f"{url}/big.raw", "RAW")
    with pytest.raises(DriverError, match="Unable to download"):
        store.download_template("", "z", "t3", f"{url}/missing.qcow2", "QCOW2")
    with pytest.raises(DriverError, match="unsupported scheme"):
        store.download_template("", "z", "t4", "file:///etc/passwd", "RAW")
    leftovers = [f for _, _, files in os.walk(tmp_path / "secondary") for f in files]
    assert leftovers == []
