"""Global configuration: CloudStack's setting names, defaults and meanings."""
from __future__ import annotations

import threading

from backends.db import write_tx
from backends.errors import InvalidParameterValue
from backends.models import Configuration

# name: (default, category, type, description)
DEFAULTS: dict[str, tuple[str, str, str, str]] = {
    "expunge.delay": ("86400", "Advanced", "Integer",
                      "Seconds to wait before a destroyed VM is expunged"),
    "expunge.interval": ("86400", "Advanced", "Integer", "Seconds between runs of the expunge task"),
    "expunge.scheduled.interval": ("60", "Advanced", "Integer",
                                   "Seconds between sweeps for VMs whose own expunge time has come "
                                   "(destroyed with a retention, e.g. EC2 terminations)"),
    "expunge.workers": ("1", "Advanced", "Integer", "Number of workers performing expunge"),
    "cpu.overprovisioning.factor": ("1.0", "Advanced", "Float",
                                    "CPU over-provisioning factor for new clusters"),
    "mem.overprovisioning.factor": ("1.0", "Advanced", "Float",
                                    "Memory over-provisioning factor for new clusters"),
    "storage.overprovisioning.factor": ("2", "Storage", "Float",
                                        "Storage over-provisioning factor for shared primary storage"),
    "pool.storage.allocated.capacity.disablethreshold": (
        "0.85", "Alert", "Float",
        "Share of a pool's over-provisioned capacity past which no new volume is allocated on it"),
    "pool.storage.capacity.disablethreshold": (
        "0.85", "Alert", "Float", "Share of a pool's capacity in use past which no new volume is allocated on it"),
    "custom.diskoffering.size.min": ("1", "Advanced", "Integer", "Smallest custom disk size (GiB)"),
    "custom.diskoffering.size.max": ("1024", "Advanced", "Integer", "Largest custom disk size (GiB)"),
    "default.page.size": ("500", "Advanced", "Integer",
                          "Default page size of list commands, also the maximum"),
    "start.retry": ("10", "Advanced", "Integer", "Hosts to try when starting a VM"),
    "allow.user.expunge.recover.vm": ("false", "Advanced", "Boolean",
                                      "Whether normal users may expunge and recover VMs"),
    "allow.user.view.destroyed.vm": ("false", "Advanced", "Boolean",
                                     "Whether normal users see destroyed VMs"),
    "vm.destroy.forcestop": ("false", "Advanced", "Boolean", "Force-stop a VM when destroying it"),
    "enable.dynamic.scale.vm": ("false", "Advanced", "Boolean", "Allow scaling running VMs"),
    "vm.serviceoffering.cpu.cores.max": ("0", "Advanced", "Integer",
                                         "Most vCPUs a running, dynamically scalable VM may be scaled to "
                                         "(0: its host's cores)"),
    "vm.serviceoffering.ram.size.max": ("0", "Advanced", "Integer",
                                        "Most memory (MiB) a running, dynamically scalable VM may be scaled to "
                                        "(0: its host's memory)"),
    "job.expire.minutes": ("1440", "Advanced", "Integer", "Minutes after which finished jobs are removed"),
    "job.cancel.threshold.minutes": ("60", "Advanced", "Integer",
                                     "Minutes a queued job may wait before it is cancelled"),
    "ping.interval": ("60", "Advanced", "Integer", "Seconds between host pings"),
    "ping.timeout": ("2.5", "Advanced", "Float", "Multiple of ping.interval before a host is late"),
    "vm.allocation.algorithm": ("firstfit", "Advanced", "String",
                                "random, firstfit, userdispersing or firstfitleastconsumed"),
    "session.timeout": ("1800", "Advanced", "Integer", "Seconds a login session lasts"),
    "max.account.user.vms": ("20", "Account Defaults", "Integer", "Maximum VMs per account"),
    "max.account.public.ips": ("20", "Account Defaults", "Integer", "Maximum public IPs per account"),
    "max.account.volumes": ("20", "Account Defaults", "Integer", "Maximum volumes per account"),
    "max.account.snapshots": ("20", "Account Defaults", "Integer", "Maximum snapshots per account"),
    "max.account.templates": ("20", "Account Defaults", "Integer", "Maximum templates per account"),
    "max.account.networks": ("20", "Account Defaults", "Integer", "Maximum networks per account"),
    "max.account.vpcs": ("20", "Account Defaults", "Integer", "Maximum VPCs per account"),
    "max.account.cpus": ("40", "Account Defaults", "Integer", "Maximum CPU cores per account"),
    "max.account.memory": ("40960", "Account Defaults", "Integer", "Maximum memory (MiB) per account"),
    "max.account.primary.storage": ("200", "Account Defaults", "Integer",
                                    "Maximum primary storage (GiB) per account"),
    "max.account.secondary.storage": ("400", "Account Defaults", "Integer",
                                      "Maximum secondary storage (GiB) per account"),
    "max.template.iso.size": ("50", "Storage", "Integer", "Maximum template/ISO size in GiB"),
    "allow.public.user.templates": ("true", "Advanced", "Boolean",
                                    "Whether normal users may register public templates and ISOs"),
}


class ConfigManager:
    """Reads and writes global settings; values are cached and re-read on update."""

    def __init__(self):
        self._cache: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def seed(self) -> None:
        """Insert every known setting missing from the table (new releases add keys)."""
        with write_tx():
            existing = {c.name for c in Configuration.select(Configuration.name)}
            rows = [
                dict(name=name, value=default, default_value=default, category=category,
                     value_type=kind, description=description)
                for name, (default, category, kind, description) in DEFAULTS.items()
                if name not in existing
            ]
            if rows:
                Configuration.insert_many(rows).execute()
        self.reload()

    def reload(self) -> None:
        with self._lock:
            self._cache = {c.name: c.value for c in Configuration.select()}

    def get(self, name: str) -> str | None:
        if name not in self._cache:
            self.reload()
        return self._cache.get(name, DEFAULTS.get(name, (None,))[0])

    def get_int(self, name: str) -> int:
        return int(float(self.get(name)))

    def get_float(self, name: str) -> float:
        return float(self.get(name))

    def get_bool(self, name: str) -> bool:
        return str(self.get(name)).lower() == "true"

    def list(self, name: str | None = None, category: str | None = None, keyword: str | None = None):
        query = Configuration.select().order_by(Configuration.name)
        if name:
            query = query.where(Configuration.name.contains(name))
        if category:
            query = query.where(Configuration.category == category)
        if keyword:
            query = query.where(Configuration.name.contains(keyword))
        return list(query)

    def update(self, name: str, value: str | None) -> Configuration:
        with write_tx():
            row = Configuration.get_or_none(Configuration.name == name)
            if row is None:
                raise InvalidParameterValue(f"Configuration {name} does not exist")
            if value is not None and value != "":
                _validate(row, value)
            row.value = row.default_value if value in (None, "") else value
            row.save()
        self.reload()
        return row

    def set(self, name: str, value: str) -> None:
        """Internal writes (bootstrap, tests): same validation as update."""
        self.update(name, value)


def _validate(row: Configuration, value: str) -> None:
    try:
        if row.value_type == "Integer":
            int(value)
        elif row.value_type == "Float":
            float(value)
        elif row.value_type == "Boolean" and value.lower() not in ("true", "false"):
            raise ValueError
    except ValueError:
        raise InvalidParameterValue(
            f"Value {value!r} for configuration {row.name} is not a valid {row.value_type.lower()}") from None
