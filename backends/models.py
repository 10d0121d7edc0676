"""The schema: every entity of the cloud, as peewee models.

Public ids are UUIDs (``uuid``); integer primary keys never leave the backend.
Rows that CloudStack soft-deletes keep ``removed`` set instead of vanishing, so
jobs and events can still name them. Invariants live in the database too:
unique keys (one IP per network, one device id per VM, one API key per user)
and CHECK constraints on capacity so no code path can over-commit a host.

One module on purpose, though long: the schema is read as a whole (foreign keys
across areas, migrations written against it), and each model is a few lines.
"""
from __future__ import annotations

import datetime as dt
import peewee as pw

from backends.db import database, dialect, insert_rows, instance
from backends.errors import InvalidParameterValue
from backends.uuids import new_uuid


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


_BY_ID: dict = {}
_INSERT: dict = {}
_LIMITS: dict = {}


class LongTextField(pw.TextField):
    """Text beyond MySQL's 64 KiB TEXT (MEDIUMTEXT holds 16 MiB); SQLite reads the name as TEXT."""

    field_type = "MEDIUMTEXT"


class BaseModel(pw.Model):
    class Meta:
        database = database
        legacy_table_names = False

    def save(self, force_insert=False, only=None):
        self._check_lengths()
        if only is None and self._pk is None and self._meta.auto_increment:
            return self._insert_row()
        return super().save(force_insert=force_insert, only=only)

    def _check_lengths(self) -> None:
        """A string longer than its column is the client's error on every database alike: MySQL refuses
        it, SQLite would silently store it."""
        self._check_values(self.__data__)

    @classmethod
    def _check_values(cls, data: dict) -> None:
        limits = _LIMITS.get(cls)
        if limits is None:
            limits = _LIMITS[cls] = [(f.name, f.column_name, f.max_length) for f in cls._meta.sorted_fields
                                     if isinstance(f, pw.CharField) and f.max_length]
        for name, column, limit in limits:
            value = data.get(name)
            if isinstance(value, str) and len(value) > limit:
                raise InvalidParameterValue(f"Invalid value for {column}: longer than {limit} characters")

    def _insert_row(self) -> int:
        """INSERT of a new row with its SQL built once per model, database and column set: every create
        goes through here, and peewee's generic SQL building costs more than SQLite storing the row."""
        data = self.__data__.copy()
        self._populate_unsaved_relations(data)
        pk_field = self._meta.primary_key
        data.pop(pk_field.name, None)
        db = database.obj
        fields = self._meta.fields
        key = (dialect(db), type(self), tuple(data))
        sql = _INSERT.get(key)
        if sql is None:
            left, right = db.quote
            columns = ", ".join(f"{left}{fields[name].column_name}{right}" for name in data)
            sql = _INSERT[key] = (f"INSERT INTO {left}{self._meta.table_name}{right} ({columns}) "
                                  f"VALUES ({', '.join([db.param] * len(data))})")
        cursor = db.execute_sql(sql, [fields[name].db_value(value) for name, value in data.items()])
        self._pk = cursor.lastrowid
        self._dirty.clear()
        return 1

    @classmethod
    def insert_rows(cls, rows: list[dict]) -> None:
        """INSERT new rows in a few statements, lengths checked as :meth:`save` does (see ``db.insert_rows``)."""
        insert_rows(cls, rows, check=cls._check_values)

    @classmethod
    def get_by_id(cls, pk):
        obj = cls.fetch_by_id(pk)
        if obj is None:
            raise cls.DoesNotExist(f"{cls.__name__} with id {pk} does not exist")
        return obj

    @classmethod
    def fetch_by_id(cls, pk):
        """The row with primary key ``pk``, or None. The most frequent query of all (every lazy foreign
        key runs it), so its SQL is built once per model and database instead of at every call."""
        db = database.obj
        sql = _BY_ID.get((dialect(db), cls))
        if sql is None:
            sql, _ = cls.select().where(cls._meta.primary_key == 0).sql()
            _BY_ID[(dialect(db), cls)] = sql
        row = db.execute_sql(sql, (pk,)).fetchone()
        return None if row is None else instance(cls, row)


