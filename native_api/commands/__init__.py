"""Command declarations, one module per area; importing this registers them all."""
from native_api.commands import (accounts, apis, catalog, infra, jobs, networks, sessions, system,  # noqa: F401
                                 tags, vms)
