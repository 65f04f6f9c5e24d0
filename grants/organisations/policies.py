"""Who may do what to an organisation. Views call ``ensure_*`` after loading the object; templates
call the ``can_*`` predicates, so a button is shown exactly when the view would accept the click."""

from __future__ import annotations

from flask import abort

from grants.errors import NotAllowedAndConcealed
from grants.organisations.models import Membership, MembershipRole, Organisation


def membership_of(user, organisation: Organisation) -> Membership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return next((m for m in organisation.memberships if m.user_id == user.id), None)


def is_member(user, organisation: Organisation) -> bool:
    return membership_of(user, organisation) is not None


def is_owner(user, organisation: Organisation) -> bool:
    membership = membership_of(user, organisation)
    return membership is not None and membership.role == MembershipRole.OWNER


def can_edit(user, organisation: Organisation) -> bool:
    return is_member(user, organisation)


def can_invite(user, organisation: Organisation) -> bool:
    """Owners and members alike bring in colleagues: the association decides who works on its files."""
    return is_member(user, organisation)


def can_manage_members(user, organisation: Organisation) -> bool:
    """Removing or promoting a member is the owners' decision."""
    return is_owner(user, organisation)


def owner_count(organisation: Organisation) -> int:
    return sum(1 for m in organisation.memberships if m.role == MembershipRole.OWNER)


def can_remove(user, membership: Membership) -> bool:
    """Owners remove members, never the last owner: an organisation always keeps someone in charge."""
    organisation = membership.organisation
    if not can_manage_members(user, organisation):
        return False
    return membership.role != MembershipRole.OWNER or owner_count(organisation) > 1


def ensure_member(user, organisation: Organisation) -> None:
    """404 unless ``user`` belongs to ``organisation``: one association never sees another's data, nor
    learns which ids exist (the same answer as for a missing id, as for applications)."""
    if not is_member(user, organisation):
        raise NotAllowedAndConcealed("not a member of this organisation")


def ensure_owner(user, organisation: Organisation) -> None:
    if not is_owner(user, organisation):
        abort(403)