class _ForeignKeyAccessor(pw.ForeignKeyAccessor):
    """Loads the related row through :meth:`BaseModel.fetch_by_id` when the key is its primary key."""

    def get_rel_instance(self, instance):
        name = self.name
        if name not in instance.__rel__ and self.field.lazy_load and self.field.rel_field is \
                self.rel_model._meta.primary_key:
            value = instance.__data__.get(name)
            if value is not None:
                obj = self.rel_model.fetch_by_id(value)
                if obj is None:
                    raise self.rel_model.DoesNotExist(f"{self.rel_model.__name__} with id {value} does not exist")
                instance.__rel__[name] = obj
                return obj
        return super().get_rel_instance(instance)


class ForeignKeyField(pw.ForeignKeyField):
    accessor_class = _ForeignKeyAccessor


class Entity(BaseModel):
    """A resource with a public UUID and a creation time."""

    uuid = pw.CharField(max_length=40, unique=True, default=new_uuid)
    created = pw.DateTimeField(default=utcnow)


# --------------------------------------------------------------------------- accounts


class Region(Entity):
    name = pw.CharField(max_length=64, unique=True)
    endpoint = pw.CharField(max_length=255, default="")
    region_number = pw.IntegerField(unique=True)


class Domain(Entity):
    name = pw.CharField(max_length=255)
    parent = ForeignKeyField("self", null=True, backref="children", on_delete="RESTRICT")
    # "/" for ROOT, "/Child/Grandchild/" below it: subtree queries are a prefix match.
    path = pw.CharField(max_length=767)
    level = pw.IntegerField(default=0)
    state = pw.CharField(max_length=16, default="Active")
    network_domain = pw.CharField(max_length=255, null=True)
    removed = pw.DateTimeField(null=True)
    # 1 while the row is live, NULL once removed: lets a UNIQUE key ignore removed rows.
    live = pw.BooleanField(null=True, default=True)

    class Meta:
        indexes = ((("path", "live"), True),)


class Role(Entity):
    name = pw.CharField(max_length=255, unique=True)
    role_type = pw.CharField(max_length=16)  # Admin | ResourceAdmin | DomainAdmin | User
    description = pw.CharField(max_length=255, default="")
    is_default = pw.BooleanField(default=True)


class Account(Entity):
    name = pw.CharField(max_length=100)
    account_type = pw.IntegerField()  # 0 user, 1 root admin, 2 domain admin, 3 resource admin
    role = ForeignKeyField(Role, on_delete="RESTRICT")
    domain = ForeignKeyField(Domain, backref="accounts", on_delete="RESTRICT")
    state = pw.CharField(max_length=16, default="enabled")
    network_domain = pw.CharField(max_length=255, null=True)
    # Stable 12-digit owner id the EC2 API shows for this account.
    owner_number = pw.CharField(max_length=12, unique=True)
    removed = pw.DateTimeField(null=True)
    live = pw.BooleanField(null=True, default=True)

    class Meta:
        indexes = ((("domain", "name", "live"), True),)


class User(Entity):
    username = pw.CharField(max_length=255)
    password_hash = pw.CharField(max_length=255)
    firstname = pw.CharField(max_length=255, default="")
    lastname = pw.CharField(max_length=255, default="")
    email = pw.CharField(max_length=255, default="")
    account = ForeignKeyField(Account, backref="users", on_delete="RESTRICT")
    # Denormalised from the account so "one username per domain" is a UNIQUE key.
    domain = ForeignKeyField(Domain, on_delete="RESTRICT")
    state = pw.CharField(max_length=16, default="enabled")
    api_key = pw.CharField(max_length=255, null=True, unique=True)
    secret_key = pw.CharField(max_length=255, null=True)
    timezone = pw.CharField(max_length=64, null=True)
    source = pw.CharField(max_length=16, default="native")
    is_default = pw.BooleanField(default=False)
    removed = pw.DateTimeField(null=True)
    live = pw.BooleanField(null=True, default=True)

    class Meta:
        indexes = ((("domain", "username", "live"), True),)


class LoginSession(BaseModel):
    """A username/password session (CloudStack's ``login``)."""

    session_key = pw.CharField(max_length=64, unique=True)
    cookie = pw.CharField(max_length=64, unique=True)
    user = ForeignKeyField(User, on_delete="CASCADE")
    created = pw.DateTimeField(default=utcnow)
    expires = pw.DateTimeField(index=True)


# ------------------------------------------------------------------- infrastructure


