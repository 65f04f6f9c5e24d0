"""The managers' pages of calls: every page renders, a call is created, edited, published, extended,
closed and cloned through its forms, bad input comes back with the user's values, and only programme
managers get in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import html5lib
import pytest
import sqlalchemy as sa

from grants.database import db, utcnow
from grants.local_time import to_local
from grants.models import (
    Applicant,
    BudgetSection,
    Call,
    CallFunder,
    CallState,
    Criterion,
    Notification,
    ProgrammeBudget,
)
from tests.factories import (
    ApplicationFactory,
    CallEnvelopeFactory,
    CallFactory,
    CriterionFactory,
    ManagerFactory,
    ProgrammeBudgetFactory,
    RequiredDocumentFactory,
    ReviewerFactory,
    member_of,
)

PARSER = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
OPERATING = BudgetSection.OPERATING


def page(response, status: int = 200) -> str:
    """The response's HTML, checked well-formed, with Babel's no-break spaces made plain."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:800])
    body = response.get_data(as_text=True)
    PARSER.parse(body)
    return body.replace("\u202f", " ").replace("\xa0", " ").replace("&#39;", "'")


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def local_input(instant: datetime) -> str:
    """An instant as a datetime-local input value, in Paris time."""
    return to_local(instant).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def manager(app, login_as):
    user = ManagerFactory()
    login_as(user)
    return user


@pytest.fixture
def line(app):
    """Relations internationales: 860 000 € authorised in operating for 2026."""
    return ProgrammeBudgetFactory(authorised=Decimal("860000.00"), year=2026, section=OPERATING)


def call_form(**overrides) -> dict:
    data = {
        "title": "Solidaires Ici Solidaires Ailleurs 2027",
        "slug": "sisa-2027",
        "reference_prefix": "SISA",
        "year": "2026",
        "summary": "Projets de solidarité internationale.",
        "description": "Des projets **ici** et là-bas.",
        "eligibility_rules": "Associations loi 1901.",
        "applicant_kinds": "organisations",
        "eligible_legal_forms": ["association", "foundation"],
        "partner_regions": "Kayes\nHaïti",
        "opens_at": "2026-09-01T09:00",
        "closes_at": "2026-10-15T12:00",
        "min_grant": "1 000",
        "max_grant": "20 000",
        "max_share_percent": "80",
        "envelope_fonctionnement": "12 500,50",
        "envelope_investissement": "",
        "reminder_offsets": "7, 2",
        "blind_review": "y",
    }
    data.update(overrides)
    return data


def a_full_call(line) -> Call:
    call = CallFactory(programme=line.programme, year=2026, state=CallState.DRAFT, title="Coopération décentralisée",
                       slug="dcp-2026", opens_at=utcnow() + timedelta(days=5), closes_at=utcnow() + timedelta(days=40))
    CallEnvelopeFactory(call=call, amount=Decimal("300000.00"))
    line.carved = Decimal("300000.00")
    CriterionFactory(call=call, name="Pertinence du partenariat", guidance="Ancienneté, réciprocité", weight=Decimal("3"))
    RequiredDocumentFactory(call=call, name="Convention de partenariat")
    call.funders = [CallFunder(name="Région", share=Decimal("0.75")), CallFunder(name="ADEME", share=Decimal("0.25"))]
    db.session.commit()
    return call


# --- Every page renders ------------------------------------------------------------------------


def test_every_manager_page_renders_with_its_content(client, manager, line):
    call = a_full_call(line)
    criterion = call.criteria[0]
    programme = line.programme

    body = page(client.get("/gestion/programmes?annee=2026"))
    assert programme.name in body and "860 000,00 €" in body and "<meter" in body

    body = page(client.get(f"/gestion/programmes/{programme.id}?annee=2026"))
    assert "Coopération décentralisée" in body and "Fixer l'autorisation" in body and "560 000,00 €" in body

    body = page(client.get("/gestion/appels"))
    assert "Coopération décentralisée" in body and "300 000,00 €" in body

    body = page(client.get("/gestion/appels/nouveau"))
    assert "Choisissez un programme" in body and programme.name in body
    body = page(client.get(f"/gestion/appels/nouveau?programme={programme.id}"))
    assert 'name="programme"' not in body and programme.name in body

    body = page(client.get(f"/gestion/appels/{call.id}"))
    assert "Pertinence du partenariat" in body and "Convention de partenariat" in body
    assert "Publier l'appel" in body and "Aperçu de la page publique" in body
    assert "225 000,00 €" in body and "75 000,00 €" in body  # the co-funders' parts of the envelope

    body = page(client.get(f"/gestion/appels/{call.id}/modifier"))
    assert 'value="dcp-2026"' in body and 'value="300000,00"' in body

    body = page(client.get(f"/gestion/appels/{call.id}/dupliquer"))
    assert 'value="dcp-2027"' in body and 'value="2027"' in body

    body = page(client.get(f"/gestion/appels/{call.id}/cofinanceurs"))
    assert 'value="ADEME"' in body and 'value="75,00"' in body and "les parts font 100 % au total" in body

    body = page(client.get(f"/gestion/criteres/{criterion.id}"))
    assert 'value="Pertinence du partenariat"' in body

    opened = CallFactory(programme=programme, state=CallState.OPEN)
    body = page(client.get(f"/gestion/appels/{opened.id}/prolonger"))
    assert "Prolonger et prévenir" in body and local_input(opened.closes_at) in body


