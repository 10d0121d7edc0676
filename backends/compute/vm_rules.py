"""Rules about one VM that need no manager: its shape, what it counts against limits, its user data and
who owns it."""
from __future__ import annotations

import base64
import binascii
import secrets

from backends.compute.offerings import MAX_INT
from backends.context import Caller
from backends.core.resources import CPU, MEMORY, PRIMARY_STORAGE, USER_VM, VOLUME
from backends.errors import InvalidParameterValue
from backends.identity.accounts import AccountManager
from backends.models import ServiceOffering, VirtualMachine

GiB = 1 << 30
MiB = 1 << 20


def sync_key(vm: VirtualMachine) -> str:
    """The job queue of a VM: work on one VM runs one job at a time."""
    return f"vm:{vm.id}"


def limits_of(vm_cpu: int, vm_mem: int, root_bytes: int) -> dict[int, int]:
    """What one VM counts against its account's limits (its ROOT volume included)."""
    return {USER_VM: 1, CPU: vm_cpu, MEMORY: vm_mem, VOLUME: 1, PRIMARY_STORAGE: -(-root_bytes // GiB)}


def check_owner(accounts: AccountManager, caller: Caller, vm: VirtualMachine) -> None:
    accounts.check_access(caller, vm.account_id, vm.domain_id, entity="VirtualMachine", uuid=vm.uuid)


def shape_of(offering: ServiceOffering, details: dict) -> tuple[int, int, int]:
    """(CPUs, MHz, MiB) of a VM of this offering; a customised offering takes them from ``details``."""
    if not offering.is_customized:
        return offering.cpu_number, offering.cpu_speed, offering.memory
    try:
        cpus = int(details.get("cpuNumber") or details.get("cpunumber"))
        speed = int(details.get("cpuSpeed") or details.get("cpuspeed") or 1000)
        memory = int(details.get("memory"))
    except (TypeError, ValueError):
        raise InvalidParameterValue("Custom service offering needs integer cpuNumber, cpuSpeed and memory "
                                    "details") from None
    if not (1 <= cpus <= MAX_INT and 1 <= speed <= MAX_INT and 32 <= memory <= MAX_INT):
        raise InvalidParameterValue(f"Invalid cpuNumber, cpuSpeed or memory for a custom offering: cpuNumber and "
                                    f"cpuSpeed must be 1 to {MAX_INT}, memory 32 to {MAX_INT} MB")
    return cpus, speed, memory


def check_user_data(user_data: str) -> None:
    try:
        base64.b64decode(user_data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidParameterValue("User data is not base64 encoded") from None
    if len(user_data) > 1048576:
        raise InvalidParameterValue("User data is too long: the maximum is 1048576 base64 characters")


def password() -> str:
    return secrets.token_urlsafe(9)[:12]
