"""Launch templates: named, numbered versions of a launch specification, per account and region.

A version's data is a JSON document that the front door writes and reads (EC2's LaunchTemplateData);
this manager keeps it whole, bounds its size, and knows what versions are: numbered from 1 and never
renumbered (a deleted number is not given again), one of them the default, which cannot be deleted.
Names are unique per account and region. Another tenant's template is as unknown as a missing one
(the front doors look templates up through the cloud's lookups, which apply ``can_see``).
"""
from __future__ import annotations

import json

import peewee as pw

from backends.context import Caller
from backends.core.events import EventManager
from backends.core.kinds import KINDS
from backends.core.tags import TagManager
from backends.db import is_sqlite, write_tx
from backends.errors import InvalidParameterValue, NotFound
from backends.identity.access import AccessControl
from backends.models import Account, LaunchTemplate, LaunchTemplateVersion, ResourceTag

MAX_DATA = 256 * 1024  # characters of one version's document: room for 16 KiB of user data many times over
MAX_VERSIONS = 10000  # per template, as AWS's quota
TAG_TYPE = KINDS["LaunchTemplate"].tag_type


class LaunchTemplateNameTaken(InvalidParameterValue):
    """The account already has a launch template of that name in the region."""


class LaunchTemplateVersionMissing(NotFound):
    """The template has no version of that number."""


