"""Who may call each view.

Every view is decorated with :func:`allow`, which both enforces the rule and records it on the view
function, so tests/test_route_access.py can walk ``app.url_map`` and fail on any route without a rule.
Ownership of the object a view touches is then checked in the view through a policy function of the
domain area (e.g. ``organisations.policies.ensure_member``), which raises :class:`NotAllowed`.
"""

from __future__ import annotations

import functools
from enum import StrEnum

from flask import abort, request
from flask_login import current_user

from grants.extensions import login_manager


class Access(StrEnum):
    PUBLIC = "public"  # anyone, signed in or not
    AUTHENTICATED = "authenticated"  # any signed-in user
    APPLICANT = "applicant"  # a member of an applicant organisation, or an individual applicant
    REVIEWER = "reviewer"
    MANAGER = "manager"  # programme managers and admins
    ADMIN = "admin"
    # The JSON API: a bearer token, never a session (grants/api/auth.py, @token_required, enforces it).
    API_TOKEN = "api_token"


def user_satisfies(user, rule: Access) -> bool:
    if rule == Access.PUBLIC:
        return True
    if not user.is_authenticated:
        return False
    match rule:
        case Access.AUTHENTICATED:
            return True
        case Access.APPLICANT:
            return is_applicant(user)
        case Access.REVIEWER:
            return user.is_reviewer
        case Access.MANAGER:
            return user.is_manager
        case Access.ADMIN:
            return user.is_admin
    return False


def is_applicant(user) -> bool:
    """Members of an organisation, or people registered as individual applicants."""
    return bool(user.memberships) or user.individual_applicant is not None


def allow(rule: Access):
    """Declare and enforce who may call a view. Anonymous users are sent to the login page;
    signed-in users without the right role get 403 (and the refusal is audited)."""
    if rule == Access.API_TOKEN:
        raise TypeError("API views are declared with grants.api.auth.token_required, not allow()")

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if rule != Access.PUBLIC and not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not user_satisfies(current_user, rule):
                abort(403, description=f"requires {rule.value}")
            return view(*args, **kwargs)

        wrapper.access_rule = rule
        return wrapper

    return decorator


def acting_user():
    """The signed-in user as a plain model instance (not Flask-Login's proxy), to hand to services."""
    return current_user._get_current_object()


def request_is_safe() -> bool:
    return request.method in ("GET", "HEAD", "OPTIONS")
