"""After a restart: data volumes a dead process left in the middle of an operation (backend.md section 8: work
cut short is rolled back or forward, never left hanging).

- Creating (its first attach was materialising it): back to Allocated on no pool, its pool bytes given back.
  A disk the driver may have made before the crash is left behind in the pool (its path was never
  recorded); the next attach creates a new one.
- Attaching or Detaching: left attached, Ready. The attachment is what the VM's next start plugs in; for a
  stopped VM nothing else happened, and a running one has the disk or gets it at its next start, which is
  less harmful than a row saying "detached" over a disk a running guest may still write to.
- Resizing: Ready at the size the row still has (the old one); the pool's and the account's counters are
  recomputed from the volumes (compute's capacity recalculation and the limits' recount).
Volumes with a job still pending on another node are that node's to finish.
"""
from __future__ import annotations

import logging

from backends.core import fsm
from backends.db import write_tx
from backends.models import Account, Volume, utcnow
from backends.storage.pool_capacity import PoolCapacity

log = logging.getLogger(__name__)

CAUGHT = ("Creating", "Attaching", "Detaching", "Resizing")


class VolumeRecovery:
    def __init__(self, *, jobs, limits, pools: PoolCapacity):
        """``jobs``: core's JobManager (which volumes have work pending elsewhere); ``limits``: identity's
        ResourceLimitManager (its recount)."""
        self.jobs = jobs
        self.limits = limits
        self.pools = pools

    def recover_after_restart(self) -> int:
        caught = list(Volume.select().where(Volume.volume_type == "DATADISK", Volume.removed.is_null(),
                                            Volume.state.in_(CAUGHT)))
        elsewhere = self.jobs.pending_commands(v.uuid for v in caught)
        accounts = set()
        done = 0
        for volume in caught:
            if volume.uuid in elsewhere:
                continue
            with write_tx():
                if volume.state == "Creating":
                    if volume.pool_id is not None:
                        self.pools.release(volume.pool_id, volume.size)
                    fsm.transition(volume, fsm.VOLUME, "OperationFailed", pool=None, path=None)
                else:
                    fsm.transition(volume, fsm.VOLUME, "OperationSucceeded",
                                   **({"attached": volume.attached or utcnow()} if volume.vm_id is not None else {}))
            accounts.add(volume.account_id)
            done += 1
            log.warning("volume %s recovered after a restart: now %s", volume.uuid, volume.state)
        for account in Account.select().where(Account.id.in_(list(accounts))) if accounts else ():
            self.limits.recalculate(account)
        return done