def test_unknown_ids_are_404(client, manager):
    for path in ("/gestion/programmes/999", "/gestion/appels/999", "/gestion/appels/999/modifier",
                 "/gestion/criteres/999", "/gestion/appels/nouveau?programme=999"):
        assert client.get(path).status_code == 404, path
    assert client.post("/gestion/appels/999/publier").status_code == 404


def test_the_list_filters_by_programme_state_year_and_title(client, manager, line):
    CallFactory(programme=line.programme, year=2026, state=CallState.DRAFT, title="Jeunesse solidaire")
    CallFactory(programme=line.programme, year=2025, state=CallState.CLOSED, title="Jeunesse 2025")
    CallFactory(year=2026, state=CallState.OPEN, title="Climat et territoires")
    body = page(client.get(f"/gestion/appels?programme={line.programme_id}&etat=draft&annee=2026&q=jeunesse"))
    assert "Jeunesse solidaire" in body and "Jeunesse 2025" not in body and "Climat" not in body
    body = page(client.get("/gestion/appels?etat=bidon&annee=x"))  # nonsense filters are ignored
    assert all(title in body for title in ("Jeunesse solidaire", "Jeunesse 2025", "Climat et territoires"))


# --- Creating a call -----------------------------------------------------------------------------


def test_creating_a_call_carves_its_envelope_from_the_programme_line(client, manager, line):
    response = client.post(f"/gestion/appels/nouveau?programme={line.programme_id}", data=call_form())
    assert response.status_code == 302
    call = db.session.scalars(sa.select(Call)).one()
    assert response.headers["Location"].endswith(f"/gestion/appels/{call.id}")
    assert call.state == CallState.DRAFT and call.programme_id == line.programme_id
    assert call.opens_at == datetime(2026, 9, 1, 7, 0, tzinfo=UTC)  # 09:00 in Paris, summer time
    assert call.closes_at == datetime(2026, 10, 15, 10, 0, tzinfo=UTC)
    assert call.min_grant == Decimal("1000.00") and call.max_share_of_cost == Decimal("0.8")
    assert call.eligible_legal_forms == ["association", "foundation"] and call.partner_regions == ["Kayes", "Haïti"]
    assert call.envelope_for(OPERATING).amount == Decimal("12500.50")
    db.session.refresh(line)
    assert line.carved == Decimal("12500.50")
    assert "est créé en brouillon" in page(client.get(response.headers["Location"]))


def test_the_programme_can_be_chosen_in_the_form(client, manager, line):
    response = client.post("/gestion/appels/nouveau", data=call_form())
    body = page(response, 422)
    assert "Choisissez le programme" in body and count(Call) == 0
    assert client.post("/gestion/appels/nouveau", data=call_form(programme=str(line.programme_id))).status_code == 302
    assert db.session.scalars(sa.select(Call)).one().programme_id == line.programme_id


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"closes_at": "2026-08-01T09:00"}, "closes_at", "La clôture doit être postérieure à l'ouverture."),
        ({"envelope_fonctionnement": "900 000"}, "envelope_fonctionnement", "ce que la ligne budgétaire a de libre : 860 000,00 €"),
        ({"min_grant": "1 000,505"}, "min_grant", "au plus deux décimales"),
        ({"opens_at": "2026-03-29T02:30", "closes_at": "2026-04-30T12:00"}, "opens_at", "n'existe pas ce jour-là"),
    ],
)
def test_bad_call_input_comes_back_with_the_error_and_saves_nothing(client, manager, line, overrides, field, message):
    response = client.post(f"/gestion/appels/nouveau?programme={line.programme_id}", data=call_form(**overrides))
    body = page(response, 422)
    error = body[body.index(f'id="{field}-error"'):]
    assert message in error[:error.index("</p>")]
    assert 'value="Solidaires Ici Solidaires Ailleurs 2027"' in body  # the user's input is kept
    assert f'value="{next(iter(overrides.values()))}"' in body
    assert count(Call) == 0
    db.session.refresh(line)
    assert line.carved == Decimal("0.00")


