"""Where the backend's new identifiers come from: uuids of new rows (EC2 ids derive from them), a launch's group,
a NIC's MAC address, a VM's instance name.

Random by default. :func:`seed` makes every identifier drawn after it reproducible within this process (the EC2
emulator's ``POST /moto-api/seed?a=N``, as moto's server): the same seed followed by the same calls gives the same
ids. Secrets (passwords, API keys, session keys) never come from here: they stay unpredictable whatever the seed.
One source per process, behind a lock: threads drawing at once each get distinct values.
"""
from __future__ import annotations

import random
import threading
import uuid

_lock = threading.Lock()
_seeded: random.Random | None = None  # None: draw from the operating system's randomness


def seed(a: int | None) -> None:
    """Make the identifiers that follow reproducible from ``a``; None returns to random ones."""
    global _seeded
    with _lock:
        _seeded = None if a is None else random.Random(a)


def token_bytes(n: int) -> bytes:
    with _lock:
        if _seeded is not None:
            return _seeded.getrandbits(8 * n).to_bytes(n, "big")
    return random.SystemRandom().getrandbits(8 * n).to_bytes(n, "big")


def new_uuid() -> str:
    """A version-4 uuid, as ``uuid.uuid4`` draws it."""
    return str(uuid.UUID(bytes=token_bytes(16), version=4))


def token_hex(n: int) -> str:
    return token_bytes(n).hex()
