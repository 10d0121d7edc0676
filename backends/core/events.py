"""Events: what happened, to what, for whom (CloudStack's listEvents)."""
from __future__ import annotations

from peewee import Model

from backends.context import Caller
from backends.core.kinds import entity_of
from backends.db import page_of
from backends.models import Account, Event


class EventManager:
    def record(self, caller: Caller | None, event_type: str, description: str, *, resource: Model | None = None,
               owner: Account | Caller | Model | None = None, resource_type: str | None = None,
               resource_uuid: str | None = None, level: str = "INFO", state: str = "Completed") -> Event:
        """Write one event row; call inside the transaction that made the change.

        ``resource``: the row the event is about (its kind and uuid are recorded). The event is
        its owner's when it has one (a VM, a template, a key pair...), so listEvents shows it to
        them; otherwise the caller's. ``owner`` (an account, a caller, an owned row) says whose it
        is instead. ``resource_type``/``resource_uuid`` name what has no row at hand."""
        if owner is None and resource is not None and "account" in resource._meta.fields:
            owner = resource
        if isinstance(owner, Account):
            account_id, domain_id = owner.id, owner.domain_id
        elif owner is not None:
            account_id, domain_id = owner.account_id, owner.domain_id
        else:
            account_id = domain_id = None
        if resource is not None:
            resource_type, resource_uuid = entity_of(resource), resource.uuid
        # The bootstrap acts as a system caller with no rows behind it (ids 0).
        return Event.create(
            event_type=event_type, description=description, level=level, state=state,
            account=(account_id if account_id is not None else (caller.account_id if caller else None)) or None,
            domain=(domain_id if domain_id is not None else (caller.domain_id if caller else None)) or None,
            user=(caller.user_id if caller else None) or None,
            resource_type=resource_type, resource_uuid=resource_uuid,
        )

    def record_many(self, caller: Caller | None, event_type: str, items: list[tuple[str, Model]]) -> None:
        """:meth:`record` of ``(description, resource)`` for each item (owned rows: each event its owner's), in
        one statement per hundred."""
        rows = []
        for description, resource in items:
            rows.append(dict(event_type=event_type, description=description, level="INFO", state="Completed",
                             account=resource.account_id, domain=resource.domain_id,
                             user=(caller.user_id if caller else None) or None,
                             resource_type=entity_of(resource), resource_uuid=resource.uuid))
        Event.insert_rows(rows)

    def list(self, *, scope, id=None, event_type=None, level=None, start=None, end=None, resource_uuid=None,
             resource_type=None, keyword=None, page=None, pagesize=None):
        query = scope.apply(Event.select(), Event)
        if id is not None:
            query = query.where(Event.id == id.id)
        if event_type:
            query = query.where(Event.event_type == event_type)
        if level:
            query = query.where(Event.level == level.upper())
        if start is not None:
            query = query.where(Event.created >= start)
        if end is not None:
            query = query.where(Event.created <= end)
        if resource_uuid:
            query = query.where(Event.resource_uuid == resource_uuid)
        if resource_type:
            query = query.where(Event.resource_type == resource_type)
        if keyword:
            query = query.where(Event.event_type.contains(keyword) | Event.description.contains(keyword))
        return page_of(query.order_by(Event.id.desc()), page, pagesize)