def test_a_taken_slug_is_refused_on_its_field(client, manager, line):
    CallFactory(slug="sisa-2027")
    body = page(client.post(f"/gestion/appels/nouveau?programme={line.programme_id}", data=call_form()), 422)
    assert 'id="slug-error"' in body and "déjà prise" in body
    assert count(Call) == 1
    db.session.refresh(line)
    assert line.carved == Decimal("0.00")


# --- Editing -------------------------------------------------------------------------------------


def test_editing_a_draft_moves_its_envelope(client, manager, line):
    call = a_full_call(line)
    data = call_form(title=call.title, slug=call.slug, envelope_fonctionnement="350 000")
    assert client.post(f"/gestion/appels/{call.id}/modifier", data=data).status_code == 302
    db.session.expire_all()
    assert call.envelope_for(OPERATING).amount == Decimal("350000.00")
    assert line.carved == Decimal("350000.00")
    body = page(client.post(f"/gestion/appels/{call.id}/modifier", data=call_form(envelope_fonctionnement="900 000")), 422)
    assert 'id="envelope_fonctionnement-error"' in body and 'value="900 000"' in body
    db.session.expire_all()
    assert call.envelope_for(OPERATING).amount == Decimal("350000.00") and call.title == "Coopération décentralisée"


def test_an_open_call_shows_its_dates_read_only_and_keeps_them(client, manager, line):
    call = CallFactory(programme=line.programme, year=2026, state=CallState.OPEN)
    opens_at, closes_at = call.opens_at, call.closes_at
    body = page(client.get(f"/gestion/appels/{call.id}/modifier"))
    assert 'name="opens_at"' not in body and 'name="closes_at"' not in body
    assert f'href="/gestion/appels/{call.id}/prolonger"' in body
    data = call_form(title=call.title, slug=call.slug, summary="Résumé revu", envelope_fonctionnement="")
    del data["opens_at"], data["closes_at"]  # as the browser sends it: the dates are not inputs
    assert client.post(f"/gestion/appels/{call.id}/modifier", data=data).status_code == 302
    db.session.expire_all()
    assert call.summary == "Résumé revu" and (call.opens_at, call.closes_at) == (opens_at, closes_at)
    forged = {**data, "opens_at": "2030-01-01T09:00", "closes_at": "2030-02-01T09:00", "summary": "Encore"}
    assert client.post(f"/gestion/appels/{call.id}/modifier", data=forged).status_code == 302
    db.session.expire_all()
    assert call.summary == "Encore" and (call.opens_at, call.closes_at) == (opens_at, closes_at)


def test_a_closed_call_is_no_longer_edited(client, manager):
    call = CallFactory(state=CallState.CLOSED)
    response = client.get(f"/gestion/appels/{call.id}/modifier")
    assert response.status_code == 302
    assert "ne se modifie plus" in page(client.get(response.headers["Location"]))


# --- Lifecycle -----------------------------------------------------------------------------------


def test_publish_then_unpublish(client, manager, line):
    call = a_full_call(line)
    response = client.post(f"/gestion/appels/{call.id}/publier")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/gestion/appels/{call.id}")
    db.session.expire_all()
    assert call.state == CallState.SCHEDULED and call.published_at is not None
    body = page(client.get(response.headers["Location"]))
    assert "L'appel est publié : il ouvrira de lui-même" in body and "Dépublier" in body
    client.post(f"/gestion/appels/{call.id}/depublier")
    db.session.expire_all()
    assert call.state == CallState.DRAFT and call.published_at is None


def test_publishing_an_incomplete_call_says_what_is_missing(client, manager):
    call = CallFactory(state=CallState.DRAFT, closes_at=utcnow() + timedelta(days=30))
    response = client.post(f"/gestion/appels/{call.id}/publier", follow_redirects=True)
    body = page(response)
    assert "Avant de publier, il manque : une enveloppe, au moins un critère" in body
    db.session.expire_all()
    assert call.state == CallState.DRAFT


