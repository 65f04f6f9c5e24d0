"""Helpers for the API tests: tokens, authenticated requests, awardable applications, and schema checks
against the OpenAPI document the API serves."""

from __future__ import annotations

from decimal import Decimal

import pytest
from jsonschema import Draft202012Validator

from grants.api import services
from grants.api.openapi import openapi_document
from grants.applications.models import ApplicationState
from grants.database import db
from tests.factories import (
    CallEnvelopeFactory,
    CallFactory,
    ManagerFactory,
    SubmittedApplicationFactory,
    with_submitted_review,
)


def new_token(user, name: str = "logiciel financier") -> str:
    """A committed token for ``user``; returns its secret."""
    _, secret = services.create_token(user, name=name, actor=user)
    db.session.commit()
    return secret


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def manager(app):
    return ManagerFactory(full_name="Claire Martin")


@pytest.fixture
def secret(manager) -> str:
    return new_token(manager)


@pytest.fixture
def api(client, secret):
    """``api.get(url)`` / ``api.post(url, json=...)`` with the manager's token."""

    class Api:
        def get(self, url, **kwargs):
            return client.get(url, headers=bearer(secret), **kwargs)

        def post(self, url, **kwargs):
            return client.post(url, headers=bearer(secret), **kwargs)

    return Api()


def open_call(**envelope):
    """An open call with a fonctionnement envelope (100 000,00 € unless told)."""
    call = CallFactory()
    CallEnvelopeFactory(call=call, **envelope)
    return call


def under_review(call, amount_requested: str = "5000.00", *, reviewed: bool = True, **fields):
    """An application of ``call`` under review; ``reviewed``: its one reviewer has transmitted his review."""
    application = SubmittedApplicationFactory(
        call=call, state=ApplicationState.UNDER_REVIEW, amount_requested=Decimal(amount_requested), **fields
    )
    return with_submitted_review(application) if reviewed else application


def matches_schema(instance, name: str) -> list[str]:
    """The errors of ``instance`` against ``#/components/schemas/<name>`` of the served document."""
    document = openapi_document()
    validator = Draft202012Validator({"components": document["components"], "$ref": f"#/components/schemas/{name}"})
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]
