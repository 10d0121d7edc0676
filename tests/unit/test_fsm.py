"""State machines: legal moves persist, illegal ones are refused, stale writers lose."""
from __future__ import annotations

import pytest

from backends.core import fsm
from backends.errors import ConcurrentOperation, InvalidState
from backends.models import Domain


def test_vm_table_covers_the_lifecycle():
    path = [("Stopped", "StartRequested", "Starting"), ("Starting", "OperationSucceeded", "Running"),
            ("Running", "StopRequested", "Stopping"), ("Stopping", "OperationSucceeded", "Stopped"),
            ("Stopped", "DestroyRequested", "Destroyed"), ("Destroyed", "RecoveryRequested", "Stopped"),
            ("Stopped", "ExpungeOperation", "Expunging")]
    for state, event, expected in path:
        assert fsm.next_state(fsm.VM, state, event) == expected


@pytest.mark.parametrize("state, event", [("Running", "StartRequested"), ("Destroyed", "StartRequested"),
                                          ("Expunging", "RecoveryRequested"), ("Stopped", "MigrationRequested")])
def test_illegal_vm_moves_are_refused(state, event):
    with pytest.raises(InvalidState):
        fsm.next_state(fsm.VM, state, event)


def test_volume_table_has_cloudstacks_states_and_paths():
    states = {"Allocated", "Creating", "Ready", "Migrating", "Snapshotting", "RevertSnapshotting", "Resizing",
              "Expunging", "Expunged", "Destroy", "UploadOp", "Copying", "Uploaded", "NotUploaded",
              "UploadInProgress", "UploadError", "UploadAbandoned", "Attaching"}
    assert states <= set(fsm.VOLUME) and set(fsm.VOLUME) - states == {"Detaching"}
    targets = {to for moves in fsm.VOLUME.values() for to in moves.values()}
    assert targets <= set(fsm.VOLUME)  # no move leads out of the table
    path = [("Allocated", "CreateRequested", "Creating"), ("Creating", "OperationFailed", "Allocated"),
            ("Allocated", "CreateRequested", "Creating"), ("Creating", "OperationSucceeded", "Ready"),
            ("Ready", "AttachRequested", "Attaching"), ("Attaching", "OperationSucceeded", "Ready"),
            ("Ready", "DetachRequested", "Detaching"), ("Detaching", "OperationSucceeded", "Ready"),
            ("Ready", "ResizeRequested", "Resizing"), ("Resizing", "OperationFailed", "Ready"),
            ("Ready", "DestroyRequested", "Destroy"), ("Destroy", "ExpungingRequested", "Expunging"),
            ("Expunging", "OperationSucceeded", "Expunged")]
    for state, event, expected in path:
        assert fsm.next_state(fsm.VOLUME, state, event) == expected


@pytest.mark.parametrize("state, event", [("Allocated", "AttachRequested"), ("Attaching", "DetachRequested"),
                                          ("Detaching", "ResizeRequested"), ("Expunged", "RecoverRequested")])
def test_illegal_volume_moves_are_refused(state, event):
    with pytest.raises(InvalidState):
        fsm.next_state(fsm.VOLUME, state, event)


def _host(db, count: int = 1):
    # Any model with state + update_count works; Host needs a zone tree, so build the minimum.
    from backends.models import Cluster, Host, Pod, Region, Zone

    region = Region.create(name="r", region_number=1)
    zone = Zone.create(name="z", region=region)
    pod = Pod.create(name="p", zone=zone)
    cluster = Cluster.create(name="c", pod=pod, zone=zone, hypervisor="Simulator")
    hosts = [Host.create(name=f"h{k}", zone=zone, pod=pod, cluster=cluster, hypervisor="Simulator",
                         url=f"sim://h{k}", guid=f"g{k}", cpu_cores=4, cpu_speed=1000, memory_bytes=1 << 30)
             for k in range(count)]
    return hosts[0] if count == 1 else hosts


def test_transition_persists_state_and_counter(db):
    host = _host(db)
    assert fsm.transition(host, fsm.HOST_STATUS, "PingTimeout", field="status") == "Disconnected"
    from backends.models import Host

    fresh = Host.get_by_id(host.id)
    assert fresh.status == "Disconnected" and fresh.update_count == 1


def test_stale_writer_fails_instead_of_overwriting(db):
    from backends.models import Host

    host = _host(db)
    stale = Host.get_by_id(host.id)
    fsm.transition(host, fsm.HOST_STATUS, "PingTimeout", field="status")
    with pytest.raises(ConcurrentOperation):
        fsm.transition(stale, fsm.HOST_STATUS, "HostDown", field="status")
    assert Host.get_by_id(host.id).status == "Disconnected"


def test_models_without_counter_still_check_state(db):
    # Domain has a state but no update_count: the conditional UPDATE is on the state alone.
    table = {"Active": {"Disable": "Inactive"}, "Inactive": {"Enable": "Active"}}
    domain = Domain.create(name="ROOT", path="/")
    stale = Domain.get_by_id(domain.id)
    assert fsm.transition(domain, table, "Disable") == "Inactive"
    assert Domain.get_by_id(domain.id).state == "Inactive"
    with pytest.raises(ConcurrentOperation):  # it still believes the domain is Active
        fsm.transition(stale, table, "Disable")
    with pytest.raises(InvalidState):
        fsm.transition(domain, table, "Disable")
    assert Domain.get_by_id(domain.id).state == "Inactive"


def test_transition_many_moves_every_row_with_its_own_counter(db):
    from backends.models import Host

    hosts = _host(db, 4)
    fsm.transition(hosts[0], fsm.HOST_STATUS, "Ping", field="status")  # still Up, its counter ahead of the others'
    fsm.transition_many(hosts, fsm.HOST_STATUS, "PingTimeout", field="status", resource_state="Maintenance")
    fresh = [Host.get_by_id(h.id) for h in hosts]
    assert [(h.status, h.update_count, h.resource_state) for h in fresh] == \
        [("Disconnected", 2, "Maintenance")] + [("Disconnected", 1, "Maintenance")] * 3
    assert [(h.status, h.update_count, h.resource_state) for h in hosts] == \
        [(h.status, h.update_count, h.resource_state) for h in fresh]  # the instances follow the rows


def test_transition_many_with_one_stale_row_changes_nothing(db):
    from backends.models import Host

    hosts = _host(db, 3)
    fsm.transition(Host.get_by_id(hosts[2].id), fsm.HOST_STATUS, "PingTimeout", field="status")  # behind its back
    with pytest.raises(ConcurrentOperation):
        with db.atomic():  # the caller's transaction undoes the rows already moved
            fsm.transition_many(hosts, fsm.HOST_STATUS, "PingTimeout", field="status")
    assert [h.status for h in hosts] == ["Up", "Up", "Up"]
    assert [Host.get_by_id(h.id).status for h in hosts] == ["Up", "Up", "Disconnected"]
    with pytest.raises(InvalidState):
        fsm.transition_many(hosts[:2], fsm.HOST_STATUS, "NoSuchEvent", field="status")
    assert [Host.get_by_id(h.id).status for h in hosts] == ["Up", "Up", "Disconnected"]
