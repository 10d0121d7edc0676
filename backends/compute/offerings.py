"""Service offerings (VM sizes), disk offerings and the OS type catalogue."""
from __future__ import annotations

from peewee import IntegrityError

from backends.context import Caller
from backends.core.events import EventManager
from backends.db import page_of, write_tx
from backends.errors import InvalidParameterValue, PermissionDenied
from backends.identity.access import ancestor_ids
from backends.identity.accounts import AccountManager
from backends.models import DiskOffering, Domain, OsCategory, OsType, ServiceOffering, utcnow

MAX_INT = 2147483647
# The CPU speed, in MHz, of the offerings made for instance types (the demo cloud's and those made on first use).
DEFAULT_CPU_SPEED = 2000
# The largest disk, in GiB: AWS's largest EBS volume; it also keeps sizes in bytes well inside 64 bits.
MAX_DISK_GB = 16384

DEFAULT_OS_TYPES = [
    ("Ubuntu", "Ubuntu 20.04 LTS (64-bit)"), ("Ubuntu", "Ubuntu 22.04 LTS (64-bit)"),
    ("Ubuntu", "Ubuntu 24.04 LTS (64-bit)"),
    ("Debian", "Debian GNU/Linux 11 (64-bit)"), ("Debian", "Debian GNU/Linux 12 (64-bit)"),
    ("CentOS", "CentOS 7 (64-bit)"), ("CentOS", "CentOS Stream 9 (64-bit)"),
    ("RedHat", "Red Hat Enterprise Linux 8 (64-bit)"), ("RedHat", "Red Hat Enterprise Linux 9 (64-bit)"),
    ("RedHat", "Rocky Linux 9 (64-bit)"), ("RedHat", "AlmaLinux 9 (64-bit)"),
    ("Oracle", "Oracle Linux 9 (64-bit)"),
    ("SUSE", "SUSE Linux Enterprise Server 15 (64-bit)"), ("SUSE", "openSUSE Leap 15 (64-bit)"),
    ("Amazon", "Amazon Linux 2 (64-bit)"), ("Amazon", "Amazon Linux 2023 (64-bit)"),
    ("Fedora", "Fedora 40 (64-bit)"),
    ("FreeBSD", "FreeBSD 14 (64-bit)"),
    ("Windows", "Windows Server 2019 (64-bit)"), ("Windows", "Windows Server 2022 (64-bit)"),
    ("Windows", "Windows 11 (64-bit)"),
    ("Other", "Other Linux (64-bit)"), ("Other", "Other Linux (32-bit)"), ("Other", "Other (64-bit)"),
    ("Other", "Other (32-bit)"),
]


