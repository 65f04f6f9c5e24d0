"""A call sets its advance share and whether awards below the threshold need a convention; the
convention's advance follows the call's share."""

from __future__ import annotations

from decimal import Decimal

from grants.awards import services as awards
from grants.conventions import services
from grants.database import db
from grants.models import Call
from tests.awards.conftest import OPERATING, under_review
from tests.calls.test_manage_pages import call_form, line, manager  # noqa: F401 — the calls pages' fixtures


def test_the_call_form_sets_the_advance_share_and_the_convention_below_threshold(client, manager, line):  # noqa: F811
    response = client.post(f"/gestion/appels/nouveau?programme={line.programme_id}",
                           data=call_form(advance_percent="40", convention_below_threshold="y"))
    assert response.status_code == 302
    call = db.session.scalar(db.select(Call).where(Call.slug == "sisa-2027"))
    assert call.advance_share == Decimal("0.4000") and call.convention_below_threshold
    refused = client.post(f"/gestion/appels/{call.id}/modifier", data=call_form(advance_percent="120"))
    assert refused.status_code == 422
    db.session.refresh(call)
    assert call.advance_share == Decimal("0.4000")


def test_the_advance_follows_the_call_share(big_call, manager):  # noqa: F811
    big_call.advance_share = Decimal("0.25")
    application = under_review(big_call, amount_requested=Decimal("30000.00"))
    decision = awards.award_grant(application, amount="24000.10", section=OPERATING, actor=manager)
    convention = services.generate(decision, actor=manager)
    assert convention.advance == Decimal("6000.02")  # 25 %, rounded down to the cent
