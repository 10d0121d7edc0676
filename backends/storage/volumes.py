"""Volumes: the disks of VMs (today each VM's ROOT volume, created and removed with it); data volumes and
snapshots join here."""
from __future__ import annotations

from backends.context import Caller
from backends.core import prefetch
from backends.db import page_of
from backends.models import Volume


class VolumeManager:
    def list(self, caller: Caller, *, scope, id=None, ids=None, name=None, volume_type=None, vm=None,
             zone=None, state=None, keyword=None, page=None, pagesize=None):
        """Volumes the caller's ``scope`` shows (listVolumes), newest first, with what their view shows."""
        query = scope.apply(Volume.select().where(Volume.removed.is_null()), Volume)
        if id is not None:
            query = query.where(Volume.id == id.id)
        if ids:
            query = query.where(Volume.id.in_([v.id for v in ids]))
        if name:
            query = query.where(Volume.name == name)
        if volume_type:
            query = query.where(Volume.volume_type == volume_type.upper())
        if vm is not None:
            query = query.where(Volume.vm == vm.id)
        if zone is not None:
            query = query.where(Volume.zone == zone.id)
        if state:
            query = query.where(Volume.state == state)
        if keyword:
            query = query.where(Volume.name.contains(keyword))
        total, rows = page_of(query.order_by(Volume.id.desc()), page, pagesize)
        prefetch.attach(rows, "account", "domain", "zone", "vm.service_offering", "disk_offering", "template", "pool")
        return total, rows

