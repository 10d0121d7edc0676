"""The demo cloud an empty database starts with.

Region ``<region>`` with zones ``<region>a`` and ``<region>b`` (in emulator mode the region's AWS zones,
``us-east-1a`` to ``us-east-1f``, as ``Cloud.zone_names`` names them); in each a pod,
two clusters of four simulated hosts, primary storage per cluster, an image
store; featured templates and an ISO; service offerings named after EC2
instance types; disk offerings; a root admin and a regular user. Everything is
created through the managers, exactly as an operator would through the API.
"""
from __future__ import annotations

import logging
import math
import threading
import uuid
from dataclasses import dataclass

from backends.compute import offerings
from backends.context import ROLE_ADMIN, Caller
from backends.drivers import registry as driver_registry
from backends.drivers.simulator import SimulatorDriver
from backends.models import Account, Cluster, Host, User, Zone

log = logging.getLogger(__name__)

# EC2 instance type -> (vCPUs, memory MiB), each vCPU at CPU_SPEED MHz.
INSTANCE_TYPES = {
    "t1.micro": (1, 627), "m1.small": (1, 1740), "m1.medium": (1, 3788), "m1.large": (2, 7680),
    "m1.xlarge": (4, 15360),
    "t2.nano": (1, 512), "t2.micro": (1, 1024), "t2.small": (1, 2048), "t2.medium": (2, 4096),
    "t2.large": (2, 8192), "t2.xlarge": (4, 16384),
    "t3.nano": (2, 512), "t3.micro": (2, 1024), "t3.small": (2, 2048), "t3.medium": (2, 4096),
    "t3.large": (2, 8192), "t3.xlarge": (4, 16384),
    "m5.large": (2, 8192), "m5.xlarge": (4, 16384), "m5.2xlarge": (8, 32768),
    "c5.large": (2, 4096), "c5.xlarge": (4, 8192), "c5.2xlarge": (8, 16384),
    "r5.large": (2, 16384), "r5.xlarge": (4, 32768),
}
CPU_SPEED = offerings.DEFAULT_CPU_SPEED
SIMULATOR = SimulatorDriver.hypervisor_type  # the demo cloud's hosts are simulated

TEMPLATES = [
    # name, display text, OS type, url
    ("ubuntu-22.04", "Ubuntu 22.04 LTS (Simulator)", "Ubuntu 22.04 LTS (64-bit)",
     "http://images.ec2bridge.local/ubuntu-22.04-server-cloudimg-amd64.qcow2"),
    ("debian-12", "Debian 12 Bookworm (Simulator)", "Debian GNU/Linux 12 (64-bit)",
     "http://images.ec2bridge.local/debian-12-genericcloud-amd64.qcow2"),
    ("amazon-linux-2023", "Amazon Linux 2023 (Simulator)", "Amazon Linux 2023 (64-bit)",
     "http://images.ec2bridge.local/al2023-kvm-x86_64.qcow2"),
    ("centos-7", "CentOS 7 (Simulator)", "CentOS 7 (64-bit)",
     "http://images.ec2bridge.local/CentOS-7-x86_64-GenericCloud.qcow2"),
]
ISO = ("alpine-3.19-virt", "Alpine Linux 3.19 virt ISO", "Other Linux (64-bit)",
       "http://images.ec2bridge.local/alpine-virt-3.19.1-x86_64.iso")

DISK_OFFERINGS = [("Small", 5), ("Medium", 20), ("Large", 100)]

# Built-in images have ids derived from their identity, not drawn at random: a reset or a rebuilt database gives
# them the same ids again, so a client (a test suite) may keep the ids it read. Only the home region's bootstrap
# seeds images (other regions get copies of the same rows) and their names are distinct there.
IMAGE_NAMESPACE = uuid.UUID("8a0f3c52-6b1e-5d4f-9c27-3e5b7a9d1f40")


def image_uuid(region: str, name: str) -> str:
    """The stable uuid of the built-in image ``name`` seeded in ``region``."""
    return str(uuid.uuid5(IMAGE_NAMESPACE, f"{region}/{name}"))


