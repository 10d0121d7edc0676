"""What the simulated hypervisors hold, persisted in the cloud's database.

A real hypervisor keeps its VMs running when the management server dies; the
simulator must too, or a crash test could not tell recovery from amnesia. So
its hosts, VMs, disks and injected faults live in tables of their own (created
by migration 2), shared by every server process on the same database.
"""
from __future__ import annotations

import datetime as dt

import peewee as pw

from backends.db import database


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


class _Base(pw.Model):
    class Meta:
        database = database
        legacy_table_names = False


class SimHost(_Base):
    guid = pw.CharField(max_length=255, unique=True)
    url = pw.CharField(max_length=1024)
    name = pw.CharField(max_length=255)
    cpu_sockets = pw.IntegerField()
    cpu_cores = pw.IntegerField()
    cpu_speed = pw.IntegerField()
    memory_bytes = pw.BigIntegerField()
    ip_address = pw.CharField(max_length=64)
    zone = pw.CharField(max_length=40, default="")
    pod = pw.CharField(max_length=40, default="")
    cluster = pw.CharField(max_length=40, default="")


class SimVm(_Base):
    name = pw.CharField(max_length=255, unique=True)
    host_guid = pw.CharField(max_length=255, index=True)
    power_state = pw.CharField(max_length=16)
    cpus = pw.IntegerField()
    cpu_speed = pw.IntegerField()
    memory_mib = pw.IntegerField()
    updated = pw.DateTimeField(default=_now)


class SimVolume(_Base):
    path = pw.CharField(max_length=255, unique=True)
    pool_url = pw.CharField(max_length=1024, default="")
    size = pw.BigIntegerField()
    template_path = pw.CharField(max_length=1024, null=True)
    format = pw.CharField(max_length=16, default="QCOW2")
    attached_to = pw.CharField(max_length=255, null=True)


class SimMock(_Base):
    """An injected behaviour: delay and/or fail the next operations of a kind in a scope."""

    command = pw.CharField(max_length=64, index=True)
    zone = pw.CharField(max_length=40, null=True)
    pod = pw.CharField(max_length=40, null=True)
    cluster = pw.CharField(max_length=40, null=True)
    host = pw.CharField(max_length=255, null=True)
    wait_ms = pw.IntegerField(default=0)
    fail = pw.BooleanField(default=False)
    message = pw.CharField(max_length=1024, default="")
    remaining = pw.IntegerField(null=True)  # NULL: until cleared
    created = pw.DateTimeField(default=_now)


MODELS = [SimHost, SimVm, SimVolume, SimMock]
