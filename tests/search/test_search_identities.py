"""Who finds what through the search page and its export, identity by identity: a dossier one may not
see leaks neither through a row, a count, a facet nor a highlight — whatever is typed (words, reference,
SIRET, name, email)."""

from __future__ import annotations

import re

import pytest

from grants.applications.models import ApplicationState
from tests.conftest import login
from tests.factories import (
    CallFactory,
    ConflictOfInterestFactory,
    ManagerFactory,
    MembershipFactory,
    OrganisationApplicantFactory,
    OrganisationFactory,
    ReviewAssignmentFactory,
    ReviewerFactory,
    SubmittedApplicationFactory,
    UserFactory,
    luhn_siret,
)

SIRET = luhn_siret(777001)
SECRET_CALL = "Appel confidentiel Zanzibar"


@pytest.fixture
def world(app):
    organisation = OrganisationFactory(name="Amicale des Zanzibarites", siret=SIRET, email="amicale@zanzi.example")
    applicant = OrganisationApplicantFactory(organisation=organisation)
    dossier = SubmittedApplicationFactory(
        call=CallFactory(title=SECRET_CALL), applicant=applicant, reference="ZNZ-2026-0001",
        title="Fanfare zanzibarique", summary="Une fanfare zanzibarique de quartier.",
        state=ApplicationState.UNDER_REVIEW)
    owner = MembershipFactory(organisation=organisation, user=UserFactory(full_name="Odile Quenouille")).user
    assigned, conflicted = ReviewerFactory(), ReviewerFactory()
    ReviewAssignmentFactory(application=dossier, reviewer=assigned)
    recused = ReviewAssignmentFactory(application=dossier, reviewer=conflicted)
    ConflictOfInterestFactory(reviewer_id=conflicted.id, applicant_id=applicant.id)
    del recused
    return {
        "dossier": dossier, "owner": owner, "manager": ManagerFactory(), "assigned": assigned,
        "conflicted": conflicted, "unassigned": ReviewerFactory(), "other member": MembershipFactory().user,
    }


QUERIES = ["zanzibarique", "fanfare", "ZNZ-2026-0001", SIRET, SIRET[:9], "Amicale des Zanzibarites",
           "Amicale des Zanzibarite", "amicale@zanzi.example", "Quenouille"]


def leaks(text: str) -> list[str]:
    """The markers of the dossier in the page, outside the inputs' values and the search's own links
    (they hold what was typed: the query's field, the language switch's return address, "remove the
    filters")."""
    text = re.sub(r'value="[^"]*"', "", text)
    text = re.sub(r'href="/recherche[^"]*"', "", text)
    return [marker for marker in ("ZNZ-2026-0001", "zanzibarique</mark>", "Fanfare", SECRET_CALL, "1 dossier trouvé",
                                  "Zanzibarites") if marker in text]


@pytest.mark.parametrize("identity", ["other member", "unassigned", "conflicted"])
def test_those_who_may_not_see_the_dossier_learn_nothing(client, world, identity):
    login(client, world[identity])
    for query in QUERIES:
        response = client.get("/recherche", query_string={"q": query})
        assert response.status_code == 200
        assert leaks(response.get_data(as_text=True)) == [], (identity, query)
        facet = client.get("/recherche", query_string={"q": query, "appel": world["dossier"].call_id})
        assert leaks(facet.get_data(as_text=True)) == [], (identity, query)
    assert client.get("/recherche/dossiers.csv?q=zanzibarique").status_code == 403
    assert client.get("/recherche/dossiers.xlsx?q=zanzibarique").status_code == 403


@pytest.mark.parametrize(("identity", "queries"), [
    ("manager", QUERIES),
    ("owner", ["zanzibarique", "fanfare", "ZNZ-2026-0001"]),
    ("assigned", ["zanzibarique", "fanfare", "ZNZ-2026-0001"]),
])
def test_those_who_may_see_it_find_it(client, world, identity, queries):
    login(client, world[identity])
    for query in queries:
        text = client.get("/recherche", query_string={"q": query}).get_data(as_text=True)
        assert "ZNZ-2026-0001" in text and "1 dossier trouvé" in text, (identity, query)


def test_anonymous_is_sent_to_sign_in(client, world):
    for path in ("/recherche?q=zanzibarique", "/recherche/dossiers.csv?q=x", "/recherche/dossiers.xlsx?q=x"):
        response = client.get(path)
        assert response.status_code == 302 and "/connexion" in response.headers["Location"]
