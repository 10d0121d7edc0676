"""Asynchronous jobs: persisted, run by a worker pool, serialised per object.

A job is a row in ``async_job`` plus a piece of work. Work that names a sync
key (``vm:<id>``) waits for earlier work on the same key, so two operations on
one VM never interleave while different VMs proceed in parallel. A job can be
persisted in the transaction that creates its object (:meth:`JobManager.create`)
and scheduled once that commits, so no object outlives a crash without a job.
On start-up the jobs a previous process of this node left pending are failed,
and the registered recovery hooks roll back the half-done work they leave behind.
"""
from __future__ import annotations

import collections
import datetime as dt
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import peewee as pw

from backends.context import Caller
from backends.db import database, page_of, write_tx
from backends.errors import CloudError, NotFound
from backends.models import AsyncJob, utcnow
from backends.uuids import new_uuid

log = logging.getLogger(__name__)

PENDING, SUCCEEDED, FAILED = 0, 1, 2
RESTART_TEXT = "Job was cancelled because of management server restart or shutdown"
_CANCELLED = (AsyncJob.status == FAILED) & (AsyncJob.error_text == RESTART_TEXT)


@dataclass(frozen=True)
class JobResult:
    """What a finished job produced: an object (type + uuid) or plain success."""

    result_type: str = "success"
    result_uuid: str | None = None


Work = Callable[[], JobResult]
BatchWork = Callable[[], "list[JobResult | CloudError]"]  # several jobs' work done at once, an outcome per job


