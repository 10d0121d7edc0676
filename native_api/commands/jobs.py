"""Async job polling: queryAsyncJobResult and listAsyncJobs."""
from __future__ import annotations

from native_api import fields as f
from native_api.dispatch import Accepted
from native_api.registry import FLAT, command, scope_params
from native_api.views.jobs import job_body


def submit(call, work, *, instance=None, instance_type="VirtualMachine", creates: str | None = None,
           sync_key: str | None = None) -> Accepted:
    """Run ``work`` as an async job for this call; the answer carries its id."""
    job = call.cloud.jobs.submit(
        call.caller, call.command.name, work, instance_type=instance_type if instance is not None else None,
        instance_uuid=getattr(instance, "uuid", None), sync_key=sync_key)
    return Accepted(job.uuid, creates)


def schedule(call, job, work, *, creates: str | None = None) -> Accepted:
    """Run ``work`` as the async job created with its object (already persisted); the answer carries its id."""
    call.cloud.jobs.schedule([(job, work)])
    return Accepted(job.uuid, creates)


@command("queryAsyncJobResult", params={"jobid": f.String("the ID of the asychronous job", required=True)},
         shape=FLAT, description="Retrieves the current status of asynchronous job.")
def query_async_job_result(call):
    job = call.cloud.find_job(call.params["jobid"], call.scope(id_given=True))
    return job_body(job, call.cloud, call.caller)


@command("listAsyncJobs", params={"startdate": f.Date("The start date of the async job"), **scope_params()},
         shape=FLAT, list_params=True, description="Lists all pending asynchronous jobs for the account.")
def list_async_jobs(call):
    total, jobs = call.cloud.list_jobs(call.scope(), since=call.get("startdate"), keyword=call.get("keyword"),
                                       **call.paging())
    items = [job_body(job, call.cloud, call.caller) for job in jobs]
    if not total:
        return {}
    return {"count": total, "asyncjobs": items} if items else {"count": total}
