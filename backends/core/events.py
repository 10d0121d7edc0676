"""Events: what happened, to what, for whom (CloudStack's listEvents)."""
from __future__ import annotations

from backends.context import Caller
from backends.models import Event


class EventManager:
    def record(self, event_type: str, description: str, *, caller: Caller | None = None,
               account_id: int | None = None, domain_id: int | None = None,
               resource_type: str | None = None, resource_uuid: str | None = None,
               level: str = "INFO", state: str = "Completed") -> Event:
        """Write one event row; call inside the transaction that made the change."""
        # The bootstrap acts as a system caller with no rows behind it (ids 0).
        return Event.create(
            event_type=event_type, description=description, level=level, state=state,
            account=(account_id if account_id is not None else (caller.account_id if caller else None)) or None,
            domain=(domain_id if domain_id is not None else (caller.domain_id if caller else None)) or None,
            user=(caller.user_id if caller else None) or None,
            resource_type=resource_type, resource_uuid=resource_uuid,
        )

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
        total = query.count()
        query = query.order_by(Event.id.desc())
        if pagesize:
            query = query.paginate(page or 1, pagesize)
        return total, list(query)
