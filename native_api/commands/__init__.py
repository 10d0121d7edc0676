"""Command declarations, one module per area; importing this registers them all."""
from native_api.commands import (accounts, apis, catalog, infra, jobs, keypairs, networks, sessions,  # noqa: F401
                                 system, tags, vms)
