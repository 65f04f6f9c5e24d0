"""Helpers for the accounts tests."""

from __future__ import annotations

import re

import pytest

from grants.audit.models import AuditEvent
from grants.database import db


@pytest.fixture
def organisation_form() -> dict:
    """A complete, valid registration of an association and its first member."""
    return {
        "name": "Les Amis du Quartier Nord",
        "legal_form": "association",
        "siret": "732 829 320 00074",
        "rna": "w595012345",
        "street": "4 rue des Arts",
        "postal_code": "59000",
        "city": "Lille",
        "contact_email": "contact@amis-quartier.example",
        "phone": "03 20 12 34 56",
        "full_name": "Claire Dubois",
        "email": "Claire.Dubois@Amis-Quartier.example",
        "password": "une phrase assez longue",
        "password_confirm": "une phrase assez longue",
    }


def audit_actions() -> list[str]:
    return list(db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)))


def audit_events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def link_in(message, path_prefix: str) -> str:
    """The path of the first link in an email whose path starts with ``path_prefix``."""
    match = re.search(r"https?://[^/\s]+(" + re.escape(path_prefix) + r"\S+)", message.body)
    assert match, message.body
    return match.group(1)


def is_signed_in(client) -> bool:
    response = client.get("/compte")
    return response.status_code == 200
