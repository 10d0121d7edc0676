"""Primary storage and templates on KVM hosts through libvirt: the storage half of the KVM driver.

As CloudStack's KVM agent does, a primary storage is a libvirt pool named after it (created transient on a
host's first use), a volume is a pool volume, and a template is copied into a pool on first use, then backs
its root disks as a qcow2 backing file. Secondary storage is not libvirt's: the image store downloads.
"""
from __future__ import annotations

import logging
import os

from backends.drivers import libvirt_xml as lx
from backends.drivers.image_store import LocalImageStore
from backends.drivers.libvirt_binding import NO_STORAGE_POOL, NO_STORAGE_VOL, NO_SUPPORT, code, libvirt, message
from backends.drivers.specs import DiskSpec, DriverError, HostRef, TemplateInfo
from backends.drivers.storage import StorageDriver

log = logging.getLogger(__name__)


class LibvirtStorage(StorageDriver):
    """The storage contract on libvirt pools. Mixed into LibvirtDriver, whose connections it uses: the host
    side provides ``connection(uri)`` and ``_fail(host, doing, exc)``; ``image_store`` and ``mount_root`` are
    set by its constructor."""

    image_store: LocalImageStore | None
    mount_root: str

    @staticmethod
    def _pool_volume(pool, name: str):
        """The volume named ``name`` in the pool, or None."""
        try:
            return pool.storageVolLookupByName(name)
        except libvirt.libvirtError as exc:
            if code(exc) == NO_STORAGE_VOL:
                return None
            raise

    def _delete_if_there(self, pool, name: str) -> None:
        volume = self._pool_volume(pool, name)
        if volume is not None:
            volume.delete(0)

    def _pool(self, conn, pool_url: str):
        """The libvirt pool standing for this primary storage, created (transient, as CloudStack does)
        on the host's first use of it."""
        name = lx.pool_name(pool_url)
        try:
            pool = conn.storagePoolLookupByName(name)
        except libvirt.libvirtError as exc:
            if code(exc) != NO_STORAGE_POOL:
                raise
            pool = conn.storagePoolCreateXML(lx.pool_xml(pool_url, self.mount_root), 0)
        if not pool.isActive():
            pool.create(0)
        return pool

    def _volume(self, conn, disk: DiskSpec):
        return self._pool(conn, disk.pool_url).storageVolLookupByName(disk.path)

    def create_volume(self, host: HostRef, disk: DiskSpec) -> str:
        """A qcow2 volume in the pool, backed by the pool's copy of the template (made on first use);
        an existing volume is returned as is (contract: create_volume)."""
        conn = self.connection(host.url)
        name = disk.path
        try:
            pool = self._pool(conn, disk.pool_url)
            if self._pool_volume(pool, name) is not None:
                return name
            backing = None
            if disk.template_path:
                backing = self._template_copy(conn, pool, disk).path()
            pool.createXML(lx.volume_xml(name, disk.size, lx.disk_format(disk), backing), 0)
        except libvirt.libvirtError as exc:
            raise self._fail(host, f"create volume {name}", exc) from None
        return name

    def _template_copy(self, conn, pool, disk: DiskSpec):
        """The template's copy in this pool, made on first use from the image store's file (uploaded
        through libvirt, so remote hosts get it too); root disks use it as their backing file. A template
        with no file in the image store (the demo's seeded images), or a host that takes no uploads
        (libvirt's test driver), gets an empty volume of the disk's size in its place."""
        name = lx.template_volume_name(disk.template_path)
        existing = self._pool_volume(pool, name)
        if existing is not None:
            return existing
        source = getattr(self.image_store, "local_path", lambda _path: None)(disk.template_path)
        if source is not None:
            size = os.path.getsize(source)
            volume = pool.createXML(lx.volume_xml(name, size, lx.disk_format(disk)), 0)
            with open(source, "rb") as fh:
                if self._upload(conn, volume, fh, size, f"template {disk.template_path}"):
                    return volume
            volume.delete(0)
        return pool.createXML(lx.volume_xml(name, disk.size, "qcow2"), 0)

    @staticmethod
    def _upload(conn, volume, source, size: int, what: str) -> bool:
        """Stream ``size`` bytes from the file-like ``source`` into the volume; False where the host has
        no upload support (libvirt's test driver)."""
        stream = conn.newStream(0)
        try:
            volume.upload(stream, 0, size, 0)
            sent = 0
            while sent < size:
                chunk = source.read(1 << 20)
                if not chunk:
                    break
                view = memoryview(chunk)
                while view:
                    done = stream.send(bytes(view))
                    view = view[done:]
                    sent += done
            stream.finish()
            return True
        except libvirt.libvirtError as exc:
            try:
                stream.abort()
            except libvirt.libvirtError:
                pass
            if code(exc) == NO_SUPPORT:
                log.warning("%s not copied: %s", what, message(exc))
                return False
            raise

    def delete_volume(self, host: HostRef, disk: DiskSpec) -> None:
        """Delete the volume from its pool; already gone is success (contract: delete_volume)."""
        conn = self.connection(host.url)
        try:
            volume = self._volume(conn, disk)
        except libvirt.libvirtError as exc:
            if code(exc) in (NO_STORAGE_VOL, NO_STORAGE_POOL):
                return
            raise self._fail(host, f"find volume {disk.path}", exc) from None
        try:
            volume.delete(0)
        except libvirt.libvirtError as exc:
            raise self._fail(host, f"delete volume {disk.path}", exc) from None

    def download_template(self, image_store_url: str, zone: str, template_uuid: str, url: str,
                          format: str) -> TemplateInfo:
        """Secondary storage is not libvirt's: the image store downloads (contract: download_template)."""
        if self.image_store is None:
            raise DriverError("No image store downloader is configured for KVM templates")
        return self.image_store.download_template(image_store_url, zone, template_uuid, url, format)
