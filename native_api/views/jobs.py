"""Async jobs as queryAsyncJobResult / listAsyncJobs show them."""
from __future__ import annotations

from native_api import views
from native_api.errors import codes_for
from native_api.fields import format_date
from native_api.kinds import view_of


def job_body(job, cloud, caller) -> dict:
    body = {
        "accountid": job.account.uuid, "account": job.account.name, "domainid": job.domain.uuid,
        "domainpath": job.domain.path, "userid": job.user.uuid if job.user_id else None, "cmd": job.command,
        "jobstatus": job.status, "jobprocstatus": job.process_status, "jobresultcode": 0,
        "jobinstancetype": job.instance_type, "jobinstanceid": job.instance_uuid,
        "created": format_date(job.created), "jobid": job.uuid,
    }
    if job.status == 1:
        body["jobresulttype"] = "object"
        body["jobresult"] = _result(job, cloud, caller)
        body["completed"] = format_date(job.completed)
    elif job.status == 2:
        code, _ = codes_for(job.error_kind or "InternalError")
        body["jobresultcode"] = code
        body["jobresulttype"] = "object"
        body["jobresult"] = {"errorcode": code, "errortext": job.error_text or ""}
        body["completed"] = format_date(job.completed)
    return {k: v for k, v in body.items() if v is not None}


def _result(job, cloud, caller) -> dict:
    if job.result_type in (None, "success"):
        return {"success": True}
    view = view_of(job.result_type)
    row = cloud.lookup(job.result_type, job.result_uuid) if view else None
    if row is None:
        return {"success": True}
    return {view.Meta.object_name: views.dump(view, row, caller)}
