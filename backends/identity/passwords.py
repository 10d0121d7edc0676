"""Password hashing and constant-time comparison of secrets."""
from __future__ import annotations

import hashlib
import hmac
import secrets

PASSWORD_ITERATIONS = 260_000


def hash_password(password: str, *, iterations: int | None = None) -> str:
    """``pbkdf2_sha256$<iterations>$<salt>$<hex digest>`` with a fresh random salt."""
    iterations = iterations or PASSWORD_ITERATIONS
    salt = secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations).hex()
    return f"pbkdf2_sha256${iterations}${salt}${digest}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of ``password`` against a :func:`hash_password` string."""
    try:
        algorithm, iterations, salt, digest = stored.split("$")
        rounds = int(iterations)
    except (AttributeError, ValueError):
        return False
    if algorithm != "pbkdf2_sha256":
        return False
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), rounds).hex()
    return hmac.compare_digest(candidate, digest)


# A hash to check against when the user does not exist, so timing does not tell.
_DUMMY_HASH = None


def burn_time(password: str) -> None:
    """Spend as long as checking a real password does (for a user or domain that does not exist)."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password("not-a-password")
    verify_password(password, _DUMMY_HASH)


def same_secret(a: str | None, b: str | None) -> bool:
    # MariaDB compares strings case-insensitively; secrets must match exactly.
    return a is not None and b is not None and hmac.compare_digest(a.encode(), b.encode())