class Zone(Entity):
    name = pw.CharField(max_length=255)
    region = ForeignKeyField(Region, backref="zones", on_delete="RESTRICT")
    description = pw.CharField(max_length=255, null=True)
    network_type = pw.CharField(max_length=16, default="Basic")  # Basic | Advanced
    dns1 = pw.CharField(max_length=64, null=True)
    dns2 = pw.CharField(max_length=64, null=True)
    internal_dns1 = pw.CharField(max_length=64, null=True)
    internal_dns2 = pw.CharField(max_length=64, null=True)
    guest_cidr = pw.CharField(max_length=64, null=True)
    network_domain = pw.CharField(max_length=255, null=True)
    domain = ForeignKeyField(Domain, null=True, on_delete="RESTRICT")  # dedicated to a domain
    allocation_state = pw.CharField(max_length=16, default="Enabled")
    security_groups_enabled = pw.BooleanField(default=False)
    local_storage_enabled = pw.BooleanField(default=False)
    removed = pw.DateTimeField(null=True)
    live = pw.BooleanField(null=True, default=True)

    class Meta:
        indexes = ((("name", "live"), True),)


class Pod(Entity):
    name = pw.CharField(max_length=255)
    zone = ForeignKeyField(Zone, backref="pods", on_delete="RESTRICT")
    gateway = pw.CharField(max_length=64, null=True)
    netmask = pw.CharField(max_length=64, null=True)
    start_ip = pw.CharField(max_length=64, null=True)
    end_ip = pw.CharField(max_length=64, null=True)
    allocation_state = pw.CharField(max_length=16, default="Enabled")
    removed = pw.DateTimeField(null=True)


class Cluster(Entity):
    name = pw.CharField(max_length=255)
    pod = ForeignKeyField(Pod, backref="clusters", on_delete="RESTRICT")
    zone = ForeignKeyField(Zone, on_delete="RESTRICT")
    hypervisor = pw.CharField(max_length=32)
    cluster_type = pw.CharField(max_length=32, default="CloudManaged")
    allocation_state = pw.CharField(max_length=16, default="Enabled")
    managed_state = pw.CharField(max_length=16, default="Managed")
    cpu_overcommit = pw.FloatField(default=1.0)
    memory_overcommit = pw.FloatField(default=1.0)
    removed = pw.DateTimeField(null=True)


class Host(Entity):
    name = pw.CharField(max_length=255)
    zone = ForeignKeyField(Zone, on_delete="RESTRICT")
    pod = ForeignKeyField(Pod, on_delete="RESTRICT")
    cluster = ForeignKeyField(Cluster, backref="hosts", on_delete="RESTRICT")
    host_type = pw.CharField(max_length=32, default="Routing")
    hypervisor = pw.CharField(max_length=32)
    hypervisor_version = pw.CharField(max_length=32, null=True)
    url = pw.CharField(max_length=1024)
    guid = pw.CharField(max_length=255, unique=True)
    ip_address = pw.CharField(max_length=64, null=True)
    status = pw.CharField(max_length=16, default="Up", index=True)
    resource_state = pw.CharField(max_length=32, default="Enabled", index=True)
    cpu_sockets = pw.IntegerField(default=1)
    cpu_cores = pw.IntegerField()
    cpu_speed = pw.IntegerField()  # MHz per core
    memory_bytes = pw.BigIntegerField()
    host_tags = pw.CharField(max_length=1024, default="")
    capabilities = pw.CharField(max_length=255, default="hvm")
    last_ping = pw.DateTimeField(null=True)
    disconnected = pw.DateTimeField(null=True)
    update_count = pw.IntegerField(default=0)
    removed = pw.DateTimeField(null=True)


class HostCapacity(BaseModel):
    """Allocated CPU (MHz) and memory (bytes) of one host, one row per kind.

    ``capacity_limit`` is total x the cluster's over-commit ratio; placement
    claims capacity with a conditional UPDATE against it and the CHECK makes
    an over-commit impossible even for a buggy writer.
    """

    CPU = 1
    MEMORY = 0

    host = ForeignKeyField(Host, backref="capacities", on_delete="CASCADE")
    capacity_type = pw.SmallIntegerField()
    total = pw.BigIntegerField()
    capacity_limit = pw.BigIntegerField()
    used = pw.BigIntegerField(default=0)
    reserved = pw.BigIntegerField(default=0)

    class Meta:
        indexes = ((("host", "capacity_type"), True),)
        constraints = [
            pw.Check("used >= 0"),
            pw.Check("reserved >= 0"),
            pw.Check("used + reserved <= capacity_limit"),
        ]