class OfferingManager:
    def __init__(self, accounts: AccountManager, events: EventManager):
        self.accounts = accounts
        self.events = events

    # --------------------------------------------------------------- OS types
    def ensure_os_types(self, pairs) -> None:
        """Create the (category, name) OS types that do not exist yet."""
        with write_tx():
            categories = {c.name: c for c in OsCategory.select()}
            known = {t.name for t in OsType.select(OsType.name)}
            for category, name in pairs:
                if category not in categories:
                    categories[category] = OsCategory.create(name=category)
                if name not in known:
                    OsType.create(name=name, category=categories[category].id)
                    known.add(name)

    def list_os_types(self, *, id=None, category=None, description=None, keyword=None, page=None, pagesize=None):
        query = OsType.select()
        if id is not None:
            query = query.where(OsType.id == id.id)
        if category is not None:
            query = query.where(OsType.category == category.id)
        if description:
            query = query.where(OsType.name == description)
        if keyword:
            query = query.where(OsType.name.contains(keyword))
        return page_of(query.order_by(OsType.id), page, pagesize)

    def list_os_categories(self, *, id=None, name=None, keyword=None, page=None, pagesize=None):
        query = OsCategory.select()
        if id is not None:
            query = query.where(OsCategory.id == id.id)
        if name:
            query = query.where(OsCategory.name == name)
        if keyword:
            query = query.where(OsCategory.name.contains(keyword))
        return page_of(query.order_by(OsCategory.id), page, pagesize)

    # ------------------------------------------------------ service offerings
    def create_service_offering(self, caller: Caller, *, name: str, display_text: str | None = None,
                                cpu_number: int | None = None, cpu_speed: int | None = None,
                                memory: int | None = None, storage_type: str = "shared",
                                provisioning_type: str = "thin", offer_ha: bool = False,
                                limit_cpu_use: bool = False, host_tags: str | None = None,
                                storage_tags: str | None = None, root_disk_size: int | None = None,
                                domain: Domain | None = None, zone=None, instance_type: str | None = None,
                                dynamic_scaling: bool = True, is_system: bool = False) -> ServiceOffering:
        """A VM size: all of cpu number/speed/memory (fixed) or none of them (customised)."""
        self._check_admin(caller, domain, "service offerings")
        given = [v is not None for v in (cpu_number, cpu_speed, memory)]
        if any(given) and not all(given):
            raise InvalidParameterValue(f"Failed to create service offering {name}: specify cpu number, cpu speed "
                                        "and memory together, or none of them for a custom offering")
        if all(given):
            if not 1 <= cpu_number <= MAX_INT:
                raise InvalidParameterValue(f"Failed to create service offering {name}: specify the cpu number "
                                            f"value between 1 and {MAX_INT}")
            if not 1 <= cpu_speed <= MAX_INT:
                raise InvalidParameterValue(f"Failed to create service offering {name}: specify the cpu speed "
                                            f"value between 1 and {MAX_INT}")
            if not 32 <= memory <= MAX_INT:
                raise InvalidParameterValue(f"Failed to create service offering {name}: specify the memory value "
                                            f"between 32 and {MAX_INT} MB")
        if storage_type not in ("shared", "local"):
            raise InvalidParameterValue("Invalid storage type: use shared or local")
        if root_disk_size is not None and not 1 <= root_disk_size <= MAX_DISK_GB:
            raise InvalidParameterValue(f"The root disk size must be 1 to {MAX_DISK_GB} GB, not {root_disk_size}")
        if instance_type and ServiceOffering.select().where(ServiceOffering.instance_type == instance_type).exists():
            raise InvalidParameterValue(f"A service offering for instance type {instance_type} already exists")
        with write_tx():
            offering = ServiceOffering.create(
                name=name, display_text=display_text or name, cpu_number=cpu_number, cpu_speed=cpu_speed,
                memory=memory, storage_type=storage_type, provisioning_type=provisioning_type, offer_ha=offer_ha,
                limit_cpu_use=limit_cpu_use, host_tags=host_tags, storage_tags=storage_tags,
                is_system=is_system, is_customized=not all(given), root_disk_size=root_disk_size,
                domain=domain.id if domain else None, zone=zone.id if zone else None,
                dynamic_scaling=dynamic_scaling, instance_type=instance_type)
            self.events.record(caller, "SERVICE.OFFERING.CREATE", f"Created service offering {name}", resource=offering)
        return offering

    def list_service_offerings(self, caller: Caller, *, id=None, name=None, domain=None, zone=None,
                               is_system=False, vm=None, keyword=None, page=None, pagesize=None):
        """``vm``: the offerings that VM may be scaled to, so not the one it has."""
        query = ServiceOffering.select().where(ServiceOffering.removed.is_null(),
                                               ServiceOffering.state == "Active",
                                               ServiceOffering.is_system == bool(is_system))
        query = self._visible(caller, query, ServiceOffering)
        if id is not None:
            query = query.where(ServiceOffering.id == id.id)
        if name:
            query = query.where(ServiceOffering.name == name)
        if domain is not None:
            query = query.where(ServiceOffering.domain == domain.id)
        if zone is not None:
            query = query.where(ServiceOffering.zone.is_null() | (ServiceOffering.zone == zone.id))
        if vm is not None:
            self.accounts.check_access(caller, vm.account_id, vm.domain_id, entity="VirtualMachine", uuid=vm.uuid)
            query = query.where(ServiceOffering.id != vm.service_offering_id)
        if keyword:
            query = query.where(ServiceOffering.name.contains(keyword) |
                                ServiceOffering.display_text.contains(keyword))
        return page_of(query.order_by(ServiceOffering.id), page, pagesize)

    def delete_service_offering(self, caller: Caller, offering: ServiceOffering) -> None:
        if offering.removed is not None:
            raise InvalidParameterValue(f"Unable to find service offering by id {offering.uuid}")
        self._check_admin(caller, offering.domain, "service offerings", deleting=True)
        with write_tx():
            ServiceOffering.update(removed=utcnow(), state="Inactive").where(
                ServiceOffering.id == offering.id).execute()
            self.events.record(caller, "SERVICE.OFFERING.DELETE", f"Deleted service offering {offering.name}",
                               resource=offering)

    def by_instance_type(self, name: str) -> ServiceOffering | None:
        return ServiceOffering.get_or_none(ServiceOffering.instance_type == name, ServiceOffering.removed.is_null())

    def ensure_instance_type(self, caller: Caller, name: str, *, cpu_number: int, memory: int) -> ServiceOffering | None:
        """The offering standing for instance type ``name``, made now if there is none: ``cpu_number`` CPUs
        at DEFAULT_CPU_SPEED and ``memory`` MiB, public and in every zone, the event recorded for ``caller``
        (whose request needed it). None when an operator deleted that type's offering: it stays withdrawn."""
        found = ServiceOffering.get_or_none(ServiceOffering.instance_type == name)
        if found is None:
            try:
                with write_tx():
                    found = ServiceOffering.create(
                        name=name, display_text=f"{name}: {cpu_number} vCPU, {memory} MiB", cpu_number=cpu_number,
                        cpu_speed=DEFAULT_CPU_SPEED, memory=memory, instance_type=name)
                    self.events.record(caller, "SERVICE.OFFERING.CREATE",
                                       f"Created service offering {name} on first use", resource=found)
            except IntegrityError:  # another request made it first
                found = ServiceOffering.get(ServiceOffering.instance_type == name)
        return found if found.removed is None else None

    # --------------------------------------------------------- disk offerings
    def create_disk_offering(self, caller: Caller, *, name: str, display_text: str | None = None,
                             disk_size: int | None = None, customized: bool = False, storage_type: str = "shared",
                             provisioning_type: str = "thin", tags: str | None = None,
                             domain: Domain | None = None, zone=None) -> DiskOffering:
        """A data disk size (GiB), or a customised one whose size the user picks."""
        self._check_admin(caller, domain, "disk offerings")
        if not customized and (disk_size is None or disk_size < 1):
            raise InvalidParameterValue("Disksize is required for a non-customized disk offering and must be "
                                        "at least 1 GB")
        if not customized and disk_size > MAX_DISK_GB:
            raise InvalidParameterValue(f"Disksize must be at most {MAX_DISK_GB} GB, not {disk_size}")
        if storage_type not in ("shared", "local"):
            raise InvalidParameterValue("Invalid storage type: use shared or local")
        with write_tx():
            offering = DiskOffering.create(
                name=name, display_text=display_text or name, disk_size=0 if customized else disk_size,
                is_customized=customized, storage_type=storage_type, provisioning_type=provisioning_type,
                tags=tags, domain=domain.id if domain else None, zone=zone.id if zone else None)
            self.events.record(caller, "DISK.OFFERING.CREATE", f"Created disk offering {name}", resource=offering)
        return offering

    def list_disk_offerings(self, caller: Caller, *, id=None, name=None, domain=None, zone=None, keyword=None,
                            page=None, pagesize=None):
        query = DiskOffering.select().where(DiskOffering.removed.is_null(), DiskOffering.state == "Active")
        query = self._visible(caller, query, DiskOffering)
        if id is not None:
            query = query.where(DiskOffering.id == id.id)
        if name:
            query = query.where(DiskOffering.name == name)
        if domain is not None:
            query = query.where(DiskOffering.domain == domain.id)
        if zone is not None:
            query = query.where(DiskOffering.zone.is_null() | (DiskOffering.zone == zone.id))
        if keyword:
            query = query.where(DiskOffering.name.contains(keyword))
        return page_of(query.order_by(DiskOffering.id), page, pagesize)

    def delete_disk_offering(self, caller: Caller, offering: DiskOffering) -> None:
        if offering.removed is not None:
            raise InvalidParameterValue(f"Unable to find disk offering by id {offering.uuid}")
        self._check_admin(caller, offering.domain, "disk offerings", deleting=True)
        with write_tx():
            DiskOffering.update(removed=utcnow(), state="Inactive").where(DiskOffering.id == offering.id).execute()
            self.events.record(caller, "DISK.OFFERING.DELETE", f"Deleted disk offering {offering.name}",
                               resource=offering)

    # ---------------------------------------------------------------- helpers
    def _check_admin(self, caller: Caller, domain: Domain | None, what: str, deleting: bool = False) -> None:
        """Root admins manage every offering; domain admins only those of their subtree."""
        if caller.is_root_admin:
            return
        if caller.is_domain_admin and domain is not None and domain.path.startswith(caller.domain_path):
            return
        verb = "delete" if deleting else "create"
        raise PermissionDenied(f"Account {caller.account_name} does not have permission to {verb} public {what}"
                               if domain is None else
                               f"Account {caller.account_name} does not have permission to {verb} {what} in "
                               f"domain {domain.uuid}")

    @staticmethod
    def _visible(caller: Caller, query, model):
        """Public offerings plus those dedicated to a domain on the caller's path."""
        if caller.is_root_admin:
            return query
        shared = model.domain.is_null() | model.domain.in_(ancestor_ids(caller.domain_path))
        if caller.is_domain_admin:
            below = Domain.select(Domain.id).where(Domain.path.startswith(caller.domain_path))
            return query.where(shared | model.domain.in_(below))
        return query.where(shared)
