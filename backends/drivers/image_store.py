"""Secondary storage on the management server's disk: templates really downloaded, for hypervisors that
boot real images (KVM). The simulator's image store only pretends; this one fetches the URL, checks the
image is of the format it claims, reads its virtual size from its header, and keeps the file where the
libvirt driver copies it into a pool from on first use.
"""
from __future__ import annotations

import os
import struct
import tempfile
import urllib.error
import urllib.request
from urllib.parse import urlparse

from backends.drivers.specs import DriverError, TemplateInfo

CHUNK = 1 << 20


class LocalImageStore:
    def __init__(self, root: str, *, max_bytes: int = 50 << 30, timeout: float = 60.0):
        self.root, self.max_bytes, self.timeout = root, max_bytes, timeout

    def local_path(self, install_path: str) -> str | None:
        """The file of a downloaded template, or None (templates seeded without a download have none)."""
        path = os.path.join(self.root, install_path)
        return path if os.path.isfile(path) else None

    def download_template(self, image_store_url: str, zone: str, template_uuid: str, url: str,
                          format: str) -> TemplateInfo:
        """Fetch ``url`` into secondary storage (contract: download_template): HTTP(S) or FTP, at most
        ``max_bytes``; an image not in its stated format (QCOW2 and ISO are checked by their magic) is
        refused."""
        fmt = (format or "").upper()
        if urlparse(url).scheme not in ("http", "https", "ftp"):
            raise DriverError(f"Unable to download from URL {url}: unsupported scheme")
        install_path = f"template/tmpl/{zone}/{template_uuid}/{template_uuid}.{fmt.lower()}"
        target = os.path.join(self.root, install_path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=os.path.dirname(target), suffix=".part")
        try:
            size = self._fetch(url, fd)
            with open(partial, "rb") as fh:
                header = fh.read(0x8006)
            virtual = _virtual_size(header, fmt, size, url)
            os.replace(partial, target)
        except BaseException:
            os.unlink(partial) if os.path.exists(partial) else None
            raise
        return TemplateInfo(install_path=install_path, size=virtual, physical_size=size)

    def _fetch(self, url: str, fd: int) -> int:
        written = 0
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as reply, os.fdopen(fd, "wb") as out:
                while chunk := reply.read(CHUNK):
                    written += len(chunk)
                    if written > self.max_bytes:
                        raise DriverError(f"Unable to download from URL {url}: larger than {self.max_bytes} bytes")
                    out.write(chunk)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise DriverError(f"Unable to download from URL {url}: {exc}") from None
        return written


def _virtual_size(header: bytes, fmt: str, size: int, url: str) -> int:
    if fmt == "QCOW2":
        if header[:4] != b"QFI\xfb" or len(header) < 32:
            raise DriverError(f"Unable to download from URL {url}: not a QCOW2 image")
        return struct.unpack(">Q", header[24:32])[0]
    if fmt == "ISO":
        if header[0x8001:0x8006] != b"CD001":
            raise DriverError(f"Unable to download from URL {url}: not an ISO image")
        return size
    return size
