"""Fixtures and helpers for the organisations tests."""

from __future__ import annotations

from flask import current_app

from grants.database import db
from grants.organisations import services


def invite(organisation, inviter, email):
    """An invitation made through the service and committed, as the members page would."""
    with current_app.test_request_context():  # the service builds the link with url_for
        invitation = services.invite_member(organisation, inviter, email)
        db.session.commit()
    return invitation