class StoragePool(Entity):
    name = pw.CharField(max_length=255)
    zone = ForeignKeyField(Zone, on_delete="RESTRICT")
    pod = ForeignKeyField(Pod, null=True, on_delete="RESTRICT")
    cluster = ForeignKeyField(Cluster, null=True, backref="pools", on_delete="RESTRICT")
    scope = pw.CharField(max_length=16, default="CLUSTER")  # CLUSTER | ZONE | HOST
    url = pw.CharField(max_length=1024)
    pool_type = pw.CharField(max_length=32, default="NetworkFilesystem")
    host_address = pw.CharField(max_length=255, null=True)
    path = pw.CharField(max_length=1024, null=True)
    provider = pw.CharField(max_length=64, default="DefaultPrimary")
    hypervisor = pw.CharField(max_length=32, null=True)
    tags = pw.CharField(max_length=1024, default="")
    capacity_bytes = pw.BigIntegerField()
    allocated_bytes = pw.BigIntegerField(default=0)
    used_bytes = pw.BigIntegerField(default=0)
    status = pw.CharField(max_length=32, default="Up")
    removed = pw.DateTimeField(null=True)

    class Meta:
        constraints = [pw.Check("allocated_bytes >= 0")]


class ImageStore(Entity):
    name = pw.CharField(max_length=255)
    zone = ForeignKeyField(Zone, null=True, on_delete="RESTRICT")
    url = pw.CharField(max_length=1024, null=True)
    protocol = pw.CharField(max_length=32, default="nfs")
    provider = pw.CharField(max_length=32, default="NFS")
    scope = pw.CharField(max_length=16, default="ZONE")
    readonly = pw.BooleanField(default=False)
    capacity_bytes = pw.BigIntegerField(default=0)
    used_bytes = pw.BigIntegerField(default=0)
    removed = pw.DateTimeField(null=True)


# ------------------------------------------------------------------------ offerings


class ServiceOffering(Entity):
    name = pw.CharField(max_length=255)
    display_text = pw.CharField(max_length=4096, default="")
    cpu_number = pw.IntegerField(null=True)
    cpu_speed = pw.IntegerField(null=True)
    memory = pw.IntegerField(null=True)  # MiB
    storage_type = pw.CharField(max_length=16, default="shared")
    provisioning_type = pw.CharField(max_length=16, default="thin")
    offer_ha = pw.BooleanField(default=False)
    limit_cpu_use = pw.BooleanField(default=False)
    host_tags = pw.CharField(max_length=255, null=True)
    storage_tags = pw.CharField(max_length=255, null=True)
    is_system = pw.BooleanField(default=False)
    is_customized = pw.BooleanField(default=False)
    root_disk_size = pw.BigIntegerField(null=True)  # GiB
    domain = ForeignKeyField(Domain, null=True, on_delete="RESTRICT")
    zone = ForeignKeyField(Zone, null=True, on_delete="RESTRICT")
    dynamic_scaling = pw.BooleanField(default=True)
    # The EC2 instance type this offering stands for (t3.micro, ...), if any.
    instance_type = pw.CharField(max_length=64, null=True, unique=True)
    state = pw.CharField(max_length=16, default="Active")
    removed = pw.DateTimeField(null=True)


class DiskOffering(Entity):
    name = pw.CharField(max_length=255)
    display_text = pw.CharField(max_length=4096, default="")
    disk_size = pw.BigIntegerField(default=0)  # GiB; 0 when customised
    is_customized = pw.BooleanField(default=False)
    storage_type = pw.CharField(max_length=16, default="shared")
    provisioning_type = pw.CharField(max_length=16, default="thin")
    tags = pw.CharField(max_length=255, null=True)
    domain = ForeignKeyField(Domain, null=True, on_delete="RESTRICT")
    zone = ForeignKeyField(Zone, null=True, on_delete="RESTRICT")
    state = pw.CharField(max_length=16, default="Active")
    removed = pw.DateTimeField(null=True)


# ------------------------------------------------------------------------ templates


class OsCategory(Entity):
    name = pw.CharField(max_length=255, unique=True)


class OsType(Entity):
    name = pw.CharField(max_length=255, unique=True)
    category = ForeignKeyField(OsCategory, on_delete="RESTRICT")
    is_user_defined = pw.BooleanField(default=False)


