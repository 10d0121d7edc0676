"""Templates and ISOs: registration, per-zone copies downloaded through the driver, listing.

A template is one row; each zone holds a copy (``TemplateZone``) that moves
NOT_DOWNLOADED -> DOWNLOAD_IN_PROGRESS -> DOWNLOADED (or DOWNLOAD_ERROR). The
download runs in the background so ``registerTemplate`` answers at once with
``isready: false``, as CloudStack does; a restart resumes unfinished copies.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Protocol
from urllib.parse import urlparse

from backends.context import Caller
from backends.core import fsm, prefetch, resources
from backends.core.config import ConfigManager
from backends.core.events import EventManager
from backends.core.holds import holding_shared_objects, refuse_while_held
from backends.db import database, page_of, write_tx
from backends.drivers.base import HypervisorDriver
from backends.errors import CloudError, ConcurrentOperation, InvalidParameterValue, InvalidState, PermissionDenied
from backends.models import Account, Domain, ImageStore, Template, TemplateZone, VirtualMachine, Zone, utcnow

log = logging.getLogger(__name__)

GiB = 1 << 30
MiB = 1 << 20
TEMPLATE_FORMATS = ("QCOW2", "RAW", "VHD", "VHDX", "OVA", "VMDK")
FILTERS = ("featured", "self", "selfexecutable", "sharedexecutable", "executable", "community", "all")


# What templates need of the identity area. It is this area's sibling, which the import contract keeps apart:
# the needs are described here and the composition root passes the identity managers that meet them.
class Accounts(Protocol):
    def get_caller_account(self, caller: Caller) -> Account: ...

    def check_access(self, caller: Caller, account_id: int | None, domain_id: int | None, *, entity: str,
                     uuid: str = "", shared: bool = False) -> None: ...

    def check_domain_access(self, caller: Caller, domain: Domain) -> None: ...

    def can_see(self, caller: Caller, row) -> bool: ...


class Limits(Protocol):
    def reserve(self, account: Account, deltas: dict[int, int]) -> None: ...

    def count(self, account: Account, resource_type: int) -> int: ...

    def release(self, account: Account, deltas: dict[int, int]) -> None: ...


class TemplateManager:
    def __init__(self, *, events: EventManager, config: ConfigManager, accounts: Accounts, limits: Limits,
                 driver_for: Callable[[str], HypervisorDriver], hypervisors: Callable[[], Collection[str]]):
        """``driver_for(name)``: a hypervisor's driver, which downloads its templates; ``hypervisors()``: the
        names available here."""
        self._events = events
        self._config = config
        self._accounts = accounts
        self._limits = limits
        self._driver_for = driver_for
        self._hypervisors = hypervisors
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="template-download")
        self._futures = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------ seeding
    def seed_ready_template(self, caller: Caller, *, name, display_text, url, format, hypervisor, os_type, zones,
                            is_public=False, is_featured=False, template_type="USER", password_enabled=False,
                            ssh_key_enabled=False, is_dynamically_scalable=False, is_iso=False,
                            bootable=True, uuid: str | None = None) -> Template:
        """A template already present in every given zone (the demo cloud's images); ``uuid`` when its id
        must not change (a random one otherwise, also when a template seeded earlier, since removed, holds it)."""
        owner = self._accounts.get_caller_account(caller)
        size = 300 * MiB if is_iso else 2 * GiB
        with write_tx():
            if uuid and Template.select().where(Template.uuid == uuid).exists():
                uuid = None
            template = Template.create(
                **({"uuid": uuid} if uuid else {}), name=name, display_text=display_text, is_iso=is_iso,
                format=format, hypervisor=hypervisor,
                os_type=os_type.id if os_type else None, account=owner.id, domain=owner.domain_id, url=url,
                is_public=is_public, is_featured=is_featured, password_enabled=password_enabled,
                ssh_key_enabled=ssh_key_enabled, bootable=bootable, is_dynamically_scalable=is_dynamically_scalable,
                template_type=template_type, cross_zones=True)
            for zone in zones:
                TemplateZone.create(template=template.id, zone=zone.id, image_store=_image_store(zone),
                                    download_state="DOWNLOADED", download_pct=100, size=size,
                                    physical_size=size // 4, status_text="Download Complete",
                                    install_path=f"template/tmpl/{zone.uuid}/{template.uuid}/{template.uuid}."
                                                 f"{format.lower()}")
        return template

    def stand_in(self, zone: Zone) -> Template | None:
        """The built-in template a launch runs on when it names an image this cloud does not have (an
        emulator of another cloud accepts such ids): the first public built-in template ready in ``zone``."""
        return (Template.select().join(TemplateZone, on=(TemplateZone.template == Template.id))
                .where(Template.removed.is_null(), Template.is_public == True,  # noqa: E712
                       Template.is_iso == False, Template.template_type == "BUILTIN",  # noqa: E712
                       TemplateZone.zone == zone.id, TemplateZone.removed.is_null(),
                       TemplateZone.download_state == "DOWNLOADED")
                .order_by(Template.id).first())

    def copy_builtin_to(self, zones) -> None:
        """Give new zones a ready copy of every public seeded image (templates and ISOs of the demo cloud)."""
        seeded = Template.select().where(Template.removed.is_null(), Template.is_featured == True,  # noqa: E712
                                         (Template.template_type == "BUILTIN") | (Template.is_iso == True))  # noqa: E712
        with write_tx():
            for template in seeded:
                size = 300 * MiB if template.is_iso else 2 * GiB
                for zone in zones:
                    TemplateZone.create(template=template.id, zone=zone.id, image_store=_image_store(zone),
                                        download_state="DOWNLOADED", download_pct=100, size=size,
                                        physical_size=size // 4, status_text="Download Complete",
                                        install_path=f"template/tmpl/{zone.uuid}/{template.uuid}/{template.uuid}."
                                                     f"{template.format.lower()}")

    # ----------------------------------------------------------- register
    def register(self, caller: Caller, *, name, display_text, url, format, hypervisor, os_type=None, zone=None,
                 is_iso=False, is_public=False, is_featured=False, is_extractable=False, password_enabled=False,
                 ssh_key_enabled=False, bootable=True, is_dynamically_scalable=False, requires_hvm=True, bits=64,
                 checksum=None, owner: Account | None = None, download: bool = True) -> Template:
        """Record the template and a copy per zone (all zones when ``zone`` is None), then download (not when
        ``download`` is false: a rehearsal that will be rolled back must start no work)."""
        owner = owner or self._accounts.get_caller_account(caller)
        if urlparse(url).scheme not in ("http", "https", "ftp"):
            raise InvalidParameterValue(f"Unsupported scheme for url: {url}")
        fmt = (format or "").upper()
        if is_iso and fmt != "ISO" or not is_iso and fmt not in TEMPLATE_FORMATS:
            raise InvalidParameterValue(f"Format is invalid: {format}; use "
                                        f"{'ISO' if is_iso else ', '.join(TEMPLATE_FORMATS)}")
        if not is_iso and hypervisor not in self._hypervisors():
            raise InvalidParameterValue(f"Hypervisor {hypervisor} is not supported by this cloud; available: "
                                        f"{', '.join(sorted(self._hypervisors()))}")
        if is_featured and not caller.is_root_admin:
            raise PermissionDenied("Only root admins can register featured templates")
        if is_public and not caller.is_admin and not self._config.get_bool("allow.public.user.templates"):
            raise PermissionDenied("Only private templates/ISOs can be created by users")
        if bits not in (32, 64):
            raise InvalidParameterValue("Invalid bits value: use 32 or 64")
        zones = [zone] if zone is not None else list(Zone.select().where(Zone.removed.is_null()).order_by(Zone.id))
        stores = {}
        for z in zones:
            store = _image_store(z)
            if store is None:
                raise InvalidParameterValue(f"Cannot register template: zone {z.name} has no secondary storage")
            stores[z.id] = store
        with write_tx():
            self._limits.reserve(owner, {resources.TEMPLATE: 1})
            template = Template.create(
                name=name, display_text=display_text or name, is_iso=is_iso, format=fmt, hypervisor=hypervisor,
                os_type=os_type.id if os_type else None, account=owner.id, domain=owner.domain_id, url=url,
                checksum=checksum, is_public=is_public, is_featured=is_featured, is_extractable=is_extractable,
                password_enabled=password_enabled, ssh_key_enabled=ssh_key_enabled, bootable=bootable,
                is_dynamically_scalable=is_dynamically_scalable, requires_hvm=requires_hvm, bits=bits,
                template_type="USER", cross_zones=zone is None)
            copies = [TemplateZone.create(template=template.id, zone=z.id, image_store=stores[z.id]) for z in zones]
            kind = "ISO" if is_iso else "TEMPLATE"
            self._events.record(caller, f"{kind}.CREATE", f"Registered {kind.lower()} {name}", resource=template)
        if download:
            for copy in copies:
                self._schedule(copy.id)
        return template

    def _schedule(self, copy_id: int) -> None:
        with self._lock:
            self._futures = [f for f in self._futures if not f.done()]
            self._futures.append(self._pool.submit(self._download, copy_id))

    def _download(self, copy_id: int) -> None:
        with database.connection_context():
            copy = TemplateZone.get_or_none(TemplateZone.id == copy_id)
            if copy is None or copy.removed is not None or copy.download_state == "DOWNLOADED":
                return
            template = copy.template
            try:
                with write_tx():
                    _move(copy, "DownloadRequested", download_pct=0, status_text="Downloading")
            except (InvalidState, ConcurrentOperation):
                return
            # A template whose hypervisor has no driver here (an ISO's is "None") goes to the simulator's store.
            available = template.hypervisor in self._hypervisors()
            driver = self._driver_for(template.hypervisor if available else "Simulator")
            try:
                info = driver.download_template(copy.image_store.url if copy.image_store_id else "",
                                                copy.zone.uuid, template.uuid, template.url, template.format)
            except CloudError as exc:
                log.info("download of template %s to zone %s failed: %s", template.uuid, copy.zone.name,
                         exc.message)
                with write_tx():
                    _move(copy, "DownloadFailed", status_text=exc.message[:1000])
                return
            with write_tx():
                _move(copy, "DownloadSucceeded", download_pct=100, size=info.size, physical_size=info.physical_size,
                      install_path=info.install_path, status_text="Download Complete")

    def resume_downloads(self) -> None:
        """Start-up: restart the copies a previous process left undownloaded."""
        pending = (TemplateZone.select(TemplateZone.id)
                   .where(TemplateZone.removed.is_null(),
                          TemplateZone.download_state.in_(("NOT_DOWNLOADED", "DOWNLOAD_IN_PROGRESS"))))
        ids = [row.id for row in pending]
        if ids:
            with write_tx():
                # An in-progress copy of a dead process starts over.
                TemplateZone.update(download_state="NOT_DOWNLOADED").where(
                    TemplateZone.id.in_(ids), TemplateZone.download_state == "DOWNLOAD_IN_PROGRESS").execute()
        for copy_id in ids:
            self._schedule(copy_id)

    def wait_for_downloads(self, timeout: float | None = None) -> None:
        with self._lock:
            futures = list(self._futures)
        wait(futures, timeout=timeout)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # ----------------------------------------------------------------- use
    def get_ready_copy(self, template: Template, zone: Zone) -> TemplateZone:
        copy = TemplateZone.get_or_none(TemplateZone.template == template.id, TemplateZone.zone == zone.id,
                                        TemplateZone.removed.is_null())
        if copy is None:
            raise InvalidParameterValue(f"Template {template.uuid} is not available in zone {zone.name}")
        if copy.download_state != "DOWNLOADED":
            raise InvalidParameterValue(f"Template {template.uuid} is not ready in zone {zone.name}")
        return copy

    # ---------------------------------------------------------------- list
    def list(self, caller: Caller, *, is_iso: bool, filter: str, id=None, ids=None, name=None, zone=None,
             hypervisor=None, ready=None, bootable=None, is_public=None, keyword=None,
             account: Account | None = None, domain: Domain | None = None, page=None, pagesize=None):
        """One row per (template, zone) copy, as CloudStack's templatefilter/isofilter select them.
        ``ready``: only copies that finished downloading (False does not filter, as in CloudStack)."""
        wanted = (filter or "").lower()
        if wanted not in FILTERS:
            raise InvalidParameterValue(f"Invalid filter {filter}: use one of {', '.join(FILTERS)}")
        query = (TemplateZone.select(TemplateZone, Template)
                 .join(Template)
                 .where(TemplateZone.removed.is_null(), Template.removed.is_null(), Template.is_iso == is_iso))
        mine = Template.account == (account.id if account is not None else caller.account_id)
        public = Template.is_public == True  # noqa: E712
        featured = Template.is_featured == True  # noqa: E712
        downloaded = TemplateZone.download_state == "DOWNLOADED"
        if wanted == "featured":
            query = query.where(featured)
        elif wanted == "self":
            query = query.where(mine)
        elif wanted == "selfexecutable":
            query = query.where(mine, downloaded)
        elif wanted == "sharedexecutable":
            # Templates granted by launch permission: this cloud has no such grants, so none.
            query = query.where(Template.id == -1)
        elif wanted == "executable":
            query = query.where(mine | public | featured, downloaded)
        elif wanted == "community":
            query = query.where(public, ~featured, Template.account != caller.account_id)
        elif caller.is_root_admin:  # all
            pass
        elif caller.is_domain_admin:
            subtree = Domain.select(Domain.id).where(Domain.path.startswith(caller.domain_path))
            query = query.where(Template.domain.in_(subtree) | public | featured)
        else:
            query = query.where(mine | public | featured)
        if account is not None:
            self._accounts.check_access(caller, account.id, account.domain_id, entity="Account",
                                        uuid=account.uuid)
            query = query.where(Template.account == account.id)
        if not caller.is_admin:
            query = query.where(Template.template_type != "SYSTEM")
        if id is not None:
            query = query.where(Template.id == id.id)
            if not (caller.is_root_admin or id.is_public or id.is_featured or id.account_id == caller.account_id):
                self._accounts.check_access(caller, id.account_id, id.domain_id, entity=_entity(id),
                                            uuid=id.uuid)
        if domain is not None and account is None:
            self._accounts.check_domain_access(caller, domain)
            query = query.where(Template.domain == domain.id)
        if ids:
            query = query.where(Template.id.in_([t.id for t in ids]))
        if name:
            query = query.where(Template.name == name)
        if zone is not None:
            query = query.where(TemplateZone.zone == zone.id)
        if ready:
            query = query.where(downloaded)
        if bootable is not None:
            query = query.where(Template.bootable == bootable)
        if is_public is not None:
            query = query.where(Template.is_public == is_public)
        if hypervisor:
            query = query.where(Template.hypervisor == hypervisor)
        if keyword:
            query = query.where(Template.name.contains(keyword) | Template.display_text.contains(keyword))
        total, copies = page_of(query.order_by(Template.id, TemplateZone.zone), page, pagesize)
        # What a listing shows of each copy, loaded for the whole page at once (its template came with the join).
        prefetch.attach(copies, "zone", "image_store")
        prefetch.attach([copy.template for copy in copies], "os_type", "account", "domain")
        return total, copies

    # -------------------------------------------------------------- delete
    def check_deletable(self, caller: Caller, template: Template, zone: Zone | None = None) -> None:
        """Everything deleteTemplate checks before it is accepted as a job."""
        if template.removed is not None:
            raise InvalidParameterValue(f"Unable to find template with id {template.uuid}")
        self._accounts.check_access(caller, template.account_id, template.domain_id,
                                    entity=_entity(template), uuid=template.uuid,
                                    shared=template.is_public or template.is_featured)
        if template.template_type in ("BUILTIN", "SYSTEM") and not caller.is_root_admin:
            raise PermissionDenied(f"Only root admins can delete the built-in template {template.name}")
        if zone is not None and not TemplateZone.select().where(
                TemplateZone.template == template.id, TemplateZone.zone == zone.id,
                TemplateZone.removed.is_null()).exists():
            raise InvalidParameterValue(f"Template {template.uuid} has no copy in zone {zone.name}")
        holders = VirtualMachine.select().where(holding_shared_objects(), VirtualMachine.template == template.id)
        if zone is not None:
            holders = holders.where(VirtualMachine.zone == zone.id)
        refuse_while_held(f"Template {template.uuid}", holders, caller, self._accounts.can_see)

    def delete(self, caller: Caller, template: Template, zone: Zone | None = None) -> None:
        """Remove one zone's copy, or the template with all of its copies."""
        self.check_deletable(caller, template, zone)
        now = utcnow()
        with write_tx():
            copies = TemplateZone.update(removed=now, live=None).where(TemplateZone.template == template.id,
                                                                        TemplateZone.removed.is_null())
            if zone is not None:
                copies = copies.where(TemplateZone.zone == zone.id)
            copies.execute()
            remaining = TemplateZone.select().where(TemplateZone.template == template.id,
                                                    TemplateZone.removed.is_null()).exists()
            if not remaining:
                Template.update(removed=now, state="Inactive").where(Template.id == template.id).execute()
                if template.template_type == "USER" and self._limits.count(template.account, resources.TEMPLATE) > 0:
                    self._limits.release(template.account, {resources.TEMPLATE: 1})
            kind = "ISO" if template.is_iso else "TEMPLATE"
            self._events.record(caller, f"{kind}.DELETE", f"Deleted {kind.lower()} {template.name}", resource=template)


def _entity(template: Template) -> str:
    return "Iso" if template.is_iso else "Template"


def _image_store(zone: Zone) -> ImageStore | None:
    return (ImageStore.select().where(ImageStore.zone == zone.id, ImageStore.removed.is_null())
            .order_by(ImageStore.id).first())


def _move(copy: TemplateZone, event: str, **changes) -> None:
    fsm.transition(copy, fsm.TEMPLATE_DOWNLOAD, event, field="download_state", **changes)
