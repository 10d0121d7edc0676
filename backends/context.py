"""Who is calling: the identity every manager method acts for."""
from __future__ import annotations

from dataclasses import dataclass

ROOT_ADMIN, USER, DOMAIN_ADMIN, RESOURCE_ADMIN = 1, 0, 2, 3

ROLE_ADMIN = "Admin"
ROLE_RESOURCE_ADMIN = "ResourceAdmin"
ROLE_DOMAIN_ADMIN = "DomainAdmin"
ROLE_USER = "User"


@dataclass(frozen=True)
class Caller:
    """The authenticated user and account a request acts as."""

    user_id: int
    account_id: int
    domain_id: int
    domain_path: str
    account_type: int
    role_type: str
    user_uuid: str = ""
    account_uuid: str = ""
    account_name: str = ""
    username: str = ""
    domain_uuid: str = ""
    firstname: str = ""
    lastname: str = ""

    @property
    def is_root_admin(self) -> bool:
        return self.role_type == ROLE_ADMIN

    @property
    def is_domain_admin(self) -> bool:
        return self.role_type in (ROLE_DOMAIN_ADMIN, ROLE_RESOURCE_ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.is_root_admin or self.is_domain_admin
