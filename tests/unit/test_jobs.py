"""The job manager: persisted results, per-object serialisation, recovery after a crash."""
from __future__ import annotations

import threading

from backends.context import Caller
from backends.core.jobs import RESTART_TEXT, JobManager, JobResult
from backends.errors import InsufficientCapacity
from backends.models import Account, AsyncJob, Domain, Role


def _caller():
    domain = Domain.create(name="ROOT", path="/")
    role = Role.create(name="User", role_type="User")
    account = Account.create(name="a", account_type=0, role=role, domain=domain, owner_number="123456789012")
    return Caller(user_id=None, account_id=account.id, domain_id=domain.id, domain_path="/", account_type=0,
                  role_type="User")


def _visible(query):
    return query


def test_job_result_and_failure_are_persisted(db):
    jobs = JobManager("node-a", workers=2)
    caller = _caller()
    ok = jobs.submit(caller, "doIt", lambda: JobResult("VirtualMachine", "vm-uuid"))
    bad = jobs.submit(caller, "doIt", lambda: (_ for _ in ()).throw(InsufficientCapacity("no room")))
    assert jobs.wait(ok.uuid, 10) and jobs.wait(bad.uuid, 10)
    ok, bad = jobs.get(ok.uuid, _visible), jobs.get(bad.uuid, _visible)
    assert (ok.status, ok.result_type, ok.result_uuid) == (1, "VirtualMachine", "vm-uuid")
    assert (bad.status, bad.error_kind, bad.error_text) == (2, "InsufficientCapacity", "no room")
    jobs.shutdown()


def test_a_bug_fails_the_job_not_the_worker(db):
    jobs = JobManager("node-a", workers=1)
    caller = _caller()
    broken = jobs.submit(caller, "doIt", lambda: 1 / 0)
    fine = jobs.submit(caller, "doIt", lambda: JobResult())
    assert jobs.wait(broken.uuid, 10) and jobs.wait(fine.uuid, 10)
    assert jobs.get(broken.uuid, _visible).error_kind == "InternalError"
    assert jobs.get(fine.uuid, _visible).status == 1
    jobs.shutdown()


def test_work_on_one_object_never_interleaves_but_others_run_in_parallel(db):
    jobs = JobManager("node-a", workers=4)
    caller = _caller()
    events, lock = [], threading.Lock()  # ("start"|"end", key, n) in the order they happened
    others = ["vm:2", "vm:3", "vm:4"]
    # The other VMs' jobs wait for each other between start and end: they can only all finish when they
    # ran at the same time (the timeout only keeps a serialising bug from hanging the suite).
    together = threading.Barrier(len(others), timeout=10)

    def work(key, n):
        def run():
            with lock:
                events.append(("start", key, n))
            if key in others:
                together.wait()
            with lock:
                events.append(("end", key, n))
            return JobResult()
        return run

    submitted = [jobs.submit(caller, "op", work("vm:1", n), sync_key="vm:1") for n in range(5)]
    submitted += [jobs.submit(caller, "op", work(key, 0), sync_key=key) for key in others]
    for job in submitted:
        assert jobs.wait(job.uuid, 10)
    assert all(jobs.get(job.uuid, _visible).status == 1 for job in submitted)
    one = [(kind, n) for kind, key, n in events if key == "vm:1"]
    # Each of vm:1's jobs ends before the next starts, in submission order.
    assert one == [(kind, n) for n in range(5) for kind in ("start", "end")]
    # Every other VM's job started before any of them ended: all three overlapped.
    starts = [events.index(("start", key, 0)) for key in others]
    ends = [events.index(("end", key, 0)) for key in others]
    assert max(starts) < min(ends), events
    jobs.shutdown()


def test_recovery_fails_jobs_a_dead_process_left_pending_and_runs_hooks(db):
    caller = _caller()
    AsyncJob.create(command="deployVirtualMachine", account=caller.account_id, domain=caller.domain_id,
                    node_id="node-a")
    AsyncJob.create(command="deployVirtualMachine", account=caller.account_id, domain=caller.domain_id,
                    node_id="node-b")
    hooks = []
    jobs = JobManager("node-a", workers=1)
    jobs.add_recovery_hook(lambda: hooks.append("ran"))
    assert jobs.recover() == 1
    mine = AsyncJob.get(AsyncJob.node_id == "node-a")
    assert (mine.status, mine.error_kind, mine.error_text) == (2, "InternalError", RESTART_TEXT)
    assert AsyncJob.get(AsyncJob.node_id == "node-b").status == 0  # another live node's job is not ours
    assert hooks == ["ran"]
    jobs.shutdown()


def test_a_reopened_manager_takes_work_again_as_a_new_one_would(db):
    """The emulator's reset shuts the job manager down and reopens the same one (the managers keep it)."""
    jobs = JobManager("node-a", workers=1)
    caller = _caller()
    first = jobs.submit(caller, "doIt", lambda: JobResult(), sync_key="vm:1")
    jobs.shutdown(wait=True)
    assert jobs.wait(first.uuid, 10)
    jobs.reopen()
    assert jobs.busy_keys("vm:") == [] and jobs.cancelled_instances == set()
    again = jobs.submit(caller, "doIt", lambda: JobResult("VirtualMachine", "vm-uuid"), sync_key="vm:1")
    assert jobs.wait(again.uuid, 10)
    assert jobs.get(again.uuid, _visible).status == 1
    jobs.shutdown()
