"""A call's grid of criteria, its documents to provide and its co-funders, from the manager's page:
inline forms, reordering, removal, and the locks (grid after the first review, documents once open,
co-funders once closed)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from grants.database import db, utcnow
from grants.models import (
    CallFunder,
    CallState,
    Criterion,
    Opinion,
    RequiredDocument,
    Review,
    ReviewState,
)
from tests.calls.test_manage_pages import count, page
from tests.factories import (
    CallEnvelopeFactory,
    CallFactory,
    CriterionFactory,
    ManagerFactory,
    RequiredDocumentFactory,
    ReviewAssignmentFactory,
)


@pytest.fixture
def manager(app, login_as):
    user = ManagerFactory()
    login_as(user)
    return user


@pytest.fixture
def draft(app):
    return CallFactory(state=CallState.DRAFT)


def criterion_data(**overrides) -> dict:
    data = {"critere-name": "Impact sur le territoire", "critere-guidance": "Publics touchés",
            "critere-weight": "1.5", "critere-scale_max": "20"}
    data.update(overrides)
    return data


# --- Criteria ------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed_weight", ["1.5", "1,5", " 1,50 "])
def test_add_a_criterion_from_the_call_page(client, manager, draft, typed_weight):
    response = client.post(f"/gestion/appels/{draft.id}/criteres", data=criterion_data(**{"critere-weight": typed_weight}))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/gestion/appels/{draft.id}#grille")
    criterion = db.session.scalars(sa.select(Criterion)).one()
    assert (criterion.name, criterion.weight, criterion.scale_max) == ("Impact sur le territoire", Decimal("1.50"), 20)
    body = page(client.get(response.headers["Location"]))
    assert "est ajouté à la grille" in body and "Publics touchés" in body


@pytest.mark.parametrize("weight, message", [
    ("0", "Un nombre de 0,01 à 1 000."),
    ("1.234", "Un nombre a au plus 2 décimales."),
])
def test_a_bad_weight_comes_back_on_its_field(client, manager, draft, weight, message):
    CriterionFactory(call=draft, name="Pertinence")
    body = page(client.post(f"/gestion/appels/{draft.id}/criteres", data=criterion_data(**{"critere-weight": weight})), 422)
    error = body[body.index('id="critere-weight-error"'):]
    assert message in error[:error.index("</p>")]
    assert 'value="Impact sur le territoire"' in body and f'value="{weight}"' in body
    assert count(Criterion) == 1


def test_edit_a_criterion(client, manager, draft):
    criterion = CriterionFactory(call=draft, name="Pertinence", weight=Decimal("2"))
    response = client.post(f"/gestion/criteres/{criterion.id}",
                           data={"name": "Pertinence du projet", "guidance": "", "weight": "3", "scale_max": "10"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (criterion.name, criterion.weight, criterion.scale_max) == ("Pertinence du projet", Decimal("3.00"), 10)
    body = page(client.post(f"/gestion/criteres/{criterion.id}",
                            data={"name": "Autre", "guidance": "", "weight": "0", "scale_max": "10"}), 422)
    assert 'id="weight-error"' in body and 'value="Autre"' in body
    db.session.expire_all()
    assert criterion.name == "Pertinence du projet"


def test_move_criteria_up_and_down(client, manager, draft):
    first = CriterionFactory(call=draft, name="A", position=0)
    second = CriterionFactory(call=draft, name="B", position=1)
    CriterionFactory(call=draft, name="C", position=2)
    client.post(f"/gestion/criteres/{second.id}/deplacer", data={"direction": "up"})
    db.session.expire_all()
    assert [c.name for c in draft.criteria] == ["B", "A", "C"]
    client.post(f"/gestion/criteres/{first.id}/deplacer", data={"direction": "down"})
    db.session.expire_all()
    assert [c.name for c in draft.criteria] == ["B", "C", "A"]
    assert client.post(f"/gestion/criteres/{first.id}/deplacer", data={"direction": "sideways"}).status_code == 400


def test_remove_a_criterion(client, manager, draft):
    criterion = CriterionFactory(call=draft, name="Pertinence")
    body = page(client.get(f"/gestion/appels/{draft.id}"))
    assert 'data-confirm="Retirer le critère « Pertinence » de la grille ?"' in body
    body = page(client.post(f"/gestion/criteres/{criterion.id}/supprimer", follow_redirects=True))
    assert "est retiré de la grille" in body
    assert count(Criterion) == 0


def test_a_locked_grid_hides_its_controls_and_refuses_changes(client, manager):
    assignment = ReviewAssignmentFactory()
    call = assignment.application.call
    criterion = CriterionFactory(call=call, name="Pertinence", weight=Decimal("2"))
    other = CriterionFactory(call=call, name="Impact", weight=Decimal("1"))
    db.session.add(Review(assignment=assignment, state=ReviewState.SUBMITTED, opinion=Opinion.FUND, submitted_at=utcnow()))
    db.session.commit()

    body = page(client.get(f"/gestion/appels/{call.id}"))
    assert "Grille verrouillée" in body and "Pertinence" in body
    assert "Ajouter un critère" not in body and f"/gestion/criteres/{criterion.id}" not in body
    assert "Monter" not in body and "Descendre" not in body

    body = page(client.post(f"/gestion/appels/{call.id}/criteres", data=criterion_data(), follow_redirects=True))
    assert "La grille est verrouillée" in body
    client.post(f"/gestion/criteres/{criterion.id}",
                data={"name": "Autre", "guidance": "", "weight": "5", "scale_max": "5"})
    client.post(f"/gestion/criteres/{other.id}/deplacer", data={"direction": "up"})
    client.post(f"/gestion/criteres/{criterion.id}/supprimer")
    db.session.expire_all()
    assert [(c.name, c.weight) for c in call.criteria] == [("Pertinence", Decimal("2.00")), ("Impact", Decimal("1.00"))]
    assert "Grille verrouillée" in page(client.get(f"/gestion/criteres/{criterion.id}"))


# --- Documents to provide ------------------------------------------------------------------------


def test_add_and_remove_a_required_document(client, manager, draft):
    response = client.post(f"/gestion/appels/{draft.id}/pieces", data={
        "piece-name": "Relevé d'identité bancaire", "piece-required": "y", "piece-accepted_types": ["pdf", "image"]})
    assert response.status_code == 302
    document = db.session.scalars(sa.select(RequiredDocument)).one()
    assert document.accepted_types == ["pdf", "image"] and document.required
    body = page(client.post(f"/gestion/appels/{draft.id}/pieces", data={"piece-name": "Statuts"}), 422)
    assert 'id="piece-accepted_types-error"' in body and 'value="Statuts"' in body
    assert count(RequiredDocument) == 1
    client.post(f"/gestion/pieces/{document.id}/supprimer")
    assert count(RequiredDocument) == 0


def test_documents_are_fixed_once_the_call_is_open(client, manager):
    call = CallFactory(state=CallState.OPEN)
    document = RequiredDocumentFactory(call=call, name="Statuts")
    body = page(client.get(f"/gestion/appels/{call.id}"))
    assert "La liste des pièces ne change plus" in body and "Ajouter la pièce" not in body
    assert f"/gestion/pieces/{document.id}/supprimer" not in body
    body = page(client.post(f"/gestion/appels/{call.id}/pieces", follow_redirects=True,
                            data={"piece-name": "RIB", "piece-accepted_types": ["pdf"]}))
    assert "ne changent plus une fois l'appel ouvert" in body
    client.post(f"/gestion/pieces/{document.id}/supprimer")
    assert [d.name for d in db.session.scalars(sa.select(RequiredDocument))] == ["Statuts"]


# --- Co-funders ----------------------------------------------------------------------------------


def funder_rows(*rows) -> dict:
    data = {}
    for index, (name, share) in enumerate(rows):
        data[f"rows-{index}-name"], data[f"rows-{index}-share_percent"] = name, share
    return data


def test_set_cofunders_and_see_their_parts(client, manager, draft):
    CallEnvelopeFactory(call=draft, amount=Decimal("610000.00"))
    response = client.post(f"/gestion/appels/{draft.id}/cofinanceurs",
                           data=funder_rows(("Région", "66.67"), ("ADEME", "33.33"), ("", "")))
    assert response.status_code == 302
    db.session.expire_all()
    assert sorted((f.name, f.share) for f in draft.funders) == [("ADEME", Decimal("0.3333")), ("Région", Decimal("0.6667"))]
    body = page(client.get(f"/gestion/appels/{draft.id}"))
    assert "406 687,00 €" in body and "203 313,00 €" in body
    body = page(client.get(f"/gestion/appels/{draft.id}/cofinanceurs"))
    assert 'value="Région"' in body and 'value="66,67"' in body and 'name="rows-2-name"' in body


@pytest.mark.parametrize("rows, message", [
    ((("Région", "60"), ("ADEME", "30")), "doivent faire 100 % au total"),
    ((("Région", "100"), ("ADEME", "")), "Indiquez la part de ce financeur."),
    ((("Région", "100"), ("", "20")), "Nommez ce financeur."),
])
def test_bad_cofunders_are_refused_and_kept_in_the_form(client, manager, draft, rows, message):
    draft.funders = [CallFunder(name="Département", share=Decimal("1"))]
    db.session.commit()
    body = page(client.post(f"/gestion/appels/{draft.id}/cofinanceurs", data=funder_rows(*rows)), 422)
    assert message in body and 'value="Région"' in body
    db.session.expire_all()
    assert [(f.name, f.share) for f in draft.funders] == [("Département", Decimal("1.0000"))]


def test_cofunders_of_a_closed_call_are_fixed(client, manager):
    call = CallFactory(state=CallState.CLOSED)
    body = page(client.get(f"/gestion/appels/{call.id}/cofinanceurs"))
    assert "ne changent plus" in body and 'name="rows-0-name"' not in body
    client.post(f"/gestion/appels/{call.id}/cofinanceurs", data=funder_rows(("Région", "100")))
    assert count(CallFunder) == 0