class Template(Entity):
    name = pw.CharField(max_length=255)
    display_text = pw.CharField(max_length=4096, default="")
    is_iso = pw.BooleanField(default=False, index=True)
    format = pw.CharField(max_length=16)
    hypervisor = pw.CharField(max_length=32)
    os_type = ForeignKeyField(OsType, null=True, on_delete="RESTRICT")
    account = ForeignKeyField(Account, on_delete="RESTRICT")
    domain = ForeignKeyField(Domain, on_delete="RESTRICT")
    url = pw.CharField(max_length=2048, null=True)
    checksum = pw.CharField(max_length=255, null=True)
    is_public = pw.BooleanField(default=False)
    is_featured = pw.BooleanField(default=False)
    is_extractable = pw.BooleanField(default=False)
    password_enabled = pw.BooleanField(default=False)
    ssh_key_enabled = pw.BooleanField(default=False)
    bootable = pw.BooleanField(default=True)
    is_dynamically_scalable = pw.BooleanField(default=False)
    requires_hvm = pw.BooleanField(default=True)
    bits = pw.IntegerField(default=64)
    template_type = pw.CharField(max_length=16, default="USER")  # USER | BUILTIN | SYSTEM
    arch = pw.CharField(max_length=16, default="x86_64")
    cross_zones = pw.BooleanField(default=False)
    state = pw.CharField(max_length=16, default="Active")
    removed = pw.DateTimeField(null=True)


class TemplateZone(BaseModel):
    """One template's copy in one zone's image store, with its download state."""

    template = ForeignKeyField(Template, backref="zones", on_delete="CASCADE")
    zone = ForeignKeyField(Zone, on_delete="RESTRICT")
    image_store = ForeignKeyField(ImageStore, null=True, on_delete="RESTRICT")
    download_state = pw.CharField(max_length=32, default="NOT_DOWNLOADED")
    download_pct = pw.IntegerField(default=0)
    status_text = pw.CharField(max_length=1024, default="")
    size = pw.BigIntegerField(default=0)
    physical_size = pw.BigIntegerField(default=0)
    install_path = pw.CharField(max_length=1024, null=True)
    created = pw.DateTimeField(default=utcnow)
    removed = pw.DateTimeField(null=True)
    live = pw.BooleanField(null=True, default=True)

    class Meta:
        indexes = ((("template", "zone", "live"), True),)


# ------------------------------------------------------------------------- networks


class Network(Entity):
    name = pw.CharField(max_length=255)
    display_text = pw.CharField(max_length=255, default="")
    zone = ForeignKeyField(Zone, backref="networks", on_delete="RESTRICT")
    guest_type = pw.CharField(max_length=16, default="Shared")  # Shared | Isolated | L2
    traffic_type = pw.CharField(max_length=16, default="Guest")
    cidr = pw.CharField(max_length=64)
    gateway = pw.CharField(max_length=64)
    netmask = pw.CharField(max_length=64)
    start_ip = pw.BigIntegerField()  # first assignable address, as an integer
    end_ip = pw.BigIntegerField()
    dns1 = pw.CharField(max_length=64, null=True)
    dns2 = pw.CharField(max_length=64, null=True)
    vlan = pw.CharField(max_length=64, null=True)
    state = pw.CharField(max_length=16, default="Setup")
    account = ForeignKeyField(Account, null=True, on_delete="RESTRICT")
    domain = ForeignKeyField(Domain, on_delete="RESTRICT")
    acl_type = pw.CharField(max_length=16, default="Domain")
    is_default = pw.BooleanField(default=True)
    network_domain = pw.CharField(max_length=255, null=True)
    removed = pw.DateTimeField(null=True)


# ------------------------------------------------------------------ virtual machines