SIM_HOST_URL = "http://sim/{zone}/c{cluster}/h{host}?cpucore=64&cpuspeed={speed}&memory={memory}"
HOST_CORES = 64
HOST_MEMORY = 256 << 30
CLUSTERS, HOSTS_PER_CLUSTER = 2, 4  # per zone
POOL_BYTES = 20 << 40


@dataclass
class Credentials:
    name: str
    account: str
    api_key: str
    secret_key: str
    role: str


def is_empty() -> bool:
    return Zone.select().count() == 0


def ensure_demo_cloud(cloud) -> list[Credentials]:
    """Create the demo cloud on an empty database; return the demo credentials."""
    root = cloud.accounts.ensure_builtins()
    cloud.offerings.ensure_os_types(_os_types(cloud))
    if is_empty():
        _build(cloud, root)
    return demo_credentials()


def _os_types(cloud):
    return offerings.DEFAULT_OS_TYPES


def system_caller(cloud) -> Caller:
    admin = (Account.select().where(Account.account_type == 1, Account.removed.is_null())
             .order_by(Account.id).first())
    user = User.select().where(User.account == admin.id).order_by(User.id).first()
    return cloud.accounts.caller_for(user)


def _build(cloud, root) -> None:
    log.info("empty database: bootstrapping the demo cloud in region %s", cloud.region_name)
    admin_account = cloud.accounts.create_account(
        _bootstrap_caller(root), username="admin", password="password", email="admin@ec2bridge.local",
        firstname="Cloud", lastname="Admin", account_type=1, account_name="admin", domain=root)
    admin_user = User.get(User.account == admin_account.id)
    caller = cloud.accounts.caller_for(admin_user)
    cloud.accounts.register_user_keys(caller, admin_user)
    demo = cloud.accounts.create_account(
        caller, username="demo", password="password", email="demo@ec2bridge.local", firstname="Demo",
        lastname="User", account_type=0, account_name="demo", domain=root)
    cloud.accounts.register_user_keys(caller, User.get(User.account == demo.id))

    region = cloud.infra.ensure_region(cloud.region_name)
    zones = _build_zones(cloud, caller, region, _zone_names(cloud, region.name, "ab"), root)

    for name, (cpus, memory) in INSTANCE_TYPES.items():
        cloud.offerings.create_service_offering(
            caller, name=name, display_text=f"{name}: {cpus} vCPU, {memory} MiB", cpu_number=cpus,
            cpu_speed=CPU_SPEED, memory=memory, instance_type=name)
    for name, size in DISK_OFFERINGS:
        cloud.offerings.create_disk_offering(caller, name=name, display_text=f"{name} disk, {size} GB",
                                             disk_size=size)
    cloud.offerings.create_disk_offering(caller, name="Custom", display_text="Custom size disk", customized=True)

    os_types = {t.name: t for t in cloud.offerings.list_os_types()[1]}
    for name, text, os_name, url in TEMPLATES:
        cloud.templates.seed_ready_template(
            caller, name=name, display_text=text, url=url, format="QCOW2", hypervisor=SIMULATOR,
            os_type=os_types.get(os_name), zones=zones, is_public=True, is_featured=True,
            uuid=image_uuid(cloud.region_name, name), template_type="BUILTIN", password_enabled=False,
            ssh_key_enabled=True, is_dynamically_scalable=True)
    name, text, os_name, url = ISO
    cloud.templates.seed_ready_template(
        caller, name=name, display_text=text, url=url, format="ISO", hypervisor="None",
        os_type=os_types.get(os_name), zones=zones, is_public=True, is_featured=True, is_iso=True,
        uuid=image_uuid(cloud.region_name, name), template_type="USER")


def _zone_names(cloud, region: str, letters: str) -> list[str]:
    """The names of a new region's zones: those ``cloud.zone_names`` gives (the emulator's AWS zones), else
    ``<region><letter>`` for each of ``letters``. All are made at once: a zone costs some 20 ms to build, and
    a region made on first use has every zone a request may name."""
    return (cloud.zone_names(region) if cloud.zone_names else None) or [f"{region}{letter}" for letter in letters]


