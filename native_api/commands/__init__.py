"""Command declarations, one module per area; importing this registers them all."""
from native_api.commands import (accounts, apis, catalog, infra, jobs, keypairs, networks,  # noqa: F401
                                 securitygroups, sessions, system, tags, vms, volumes)
