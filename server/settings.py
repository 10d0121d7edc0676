"""Server settings from flags or the environment (EC2BRIDGE_*), same names."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlparse, urlunparse

from backends.drivers import registry as driver_registry


class StartupError(Exception):
    """Start-up input the server cannot serve with; its text is the one line the user sees."""


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    db: str | None = None  # default: sqlite in the data dir
    data_dir: str = "data"
    region: str = "us-east-1"
    node_id: str | None = None
    job_workers: int = 8
    threads: int = 16  # request threads of the serving process
    emulator: bool = False  # EC2 emulator mode: any access key, accounts as moto maps them, /moto-api/reset
    validate_amis: bool = False  # emulator mode: refuse unknown AMIs (moto's MOTO_ENABLE_AMI_VALIDATION)
    # Emulator mode: the account an access key that is no 12-digit number acts as (moto's default account)
    emulator_account: str = "123456789012"
    # Emulator mode: how many t2.micro-sized instances each zone has room for (the simulated hosts' clusters
    # are over-provisioned to fit them)
    emulator_capacity: int = 10_000
    # Real hosts for a zone of their own beside the simulated ones, by hypervisor (--kvm-host: libvirt URIs),
    # and that zone's primary storage (--kvm-primary; default: a directory pool in the data dir)
    zone_hosts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    zone_primary: dict[str, str] = field(default_factory=dict)
    # What the drivers take (each declares its settings in the driver registry): name -> value, unset = default
    driver_settings: dict[str, str] = field(default_factory=dict)

    def zone_primary_url(self, hypervisor: str) -> str:
        """The primary storage of the zone of ``hypervisor`` hosts."""
        prefix = driver_registry.find(hypervisor).zone.prefix
        return self.zone_primary.get(hypervisor) or f"file://{os.path.abspath(self.data_dir)}/{prefix}-primary"

    @property
    def db_url(self) -> str:
        if self.db:
            return absolute_sqlite_url(self.db)
        return f"sqlite:///{os.path.abspath(self.data_dir)}/ec2bridge.db"

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        env = os.environ
        values = dict(
            host=env.get("EC2BRIDGE_HOST", cls.host), port=env.get("EC2BRIDGE_PORT", cls.port),
            db=env.get("EC2BRIDGE_DB") or None, data_dir=env.get("EC2BRIDGE_DATA_DIR", cls.data_dir),
            region=env.get("EC2BRIDGE_REGION", cls.region), node_id=env.get("EC2BRIDGE_NODE_ID") or None,
            job_workers=env.get("EC2BRIDGE_JOB_WORKERS", cls.job_workers),
            threads=env.get("EC2BRIDGE_THREADS", cls.threads),
            emulator=env.get("EC2BRIDGE_EMULATOR", "").lower() in ("1", "true", "yes"),
            validate_amis=env.get("EC2BRIDGE_VALIDATE_AMIS", "").lower() in ("1", "true", "yes"),
            emulator_account=env.get("EC2BRIDGE_EMULATOR_ACCOUNT", cls.emulator_account),
            emulator_capacity=env.get("EC2BRIDGE_EMULATOR_CAPACITY", cls.emulator_capacity),
        )
        zoned = [e for e in driver_registry.entries() if e.zone is not None]
        hosts = {e.name: tuple(u.strip() for u in env.get(e.zone.hosts_env, "").split(",") if u.strip())
                 for e in zoned}
        hosts = {name: uris for name, uris in hosts.items() if uris}
        hosts.update(overrides.pop("zone_hosts", None) or {})
        primary = {e.name: env[e.zone.primary_env] for e in zoned if env.get(e.zone.primary_env)}
        primary.update(overrides.pop("zone_primary", None) or {})
        drivers = {s.name: env[s.env] for s in driver_registry.settings() if env.get(s.env)}
        drivers.update(overrides.pop("driver_settings", None) or {})
        values.update({k: v for k, v in overrides.items() if v is not None}, zone_hosts=hosts, zone_primary=primary,
                      driver_settings=drivers)
        values["port"] = _number("port (--port, EC2BRIDGE_PORT)", values["port"], 1, 65535)
        values["job_workers"] = _number("job workers (EC2BRIDGE_JOB_WORKERS)", values["job_workers"], 1, 1024)
        values["threads"] = _number("request threads (--threads, EC2BRIDGE_THREADS)", values["threads"], 1, 1024)
        values["emulator_capacity"] = _number("emulator capacity (--emulator-capacity, EC2BRIDGE_EMULATOR_CAPACITY)",
                                              values["emulator_capacity"], 1, 10_000_000)
        account = str(values["emulator_account"])
        if not (len(account) == 12 and account.isascii() and account.isdigit()):
            raise StartupError(f"the emulator account (--emulator-account, EC2BRIDGE_EMULATOR_ACCOUNT) must be a "
                               f"12-digit AWS account id, not {account!r}")
        return cls(**values)


def absolute_sqlite_url(url: str) -> str:
    """A SQLite URL with an absolute path, a relative one taken from the working directory.

    As in SQLAlchemy: ``sqlite:///relative.db`` is relative, ``sqlite:////abs/file.db`` absolute;
    a bare path is a SQLite file too. Other URLs are returned as they are."""
    if "://" not in url:
        path = url
    elif url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
    elif url.startswith("sqlite://"):
        path = url[len("sqlite://"):]
    else:
        return url
    if path in ("", ":memory:"):
        return url
    return "sqlite:///" + os.path.abspath(path)


def without_password(url: str) -> str:
    parsed = urlparse(url)
    if not parsed.password:
        return url
    netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@", 1)
    return urlunparse(parsed._replace(netloc=netloc))


def _number(what: str, value, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise StartupError(f"{what} must be a whole number from {low} to {high}, not {value!r}") from None
    if not low <= number <= high:
        raise StartupError(f"{what} must be from {low} to {high}, not {number}")
    return number
