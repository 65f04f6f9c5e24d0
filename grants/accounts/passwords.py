"""Password hashing with argon2id (argon2-cffi), at the library's current RFC 9106 parameters.

Hashes made with older parameters are upgraded at the next successful sign-in
(:func:`needs_rehash`). The test configuration asks for the cheapest parameters so that a suite
with hundreds of sign-ins stays fast; tests/accounts check the production parameters apart.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context

PRODUCTION_HASHER = PasswordHasher()  # argon2id, RFC 9106 low-memory profile (t=3, m=64 MiB, p=4)
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # tests only


def hasher() -> PasswordHasher:
    if has_app_context() and current_app.config.get("PASSWORD_HASHER") == "fast":
        return FAST_HASHER
    return PRODUCTION_HASHER


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)
