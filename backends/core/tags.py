"""Resource tags: key/value labels on the kinds that take them (kinds.TAGGABLE), shared by both APIs.

A tag names its resource by kind and uuid and carries the owner's account, so
"which of my resources have Name=web" is one indexed query.
"""
from __future__ import annotations

import functools
import operator
from collections import defaultdict
from typing import Protocol

from backends.context import Caller
from backends.core.events import EventManager
from backends.core.kinds import TAGGABLE
from backends.db import page_of, write_tx
from backends.errors import InvalidParameterValue
from backends.models import ResourceTag

MAX_TAGS = 50


class Access(Protocol):
    """Who may know of and act on what: identity's rules, which lie above this area (handed in at wiring)."""

    def can_see(self, caller: Caller, row) -> bool: ...

    def check_access(self, caller: Caller, account_id: int | None, domain_id: int | None, *, entity: str,
                     uuid: str = "", shared: bool = False) -> None: ...


class TagManager:
    def __init__(self, events: EventManager, access: Access):
        self.events = events
        self.access = access

    def _check(self, caller: Caller, kind: str, row) -> None:
        if kind not in TAGGABLE:
            raise InvalidParameterValue(f"Resource type {kind} does not support tags; use one of "
                                        f"{', '.join(TAGGABLE)}")
        if getattr(row, "removed", None) is not None:  # kinds deleted for good (launch templates) have none
            raise InvalidParameterValue(f"Unable to find resource by id {row.uuid}")
        # A public image is no secret: tagging another's is refused as such, not as a missing one.
        resource = TAGGABLE[kind]
        shared = resource.shareable and self.access.can_see(caller, row)
        self.access.check_access(caller, row.account_id, row.domain_id, entity=resource.entity, uuid=row.uuid,
                                 shared=shared)

    def create(self, caller: Caller, kind: str, rows: list, tags: dict[str, str], *,
               system: dict[str, str] | None = None) -> None:
        """Set ``tags`` on each resource (an existing key gets the new value). ``system``: tags the cloud
        itself sets (``aws:`` keys, which no caller may set or count against the limit)."""
        if not tags and not system:
            raise InvalidParameterValue("At least one tag is required")
        for key, value in tags.items():
            if not key or len(key) > 128 or key.lower().startswith("aws:") or len(value or "") > 256:
                raise InvalidParameterValue(f"Invalid tag key or value: {key!r}")
        for row in rows:
            self._check(caller, kind, row)
        with write_tx():
            for row in rows:
                existing = {t.key: t for t in ResourceTag.select().where(
                    ResourceTag.resource_type == kind, ResourceTag.resource_uuid == row.uuid)}
                if len({k for k in set(existing) | set(tags) if not k.lower().startswith("aws:")}) > MAX_TAGS:
                    raise InvalidParameterValue(f"A resource can have at most {MAX_TAGS} tags")
                for key, value in {**tags, **(system or {})}.items():
                    if key in existing:
                        ResourceTag.update(value=value or "").where(ResourceTag.id == existing[key].id).execute()
                    else:
                        ResourceTag.create(resource_type=kind, resource_uuid=row.uuid, key=key, value=value or "",
                                           account=row.account_id, domain=row.domain_id)
            self.events.record(caller, "CREATE_TAGS", f"Tagged {len(rows)} {kind} resource(s)", resource_type=kind)

    def delete(self, caller: Caller, kind: str, rows: list, tags: dict[str, str | None] | None = None) -> None:
        """Remove the given keys (only where the value matches, when one is given); no tags = all the
        caller's (the cloud's own ``aws:`` tags stay: no caller may remove them)."""
        for key in tags or {}:
            if key.lower().startswith("aws:"):
                raise InvalidParameterValue("Tag keys starting with 'aws:' are reserved for internal use")
        for row in rows:
            self._check(caller, kind, row)
        with write_tx():
            for row in rows:
                query = ResourceTag.delete().where(ResourceTag.resource_type == kind,
                                                   ResourceTag.resource_uuid == row.uuid)
                if not tags:
                    query.where(~ResourceTag.key.startswith("aws:")).execute()
                    continue
                for key, value in tags.items():
                    one = query.where(ResourceTag.key == key)
                    if value is not None:
                        one = one.where(ResourceTag.value == value)
                    one.execute()
            self.events.record(caller, "DELETE_TAGS", f"Removed tags from {len(rows)} {kind} resource(s)",
                               resource_type=kind)

    def list(self, caller: Caller, *, scope, kind=None, resource_uuid=None, key=None, value=None, customer=None,
             keyword=None, page=None, pagesize=None):
        """``customer``: no tag records one (createTags does not keep it), so asking for one finds none."""
        query = scope.apply(ResourceTag.select(), ResourceTag)
        if customer:
            query = query.where(ResourceTag.id == -1)
        if kind:
            query = query.where(ResourceTag.resource_type == kind)
        if resource_uuid:
            query = query.where(ResourceTag.resource_uuid == resource_uuid)
        if key is not None:
            query = query.where(ResourceTag.key == key)
        if value is not None:
            query = query.where(ResourceTag.value == value)
        if keyword:
            query = query.where(ResourceTag.key.contains(keyword) | ResourceTag.value.contains(keyword))
        return page_of(query.order_by(ResourceTag.id), page, pagesize)

    @staticmethod
    def where_tagged(query, kind: str, uuid_column, tags: dict[str, list[str]] | None):
        """Narrow ``query`` to resources of ``kind`` that carry every key of ``tags``, each with one of
        its listed values (any value when the list is empty)."""
        for key, values in (tags or {}).items():
            tagged = ResourceTag.select(ResourceTag.resource_uuid).where(ResourceTag.resource_type == kind,
                                                                         ResourceTag.key == key)
            if values:
                tagged = tagged.where(ResourceTag.value.in_(list(values)))
            query = query.where(uuid_column.in_(tagged))
        return query

    @staticmethod
    def where_tagged_any(query, kind: str, uuid_column, pairs: dict[str, str] | None):
        """Narrow ``query`` to resources of ``kind`` carrying at least one of these ``key=value`` pairs:
        CloudStack's ``tags[i].key/value`` filter (its conditions are OR-ed)."""
        if not pairs:
            return query
        match = functools.reduce(operator.or_, [(ResourceTag.key == key) & (ResourceTag.value == value)
                                                for key, value in pairs.items()])
        tagged = ResourceTag.select(ResourceTag.resource_uuid).where(ResourceTag.resource_type == kind, match)
        return query.where(uuid_column.in_(tagged))

    def tags_of(self, kind: str, uuids) -> dict[str, list[ResourceTag]]:
        """uuid -> its tags, for a whole page of resources in one query."""
        found = defaultdict(list)
        uuids = list(uuids)
        if uuids:
            for tag in ResourceTag.select().where(ResourceTag.resource_type == kind,
                                                  ResourceTag.resource_uuid.in_(uuids)).order_by(ResourceTag.key):
                found[tag.resource_uuid].append(tag)
        return found

    def tagged(self, caller: Caller, kind: str, key: str, values: list[str] | None = None) -> set[str]:
        """uuids of the caller's resources of ``kind`` carrying ``key`` (with one of ``values``)."""
        query = (ResourceTag.select(ResourceTag.resource_uuid)
                 .where(ResourceTag.account == caller.account_id, ResourceTag.resource_type == kind,
                        ResourceTag.key == key))
        if values:
            query = query.where(ResourceTag.value.in_(values))
        return {t.resource_uuid for t in query}

    def forget(self, kind: str, uuid: str) -> None:
        """The resource is gone for good: so are its tags."""
        ResourceTag.delete().where(ResourceTag.resource_type == kind, ResourceTag.resource_uuid == uuid).execute()