def test_a_move_the_lifecycle_does_not_allow_is_refused_in_french(client, manager):
    call = CallFactory(state=CallState.DRAFT)
    body = page(client.post(f"/gestion/appels/{call.id}/archiver", follow_redirects=True))
    assert "pas possible dans l'état actuel" in body
    db.session.expire_all()
    assert call.state == CallState.DRAFT


def test_close_only_once_the_deadline_has_passed_then_archive(client, manager):
    running = CallFactory(state=CallState.OPEN)
    assert "Clôturer l'appel" not in page(client.get(f"/gestion/appels/{running.id}"))
    body = page(client.post(f"/gestion/appels/{running.id}/cloturer", follow_redirects=True))
    assert "pas passée" in body
    late = CallFactory(state=CallState.OPEN, opens_at=utcnow() - timedelta(days=30), closes_at=utcnow() - timedelta(minutes=1))
    assert "Clôturer l'appel" in page(client.get(f"/gestion/appels/{late.id}"))
    client.post(f"/gestion/appels/{late.id}/cloturer")
    client.post(f"/gestion/appels/{late.id}/archiver")
    db.session.expire_all()
    assert running.state == CallState.OPEN and late.state == CallState.ARCHIVED


def draft_holder_on(call) -> str:
    alice = member_of(email="alice@asso.example")
    applicant = db.session.scalars(
        sa.select(Applicant).where(Applicant.organisation_id == alice.memberships[0].organisation_id)
    ).one()
    ApplicationFactory(call=call, applicant=applicant, created_by=alice)
    return alice.email


def test_extending_tells_draft_holders_and_says_how_many(client, manager):
    call = CallFactory(state=CallState.OPEN)
    email = draft_holder_on(call)
    new_deadline = call.closes_at + timedelta(days=7)
    response = client.post(f"/gestion/appels/{call.id}/prolonger",
                           data={"closes_at": local_input(new_deadline), "reason": "Panne de la plateforme"})
    assert response.status_code == 302
    notices = db.session.scalars(sa.select(Notification).where(Notification.event == "deadline_extended")).all()
    assert [n.recipient_email for n in notices] == [email]
    assert "Panne de la plateforme" in notices[0].body_text
    db.session.expire_all()
    assert call.closes_at == new_deadline.replace(second=0, microsecond=0)
    body = page(client.get(response.headers["Location"]))
    assert "1 porteur de brouillon a été prévenu par courriel" in body


def test_shortening_is_refused_with_the_message(client, manager):
    call = CallFactory(state=CallState.OPEN)
    draft_holder_on(call)
    closes_at = call.closes_at
    earlier = local_input(closes_at - timedelta(days=1))
    body = page(client.post(f"/gestion/appels/{call.id}/prolonger", data={"closes_at": earlier, "reason": "Erreur"}), 422)
    assert "on ne raccourcit pas un appel ouvert" in body and f'value="{earlier}"' in body and "Erreur" in body
    assert count(Notification) == 0
    db.session.expire_all()
    assert call.closes_at == closes_at


def test_only_an_open_call_is_extended(client, manager):
    call = CallFactory(state=CallState.DRAFT)
    response = client.get(f"/gestion/appels/{call.id}/prolonger")
    assert response.status_code == 302
    assert "Seul un appel ouvert" in page(client.get(response.headers["Location"]))


def test_clone_makes_a_new_draft_with_the_grid(client, manager, line):
    source = CallFactory(programme=line.programme, year=2026, state=CallState.CLOSED, title="SISA 2026", slug="sisa-2026",
                         opens_at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC), closes_at=datetime(2026, 4, 30, 10, 0, tzinfo=UTC))
    CallEnvelopeFactory(call=source, amount=Decimal("200000.00"))
    CriterionFactory(call=source, name="Pertinence", position=0)
    CriterionFactory(call=source, name="Partenariat", position=1)
    next_line = ProgrammeBudgetFactory(programme=line.programme, year=2027, authorised=Decimal("900000.00"))
    body = page(client.get(f"/gestion/appels/{source.id}/dupliquer"))
    # Same wall-clock times one year later: 09:00 and 12:00 in Paris.
    for value in ("SISA 2027", "sisa-2027", "2027-03-01T09:00", "2027-04-30T12:00"):
        assert f'value="{value}"' in body
    response = client.post(f"/gestion/appels/{source.id}/dupliquer", data={
        "title": "SISA 2027", "slug": "sisa-2027", "year": "2027",
        "opens_at": "2027-03-01T09:00", "closes_at": "2027-04-30T12:00"})
    assert response.status_code == 302
    clone = db.session.scalars(sa.select(Call).where(Call.slug == "sisa-2027")).one()
    assert response.headers["Location"].endswith(f"/gestion/appels/{clone.id}")
    assert clone.state == CallState.DRAFT and [c.name for c in clone.criteria] == ["Pertinence", "Partenariat"]
    db.session.refresh(next_line)
    assert next_line.carved == Decimal("200000.00")
    assert "est créé en brouillon" in page(client.get(response.headers["Location"]))


