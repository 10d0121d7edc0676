"""libvirt-python, when it is installed, and the libvirt errors the KVM driver tells apart.

Shared by the hypervisor side (libvirt.py) and the storage side (libvirt_storage.py) of the driver.
"""
from __future__ import annotations

try:
    import libvirt
except ImportError:  # the optional extra is not installed
    libvirt = None

AVAILABLE = libvirt is not None
if AVAILABLE:
    # libvirt prints every error to stderr by default; the driver reports them as DriverErrors instead.
    libvirt.registerErrorHandler(lambda _ctx, _error: None, None)
MISSING = "The KVM driver needs libvirt-python: pip install 'ec2bridge[libvirt]'"
MiB = 1 << 20

# libvirt's error numbers this driver tells apart (virErrorNumber).
NO_SUPPORT, NO_DOMAIN, NO_STORAGE_POOL, NO_STORAGE_VOL, OPERATION_INVALID = 3, 42, 49, 50, 55


def message(exc) -> str:
    return exc.get_error_message() or str(exc)


def code(exc) -> int | None:
    return exc.get_error_code() if libvirt is not None and isinstance(exc, libvirt.libvirtError) else None
