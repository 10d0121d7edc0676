"""EC2 actions: each a thin handler from a decoded input dict to a boto3-shaped result dict.

Importing this package registers every implemented action in ``ACTIONS``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from backends.api import Caller, Cloud

ACTIONS: dict[str, Callable] = {}


@dataclass
class Context:
    cloud: Cloud
    caller: Caller
    region: str
    # Emulator mode: a request's work on the simulator is done before the response goes out, so the
    # next call sees the end state (the response itself still reports AWS's transitional state).
    synchronous: bool = False
    # DryRun: the handler runs inside a rehearsal that is rolled back, so it must start no work.
    rehearsal: bool = False
    # Emulator mode: regions, zones, instance types and public AMIs are AWS's (ec2bridge/catalogue), as moto's
    # server answers them.
    emulator: bool = False
    # Emulator mode without AMI validation: a launch naming an AMI this cloud lacks runs on a stand-in image.
    stand_in_images: bool = False
    _jobs: list = field(default_factory=list)

    def run(self, command: str, work, vm) -> None:
        """Queue ``work`` for the VM as a job (and, when synchronous, remember to wait for it)."""
        self.run_many(command, [(work, vm)])

    def run_many(self, command: str, works: list) -> None:
        """Queue one job per ``(work, vm)``, persisted together."""
        if self.rehearsal or not works:
            return
        jobs = self.cloud.jobs.submit_many(self.caller, command, [
            (work, "VirtualMachine", vm.uuid, self.cloud.vms.sync_key(vm)) for work, vm in works])
        self._jobs += [job.uuid for job in jobs]

    def run_created(self, works: list, together=None) -> None:
        """Schedule, per ``(work, vm)``, the job created together with the VM (``vm.deploy_job``); with
        ``together``, one piece of work doing all of theirs (see ``JobManager.schedule_together``)."""
        if self.rehearsal or not works:
            return
        pairs = [(vm.deploy_job, work) for work, vm in works]
        if together is None:
            self.cloud.jobs.schedule(pairs)
        else:
            self.cloud.jobs.schedule_together(pairs, together)
        self._jobs += [vm.deploy_job.uuid for _, vm in works]

    def settle(self, timeout: float = 120) -> None:
        if self.synchronous:
            for job in self._jobs:
                self.cloud.jobs.wait(job, timeout=timeout)


def action(name: str):
    def register(handler):
        ACTIONS[name] = handler
        return handler

    return register


from ec2bridge.actions import (  # noqa: E402,F401
    catalog, instance_types, instances, keypairs, launch_templates, locations, securitygroups, tags)