def test_clone_without_next_years_authorisation_says_so(client, manager, line):
    source = CallFactory(programme=line.programme, year=2026, state=CallState.CLOSED, slug="sisa-2026")
    CallEnvelopeFactory(call=source, amount=Decimal("200000.00"))
    body = page(client.post(f"/gestion/appels/{source.id}/dupliquer", data={
        "title": "SISA 2027", "slug": "sisa-2027", "year": "2027",
        "opens_at": "2027-03-01T09:00", "closes_at": "2027-04-30T12:00"}), 422)
    assert "pas d'autorisation en fonctionnement pour 2027" in body and 'value="sisa-2027"' in body
    assert count(Call) == 1 and count(Criterion) == 0
    assert count(ProgrammeBudget) == 1


# --- Who gets in ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["reviewer", "applicant"])
def test_reviewers_and_applicants_are_refused(client, login_as, line, who):
    call = a_full_call(line)
    login_as(ReviewerFactory() if who == "reviewer" else member_of())
    for path in ("/gestion/programmes", f"/gestion/programmes/{line.programme_id}", "/gestion/appels",
                 f"/gestion/appels/{call.id}", f"/gestion/appels/{call.id}/modifier", "/gestion/appels/nouveau",
                 f"/gestion/appels/{call.id}/cofinanceurs", f"/gestion/criteres/{call.criteria[0].id}"):
        assert client.get(path).status_code == 403, path
    assert client.post(f"/gestion/appels/{call.id}/publier").status_code == 403
    assert client.post(f"/gestion/programmes/{line.programme_id}/autorisation",
                       data={"autorisation-year": "2026", "autorisation-section": "fonctionnement",
                             "autorisation-authorised": "0"}).status_code == 403
    db.session.expire_all()
    assert call.state == CallState.DRAFT and line.authorised == Decimal("860000.00")


@pytest.mark.parametrize("share", ["150", "0", "1e309", "NaN", "12,345"])
def test_a_maximum_share_out_of_range_is_refused_under_its_field(client, manager, line, share):
    """150 % sent the validator's own "%" through %-formatting: an error page instead of a message."""
    call = a_full_call(line)
    body = page(client.post(f"/gestion/appels/{call.id}/modifier", data=call_form(max_share_percent=share)), 422)
    error = body[body.index('id="max_share_percent-error"'):]
    assert ("Un nombre de 0,01 à 100." if share in ("150", "0") else "nombre") in error[:error.index("</p>")]
    db.session.refresh(call)
    assert call.title == "Coopération décentralisée"  # nothing saved


def test_a_call_asks_the_young_people_count_when_ticked_and_stops_when_unticked(client, manager, line):
    call = a_full_call(line)
    form = page(client.get(f"/gestion/appels/{call.id}/modifier"))
    assert 'name="asks_young_people_count"' in form and "Demander le nombre de jeunes" in form
    data = call_form(title=call.title, slug=call.slug, envelope_fonctionnement="300 000", asks_young_people_count="y")
    assert client.post(f"/gestion/appels/{call.id}/modifier", data=data).status_code == 302
    db.session.expire_all()
    assert call.asks_young_people_count is True
    checkbox = re.search(r'<input[^>]*name="asks_young_people_count"[^>]*>', page(client.get(f"/gestion/appels/{call.id}/modifier")))
    assert "checked" in checkbox.group(0)
    data.pop("asks_young_people_count")
    assert client.post(f"/gestion/appels/{call.id}/modifier", data=data).status_code == 302
    db.session.expire_all()
    assert call.asks_young_people_count is False