class VirtualMachine(Entity):
    name = pw.CharField(max_length=255)  # host name
    display_name = pw.CharField(max_length=255)
    instance_name = pw.CharField(max_length=255, unique=True)
    vm_type = pw.CharField(max_length=32, default="User")
    account = ForeignKeyField(Account, on_delete="RESTRICT")
    domain = ForeignKeyField(Domain, on_delete="RESTRICT")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    zone = ForeignKeyField(Zone, on_delete="RESTRICT")
    pod = ForeignKeyField(Pod, null=True, on_delete="RESTRICT")
    cluster = ForeignKeyField(Cluster, null=True, on_delete="RESTRICT")
    host = ForeignKeyField(Host, null=True, backref="vms", on_delete="RESTRICT")
    last_host = ForeignKeyField(Host, null=True, on_delete="SET NULL")
    template = ForeignKeyField(Template, on_delete="RESTRICT")
    iso = ForeignKeyField(Template, null=True, on_delete="SET NULL")
    service_offering = ForeignKeyField(ServiceOffering, on_delete="RESTRICT")
    disk_offering = ForeignKeyField(DiskOffering, null=True, on_delete="RESTRICT")
    # What the VM holds on its host (copied from the offering; scaling changes it).
    cpu_number = pw.IntegerField()
    cpu_speed = pw.IntegerField()
    memory = pw.IntegerField()  # MiB
    state = pw.CharField(max_length=16, index=True)
    power_state = pw.CharField(max_length=32, default="PowerUnknown")
    power_state_updated = pw.DateTimeField(null=True)
    hypervisor = pw.CharField(max_length=32)
    os_type = ForeignKeyField(OsType, null=True, on_delete="SET NULL")
    ha_enabled = pw.BooleanField(default=False)
    group = pw.CharField(max_length=255, null=True)
    user_data = LongTextField(null=True)  # base64, up to the 1 MiB CloudStack takes by POST
    key_pair = pw.CharField(max_length=255, null=True)
    password = pw.CharField(max_length=255, null=True)
    display_vm = pw.BooleanField(default=True)
    is_dynamically_scalable = pw.BooleanField(default=False)
    details = pw.TextField(default="{}")  # JSON object of strings
    first_start_pending = pw.BooleanField(default=True)
    # VMs launched by one request share a launch group (EC2 shows it as the reservation); a
    # client's idempotency token makes a retried launch return the first one's VMs.
    launch_group = pw.CharField(max_length=40, null=True, index=True)
    client_token = pw.CharField(max_length=64, null=True, index=True)
    # Destroyed with a retention of its own (EC2 terminations stay visible about an hour): expunged
    # once this time has passed, whatever expunge.delay says.
    expunge_after = pw.DateTimeField(null=True, index=True)
    update_count = pw.IntegerField(default=0)
    state_changed = pw.DateTimeField(default=utcnow, index=True)
    removed = pw.DateTimeField(null=True, index=True)

    class Meta:
        indexes = ((("account", "removed"), False), (("zone", "state"), False))

    @property
    def resource_tags(self) -> list:
        """This VM's tags (listings load them for a whole page at once, see VmManager.list)."""
        if "_tags" not in self.__dict__:
            # "UserVm": the VM kind's tag type in backends/core/kinds.py, which imports this module.
            self.__dict__["_tags"] = list(ResourceTag.select().where(
                ResourceTag.resource_type == "UserVm", ResourceTag.resource_uuid == self.uuid).order_by(ResourceTag.key))
        return self.__dict__["_tags"]

    @property
    def security_groups(self) -> list:
        """This VM's security groups (listings load them for a whole page at once)."""
        if "_groups" not in self.__dict__:
            self.__dict__["_groups"] = list(SecurityGroup.select().join(
                VmSecurityGroup, on=(VmSecurityGroup.group == SecurityGroup.id)).where(VmSecurityGroup.vm == self.id))
        return self.__dict__["_groups"]


class Nic(Entity):
    vm = ForeignKeyField(VirtualMachine, backref="nics", on_delete="CASCADE")
    network = ForeignKeyField(Network, on_delete="RESTRICT")
    ip_int = pw.BigIntegerField()
    ip_address = pw.CharField(max_length=64)
    netmask = pw.CharField(max_length=64)
    gateway = pw.CharField(max_length=64)
    mac_address = pw.CharField(max_length=17, unique=True)
    device_id = pw.IntegerField(default=0)
    is_default = pw.BooleanField(default=True)
    traffic_type = pw.CharField(max_length=16, default="Guest")
    broadcast_uri = pw.CharField(max_length=255, null=True)
    isolation_uri = pw.CharField(max_length=255, null=True)

    class Meta:
        indexes = (
            (("network", "ip_int"), True),  # one IP per network
            (("vm", "device_id"), True),  # one device id per VM
        )