def _build_zones(cloud, caller, region, names: list[str], root) -> list:
    """Zones called ``names``, each with a pod, two clusters of four simulated hosts, primary storage
    per cluster, an image store and a guest network of its own /16."""
    cpu_overcommit, memory_overcommit, pool_bytes = _sized_for(cloud.zone_capacity)
    zones = []
    for name in names:
        index = Zone.select().count()  # zone number across regions: distinct pod and guest ranges
        zone = cloud.infra.create_zone(
            caller, name=name, network_type="Basic", dns1="8.8.8.8", dns2="8.8.4.4",
            internal_dns1="10.0.0.2", security_groups_enabled=True, region=region,
            description=f"Availability zone {name}")
        zones.append(zone)
        pod = cloud.infra.create_pod(caller, zone, name=f"{zone.name}-pod1", gateway=f"172.{16 + index}.0.1",
                                     netmask="255.255.0.0", start_ip=f"172.{16 + index}.0.10",
                                     end_ip=f"172.{16 + index}.255.250")
        cloud.infra.add_image_store(caller, name=f"{zone.name}-images", url=f"nfs://images.{zone.name}/export",
                                    zone=zone, provider="NFS")
        for c in range(1, CLUSTERS + 1):
            cluster = cloud.infra.add_cluster(caller, zone, pod, name=f"{zone.name}-cluster{c}",
                                              hypervisor=SIMULATOR, cpu_overcommit=cpu_overcommit,
                                              memory_overcommit=memory_overcommit)
            cloud.infra.create_storage_pool(caller, zone, name=f"{zone.name}-primary{c}",
                                            url=f"nfs://storage.{zone.name}/primary{c}", scope="CLUSTER",
                                            pod=pod, cluster=cluster, capacity_bytes=pool_bytes)
            for h in range(1, HOSTS_PER_CLUSTER + 1):
                url = SIM_HOST_URL.format(zone=zone.name, cluster=c, host=h, speed=CPU_SPEED, memory=HOST_MEMORY)
                cloud.infra.add_host(caller, zone, pod, url=url, hypervisor=SIMULATOR, cluster=cluster)
        cloud.networks.create_guest_network(zone, name=f"{zone.name}-guest", cidr=f"10.{index + 1}.0.0/16",
                                            domain=root)
    return zones


