"""EC2 resource ids derived from backend UUIDs: ``i-`` + the first 17 hex digits of the VM's uuid.

Deriving (rather than storing) the id keeps one identity per resource for both
APIs; 68 bits make a collision within one cloud vanishingly unlikely, and a
lookup is an index range scan on the uuid.
"""
from __future__ import annotations

import re

from ec2bridge.errors import Ec2Error
from ec2bridge.kinds import KINDS

# Prefixes of EC2 ids that name no backend kind of their own (a kind's prefix is its row in ec2bridge/kinds.py):
# an instance's network interface (ENI) and its attachment are derived from the VM's NIC, a reservation from its
# launch.
ENI = "eni"
ENI_ATTACHMENT = "eni-attach"
RESERVATION = "r"

# EC2 id prefix -> the code a malformed id of it is reported under. A reservation is no backend kind: its row here.
MALFORMED = {kind.prefix: kind.malformed for kind in KINDS.values()} | {RESERVATION: "InvalidReservationID"}


def to_ec2(prefix: str, uuid: str) -> str:
    return f"{prefix}-{uuid.replace('-', '')[:17]}"


def ec2_id(entity: str, uuid: str) -> str:
    """The EC2 id of the backend ``entity`` with this uuid."""
    return to_ec2(KINDS[entity].prefix, uuid)


def uuid_prefix_of(entity: str, ec2_id: str) -> str:
    """The uuid prefix an EC2 id of the backend ``entity`` stands for; the kind's ``.Malformed`` when it is not one."""
    return uuid_prefix(KINDS[entity].prefix, ec2_id)


def uuid_prefix(prefix: str, ec2_id: str) -> str:
    """The uuid prefix an EC2 id stands for; ``Invalid<Kind>ID.Malformed`` when it is not one."""
    match = re.fullmatch(rf"{prefix}-([0-9a-f]{{17}}|[0-9a-f]{{8}})", ec2_id or "")
    if not match:
        code = MALFORMED.get(prefix, "InvalidID")
        raise Ec2Error(f"{code}.Malformed", f'Invalid id: "{ec2_id}" (expecting "{prefix}-...")')
    hexed = match.group(1)
    cuts = [(0, 8), (8, 12), (12, 16), (16, 17)]
    return "-".join(hexed[a:b] for a, b in cuts if a < len(hexed))
