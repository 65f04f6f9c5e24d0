"""Rate limits on the account pages: what they count and by which key.

Sign-ins count failures only, per client address and per account from one address, so that a
successful sign-in never uses up an allowance and nobody elsewhere can lock an owner out of their
account. Registrations count per address and per email across both sign-up forms. The client's
address is the one the trusted proxies forwarded (``TRUSTED_PROXY_HOPS``).
"""

from __future__ import annotations

from flask import current_app, request

from grants.accounts.services import normalise_email
from grants.extensions import limiter


def posted_email() -> str:
    return normalise_email(request.form.get("email"))


def posted_email_from_this_address() -> str:
    return f"{posted_email()}|{request.remote_addr}"


def limit_per_ip() -> str:
    return current_app.config["LOGIN_RATE_LIMIT_PER_IP"]


def limit_per_account() -> str:
    return current_app.config["LOGIN_RATE_LIMIT_PER_ACCOUNT"]


def registrations_per_ip() -> str:
    return current_app.config["REGISTRATION_RATE_LIMIT_PER_IP"]


def registrations_per_email() -> str:
    return current_app.config["REGISTRATION_RATE_LIMIT_PER_EMAIL"]


def sign_in_failed(response) -> bool:
    return response.status_code != 302


# Shared by both registration forms: one allowance per address, one per email.
registration_per_ip = limiter.shared_limit(registrations_per_ip, scope="registration-per-ip", methods=["POST"])
registration_per_email = limiter.shared_limit(
    registrations_per_email, scope="registration-per-email", key_func=posted_email, methods=["POST"]
)
