"""Hugging Face Jobs: hardware and prices, runs (inspect, SSE logs, cancel) and scheduled jobs, per namespace."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from fakes.hub.accounts import ORGS, USER, need_user
from fakes.hub.server import Reply, Request, error_reply, json_reply, now_iso

if TYPE_CHECKING:
    from fakes.hub.hub import FakeHub

HARDWARE = [
    {
        "name": "cpu-basic",
        "prettyName": "CPU Basic",
        "cpu": "2 vCPU",
        "ram": "16 GB",
        "accelerator": None,
        "unitCostMicroUSD": 167,
        "unitCostUSD": 0.000167,
        "unitLabel": "minute",
    },
    {
        "name": "cpu-upgrade",
        "prettyName": "CPU Upgrade",
        "cpu": "8 vCPU",
        "ram": "32 GB",
        "accelerator": None,
        "unitCostMicroUSD": 500,
        "unitCostUSD": 0.0005,
        "unitLabel": "minute",
    },
    {
        "name": "t4-small",
        "prettyName": "Nvidia T4 - small",
        "cpu": "4 vCPU",
        "ram": "15 GB",
        "accelerator": {"type": "gpu", "model": "T4", "quantity": "1", "vram": "16 GB", "manufacturer": "Nvidia"},
        "unitCostMicroUSD": 6667,
        "unitCostUSD": 0.006667,
        "unitLabel": "minute",
    },
    {
        "name": "a10g-small",
        "prettyName": "Nvidia A10G - small",
        "cpu": "4 vCPU",
        "ram": "15 GB",
        "accelerator": {"type": "gpu", "model": "A10G", "quantity": "1", "vram": "24 GB", "manufacturer": "Nvidia"},
        "unitCostMicroUSD": 16667,
        "unitCostUSD": 0.016667,
        "unitLabel": "minute",
    },
    {
        "name": "a100-large",
        "prettyName": "Nvidia A100 - large",
        "cpu": "12 vCPU",
        "ram": "142 GB",
        "accelerator": {"type": "gpu", "model": "A100", "quantity": "1", "vram": "80 GB", "manufacturer": "Nvidia"},
        "unitCostMicroUSD": 41667,
        "unitCostUSD": 0.041667,
        "unitLabel": "minute",
    },
]


def hardware(hub: FakeHub, req: Request) -> Reply:
    return json_reply(HARDWARE)


def namespace_check(hub: FakeHub, req: Request) -> Reply | None:
    user = need_user(hub, req)
    if isinstance(user, Reply):
        return user
    if req.group("ns") not in [USER, *ORGS]:
        return error_reply(403, f"You are not a member of {req.group('ns')}")
    return None


def run_job(hub: FakeHub, req: Request) -> Reply:
    if (denied := namespace_check(hub, req)) is not None:
        return denied
    spec = req.json()
    job_id = hub.next_job_ids.pop(0) if hub.next_job_ids else f"job{hub.next_number():04d}"
    job = hub.add_job(
        job_id,
        stage="SCHEDULING",
        namespace=req.group("ns"),
        flavor=spec["flavor"],
        logs=hub.job_logs.get(job_id),
    )
    job.update(
        dockerImage=spec.get("dockerImage"),
        spaceId=spec.get("spaceId"),
        command=spec["command"],
        environment=spec.get("environment", {}),
        labels=spec.get("labels", {}),
        secrets={k: None for k in spec.get("secrets", {})},
    )
    hub.job_specs[job_id] = spec
    return json_reply(job)


def list_jobs(hub: FakeHub, req: Request) -> Reply:
    if (denied := namespace_check(hub, req)) is not None:
        return denied
    return json_reply([j for j in hub.jobs.values() if j["owner"]["name"] == req.group("ns")])


def inspect_job(hub: FakeHub, req: Request) -> Reply:
    if (denied := namespace_check(hub, req)) is not None:
        return denied
    job = hub.jobs.get(req.group("job"))
    if job is None:
        return error_reply(404, "Job not found")
    if hub.more_logs.get(job["id"]):
        hub.job_logs[job["id"]].append(hub.more_logs[job["id"]].pop(0))
    left = hub.finish_after_polls.get(job["id"])
    if left is not None:
        if left <= 1:
            job["status"]["stage"] = "COMPLETED"
            hub.finish_after_polls.pop(job["id"])
        else:
            hub.finish_after_polls[job["id"]] = left - 1
    return json_reply(job)


def job_logs(hub: FakeHub, req: Request) -> Reply:
    if (denied := namespace_check(hub, req)) is not None:
        return denied
    if req.group("job") not in hub.jobs:
        return error_reply(404, "Job not found")
    lines = hub.job_logs.get(req.group("job"), [])
    if req.arg("tail"):
        lines = lines[-int(req.arg("tail")) :]
    stamp = "2025-01-01T00:00:00.000Z"
    events = [{"data": "===== Job started at 2025-01-01 =====", "timestamp": stamp}]
    events += [{"data": line, "timestamp": stamp} for line in lines]
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events)
    return Reply(200, body.encode(), {"Content-Type": "text/event-stream"})


def cancel_job(hub: FakeHub, req: Request) -> Reply:
    if (denied := namespace_check(hub, req)) is not None:
        return denied
    job = hub.jobs.get(req.group("job"))
    if job is None:
        return error_reply(404, "Job not found")
    job["status"]["stage"] = "CANCELED"
    return json_reply({})


def create_scheduled(hub: FakeHub, req: Request) -> Reply:
    if (denied := namespace_check(hub, req)) is not None:
        return denied
    body = req.json()
    sid = f"sched{hub.next_number():04d}"
    hub.scheduled[sid] = {
        "id": sid,
        "createdAt": now_iso(),
        "jobSpec": body["jobSpec"],
        "schedule": body["schedule"],
        "suspend": bool(body.get("suspend", False)),
        "concurrency": False,
        "status": {"lastJob": None, "nextJobRunAt": None},
        "owner": {"id": "u1", "name": req.group("ns"), "type": "user"},
    }
    return json_reply(hub.scheduled[sid])


def list_scheduled(hub: FakeHub, req: Request) -> Reply:
    if (denied := namespace_check(hub, req)) is not None:
        return denied
    return json_reply([s for s in hub.scheduled.values() if s["owner"]["name"] == req.group("ns")])


def inspect_scheduled(hub: FakeHub, req: Request) -> Reply:
    if (denied := namespace_check(hub, req)) is not None:
        return denied
    found = hub.scheduled.get(req.group("sid"))
    return json_reply(found) if found else error_reply(404, "Scheduled job not found")


def delete_scheduled(hub: FakeHub, req: Request) -> Reply:
    if (denied := namespace_check(hub, req)) is not None:
        return denied
    if hub.scheduled.pop(req.group("sid"), None) is None:
        return error_reply(404, "Scheduled job not found")
    return json_reply({})


def toggle_scheduled(hub: FakeHub, req: Request) -> Reply:
    if (denied := namespace_check(hub, req)) is not None:
        return denied
    found = hub.scheduled.get(req.group("sid"))
    if found is None:
        return error_reply(404, "Scheduled job not found")
    found["suspend"] = req.group("action") == "suspend"
    return json_reply({})


ROUTES = [
    ("GET", r"/api/jobs/hardware", hardware),
    ("POST", r"/api/jobs/(?P<ns>[^/]+)", run_job),
    ("GET", r"/api/jobs/(?P<ns>[^/]+)", list_jobs),
    ("GET", r"/api/jobs/(?P<ns>[^/]+)/(?P<job>[^/]+)", inspect_job),
    ("GET", r"/api/jobs/(?P<ns>[^/]+)/(?P<job>[^/]+)/logs", job_logs),
    ("POST", r"/api/jobs/(?P<ns>[^/]+)/(?P<job>[^/]+)/cancel", cancel_job),
    ("POST", r"/api/scheduled-jobs/(?P<ns>[^/]+)", create_scheduled),
    ("GET", r"/api/scheduled-jobs/(?P<ns>[^/]+)", list_scheduled),
    ("GET", r"/api/scheduled-jobs/(?P<ns>[^/]+)/(?P<sid>[^/]+)", inspect_scheduled),
    ("DELETE", r"/api/scheduled-jobs/(?P<ns>[^/]+)/(?P<sid>[^/]+)", delete_scheduled),
    ("POST", r"/api/scheduled-jobs/(?P<ns>[^/]+)/(?P<sid>[^/]+)/(?P<action>suspend|resume)", toggle_scheduled),
]
