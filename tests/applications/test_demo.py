"""The demo dossiers: several per open call, one active per association and call, balanced budgets,
and their pages open for the demo members."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from grants.applications import services
from grants.database import db
from grants.demo.seed import DEMO_PASSWORD
from grants.models import Application, ApplicationState, Call, CallState
from tests.applications.conftest import page
from tests.conftest import login


def test_the_demo_has_several_true_dossiers_per_open_call(app, client):
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    db.session.rollback()
    for call in db.session.scalars(sa.select(Call).where(Call.state == CallState.OPEN, Call.applicant_kinds != "individuals")):
        applications = db.session.scalars(sa.select(Application).where(Application.call_id == call.id)).all()
        assert len(applications) >= 3, call.slug
        active = Counter(a.applicant_id for a in applications if a.state != ApplicationState.WITHDRAWN)
        assert max(active.values()) == 1, call.slug
        for application in applications:
            assert application.total_expenses == application.total_resources
            assert not services.amount_limits_problems(call, application.amount_requested, application.total_expenses)
    draft = db.session.scalar(sa.select(Application).where(Application.title == "École de consommateurs des Provinces"))
    member = draft.applicant.acting_users()[0]
    assert login(client, member, DEMO_PASSWORD).status_code == 302
    for section in ("", "/identification", "/projet", "/budget", "/depot"):
        page(client.get(f"/dossiers/{draft.id}{section}"))
    body = page(client.get("/dossiers"))
    assert "École de consommateurs des Provinces" in body and "Cinéma en plein air" not in body
