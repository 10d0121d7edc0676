"""State machines as transition tables, persisted with optimistic locking.

A transition is a conditional UPDATE on (id, state, update_count): when the
row moved since we read it, nothing is updated and the caller gets
ConcurrentOperation instead of silently overwriting someone else's work.
"""
from __future__ import annotations

from typing import Mapping

from backends.db import database, dialect
from backends.errors import ConcurrentOperation, InvalidState
from backends.models import utcnow

Table = Mapping[str, Mapping[str, str]]  # state -> event -> next state

VM = {
    "Stopped": {
        "StartRequested": "Starting", "DestroyRequested": "Destroyed", "StopRequested": "Stopped",
        "AgentReportStopped": "Stopped", "OperationFailedToError": "Error", "OperationFailed": "Stopped",
        "ExpungeOperation": "Expunging", "AgentReportShutdowned": "Stopped",
        "StorageMigrationRequested": "Migrating", "FollowAgentPowerOnReport": "Running",
        "FollowAgentPowerOffReport": "Stopped",
    },
    "Starting": {
        "OperationRetry": "Starting", "OperationSucceeded": "Running", "OperationFailed": "Stopped",
        "AgentReportRunning": "Running", "AgentReportStopped": "Stopped",
        "AgentReportShutdowned": "Stopped", "FollowAgentPowerOnReport": "Running",
        "FollowAgentPowerOffReport": "Stopped",
    },
    "Running": {
        "MigrationRequested": "Migrating", "StopRequested": "Stopping", "AgentReportRunning": "Running",
        "AgentReportMigrated": "Running", "OperationSucceeded": "Running",
        "AgentReportStopped": "Stopped", "AgentReportShutdowned": "Stopped",
        "FollowAgentPowerOnReport": "Running", "FollowAgentPowerOffReport": "Stopped",
    },
    "Stopping": {
        "OperationSucceeded": "Stopped", "OperationFailed": "Running", "AgentReportRunning": "Running",
        "AgentReportStopped": "Stopped", "StopRequested": "Stopping", "AgentReportShutdowned": "Stopped",
        "FollowAgentPowerOnReport": "Running", "FollowAgentPowerOffReport": "Stopped",
    },
    "Migrating": {
        "MigrationRequested": "Migrating", "OperationSucceeded": "Running", "OperationFailed": "Running",
        "AgentReportRunning": "Running", "AgentReportStopped": "Stopped",
        "AgentReportShutdowned": "Stopped", "FollowAgentPowerOnReport": "Running",
        "FollowAgentPowerOffReport": "Stopped",
    },
    "Destroyed": {"RecoveryRequested": "Stopped", "ExpungeOperation": "Expunging"},
    "Expunging": {"OperationFailed": "Expunging", "ExpungeOperation": "Expunging"},
    "Error": {"DestroyRequested": "Expunging", "ExpungeOperation": "Expunging"},
}
VM_TRANSITIONAL = ("Starting", "Stopping", "Migrating", "Expunging")
# States in which a VM is on a host and holds CPU and memory there (capacity counts them).
VM_HOLDING_HOST = ("Starting", "Running", "Stopping", "Migrating")

# CloudStack's volume machine (backend.md section 1.3), plus Detaching: CloudStack detaches without a state of
# its own; here a detach holds the volume in Detaching so that a concurrent attach, resize or delete of it
# fails with ConcurrentOperation/InvalidState instead of interleaving with the hypervisor call.
VOLUME = {
    "Allocated": {
        "CreateRequested": "Creating", "DestroyRequested": "Destroy", "OperationFailed": "Allocated",
        "OperationSucceeded": "Allocated", "UploadRequested": "UploadOp", "MigrationCopyRequested": "Creating",
    },
    "Creating": {
        "OperationRetry": "Creating", "CreateRequested": "Creating", "OperationFailed": "Allocated",
        "OperationSucceeded": "Ready", "DestroyRequested": "Destroy", "MigrationCopyFailed": "Allocated",
        "MigrationCopySucceeded": "Ready",
    },
    "Ready": {
        "CreateRequested": "Creating", "ResizeRequested": "Resizing", "SnapshotRequested": "Snapshotting",
        "RevertSnapshotRequested": "RevertSnapshotting", "MigrationRequested": "Migrating",
        "AttachRequested": "Attaching", "DetachRequested": "Detaching", "DestroyRequested": "Destroy",
        "OperationSucceeded": "Ready", "OperationFailed": "Ready",
    },
    "Resizing": {"OperationSucceeded": "Ready", "OperationFailed": "Ready"},
    "Snapshotting": {"OperationSucceeded": "Ready", "OperationFailed": "Ready"},
    "RevertSnapshotting": {"OperationSucceeded": "Ready", "OperationFailed": "Ready"},
    "Migrating": {"OperationSucceeded": "Ready", "OperationFailed": "Ready"},
    "Attaching": {"OperationSucceeded": "Ready", "OperationFailed": "Ready"},
    "Detaching": {"OperationSucceeded": "Ready", "OperationFailed": "Ready"},
    "Destroy": {
        "ExpungingRequested": "Expunging", "RecoverRequested": "Ready", "OperationRetryFromError": "Allocated",
        "OperationSucceeded": "Destroy", "OperationFailed": "Destroy",
    },
    "Expunging": {"ExpungingRequested": "Expunging", "OperationSucceeded": "Expunged", "OperationFailed": "Destroy"},
    "Expunged": {"ExpungingRequested": "Expunged", "OperationSucceeded": "Expunged", "OperationFailed": "Expunged"},
    "UploadOp": {"OperationSucceeded": "Uploaded", "OperationFailed": "Allocated", "DestroyRequested": "Destroy"},
    "Uploaded": {"CopyRequested": "Copying", "DestroyRequested": "Destroy"},
    "Copying": {"OperationSucceeded": "Ready", "OperationFailed": "Uploaded"},
    "NotUploaded": {
        "UploadRequested": "UploadInProgress", "OperationSucceeded": "Uploaded", "OperationFailed": "UploadError",
        "OperationTimeout": "UploadAbandoned",
    },
    "UploadInProgress": {
        "OperationSucceeded": "Uploaded", "OperationFailed": "UploadError", "OperationTimeout": "UploadError",
    },
    "UploadError": {"DestroyRequested": "Destroy"},
    "UploadAbandoned": {"DestroyRequested": "Destroy"},
}
# Volume states in which a data volume may be attached, and deleted when detached.
VOLUME_ATTACHABLE = ("Allocated", "Ready", "Uploaded")
VOLUME_DELETABLE = ("Allocated", "Ready", "Uploaded", "UploadError", "UploadAbandoned")