class JobManager:
    def __init__(self, node_id: str, workers: int = 8):
        self.node_id = node_id
        self._workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="job")
        self._lock = threading.Lock()
        self._queues: dict[str, collections.deque] = {}
        self._done: dict[str, threading.Event] = {}
        self._recovery_hooks: list[Callable[[], None]] = []
        self._closed = False
        # Objects whose jobs this process's start-up cancelled (what the recovery hooks look at).
        self.cancelled_instances: set[str] = set()

    # ------------------------------------------------------------ lifecycle
    def add_recovery_hook(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` at start-up after stale jobs are failed (roll back their work)."""
        self._recovery_hooks.append(hook)

    def recover(self) -> int:
        """Fail the jobs a dead process of this node left pending; run the hooks."""
        now = utcnow()
        with write_tx():
            failed = (AsyncJob.update(status=FAILED, error_kind="InternalError", error_text=RESTART_TEXT,
                                      completed=now)
                      .where(AsyncJob.status == PENDING, AsyncJob.node_id == self.node_id)
                      .execute())
            self.cancelled_instances = {uuid for (uuid,) in AsyncJob.select(AsyncJob.instance_uuid).where(
                AsyncJob.node_id == self.node_id, _CANCELLED, AsyncJob.completed == now,
                AsyncJob.instance_uuid.is_null(False)).tuples()}
        if failed:
            log.warning("failed %d job(s) left pending by a previous run", failed)
        for hook in self._recovery_hooks:
            hook()
        return failed

    def shutdown(self, wait: bool = True) -> None:
        self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=not wait)

    def reopen(self) -> None:
        """Take work again after a :meth:`shutdown` (the emulator's reset), as a new manager would: nothing
        queued, nothing to wait for, nothing cancelled by a start-up."""
        with self._lock:
            self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="job")
            self._queues.clear()
            self._done.clear()
            self.cancelled_instances = set()
            self._closed = False

    # ------------------------------------------------------------- submit
    def submit(self, caller: Caller, command: str, work: Work, *, instance_type: str | None = None,
               instance_uuid: str | None = None, sync_key: str | None = None) -> AsyncJob:
        """Persist a pending job and schedule ``work`` for it; return the job row.

        Call outside any open transaction: the row must be committed before a
        worker can pick the job up.
        """
        return self.submit_many(caller, command, [(work, instance_type, instance_uuid, sync_key)])[0]

    def submit_many(self, caller: Caller, command: str,
                    items: list[tuple[Work, str | None, str | None, str | None]]) -> list[AsyncJob]:
        """Jobs of one request (``(work, instance type, instance uuid, sync key)`` each), persisted in one
        transaction, then scheduled: a launch of many VMs does not queue once per VM for the write lock."""
        with write_tx():
            jobs = self.create(caller, command, [(instance_type, instance_uuid, sync_key)
                                                 for _, instance_type, instance_uuid, sync_key in items])
        self.schedule([(job, work) for job, (work, _, _, _) in zip(jobs, items)])
        return jobs

    def create(self, caller: Caller, command: str,
               items: list[tuple[str | None, str | None, str | None]]) -> list[AsyncJob]:
        """Persist pending jobs (``(instance type, instance uuid, sync key)`` each) inside the caller's
        write transaction, so they commit together with the objects they are about; :meth:`schedule`
        them after the commit, or :meth:`withdraw` them if the request is undone before answering."""
        rows = [dict(uuid=new_uuid(), command=command, account=caller.account_id, user=caller.user_id,
                     domain=caller.domain_id, instance_type=instance_type, instance_uuid=instance_uuid,
                     sync_key=sync_key, node_id=self.node_id)
                for instance_type, instance_uuid, sync_key in items]
        if len(rows) == 1:
            return [AsyncJob.create(**rows[0])]
        jobs = {}
        for start in range(0, len(rows), 100):  # a launch's: a statement per hundred jobs
            chunk = rows[start:start + 100]
            AsyncJob.insert_rows(chunk)
            ids = dict(AsyncJob.select(AsyncJob.uuid, AsyncJob.id).where(
                AsyncJob.uuid.in_([row["uuid"] for row in chunk])).tuples())
            jobs.update({row["uuid"]: AsyncJob(id=ids[row["uuid"]], status=PENDING, **row) for row in chunk})
        return [jobs[row["uuid"]] for row in rows]

    def schedule(self, pairs: list[tuple[AsyncJob, Work]]) -> None:
        """Hand committed pending jobs their work: each runs after earlier work on its sync key."""
        with self._lock:
            for job, work in pairs:
                self._done[job.uuid] = threading.Event()
                if job.sync_key is None:
                    self._pool.submit(self._run, job.id, job.uuid, work, None)
                elif job.sync_key in self._queues:
                    self._queues[job.sync_key].append((job.id, job.uuid, work))
                else:
                    self._queues[job.sync_key] = collections.deque()
                    self._pool.submit(self._run, job.id, job.uuid, work, job.sync_key)

    def schedule_together(self, pairs: list[tuple[AsyncJob, Work]], together: "BatchWork") -> None:
        """Committed pending jobs done by one piece of work (a launch's starts, in bulk): ``together`` runs once,
        holding every job's sync key (later work on any of them queues behind it, as behind each job alone),
        and returns each job's outcome in order: a JobResult, or the CloudError it failed with. When a key is
        busy already, each job runs its own work from ``pairs`` instead, in its key's queue."""
        keys = [job.sync_key for job, _ in pairs]
        with self._lock:
            together_ok = len(set(keys)) == len(keys) and not any(k is None or k in self._queues for k in keys)
            if together_ok:
                for job, _ in pairs:
                    self._done[job.uuid] = threading.Event()
                    self._queues[job.sync_key] = collections.deque()
                self._pool.submit(self._run_together, [job for job, _ in pairs], together)
        if not together_ok:
            self.schedule(pairs)

    def withdraw(self, jobs: list[AsyncJob]) -> None:
        """Delete created jobs that were never scheduled nor shown to anyone (their request was undone)."""
        with write_tx():
            AsyncJob.delete().where(AsyncJob.id.in_([job.id for job in jobs]), AsyncJob.status == PENDING).execute()

    def wait(self, job_uuid: str, timeout: float | None = None) -> bool:
        """Block until the job finished (in this process); True if it did."""
        event = self._done.get(job_uuid)
        return True if event is None else event.wait(timeout)

    def busy_keys(self, prefix: str = "") -> list[str]:
        """Sync keys with work running or queued in this process."""
        with self._lock:
            return [key for key in self._queues if key.startswith(prefix)]

    # ---------------------------------------------------------------- run
    def _run(self, job_id: int, job_uuid: str, work: Work, sync_key: str | None) -> None:
        try:
            with database.connection_context():
                self._execute(job_id, work)
        finally:
            event = self._done.pop(job_uuid, None)
            if event:
                event.set()
            if sync_key is not None:
                self._next(sync_key)

    def _run_together(self, jobs: list[AsyncJob], together: "BatchWork") -> None:
        try:
            with database.connection_context():
                try:
                    outcomes = together()
                except CloudError as exc:
                    outcomes = [exc] * len(jobs)
                except Exception:  # a bug: fail the jobs, keep the worker
                    log.exception("jobs %s raised", [job.id for job in jobs])
                    outcomes = [CloudError("Internal error executing command, please contact your system "
                                           "administrator")] * len(jobs)
                self._finish_many(jobs, outcomes)
        finally:
            for job in jobs:
                event = self._done.pop(job.uuid, None)
                if event:
                    event.set()
                self._next(job.sync_key)

    @staticmethod
    def _finish_many(jobs: list[AsyncJob], outcomes: list) -> None:
        """Finish each job with its outcome; the common case (each job's result is the object it is about) in
        one statement."""
        now = utcnow()
        about_themselves = {}
        with write_tx():
            for job, outcome in zip(jobs, outcomes):
                if isinstance(outcome, CloudError):
                    log.info("job %s failed: %s", job.id, outcome.message)
                    AsyncJob.update(status=FAILED, completed=now, error_kind=outcome.kind,
                                    error_text=outcome.message).where(
                        AsyncJob.id == job.id, AsyncJob.status == PENDING).execute()
                elif outcome.result_uuid == job.instance_uuid and outcome.result_type == job.instance_type:
                    about_themselves.setdefault(outcome.result_type, []).append(job.id)
                else:
                    AsyncJob.update(status=SUCCEEDED, completed=now, result_type=outcome.result_type,
                                    result_uuid=outcome.result_uuid).where(
                        AsyncJob.id == job.id, AsyncJob.status == PENDING).execute()
            for result_type, ids in about_themselves.items():
                for start in range(0, len(ids), 500):
                    AsyncJob.update(status=SUCCEEDED, completed=now, result_type=result_type,
                                    result_uuid=AsyncJob.instance_uuid).where(
                        AsyncJob.id.in_(ids[start:start + 500]), AsyncJob.status == PENDING).execute()

    def _next(self, sync_key: str) -> None:
        with self._lock:
            queue = self._queues.get(sync_key)
            if not queue:
                self._queues.pop(sync_key, None)
                return
            job_id, job_uuid, work = queue.popleft()
            if not self._closed:
                self._pool.submit(self._run, job_id, job_uuid, work, sync_key)

    def _execute(self, job_id: int, work: Work) -> None:
        try:
            result = work()
        except CloudError as exc:
            log.info("job %s failed: %s", job_id, exc.message)
            self._finish(job_id, FAILED, error_kind=exc.kind, error_text=exc.message)
        except Exception:  # a bug: fail the job, keep the worker
            log.exception("job %s raised", job_id)
            self._finish(job_id, FAILED, error_kind="InternalError",
                         error_text="Internal error executing command, please contact your system administrator")
        else:
            self._finish(job_id, SUCCEEDED, result_type=result.result_type, result_uuid=result.result_uuid)

    @staticmethod
    def _finish(job_id: int, status: int, **fields) -> None:
        with write_tx():
            AsyncJob.update(status=status, completed=utcnow(), **fields).where(
                AsyncJob.id == job_id, AsyncJob.status == PENDING).execute()

    # -------------------------------------------------------------- query
    def get(self, job_uuid: str, visible: Callable[[pw.ModelSelect], pw.ModelSelect]) -> AsyncJob:
        """The job with this uuid, if the caller's scope (``visible``) includes it."""
        query = visible(AsyncJob.select().where(AsyncJob.uuid == job_uuid))
        job = query.first()
        if job is None:
            raise NotFound(f"Unable to find a job by id {job_uuid}", entity="AsyncJob", param="jobid",
                           value=job_uuid)
        return job

    def list(self, visible: Callable[[pw.ModelSelect], pw.ModelSelect], *, since=None, keyword=None, page=None,
             pagesize=None) -> tuple[int, list[AsyncJob]]:
        """The visible jobs, newest first; ``keyword`` matches the command's name."""
        query = visible(AsyncJob.select()).order_by(AsyncJob.id.desc())
        if since is not None:
            query = query.where(AsyncJob.created >= since)
        if keyword:
            query = query.where(AsyncJob.command.contains(keyword))
        return page_of(query, page, pagesize)

    def pending_commands(self, instance_uuids) -> dict[str, set[str]]:
        """instance uuid -> the commands of its jobs still pending (on any node)."""
        found: dict[str, set[str]] = {}
        uuids = list(instance_uuids)
        for start in range(0, len(uuids), 500):  # within every database's limit of bound parameters
            chunk = uuids[start:start + 500]
            for uuid, command in (AsyncJob.select(AsyncJob.instance_uuid, AsyncJob.command)
                                  .where(AsyncJob.status == PENDING, AsyncJob.instance_uuid.in_(chunk)).tuples()):
                found.setdefault(uuid, set()).add(command)
        return found

    def first_cancelled_by_restart(self, instance_uuids) -> set[str]:
        """The instances among these whose first job (the one that created them) was cancelled by a
        management server restart: work that never completed for its caller."""
        uuids = list(instance_uuids)
        cancelled: set[str] = set()
        for start in range(0, len(uuids), 500):
            chunk = uuids[start:start + 500]
            first = (AsyncJob.select(pw.fn.MIN(AsyncJob.id)).where(AsyncJob.instance_uuid.in_(chunk))
                     .group_by(AsyncJob.instance_uuid))
            cancelled.update(uuid for (uuid,) in AsyncJob.select(AsyncJob.instance_uuid)
                             .where(AsyncJob.id.in_(first), _CANCELLED).tuples())
        return cancelled

    def complete_cancelled(self, instance_uuid: str, result: JobResult) -> None:
        """The work a restart cancelled did finish for this instance (a start whose VM was found
        running): its job, the earliest one the last restart cancelled, reports success after all."""
        latest = (AsyncJob.select(pw.fn.MAX(AsyncJob.completed))
                  .where(AsyncJob.instance_uuid == instance_uuid, _CANCELLED).scalar())
        if latest is None:
            return
        job_id = (AsyncJob.select(pw.fn.MIN(AsyncJob.id))
                  .where(AsyncJob.instance_uuid == instance_uuid, _CANCELLED, AsyncJob.completed == latest).scalar())
        AsyncJob.update(status=SUCCEEDED, error_kind=None, error_text=None, result_type=result.result_type,
                        result_uuid=result.result_uuid).where(AsyncJob.id == job_id).execute()

    def expire(self, minutes: int) -> int:
        """Delete finished jobs older than ``minutes`` (CloudStack's job.expire.minutes)."""
        cutoff = utcnow() - dt.timedelta(minutes=minutes)
        with write_tx():
            return AsyncJob.delete().where(AsyncJob.status != PENDING, AsyncJob.completed < cutoff).execute()
