"""EC2 actions: each a thin handler from a decoded input dict to a boto3-shaped result dict.

Importing this package registers every implemented action in ``ACTIONS``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

ACTIONS: dict[str, Callable] = {}


@dataclass
class Context:
    cloud: Any
    caller: Any  # backends.context.Caller
    region: str


def action(name: str):
    def register(handler):
        ACTIONS[name] = handler
        return handler

    return register


from ec2bridge.actions import catalog, instances, keypairs, securitygroups, tags  # noqa: E402,F401