HOST_STATUS = {
    "Creating": {"AgentConnected": "Connecting", "Error": "Error"},
    "Connecting": {
        "AgentConnected": "Connecting", "Ready": "Up", "Ping": "Connecting", "PingTimeout": "Alert",
        "AgentDisconnected": "Alert", "ShutdownRequested": "Disconnected",
        "ManagementServerDown": "Disconnected", "HostDown": "Down",
    },
    "Up": {
        "Ping": "Up", "PingTimeout": "Disconnected", "AgentDisconnected": "Disconnected",
        "ShutdownRequested": "Disconnected", "ManagementServerDown": "Disconnected", "HostDown": "Down",
        "AgentConnected": "Connecting", "Remove": "Removed",
    },
    "Disconnected": {
        "Ping": "Up", "AgentConnected": "Connecting", "PingTimeout": "Disconnected",
        "WaitedTooLong": "Alert", "HostDown": "Down", "ShutdownRequested": "Disconnected",
        "ManagementServerDown": "Disconnected", "AgentDisconnected": "Disconnected", "Remove": "Removed",
    },
    "Alert": {
        "Ping": "Up", "AgentConnected": "Connecting", "HostDown": "Down", "ShutdownRequested": "Disconnected",
        "ManagementServerDown": "Alert", "AgentDisconnected": "Alert", "Remove": "Removed",
    },
    "Down": {
        "AgentConnected": "Connecting", "Ping": "Up", "Remove": "Removed", "ManagementServerDown": "Down",
        "AgentDisconnected": "Down", "PingTimeout": "Down", "HostDown": "Down",
    },
    "Error": {"AgentConnected": "Connecting"},
}

HOST_RESOURCE = {
    "Creating": {"InternalCreated": "Enabled"},
    "Enabled": {
        "Disable": "Disabled", "AdminAskMaintenance": "PrepareForMaintenance",
        "InternalEnterMaintenance": "Maintenance", "InternalCreated": "Enabled", "Enable": "Enabled",
    },
    "Disabled": {"Enable": "Enabled", "Disable": "Disabled", "InternalCreated": "Disabled",
                 "AdminAskMaintenance": "PrepareForMaintenance"},
    "PrepareForMaintenance": {
        "InternalEnterMaintenance": "Maintenance", "AdminCancelMaintenance": "Enabled",
        "UnableToMigrate": "ErrorInPrepareForMaintenance", "UnableToMaintain": "ErrorInMaintenance",
        "InternalCreated": "PrepareForMaintenance",
    },
    "ErrorInPrepareForMaintenance": {
        "ErrorsCorrected": "PrepareForMaintenance", "InternalEnterMaintenance": "Maintenance",
        "AdminCancelMaintenance": "Enabled", "Disable": "Disabled",
    },
    "Maintenance": {"AdminCancelMaintenance": "Enabled", "InternalCreated": "Maintenance"},
    "ErrorInMaintenance": {
        "AdminAskMaintenance": "PrepareForMaintenance", "AdminCancelMaintenance": "Enabled",
        "Disable": "Disabled",
    },
}