class Volume(Entity):
    name = pw.CharField(max_length=255)
    account = ForeignKeyField(Account, on_delete="RESTRICT")
    domain = ForeignKeyField(Domain, on_delete="RESTRICT")
    zone = ForeignKeyField(Zone, on_delete="RESTRICT")
    vm = ForeignKeyField(VirtualMachine, null=True, backref="volumes", on_delete="RESTRICT")
    device_id = pw.IntegerField(null=True)
    volume_type = pw.CharField(max_length=16)  # ROOT | DATADISK
    state = pw.CharField(max_length=32, index=True)
    size = pw.BigIntegerField()  # bytes
    pool = ForeignKeyField(StoragePool, null=True, backref="volumes", on_delete="RESTRICT")
    disk_offering = ForeignKeyField(DiskOffering, null=True, on_delete="RESTRICT")
    template = ForeignKeyField(Template, null=True, on_delete="SET NULL")
    path = pw.CharField(max_length=1024, null=True)
    format = pw.CharField(max_length=16, default="QCOW2")
    provisioning_type = pw.CharField(max_length=16, default="thin")
    attached = pw.DateTimeField(null=True)
    update_count = pw.IntegerField(default=0)
    removed = pw.DateTimeField(null=True, index=True)

    class Meta:
        indexes = ((("vm", "device_id"), True),)  # one device id per VM

    @property
    def resource_tags(self) -> list:
        """This volume's tags (listings load them for a whole page at once, see VolumeManager.list)."""
        if "_tags" not in self.__dict__:
            # "Volume": the volume kind's tag type in backends/core/kinds.py, which imports this module.
            self.__dict__["_tags"] = list(ResourceTag.select().where(
                ResourceTag.resource_type == "Volume", ResourceTag.resource_uuid == self.uuid).order_by(ResourceTag.key))
        return self.__dict__["_tags"]


# ----------------------------------------------------------------- jobs and events


class AsyncJob(Entity):
    """A persisted asynchronous job (what ``queryAsyncJobResult`` reports).

    The result is kept neutral: which object the job produced (or that it
    simply succeeded), or which backend error kind ended it. Each API renders
    it in its own vocabulary.
    """

    command = pw.CharField(max_length=255)  # API command name, e.g. deployVirtualMachine
    account = ForeignKeyField(Account, on_delete="RESTRICT")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    domain = ForeignKeyField(Domain, on_delete="RESTRICT")
    status = pw.SmallIntegerField(default=0, index=True)  # 0 pending, 1 succeeded, 2 failed
    process_status = pw.IntegerField(default=0)
    instance_type = pw.CharField(max_length=64, null=True)
    instance_uuid = pw.CharField(max_length=40, null=True, index=True)  # a VM's jobs, read per listing
    result_type = pw.CharField(max_length=64, null=True)  # e.g. VirtualMachine, or "success"
    result_uuid = pw.CharField(max_length=40, null=True)
    error_kind = pw.CharField(max_length=64, null=True)
    error_text = pw.TextField(null=True)
    sync_key = pw.CharField(max_length=128, null=True, index=True)
    node_id = pw.CharField(max_length=64, index=True)
    completed = pw.DateTimeField(null=True)


class Event(Entity):
    event_type = pw.CharField(max_length=64, index=True)
    level = pw.CharField(max_length=8, default="INFO")
    state = pw.CharField(max_length=16, default="Completed")
    description = pw.TextField(default="")
    account = ForeignKeyField(Account, null=True, on_delete="SET NULL")
    domain = ForeignKeyField(Domain, null=True, on_delete="SET NULL")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    resource_type = pw.CharField(max_length=64, null=True)
    resource_uuid = pw.CharField(max_length=40, null=True)
    start_id = pw.IntegerField(null=True)


class SecurityGroup(Entity):
    """A named set of firewall rules of an account; every account has a ``default`` one."""

    name = pw.CharField(max_length=255)
    description = pw.CharField(max_length=255, default="")
    account = ForeignKeyField(Account, on_delete="CASCADE")
    domain = ForeignKeyField(Domain, on_delete="CASCADE")

    class Meta:
        indexes = ((("account", "name"), True),)


class SecurityGroupRule(Entity):
    group = ForeignKeyField(SecurityGroup, backref="rules", on_delete="CASCADE")
    direction = pw.CharField(max_length=8)  # ingress | egress
    protocol = pw.CharField(max_length=8)  # tcp | udp | icmp | all
    start_port = pw.IntegerField(null=True)  # icmp: type
    end_port = pw.IntegerField(null=True)  # icmp: code
    cidr = pw.CharField(max_length=64, null=True)
    source_group = ForeignKeyField(SecurityGroup, null=True, on_delete="CASCADE")
    description = pw.CharField(max_length=255, default="")


class VmSecurityGroup(BaseModel):
    vm = ForeignKeyField(VirtualMachine, backref="security_group_links", on_delete="CASCADE")
    group = ForeignKeyField(SecurityGroup, on_delete="RESTRICT")

    class Meta:
        indexes = ((("vm", "group"), True),)


