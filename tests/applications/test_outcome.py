"""The applicant's view of a dossier once filed: the decision with its amount and what is paid, the
timeline with the decision and every payment, a step list with nothing "to complete" once the dossier
is out of the applicant's hands, an empty budget that is not called balanced, the check page (the
dossier first, a "Modifier" link per open section, « Déposer » last), and the printable summary."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from grants.applications import services
from grants.awards import services as awards
from grants.database import db
from grants.local_time import local_today
from grants.models import (
    ApplicationState,
    AssignmentState,
    BudgetSection,
    PaymentTranche,
    ReviewAssignment,
)
from tests.applications.conftest import page
from tests.factories import (
    ApplicationFactory,
    ManagerFactory,
    ReviewerFactory,
    SubmittedApplicationFactory,
    complete_draft,
    member_of,
    with_submitted_review,
)


@pytest.fixture
def awarded(call, applicant):
    """A dossier of ``applicant`` awarded 5 500 €, of which 3 300 € paid in two tranches."""
    manager = ManagerFactory()
    application = SubmittedApplicationFactory(call=call, applicant=applicant, state=ApplicationState.UNDER_REVIEW,
                                              amount_requested=Decimal("6000.00"), title="Jardins partagés")
    with_submitted_review(application, assigned_by=manager)
    decision = awards.award_grant(application, amount="5500", section=BudgetSection.OPERATING, actor=manager)
    awards.record_payment(decision, amount="2000", tranche=PaymentTranche.ADVANCE, actor=manager,
                          paid_on=local_today())
    awards.record_payment(decision, amount="1300", tranche=PaymentTranche.INSTALMENT, actor=manager,
                          paid_on=local_today())
    db.session.commit()
    return application


def timeline_of(body: str) -> str:
    return body.split('id="timeline"', 1)[1].split("</section>", 1)[0]


def test_the_dossier_says_what_is_awarded_and_what_is_paid(client, login_as, member, awarded):
    login_as(member)
    body = page(client.get(f"/dossiers/{awarded.id}"))
    status_line = body.split('class="status-line"', 1)[1].split("</p>", 1)[0]
    assert "Accordé : 5 500,00 € — 3 300,00 € versés" in status_line
    assert "Décidé" not in status_line

    listing = page(client.get("/dossiers"))
    assert "Accordé : 5 500,00 € — 3 300,00 € versés" in listing


def test_the_timeline_shows_the_decision_and_every_payment(client, login_as, member, awarded):
    login_as(member)
    steps = timeline_of(page(client.get(f"/dossiers/{awarded.id}")))
    assert "Subvention accordée : 5 500,00 €" in steps
    assert "Versement (avance) : 2 000,00 €" in steps
    assert "Versement (acompte) : 1 300,00 €" in steps
    # oldest first: the award, then the payments in the order they were recorded
    assert steps.index("Subvention accordée") < steps.index("(avance)") < steps.index("(acompte)")


def test_a_refusal_and_a_change_of_amount_are_on_the_timeline(client, login_as, call, member, applicant):
    manager = ManagerFactory()
    refused = SubmittedApplicationFactory(call=call, applicant=applicant, state=ApplicationState.UNDER_REVIEW)
    awards.reject_application(refused, reason="Hors du champ de l'appel", actor=manager)
    db.session.commit()
    login_as(member)
    body = page(client.get(f"/dossiers/{refused.id}"))
    assert "Demande refusée" in timeline_of(body)
    assert "Refusé" in body.split('class="status-line"', 1)[1].split("</p>", 1)[0]


@pytest.mark.parametrize("state", [ApplicationState.DECIDED, ApplicationState.WITHDRAWN])
def test_a_closed_dossier_has_nothing_left_to_complete(client, login_as, call, applicant, member, state):
    factory = SubmittedApplicationFactory if state == ApplicationState.DECIDED else ApplicationFactory
    application = factory(call=call, applicant=applicant, state=state, title="Dossier clos")
    db.session.commit()
    login_as(member)
    body = page(client.get(f"/dossiers/{application.id}"))
    assert "à compléter" not in body
    assert "(complet)" not in body


def test_a_draft_still_shows_what_is_left_to_complete(client, login_as, call, applicant, member):
    application = ApplicationFactory(call=call, applicant=applicant)
    db.session.commit()
    login_as(member)
    assert "à compléter" in page(client.get(f"/dossiers/{application.id}"))


def test_an_empty_budget_is_not_called_balanced(client, login_as, call, applicant, member):
    application = ApplicationFactory(call=call, applicant=applicant, amount_requested=None,
                                     total_expenses=Decimal("0.00"), total_resources=Decimal("0.00"))
    db.session.commit()
    login_as(member)
    body = page(client.get(f"/dossiers/{application.id}/budget"))
    balance = re.search(r"<output data-balance[^>]*>(.*?)</output>", body, re.S)
    assert balance.group(1).strip() == "Budget vide"
    body = page(client.get(f"/dossiers/{application.id}/depot"))
    assert "Budget vide" in body and "Budget équilibré" not in body


def test_the_check_page_shows_the_dossier_first_with_a_modifier_link_per_section(client, login_as, call,
                                                                                   applicant, member):
    application = complete_draft(call=call, applicant=applicant, partner_region="Kayes")
    db.session.commit()
    login_as(member)
    body = page(client.get(f"/dossiers/{application.id}/depot"))
    main = body.split('class="dossier-main"', 1)[1]
    for endpoint in ("identification", "projet", "budget", "pieces"):
        link = re.search(rf'<a href="/dossiers/{application.id}/{endpoint}">Modifier<span class="visually-hidden">', main)
        assert link, endpoint
    # the summary, then the submission form at the very end
    assert main.index("Budget prévisionnel") < main.index("Pièces jointes") < main.index("<form")
    assert main.index("Déposer le dossier</button>") > main.rindex("Modifier")


def test_a_filed_dossier_has_no_modifier_links(client, login_as, call, applicant, member):
    application = complete_draft(call=call, applicant=applicant, partner_region="Kayes")
    services.submit(application, actor=member)
    db.session.commit()
    login_as(member)
    body = page(client.get(f"/dossiers/{application.id}"))
    assert ">Modifier<" not in body
    assert f'href="/dossiers/{application.id}/recapitulatif"' in body


def test_the_printable_summary_is_for_whoever_may_read_the_dossier(app, client, login_as, call, applicant,
                                                                    member, awarded):
    url = f"/dossiers/{awarded.id}/recapitulatif"
    login_as(member)
    body = page(client.get(url))
    assert "Jardins partagés" in body and awarded.reference in body
    assert "Budget prévisionnel" in body and "Pièces jointes" in body
    assert "data-print" in body and f'href="/dossiers/{awarded.id}"' in body
    client.post("/deconnexion")

    login_as(ManagerFactory())
    assert f'href="/gestion/dossiers/{awarded.id}"' in page(client.get(url))
    client.post("/deconnexion")

    assigned = ReviewerFactory()
    db.session.add(ReviewAssignment(application=awarded, reviewer=assigned, assigned_by=ManagerFactory(),
                                    state=AssignmentState.ASSIGNED, due_on=date(2026, 12, 1)))
    db.session.commit()
    login_as(assigned)
    assert "Jardins partagés" in page(client.get(url))
    client.post("/deconnexion")

    for outsider in (ReviewerFactory(), member_of()):
        login_as(outsider)
        assert client.get(url).status_code == 404
        client.post("/deconnexion")


def test_the_style_sheet_prints_the_dossier_without_the_site_around_it(app):
    css = (app.static_folder and open(f"{app.static_folder}/css/app.css", encoding="utf-8").read())
    print_rules = css.split("@media print {", 1)[1]
    hidden = print_rules.split("{", 1)[0]
    assert ".site-header" in hidden and ".actions" in hidden and ".dossier-nav" in hidden
    assert "@page" in print_rules and "break-inside: avoid" in print_rules