def _sized_for(zone_capacity: int | None) -> tuple[float | None, float | None, int]:
    """(CPU over-commit, memory over-commit, bytes per primary pool) giving a zone room for
    ``zone_capacity`` t2.micro-sized VMs (the emulator's bootstrap) with root disks of up to 8 GiB;
    None: the settings' factors and real-sized pools. The hosts stay the same and capacity stays
    real: an operator can still disable hosts or clusters through the native API."""
    if zone_capacity is None:
        return None, None, POOL_BYTES
    cpus, memory_mib = INSTANCE_TYPES["t2.micro"]
    hosts = CLUSTERS * HOSTS_PER_CLUSTER
    cpu = max(1, math.ceil(zone_capacity * cpus / (hosts * HOST_CORES)))
    mem = max(1, math.ceil(zone_capacity * (memory_mib << 20) / (hosts * HOST_MEMORY)))
    return float(cpu), float(mem), max(POOL_BYTES, zone_capacity * (8 << 30) // CLUSTERS)


_region_lock = threading.Lock()


def ensure_hosts_zone(cloud, hypervisor: str, uris: list[str], primary_url: str) -> Zone:
    """A zone of real ``hypervisor`` hosts (KVM driven by libvirt...), next to the demo cloud's simulated ones:
    ``<region><next letter>`` with one cluster of the hosts at ``uris``, primary storage at ``primary_url``
    (``file:///dir`` or ``nfs://server/export``), a guest network, and the built-in images registered for the
    hypervisor. The zone is found again on later starts by the description its registry entry gives it;
    hosts not managed yet are added then, nothing is removed."""
    entry = driver_registry.find(hypervisor)
    if entry is None or entry.zone is None:
        raise ValueError(f"Hypervisor {hypervisor} has no zone of real hosts")
    hypervisor = entry.name
    caller = system_caller(cloud)
    root = cloud.accounts.root_domain()
    region = cloud.infra.ensure_region(cloud.region_name)
    zone = next((z for z in Zone.select().where(Zone.region == region.id, Zone.removed.is_null())
                 if z.description == entry.zone.description), None)
    if zone is None:
        letter = "abcdefghijklmnopqrstuvwxyz"[Zone.select().where(Zone.region == region.id).count()]
        zone = _build_hosts_zone(cloud, caller, region, letter, root, primary_url, hypervisor, entry.zone)
    cluster = Cluster.get(Cluster.zone == zone.id, Cluster.removed.is_null())
    pod = cluster.pod
    known = {h.url for h in Host.select(Host.url).where(Host.cluster == cluster.id, Host.removed.is_null())}
    for uri in uris:
        if uri not in known:
            cloud.infra.add_host(caller, zone, pod, url=uri, hypervisor=hypervisor, cluster=cluster)
    return zone


def _build_hosts_zone(cloud, caller, region, letter: str, root, primary_url: str, hypervisor: str,
                      spec: driver_registry.HostsZone) -> Zone:
    index = Zone.select().count()
    zone = cloud.infra.create_zone(
        caller, name=f"{region.name}{letter}", network_type="Basic", dns1="8.8.8.8", dns2="8.8.4.4",
        internal_dns1="10.0.0.2", security_groups_enabled=True, region=region, description=spec.description)
    pod = cloud.infra.create_pod(caller, zone, name=f"{zone.name}-pod1", gateway=f"172.{16 + index}.0.1",
                                 netmask="255.255.0.0", start_ip=f"172.{16 + index}.0.10",
                                 end_ip=f"172.{16 + index}.255.250")
    cloud.infra.add_image_store(caller, name=f"{zone.name}-images", url=f"nfs://images.{zone.name}/export",
                                zone=zone, provider="NFS")
    cluster = cloud.infra.add_cluster(caller, zone, pod, name=f"{zone.name}-{spec.prefix}1", hypervisor=hypervisor)
    cloud.infra.create_storage_pool(caller, zone, name=f"{zone.name}-primary1", url=primary_url, scope="CLUSTER",
                                    pod=pod, cluster=cluster, capacity_bytes=2 << 40)
    cloud.networks.create_guest_network(zone, name=f"{zone.name}-guest", cidr=f"10.{index + 1}.0.0/16",
                                        domain=root)
    os_types = {t.name: t for t in cloud.offerings.list_os_types()[1]}
    for name, text, os_name, url in TEMPLATES:
        name = f"{name}-{spec.prefix}"
        cloud.templates.seed_ready_template(
            caller, name=name, uuid=image_uuid(region.name, name),
            display_text=text.replace("(Simulator)", f"({hypervisor})"),
            url=url, format="QCOW2", hypervisor=hypervisor, os_type=os_types.get(os_name), zones=[zone],
            is_public=True, is_featured=True, template_type="BUILTIN", password_enabled=False, ssh_key_enabled=True,
            is_dynamically_scalable=True)
    return zone


def ensure_region(cloud, name: str) -> bool:
    """Emulator mode: a region asked for by name exists afterwards, with its zones (see :func:`_zone_names`;
    a, b and c by default) on the simulator and the demo cloud's built-in templates ready in them. True if it
    was created now."""
    with _region_lock:
        if cloud.infra.list_regions(name=name)[0]:
            return False
        caller = system_caller(cloud)
        root = cloud.accounts.root_domain()
        zones = _build_zones(cloud, caller, cloud.infra.ensure_region(name), _zone_names(cloud, name, "abc"), root)
        cloud.templates.copy_builtin_to(zones)
        return True


def _bootstrap_caller(root) -> Caller:
    """The system acting before any account exists (creates the first admin)."""
    return Caller(user_id=0, account_id=0, domain_id=root.id, domain_path=root.path, account_type=1,
                  role_type=ROLE_ADMIN, account_name="system", username="system", domain_uuid=root.uuid)


def demo_credentials() -> list[Credentials]:
    out = []
    query = (User.select(User, Account).join(Account)
             .where(Account.name.in_(("admin", "demo")), User.removed.is_null(), User.api_key.is_null(False))
             .order_by(Account.account_type.desc()))
    for user in query:
        out.append(Credentials(name=user.account.name, account=user.account.name, api_key=user.api_key,
                               secret_key=user.secret_key,
                               role="root admin" if user.account.account_type == 1 else "user"))
    return out
