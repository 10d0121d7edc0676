"""Server settings from flags or the environment (EC2BRIDGE_*), same names."""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    db: str | None = None  # default: sqlite in the data dir
    data_dir: str = "data"
    region: str = "us-east-1"
    node_id: str | None = None
    job_workers: int = 8
    emulator: bool = False  # EC2 emulator mode: any access key, one tenant per key, /moto-api/reset
    # libvirt URIs of KVM hosts for a zone of their own beside the simulated ones; its primary storage
    kvm_hosts: tuple[str, ...] = ()
    kvm_primary: str | None = None  # default: a directory pool in the data dir
    kvm_bridge: str = "cloudbr0"  # the hosts' bridge for untagged guest traffic

    @property
    def kvm_primary_url(self) -> str:
        return self.kvm_primary or f"file://{os.path.abspath(self.data_dir)}/kvm-primary"

    @property
    def db_url(self) -> str:
        return self.db or f"sqlite:///{os.path.abspath(self.data_dir)}/ec2bridge.db"

    @classmethod
    def from_env(cls, **overrides) -> "Settings":
        env = os.environ
        values = dict(
            host=env.get("EC2BRIDGE_HOST", cls.host), port=int(env.get("EC2BRIDGE_PORT", cls.port)),
            db=env.get("EC2BRIDGE_DB") or None, data_dir=env.get("EC2BRIDGE_DATA_DIR", cls.data_dir),
            region=env.get("EC2BRIDGE_REGION", cls.region), node_id=env.get("EC2BRIDGE_NODE_ID") or None,
            job_workers=int(env.get("EC2BRIDGE_JOB_WORKERS", cls.job_workers)),
            emulator=env.get("EC2BRIDGE_EMULATOR", "").lower() in ("1", "true", "yes"),
            kvm_hosts=tuple(u.strip() for u in env.get("EC2BRIDGE_KVM_HOSTS", "").split(",") if u.strip()),
            kvm_primary=env.get("EC2BRIDGE_KVM_PRIMARY") or None,
            kvm_bridge=env.get("EC2BRIDGE_KVM_BRIDGE", cls.kvm_bridge),
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
