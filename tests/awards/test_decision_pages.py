"""The manager's decision page: forms, commit once, errors under their fields, access."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from grants.awards import services
from grants.database import db
from grants.local_time import local_today
from grants.models import (
    ApplicationState,
    CallEnvelope,
    Decision,
    EnvelopeMovement,
    MovementKind,
    Notification,
    Outcome,
)
from tests.awards.conftest import OPERATING, under_review
from tests.factories import ApplicationFactory, ReviewerFactory, member_of


def url(application, action=""):
    return f"/gestion/dossiers/{application.id}/decision" + (f"/{action}" if action else "")


def committed(call):
    return db.session.scalar(db.select(CallEnvelope.committed).filter_by(call_id=call.id, section=OPERATING))


def test_the_page_shows_the_forms_and_the_remaining_envelope(call, manager, login_as):
    application = under_review(call)
    page = login_as(manager).get(url(application))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert application.reference in html and "Accorder une subvention" in html and "10\u202f000,00" in html


def test_an_award_typed_the_french_way_commits_and_redirects(call, manager, login_as):
    application = under_review(call, Decimal("6000.00"))
    client = login_as(manager)
    response = client.post(url(application, "accorder"),
                           data={"accord-amount": "4 500,50", "accord-section": "fonctionnement", "accord-reason": ""})
    assert response.status_code == 302 and response.headers["Location"].endswith(url(application))
    db.session.expire_all()
    assert committed(call) == Decimal("4500.50")
    assert db.session.get(type(application), application.id).state == ApplicationState.DECIDED
    page = client.get(url(application)).get_data(as_text=True)
    assert "Engagement" in page and "Enregistrer un versement" in page


@pytest.mark.parametrize(("amount", "message"), [
    ("0", "positif"), ("-5", "positif"), ("12,345", "deux décimales"), ("6000,01", "demandée"), ("", "requis"),
])
def test_bad_amounts_show_an_error_and_write_nothing(call, manager, login_as, amount, message):
    application = under_review(call, Decimal("6000.00"))
    response = login_as(manager).post(url(application, "accorder"),
                                      data={"accord-amount": amount, "accord-section": "fonctionnement"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "error-summary" in html and 'id="accord-amount-error"' in html
    assert message in html or message == "requis"
    assert committed(call) == 0
    assert db.session.scalar(db.select(db.func.count(Decision.id))) == 0


def test_an_exceeded_envelope_says_what_remains(call, manager, login_as):
    services.award_grant(under_review(call, Decimal("9000.00")), amount="9000", section=OPERATING, actor=manager)
    db.session.commit()
    application = under_review(call, Decimal("3000.00"))
    response = login_as(manager).post(url(application, "accorder"),
                                      data={"accord-amount": "1000,01", "accord-section": "fonctionnement"})
    assert response.status_code == 422
    assert "Enveloppe dépassée : 1\u202f000,00\xa0€ restants" in response.get_data(as_text=True)
    assert committed(call) == Decimal("9000.00")


def test_reject_then_no_more_decision(call, manager, login_as):
    application = under_review(call)
    client = login_as(manager)
    assert client.post(url(application, "refuser"), data={"refus-reason": ""}).status_code == 422
    assert client.post(url(application, "refuser"), data={"refus-reason": "Budget insincère"}).status_code == 302
    db.session.expire_all()
    assert services.decision_of(application).outcome == Outcome.REJECTED
    again = client.post(url(application, "accorder"), data={"accord-amount": "100", "accord-section": "fonctionnement"})
    assert again.status_code == 422 and "déjà reçu une décision" in again.get_data(as_text=True)


def test_a_payment_dated_outside_the_awards_life_is_refused_and_the_form_offers_today(call, manager, login_as):
    application = under_review(call, Decimal("5000.00"))
    services.award_grant(application, amount="4000", section=OPERATING, actor=manager)
    db.session.commit()
    client = login_as(manager)
    page = client.get(url(application, "")).get_data(as_text=True)
    assert f'name="versement-paid_on" required type="date" value="{local_today().isoformat()}"' in page
    for day in (local_today() - timedelta(days=1), local_today() + timedelta(days=1)):
        refused = client.post(url(application, "versements"), data={
            "versement-amount": "1000", "versement-tranche": "advance", "versement-paid_on": day.isoformat()})
        text = refused.get_data(as_text=True)
        assert refused.status_code == 422 and "Indiquez une date entre la décision d&#39;attribution" in text
        assert f'value="{day.isoformat()}"' in text  # what was typed is kept
    db.session.expire_all()
    assert services.decision_of(application).paid == 0
    assert not db.session.scalar(db.select(EnvelopeMovement).where(EnvelopeMovement.kind == MovementKind.PAYMENT))


def test_payments_amendments_and_cancellation_through_the_page(call, manager, login_as):
    application = under_review(call, Decimal("5000.00"))
    services.award_grant(application, amount="4000", section=OPERATING, actor=manager)
    db.session.commit()
    client = login_as(manager)
    too_much = client.post(url(application, "versements"), data={
        "versement-amount": "4000,01", "versement-tranche": "advance", "versement-paid_on": local_today().isoformat()})
    assert too_much.status_code == 422 and "reste à verser" in too_much.get_data(as_text=True)
    assert client.post(url(application, "versements"), data={
        "versement-amount": "1600", "versement-tranche": "advance", "versement-paid_on": local_today().isoformat()}).status_code == 302
    below_paid = client.post(url(application, "modifier"), data={"modification-amount": "1500",
                                                                 "modification-reason": "Baisse"})
    assert below_paid.status_code == 422 and "déjà versé" in below_paid.get_data(as_text=True)
    assert client.post(url(application, "modifier"), data={"modification-amount": "4500",
                                                           "modification-reason": "Hausse votée"}).status_code == 302
    no_recovery = client.post(url(application, "annuler"), data={"annulation-reason": "Projet abandonné"})
    assert no_recovery.status_code == 422 and "titre de recette" in no_recovery.get_data(as_text=True)
    assert client.post(url(application, "annuler"), data={"annulation-reason": "Projet abandonné",
                                                          "annulation-recover_paid": "y",
                                                          "annulation-recovered_on": local_today().isoformat()}).status_code == 302
    db.session.expire_all()
    decision = services.decision_of(application)
    assert decision.cancelled_at is not None and decision.amount == 0 and decision.paid == 0
    kinds = [m.kind.value for m in db.session.scalars(db.select(EnvelopeMovement).order_by(EnvelopeMovement.id))]
    assert kinds == ["commitment", "payment", "increase", "recovery", "cancellation"]
    assert committed(call) == 0
    assert services.ledger_discrepancies() == []
    events = [n.event for n in db.session.scalars(db.select(Notification).order_by(Notification.id))]
    assert events == ["decision_awarded", "payment_recorded"]


def test_a_grant_paid_in_full_offers_no_payment_form(call, manager, login_as):
    application = under_review(call, Decimal("5000.00"))
    decision = services.award_grant(application, amount="4000", section=OPERATING, actor=manager)
    services.record_payment(decision, amount="2500", tranche="advance", actor=manager, paid_on=local_today())
    db.session.commit()
    client = login_as(manager)
    assert "Enregistrer un versement" in client.get(url(application)).get_data(as_text=True)
    services.record_payment(decision, amount="1500", tranche="instalment", actor=manager, paid_on=local_today())
    db.session.commit()
    page = client.get(url(application)).get_data(as_text=True)
    assert "Enregistrer un versement" not in page and "Modifier le montant" in page


def test_outsiders_cannot_reach_decisions(call, manager, client, login_as):
    application = under_review(call)
    assert client.get(url(application)).status_code == 302  # anonymous: to the login page
    login_as(member_of(application.applicant.organisation))
    assert client.get(url(application)).status_code == 403
    assert client.post(url(application, "accorder"), data={"accord-amount": "100"}).status_code == 403
    login_as(ReviewerFactory())
    assert client.get(url(application)).status_code == 403
    assert committed(call) == 0


def test_unknown_and_draft_applications_are_404_for_managers(call, manager, login_as):
    client = login_as(manager)
    assert client.get("/gestion/dossiers/987654/decision").status_code == 404
    assert client.post("/gestion/dossiers/987654/decision/accorder",
                       data={"accord-amount": "100", "accord-section": "fonctionnement"}).status_code == 404
    draft = ApplicationFactory(call=call)
    assert client.get(url(draft)).status_code == 404
    # Payments on an application without an award: 404, nothing written.
    application = under_review(call)
    assert client.post(url(application, "versements"), data={"versement-amount": "10"}).status_code == 404


def test_the_applicant_partial_shows_the_decision(call, manager, app):
    from flask import render_template

    application = under_review(call)
    services.award_grant(application, amount="2500", section=OPERATING, actor=manager, reason="Très bon projet")
    db.session.commit()
    with app.test_request_context():
        html = render_template("awards/_applicant_decision.html", application=application)
    assert "2\u202f500,00" in html and "Très bon projet" in html
    other = under_review(call)
    with app.test_request_context():
        assert render_template("awards/_applicant_decision.html", application=other).strip() == ""


def test_the_payment_form_offers_the_tranche_that_comes_next(call, manager, login_as):
    """The advance first, then an instalment, then the balance of what remains once the final report is
    accepted: the form never offers by default a tranche the ledger would refuse."""
    from grants.awards import closure

    application = under_review(call, Decimal("5000.00"))
    decision = services.award_grant(application, amount="5000", section=OPERATING, actor=manager)
    db.session.commit()
    client = login_as(manager)

    def offered() -> tuple[str, str]:
        import html5lib

        document = html5lib.parse(client.get(url(application)).get_data(as_text=True), namespaceHTMLElements=False)
        select = document.find(".//select[@name='versement-tranche']")
        chosen = [o.get("value") for o in select.iter("option") if o.get("selected") is not None]
        assert len(chosen) == 1
        return chosen[0], document.find(".//input[@name='versement-amount']").get("value") or ""

    assert offered()[0] == "advance"
    services.record_payment(decision, amount="1500", tranche="advance", actor=manager, paid_on=local_today())
    db.session.commit()
    assert offered()[0] == "instalment"
    closure.mark_report_accepted(decision)
    db.session.commit()
    tranche, amount = offered()
    assert tranche == "balance" and "3500" in amount.replace("\u202f", "").replace(" ", "")
