"""Storage the hosts use: primary storage pools (VM disks) and image stores (secondary storage:
templates, ISOs). Only root admins add and list them."""
from __future__ import annotations

from urllib.parse import urlparse

from backends.context import Caller
from backends.core import prefetch
from backends.core.checks import live, root_only
from backends.core.events import EventManager
from backends.db import page_of, write_tx
from backends.errors import InvalidParameterValue
from backends.models import Cluster, ImageStore, Pod, StoragePool, Zone

TiB = 1 << 40


class StoreManager:
    def __init__(self, events: EventManager):
        self._events = events

    def create_storage_pool(self, caller: Caller, zone: Zone, *, name: str, url: str, scope: str = "CLUSTER",
                            pod: Pod | None = None, cluster: Cluster | None = None, capacity_bytes: int | None = None,
                            tags: str = "", hypervisor: str | None = None,
                            provider: str = "DefaultPrimary") -> StoragePool:
        root_only(caller, "create storage pools")
        live(zone, "zone")
        scope = scope.upper()
        if scope == "CLUSTER":
            if cluster is None:
                raise InvalidParameterValue("A cluster-wide storage pool needs clusterid")
            if cluster.zone_id != zone.id or (pod is not None and cluster.pod_id != pod.id):
                raise InvalidParameterValue(f"Cluster {cluster.name} is not in the given zone/pod")
            pod = pod or cluster.pod
        elif scope == "ZONE":
            if not hypervisor:
                raise InvalidParameterValue("A zone-wide storage pool needs the hypervisor parameter")
            pod = cluster = None
        else:
            raise InvalidParameterValue(f"Invalid scope {scope}: use CLUSTER or ZONE")
        parsed = urlparse(url)
        pool_types = {"nfs": "NetworkFilesystem", "file": "Filesystem", "rbd": "RBD", "sim": "Filesystem",
                      "iscsi": "IscsiLUN", "gluster": "Gluster"}
        if parsed.scheme not in pool_types or not parsed.path:
            raise InvalidParameterValue(f"Unsupported storage pool URL {url}: use nfs://host/path, file:///path "
                                        "or rbd://...")
        if capacity_bytes is not None and capacity_bytes < 1:
            raise InvalidParameterValue("capacitybytes must be positive")
        with write_tx():
            pool = StoragePool.create(
                name=name, zone=zone.id, pod=pod.id if pod else None, cluster=cluster.id if cluster else None,
                scope=scope, url=url, pool_type=pool_types[parsed.scheme], host_address=parsed.hostname or "localhost",
                path=parsed.path, provider=provider, hypervisor=hypervisor or (cluster.hypervisor if cluster else None),
                tags=tags or "", capacity_bytes=capacity_bytes or 10 * TiB)
            self._events.record(caller, "STORAGE.POOL.CREATE", f"Created storage pool {name}", resource=pool)
        return pool

    def list_storage_pools(self, caller: Caller, *, id=None, name=None, zone=None, pod=None, cluster=None,
                           scope=None, ip_address=None, path=None, keyword=None, page=None, pagesize=None):
        root_only(caller, "list storage pools")
        query = StoragePool.select().where(StoragePool.removed.is_null())
        for column, value in ((StoragePool.id, id), (StoragePool.zone, zone), (StoragePool.pod, pod),
                              (StoragePool.cluster, cluster)):
            if value is not None:
                query = query.where(column == value.id)
        if name:
            query = query.where(StoragePool.name == name)
        if scope:
            query = query.where(StoragePool.scope == scope)
        if ip_address:
            query = query.where(StoragePool.host_address == ip_address)
        if path:
            query = query.where(StoragePool.path == path)
        if keyword:
            query = query.where(StoragePool.name.contains(keyword))
        total, pools = page_of(query.order_by(StoragePool.id), page, pagesize)
        prefetch.attach(pools, "zone", "pod", "cluster")  # what a listing shows of each: loaded for the page at once
        return total, pools

    def add_image_store(self, caller: Caller, *, name: str, url: str, zone: Zone | None = None,
                        provider: str = "NFS") -> ImageStore:
        root_only(caller, "add image stores")
        if zone is not None:
            live(zone, "zone")
        parsed = urlparse(url)
        if parsed.scheme not in ("nfs", "http", "https", "file", "s3", "swift", "cifs", "smb"):
            raise InvalidParameterValue(f"Unsupported image store URL {url}")
        with write_tx():
            store = ImageStore.create(name=name, zone=zone.id if zone else None, url=url, protocol=parsed.scheme,
                                      provider=provider, scope="ZONE" if zone else "REGION", capacity_bytes=10 * TiB)
            self._events.record(caller, "IMAGE.STORE.ADD", f"Added image store {name}", resource=store)
        return store

    def list_image_stores(self, caller: Caller, *, id=None, name=None, zone=None, provider=None, protocol=None,
                          keyword=None, page=None, pagesize=None):
        root_only(caller, "list image stores")
        query = ImageStore.select().where(ImageStore.removed.is_null())
        if id is not None:
            query = query.where(ImageStore.id == id.id)
        if zone is not None:
            query = query.where(ImageStore.zone == zone.id)
        for column, value in ((ImageStore.name, name), (ImageStore.provider, provider),
                              (ImageStore.protocol, protocol)):
            if value:
                query = query.where(column == value)
        if keyword:
            query = query.where(ImageStore.name.contains(keyword))
        total, stores = page_of(query.order_by(ImageStore.id), page, pagesize)
        prefetch.attach(stores, "zone")
        return total, stores