class LaunchTemplateManager:
    def __init__(self, events: EventManager, access: AccessControl, tags: TagManager):
        self.events = events
        self.access = access
        self.tags = tags

    # ------------------------------------------------------------------ create
    def create(self, caller: Caller, region: str, name: str, data: dict, *, description: str | None = None,
               tags: dict[str, str] | None = None,
               client_token: str | None = None) -> tuple[LaunchTemplate, LaunchTemplateVersion]:
        """A new template whose version 1 (its default) holds ``data``; ``tags`` on the template itself.
        A ``client_token`` used before by the account answers that request's template again (if it was the
        same request: else InvalidParameterValue naming the token)."""
        account = self.access.get_caller_account(caller)
        document = _document(data)
        taken = LaunchTemplateNameTaken(f"Launch template name {name} already in use.")
        try:
            with write_tx():
                earlier = LaunchTemplate.get_or_none(LaunchTemplate.account == account.id,
                                                     LaunchTemplate.client_token == client_token) \
                    if client_token else None
                if earlier is not None:
                    first = LaunchTemplateVersion.get_or_none(LaunchTemplateVersion.template == earlier.id,
                                                              LaunchTemplateVersion.number == 1)
                    if earlier.name != name or earlier.region != region or first is None or first.data != document:
                        raise _token_reused(client_token)
                    return earlier, first
                if LaunchTemplate.select().where(LaunchTemplate.account == account.id, LaunchTemplate.region == region,
                                                 LaunchTemplate.name == name).exists():
                    raise taken
                template = LaunchTemplate.create(name=name, region=region, account=account.id,
                                                 domain=account.domain_id, created_by=caller.username or "",
                                                 client_token=client_token)
                version = LaunchTemplateVersion.create(template=template.id, number=1, description=description,
                                                       data=document, created_by=caller.username or "")
                if tags:
                    self.tags.create(caller, TAG_TYPE, [template], tags)
                self.events.record(caller, "CREATE.LAUNCH.TEMPLATE", f"Created launch template {name}",
                                   resource=template)
        except pw.IntegrityError:
            raise taken from None
        return template, version

    def add_version(self, caller: Caller, template: LaunchTemplate, data: dict, *,
                    description: str | None = None, client_token: str | None = None) -> LaunchTemplateVersion:
        """The template's next version, holding ``data`` (the default stays as it was); a ``client_token``
        used before on the template answers that version again (if it was the same request)."""
        self._check(caller, template)
        document = _document(data)
        with write_tx():
            earlier = LaunchTemplateVersion.get_or_none(LaunchTemplateVersion.template == template.id,
                                                        LaunchTemplateVersion.client_token == client_token) \
                if client_token else None
            if earlier is not None:
                if earlier.data != document or earlier.description != description:
                    raise _token_reused(client_token)
                return earlier
            # Read again, locked, inside the transaction: two versions made at once get two numbers.
            current = _locked(template)
            if current is None:
                raise _gone(template)
            if LaunchTemplateVersion.select().where(LaunchTemplateVersion.template == template.id).count() \
                    >= MAX_VERSIONS:
                raise InvalidParameterValue(f"A launch template can have at most {MAX_VERSIONS} versions")
            number = current.next_version
            LaunchTemplate.update(next_version=number + 1).where(LaunchTemplate.id == template.id).execute()
            version = LaunchTemplateVersion.create(template=template.id, number=number, description=description,
                                                   data=document, created_by=caller.username or "",
                                                   client_token=client_token)
            self.events.record(caller, "CREATE.LAUNCH.TEMPLATE.VERSION",
                               f"Created version {number} of launch template {template.name}", resource=template)
        template.next_version = number + 1
        return version

    # ------------------------------------------------------------------ read
    def by_name(self, caller: Caller, region: str, name: str, *, owner: Account | None = None) -> LaunchTemplate | None:
        """The caller's (or ``owner``'s) template of that name in ``region``."""
        account = owner or self.access.get_caller_account(caller)
        return LaunchTemplate.get_or_none(LaunchTemplate.account == account.id, LaunchTemplate.region == region,
                                          LaunchTemplate.name == name)

    def list(self, caller: Caller, region: str, *, scope) -> list[LaunchTemplate]:
        """The templates ``scope`` shows in ``region``, oldest first."""
        query = scope.apply(LaunchTemplate.select(), LaunchTemplate).where(LaunchTemplate.region == region)
        return list(query.order_by(LaunchTemplate.id))

    def latest_numbers(self, templates) -> dict[int, int]:
        """Template row id -> its highest version number, for a whole listing in one query."""
        ids = [t.id for t in templates]
        if not ids:
            return {}
        query = (LaunchTemplateVersion.select(LaunchTemplateVersion.template, pw.fn.MAX(LaunchTemplateVersion.number))
                 .where(LaunchTemplateVersion.template.in_(ids)).group_by(LaunchTemplateVersion.template).tuples())
        return dict(query)

    def versions(self, template: LaunchTemplate, *, numbers: list[int] | None = None, low: int | None = None,
                 high: int | None = None) -> list[LaunchTemplateVersion]:
        """The template's versions (those ``numbers``, or from ``low`` to ``high``), by number."""
        query = LaunchTemplateVersion.select().where(LaunchTemplateVersion.template == template.id)
        if numbers is not None:
            query = query.where(LaunchTemplateVersion.number.in_(numbers))
        if low is not None:
            query = query.where(LaunchTemplateVersion.number >= low)
        if high is not None:
            query = query.where(LaunchTemplateVersion.number <= high)
        return list(query.order_by(LaunchTemplateVersion.number))

    def version(self, template: LaunchTemplate, which: int | str) -> LaunchTemplateVersion:
        """Version ``which`` of the template: a number, "latest" or "default";
        LaunchTemplateVersionMissing when there is none."""
        query = LaunchTemplateVersion.select().where(LaunchTemplateVersion.template == template.id)
        if which == "latest":
            found = query.order_by(LaunchTemplateVersion.number.desc()).first()
        else:
            number = template.default_version if which == "default" else which
            found = query.where(LaunchTemplateVersion.number == number).first()
        if found is None:
            raise LaunchTemplateVersionMissing(f"Launch template {template.uuid} has no version {which}",
                                               entity="LaunchTemplate", value=template.uuid)
        return found

    @staticmethod
    def data_of(version: LaunchTemplateVersion) -> dict:
        return json.loads(version.data)

    # ------------------------------------------------------------------ change
    def set_default(self, caller: Caller, template: LaunchTemplate, number: int) -> LaunchTemplate:
        self._check(caller, template)
        with write_tx():
            if _locked(template) is None:
                raise _gone(template)
            self.version(template, number)  # not deleted meanwhile: deleting versions locks the template first
            LaunchTemplate.update(default_version=number).where(LaunchTemplate.id == template.id).execute()
            self.events.record(caller, "UPDATE.LAUNCH.TEMPLATE",
                               f"Version {number} is the default of launch template {template.name}",
                               resource=template)
        template.default_version = number
        return template

    def delete(self, caller: Caller, template: LaunchTemplate) -> None:
        """The template, its versions and its tags, for good."""
        self._check(caller, template)
        with write_tx():
            if _locked(template) is None:  # a version being added meanwhile finishes first
                raise _gone(template)
            LaunchTemplateVersion.delete().where(LaunchTemplateVersion.template == template.id).execute()
            LaunchTemplate.delete().where(LaunchTemplate.id == template.id).execute()
            ResourceTag.delete().where(ResourceTag.resource_type == TAG_TYPE,
                                       ResourceTag.resource_uuid == template.uuid).execute()
            self.events.record(caller, "DELETE.LAUNCH.TEMPLATE", f"Deleted launch template {template.name}",
                               resource=template)

    def delete_versions(self, caller: Caller, template: LaunchTemplate,
                        numbers: list[int]) -> tuple[list[int], dict[int, str]]:
        """Delete these versions, each on its own: (the numbers deleted, number -> why not: "default" or
        "missing")."""
        self._check(caller, template)
        deleted, refused = [], {}
        with write_tx():
            current = _locked(template)  # the default cannot change under the check
            if current is None:
                raise _gone(template)
            present = {v.number for v in self.versions(template, numbers=list(set(numbers)))}
            for number in dict.fromkeys(numbers):
                if number == current.default_version:
                    refused[number] = "default"
                elif number not in present:
                    refused[number] = "missing"
                else:
                    deleted.append(number)
            if deleted:
                LaunchTemplateVersion.delete().where(LaunchTemplateVersion.template == template.id,
                                                     LaunchTemplateVersion.number.in_(deleted)).execute()
                self.events.record(caller, "DELETE.LAUNCH.TEMPLATE.VERSION",
                                   f"Deleted {len(deleted)} version(s) of launch template {template.name}",
                                   resource=template)
        return deleted, refused

    def _check(self, caller: Caller, template: LaunchTemplate) -> None:
        self.access.check_access(caller, template.account_id, template.domain_id, entity="LaunchTemplate",
                                 uuid=template.uuid)


def _document(data: dict) -> str:
    """The version's data as stored; InvalidParameterValue past MAX_DATA."""
    text = json.dumps(data, separators=(",", ":"), sort_keys=True)
    if len(text) > MAX_DATA:
        raise InvalidParameterValue(f"The launch template data is {len(text)} characters long; at most {MAX_DATA} "
                                    "are accepted")
    return text


def _locked(template: LaunchTemplate) -> LaunchTemplate | None:
    """The template's row as committed now, locked until the transaction ends (MariaDB; SQLite's writers are
    serialised already)."""
    query = LaunchTemplate.select().where(LaunchTemplate.id == template.id)
    return (query if is_sqlite() else query.for_update()).first()


def _token_reused(token: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Client token {token} was used by another request with other arguments",
                                 param="clienttoken")


def _gone(template: LaunchTemplate) -> NotFound:
    return NotFound("Unable to find the launch template", entity="LaunchTemplate", value=template.uuid)
