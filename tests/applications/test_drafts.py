"""Drafts keep what can be kept: invalid fields come back as typed with their error, the valid ones are
saved; two members never silently overwrite each other; submission lists everything missing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from grants.database import db
from grants.models import Application, ApplicationState, BudgetLine, CallState
from tests.applications.conftest import page
from tests.applications.test_journey import budget_form, project_form
from tests.factories import (
    ApplicationFactory,
    CallFactory,
    IndividualApplicantFactory,
    MembershipFactory,
    OrganisationFactory,
    RequiredDocumentFactory,
    UserFactory,
    member_of,
)


def draft(call, applicant, member) -> Application:
    return ApplicationFactory(call=call, applicant=applicant, created_by=member, title="", summary="",
                              amount_requested=None, total_expenses=Decimal("0"), total_resources=Decimal("0"))


def test_too_long_text_and_html_are_handled_field_by_field(app, client, login_as, call, member, applicant):
    application = draft(call, applicant, member)
    login_as(member)
    huge = "Objectif " + "x" * 100_000
    response = client.post(f"/dossiers/{application.id}/projet", data=project_form(
        application.version, title="<script>alert('x')</script> Forages", objectives=huge))
    body = page(response, 422)
    assert "Brouillon enregistré, sauf les champs signalés" in body
    assert 'id="objectives-error"' in body and huge in body  # typed input kept
    assert "<script>alert" not in body and "&lt;script&gt;alert" in body
    db.session.refresh(application)
    assert application.title == "<script>alert('x')</script> Forages"  # kept as typed, shown escaped
    assert application.objectives == "" and application.partner_region == "Kayes"
    body = page(client.get(f"/dossiers/{application.id}/projet"))
    assert "&lt;script&gt;alert" in body and "<script>alert" not in body


def test_an_end_before_the_start_is_refused_and_the_rest_is_saved(app, client, login_as, call, member, applicant):
    application = draft(call, applicant, member)
    login_as(member)
    body = page(client.post(f"/dossiers/{application.id}/projet", data=project_form(
        application.version, starts_on="2027-03-01", ends_on="2027-01-31", beneficiaries_count="-4")), 422)
    assert "La fin du projet ne peut pas précéder son début." in body
    assert 'value="2027-01-31"' in body and 'value="-4"' in body
    db.session.refresh(application)
    assert application.starts_on == date(2027, 3, 1) and application.ends_on is None
    assert application.beneficiaries_count is None and application.places == "Cercle de Kayes (Mali) et Roubaix"


def test_a_partner_region_outside_the_call_is_refused(app, client, login_as, call, member, applicant):
    application = draft(call, applicant, member)
    login_as(member)
    body = page(client.post(f"/dossiers/{application.id}/projet",
                            data=project_form(application.version, partner_region="Atlantide")), 422)
    assert "Choisissez une des régions partenaires de l'appel." in body
    db.session.refresh(application)
    assert application.partner_region is None and application.title.startswith("Accès")


def test_bad_amounts_come_back_as_typed_and_the_valid_lines_are_saved(app, client, login_as, call, member, applicant):
    application = draft(call, applicant, member)
    login_as(member)
    body = page(client.post(f"/dossiers/{application.id}/budget", data=budget_form(
        application.version, **{"expenses-1-amount": "-50", "resources-1-amount": "12,345"})), 422)
    assert 'value="-50"' in body and 'value="12,345"' in body
    assert "Le montant doit être positif." in body and "au plus deux décimales" in body
    db.session.refresh(application)
    labels = {line.label for line in application.budget_lines}
    assert "Pompes solaires" in labels and "Missions à Kayes" not in labels and "Fonds propres" not in labels
    assert application.total_expenses == Decimal("6000.50")  # recomputed from what was kept
    assert application.amount_requested == Decimal("5000.00")


def test_the_server_recomputes_totals_whatever_the_browser_says(app, client, login_as, call, member, applicant):
    application = draft(call, applicant, member)
    login_as(member)
    data = budget_form(application.version, total_expenses="1", total_resources="999999")
    assert client.post(f"/dossiers/{application.id}/budget", data=data).status_code == 302
    db.session.refresh(application)
    assert (application.total_expenses, application.total_resources) == (Decimal("10000.00"), Decimal("10000.00"))


def test_an_unbalanced_budget_is_saved_and_refused_at_submission(app, client, login_as, call, member, applicant):
    application = draft(call, applicant, member)
    login_as(member)
    response = client.post(f"/dossiers/{application.id}/projet", data=project_form(application.version))
    assert response.status_code == 302
    db.session.refresh(application)
    response = client.post(f"/dossiers/{application.id}/budget", data=budget_form(
        application.version, **{"resources-1-amount": "500"}))
    assert response.status_code == 302
    db.session.refresh(application)
    assert application.total_expenses == Decimal("10000.00") and application.total_resources == Decimal("8500.00")
    body = page(client.get(f"/dossiers/{application.id}/budget"))
    assert "Le budget n'est pas équilibré" in body
    body = page(client.post(f"/dossiers/{application.id}/depot", data={"version": application.version}), 422)
    assert "Le budget n'est pas équilibré" in body and f'href="/dossiers/{application.id}/budget#totals"' in body
    db.session.refresh(application)
    assert application.state == ApplicationState.DRAFT and application.reference is None


def test_amounts_past_the_call_limits_get_a_field_error_and_the_draft_is_kept(app, client, login_as, call, member,
                                                                              applicant):
    application = draft(call, applicant, member)
    login_as(member)
    # 7 000 € asked of 10 000 €: over the call's 50 % share.
    body = page(client.post(f"/dossiers/{application.id}/budget", data=budget_form(
        application.version, amount_requested="7 000", **{"resources-1-amount": "0"})))
    assert "dépasse 50 % du coût total du projet, soit 5 000,00 €" in body and 'id="amount_requested-error"' in body
    db.session.refresh(application)
    assert application.amount_requested == Decimal("7000.00")
    body = page(client.post(f"/dossiers/{application.id}/budget", data=budget_form(
        application.version, amount_requested="20 000", **{"expenses-0-amount": "40 000"})))
    assert "dépasse le maximum de l'appel (15 000,00 €)" in body
    body = page(client.post(f"/dossiers/{application.id}/budget", data=budget_form(
        application.version, amount_requested="1 000")))
    assert "inférieur au minimum de l'appel (1 500,00 €)" in body


def test_a_section_the_call_does_not_fund_is_refused(app, client, login_as, call, member, applicant):
    application = draft(call, applicant, member)
    login_as(member)
    body = page(client.post(f"/dossiers/{application.id}/budget",
                            data=budget_form(application.version, section="investissement")), 422)
    assert "Cet appel ne finance pas cette section." in body
    db.session.refresh(application)
    assert application.total_expenses == Decimal("10000.00")  # the rest is saved


def test_two_members_editing_the_same_draft_do_not_overwrite_each_other(app, call, member, applicant):
    from tests.conftest import login

    colleague = UserFactory()
    MembershipFactory(user=colleague, organisation=applicant.organisation)
    application = draft(call, applicant, member)
    opened_at = application.version
    first, second = app.test_client(), app.test_client()
    login(first, member)
    login(second, colleague)
    assert first.post(f"/dossiers/{application.id}/projet",
                      data=project_form(opened_at, title="Titre de Claire")).status_code == 302
    body = page(second.post(f"/dossiers/{application.id}/projet",
                            data=project_form(opened_at, title="Titre de Yacine")), 409)
    assert "Quelqu'un d'autre a enregistré ce dossier" in body
    assert 'value="Titre de Yacine"' in body  # his input is kept
    assert "Titre de Claire" in body  # beside the other person's value
    db.session.refresh(application)
    assert application.title == "Titre de Claire"
    # Having seen both, he saves again with the current version: now it is a deliberate overwrite.
    assert second.post(f"/dossiers/{application.id}/projet",
                       data=project_form(application.version, title="Titre de Yacine")).status_code == 302
    db.session.refresh(application)
    assert application.title == "Titre de Yacine"


def test_a_budget_conflict_keeps_the_typed_lines(app, call, member, applicant):
    from tests.conftest import login

    colleague = UserFactory()
    MembershipFactory(user=colleague, organisation=applicant.organisation)
    application = draft(call, applicant, member)
    opened_at = application.version
    first, second = app.test_client(), app.test_client()
    login(first, member)
    login(second, colleague)
    assert first.post(f"/dossiers/{application.id}/budget", data=budget_form(opened_at)).status_code == 302
    body = page(second.post(f"/dossiers/{application.id}/budget",
                            data=budget_form(opened_at, **{"expenses-0-label": "Citerne"})), 409)
    assert 'value="Citerne"' in body and "Pompes solaires" in body
    assert db.session.scalar(sa.select(BudgetLine.id).where(BudgetLine.label == "Citerne")) is None


def test_submission_lists_every_missing_part_with_links(app, client, login_as, call, member, applicant):
    RequiredDocumentFactory(call=call, name="Statuts de l'association", required=True)
    RequiredDocumentFactory(call=call, name="Revue de presse", required=False)
    application = draft(call, applicant, member)
    login_as(member)
    body = page(client.get(f"/dossiers/{application.id}/depot"))
    for fragment in ("Donnez un titre au projet.", "Choisissez la région partenaire du projet.",
                     "Détaillez les dépenses du projet.", "Indiquez le montant demandé à la Région.",
                     "Pièce manquante : Statuts de l'association.",
                     f'href="/dossiers/{application.id}/projet#title"', f'href="/dossiers/{application.id}/pieces"'):
        assert fragment in body
    assert "Revue de presse" not in body.split("Ce qu'il manque")[1].split("</ul>")[0]
    page(client.post(f"/dossiers/{application.id}/depot", data={"version": application.version}), 422)
    db.session.refresh(application)
    assert application.state == ApplicationState.DRAFT


def test_an_individual_edits_his_postal_address_here(app, client, login_as):
    call = CallFactory(applicant_kinds="individuals", slug="fradep")
    person_applicant = IndividualApplicantFactory(address="")
    application = ApplicationFactory(call=call, applicant=person_applicant, created_by=person_applicant.person)
    login_as(person_applicant.person)
    body = page(client.get(f"/dossiers/{application.id}/identification"))
    assert 'name="address"' in body
    response = client.post(f"/dossiers/{application.id}/identification",
                           data={"version": application.version, "address": "8 rue du Jeu de Paume, 59140 Dunkerque"})
    assert response.status_code == 302
    db.session.refresh(person_applicant)
    assert person_applicant.address == "8 rue du Jeu de Paume, 59140 Dunkerque"


# --- Starting an application ---------------------------------------------------------------------


def test_one_active_application_per_applicant_and_call(app, client, login_as, call, member, applicant):
    login_as(member)
    assert client.post(f"/appels/{call.slug}/deposer", data={"applicant": applicant.id}).status_code == 302
    second = client.post(f"/appels/{call.slug}/deposer", data={"applicant": applicant.id})
    application = db.session.scalars(sa.select(Application)).one()
    assert second.status_code == 302 and second.headers["Location"].endswith(f"/dossiers/{application.id}")
    body = page(client.get(f"/appels/{call.slug}/deposer"))
    assert "Reprendre mon dossier" in body and "Commencer le dossier" not in body
    # Once withdrawn, a new one may be started.
    assert client.post(f"/dossiers/{application.id}/retrait", data={"reason": ""}).status_code == 302
    assert client.post(f"/appels/{call.slug}/deposer", data={"applicant": applicant.id}).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)) == 2


def test_applicants_the_call_does_not_take_are_refused_with_the_reason(app, client, login_as, call):
    company = OrganisationFactory(legal_form="company", name="Forages SARL")
    user = member_of(company)
    individual = IndividualApplicantFactory(person=user)
    login_as(user)
    body = page(client.get(f"/appels/{call.slug}/deposer"))
    assert "La forme juridique de Forages SARL n'est pas admise" in body
    assert "réservé aux organisations" in body and "Commencer le dossier" not in body
    body = page(client.post(f"/appels/{call.slug}/deposer", data={"applicant": individual.id}), 422)
    assert "réservé aux organisations" in body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)) == 0


def test_a_user_with_an_association_and_himself_chooses(app, client, login_as, call):
    call.applicant_kinds = "both"
    call.eligible_legal_forms = []
    db.session.commit()
    user = member_of()
    individual = IndividualApplicantFactory(person=user)
    login_as(user)
    body = page(client.get(f"/appels/{call.slug}/deposer"))
    assert body.count('type="radio"') == 2
    assert client.post(f"/appels/{call.slug}/deposer", data={"applicant": individual.id}).status_code == 302
    assert db.session.scalars(sa.select(Application)).one().applicant_id == individual.id


def test_a_closed_call_takes_no_new_draft(app, client, login_as, call, member, applicant):
    call.state = CallState.CLOSED
    db.session.commit()
    login_as(member)
    body = page(client.get(f"/appels/{call.slug}/deposer"))
    assert "n'accepte pas de dossier" in body
    page(client.post(f"/appels/{call.slug}/deposer", data={"applicant": applicant.id}), 422)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)) == 0


def test_someone_elses_applicant_cannot_be_used(app, client, login_as, call, member):
    stranger_applicant = db.session.scalar(sa.select(Application.applicant_id))  # none yet
    assert stranger_applicant is None
    other = member_of()
    from grants.models import Applicant

    theirs = db.session.scalar(sa.select(Applicant).where(
        Applicant.organisation_id == other.memberships[0].organisation_id))
    login_as(member)
    page(client.post(f"/appels/{call.slug}/deposer", data={"applicant": theirs.id}), 422)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)) == 0


def test_an_amount_beyond_any_budget_is_refused_under_its_line(app, client, login_as, call, member, applicant):
    """99 999 999 999 999 999 999 in a budget line overflowed the cents column: an error page on SQLite."""
    application = draft(call, applicant, member)
    login_as(member)
    body = page(client.post(f"/dossiers/{application.id}/budget", data=budget_form(
        application.version, **{"expenses-0-amount": "99999999999999999999"})), 422)
    error = body[body.index('id="expenses-0-amount-error"'):]
    assert "Un montant ne dépasse pas 999 999 999,99 €." in error[:error.index("</p>")]
    assert 'value="99999999999999999999"' in body  # shown again as typed
    db.session.refresh(application)
    assert "Pompes solaires" not in {line.label for line in application.budget_lines}