class SSHKeyPair(Entity):
    """A named SSH public key of an account; VMs launched with it get it injected."""

    name = pw.CharField(max_length=255)
    account = ForeignKeyField(Account, on_delete="CASCADE")
    domain = ForeignKeyField(Domain, on_delete="CASCADE")
    public_key = pw.TextField()
    fingerprint = pw.CharField(max_length=128)
    key_type = pw.CharField(max_length=16, default="rsa")  # rsa | ed25519

    class Meta:
        indexes = ((("account", "name"), True),)


class LaunchTemplate(Entity):
    """A named, versioned launch specification of an account in one region (EC2's launch templates).

    Versions are numbered from 1 and never renumbered; ``next_version`` is the number the next one gets
    (a deleted version's number is not used again)."""

    name = pw.CharField(max_length=128)
    region = pw.CharField(max_length=64)
    account = ForeignKeyField(Account, on_delete="CASCADE")
    domain = ForeignKeyField(Domain, on_delete="CASCADE")
    created_by = pw.CharField(max_length=255, default="")  # the creating user's name
    default_version = pw.IntegerField(default=1)
    next_version = pw.IntegerField(default=2)
    client_token = pw.CharField(max_length=128, null=True)  # of the request that created it (idempotency)

    class Meta:
        indexes = ((("account", "region", "name"), True), (("account", "client_token"), False))


class LaunchTemplateVersion(BaseModel):
    """One version of a launch template: its data, a JSON document the front door reads and writes."""

    template = ForeignKeyField(LaunchTemplate, backref="versions", on_delete="CASCADE")
    number = pw.IntegerField()
    description = pw.CharField(max_length=255, null=True)
    data = LongTextField()
    created = pw.DateTimeField(default=utcnow)
    created_by = pw.CharField(max_length=255, default="")
    client_token = pw.CharField(max_length=128, null=True)

    class Meta:
        indexes = ((("template", "number"), True),)


class ResourceTag(Entity):
    """A key/value label on a resource, named by its kind and uuid; both APIs show the same tags."""

    resource_type = pw.CharField(max_length=32)  # UserVm | Template | ISO | Volume
    resource_uuid = pw.CharField(max_length=40)
    key = pw.CharField(max_length=255)
    value = pw.CharField(max_length=255, default="")
    account = ForeignKeyField(Account, on_delete="CASCADE")
    domain = ForeignKeyField(Domain, on_delete="CASCADE")

    class Meta:
        indexes = (
            (("resource_type", "resource_uuid", "key"), True),
            (("account", "key", "value"), False),  # tag:Name=web lookups
            (("resource_type", "key", "value"), False),  # the same across accounts (admins, filters)
        )


# ------------------------------------------------------------- settings and limits


class Configuration(BaseModel):
    name = pw.CharField(max_length=255, primary_key=True)
    value = pw.TextField(null=True)
    default_value = pw.TextField(null=True)
    category = pw.CharField(max_length=64, default="Advanced")
    component = pw.CharField(max_length=64, default="management-server")
    description = pw.TextField(default="")
    scope = pw.CharField(max_length=32, null=True)
    is_dynamic = pw.BooleanField(default=True)
    value_type = pw.CharField(max_length=16, default="String")


class ResourceLimit(BaseModel):
    account = ForeignKeyField(Account, null=True, on_delete="CASCADE")
    domain = ForeignKeyField(Domain, null=True, on_delete="CASCADE")
    resource_type = pw.SmallIntegerField()
    max_value = pw.BigIntegerField()

    class Meta:
        indexes = ((("account", "domain", "resource_type"), True),)


class ResourceCount(BaseModel):
    account = ForeignKeyField(Account, null=True, on_delete="CASCADE")
    domain = ForeignKeyField(Domain, null=True, on_delete="CASCADE")
    resource_type = pw.SmallIntegerField()
    count = pw.BigIntegerField(default=0)

    class Meta:
        indexes = ((("account", "domain", "resource_type"), True),)
        constraints = [pw.Check("count >= 0")]


ALL_MODELS = [
    Region, Domain, Role, Account, User, LoginSession,
    Zone, Pod, Cluster, Host, HostCapacity, StoragePool, ImageStore,
    ServiceOffering, DiskOffering, OsCategory, OsType, Template, TemplateZone,
    Network, VirtualMachine, Nic, Volume, AsyncJob, Event, ResourceTag, SSHKeyPair,
    SecurityGroup, SecurityGroupRule, VmSecurityGroup, LaunchTemplate, LaunchTemplateVersion,
    Configuration, ResourceLimit, ResourceCount,
]