TEMPLATE_DOWNLOAD = {
    "NOT_DOWNLOADED": {"DownloadRequested": "DOWNLOAD_IN_PROGRESS"},
    "DOWNLOAD_IN_PROGRESS": {
        "DownloadSucceeded": "DOWNLOADED", "DownloadFailed": "DOWNLOAD_ERROR",
        "DownloadRequested": "DOWNLOAD_IN_PROGRESS",
    },
    "DOWNLOAD_ERROR": {"DownloadRequested": "DOWNLOAD_IN_PROGRESS"},
    "DOWNLOADED": {},
}

JOB = {0: {"Succeeded": 1, "Failed": 2}, 1: {}, 2: {}}


def next_state(table: Table, state, event: str):
    try:
        return table[state][event]
    except KeyError:
        raise InvalidState(f"cannot {event} from state {state}") from None


_UPDATES: dict = {}


def _update_sql(model, names: tuple[str, ...], has_counter: bool) -> str:
    """The conditional UPDATE of a transition, built once per model, database and column set (transitions
    run several times per operation; peewee's generic SQL building costs more than the update)."""
    db = database.obj
    key = (dialect(db), model, names, has_counter)
    sql = _UPDATES.get(key)
    if sql is None:
        left, right = db.quote
        fields = model._meta.fields

        def column(name: str) -> str:
            return f"{left}{fields[name].column_name}{right}"

        sets = [f"{column(n)} = {db.param}" for n in names]
        where = [f"{left}{model._meta.primary_key.column_name}{right} = {db.param}", f"{column(names[0])} = {db.param}"]
        if has_counter:
            sets.append(f"{column('update_count')} = {column('update_count')} + 1")
            where.append(f"{column('update_count')} = {db.param}")
        sql = _UPDATES[key] = (f"UPDATE {left}{model._meta.table_name}{right} SET {', '.join(sets)} "
                               f"WHERE {' AND '.join(where)}")
    return sql


def transition(obj, table: Table, event: str, *, field: str = "state", **changes):
    """Move ``obj`` along ``table`` by ``event``; persist with a conditional UPDATE.

    Extra ``changes`` (column=value) are written in the same statement. On
    success the instance is updated in place and the new state returned.
    """
    model = type(obj)
    current = getattr(obj, field)
    new = next_state(table, current, event)
    fields = model._meta.fields
    has_counter = "update_count" in fields
    if "state_changed" in fields and new != current:
        changes["state_changed"] = utcnow()
    names = (field, *changes)
    params = [fields[field].db_value(new), *(fields[k].db_value(v) for k, v in changes.items()),
              obj.get_id(), fields[field].db_value(current)]
    if has_counter:
        params.append(obj.update_count)
    updated = database.obj.execute_sql(_update_sql(model, names, has_counter), params).rowcount
    if updated != 1:
        raise ConcurrentOperation(
            f"{model.__name__} {getattr(obj, 'uuid', obj.get_id())} was changed by another operation "
            f"(expected {field}={current})")
    setattr(obj, field, new)
    for key, value in changes.items():
        setattr(obj, key, value)
    if has_counter:
        obj.update_count += 1
    return new


def transition_many(objs: list, table: Table, event: str, *, field: str = "state", **changes) -> None:
    """:func:`transition` of each of ``objs`` (rows of one model) by the same ``event`` with the same ``changes``,
    one conditional UPDATE per group of rows alike (state and update count) and few hundred: a launch moves
    hundreds of VMs at once. All or none: when any row was changed meanwhile, ConcurrentOperation (the caller's
    transaction undoes the others) and no instance is touched."""
    if not objs:
        return
    model = type(objs[0])
    fields = model._meta.fields
    has_counter = "update_count" in fields
    groups: dict[tuple, list] = {}
    for obj in objs:
        groups.setdefault((getattr(obj, field), obj.update_count if has_counter else None), []).append(obj)
    now = utcnow()
    db = database.obj
    left, right = db.quote
    pk = f"{left}{model._meta.primary_key.column_name}{right}"
    moved = []
    for (current, count), members in groups.items():
        new = next_state(table, current, event)
        values = dict(changes)
        if "state_changed" in fields and new != current:
            values["state_changed"] = now
        names = (field, *values)
        sql = _update_sql(model, names, has_counter)
        for start in range(0, len(members), 500):
            part = members[start:start + 500]
            # The one-row statement's "id = ?" becomes "id IN (?, ...)" for the part.
            many = sql.replace(f"{pk} = {db.param}", f"{pk} IN ({', '.join([db.param] * len(part))})", 1)
            params = [fields[field].db_value(new), *(fields[k].db_value(v) for k, v in values.items()),
                      *(obj.get_id() for obj in part), fields[field].db_value(current)]
            if has_counter:
                params.append(count)
            if db.execute_sql(many, params).rowcount != len(part):
                raise ConcurrentOperation(f"{model.__name__} rows were changed by another operation "
                                          f"(expected {field}={current})")
        moved.append((members, new, values))
    for members, new, values in moved:
        for obj in members:
            setattr(obj, field, new)
            for key, value in values.items():
                setattr(obj, key, value)
            if has_counter:
                obj.update_count += 1
