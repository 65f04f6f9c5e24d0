"""The dossier search, on SQLite (FTS5) and PostgreSQL (tsvector, unaccent, pg_trgm): what each
identity finds, by words, identifiers and typos; bad input; the page's escaping."""

from __future__ import annotations

import re

import pytest

from grants.applications.models import ApplicationState
from grants.database import db
from grants.search import services
from grants.search.highlight import marked
from grants.search.services import Filters, QueryKind, QueryTooLong, parse, search
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
    luhn_siret,
)

GARDENS_SIRET = luhn_siret(424242)


@pytest.fixture
def dossiers(app):
    """Two calls; a gardens project of « Les Jardins de Kaolack » and a few others."""
    call, other_call = CallFactory(), CallFactory()
    kaolack = OrganisationApplicantFactory(
        organisation=OrganisationFactory(name="Les Jardins de Kaolack", siret=GARDENS_SIRET, rna="W595000001"))
    gardens = SubmittedApplicationFactory(
        call=call, applicant=kaolack, reference="SISA-2026-0042", title="Jardins partagés à Kaolack",
        summary="Des potagers collectifs créés avec les habitants, l'école et les bénévoles.",
        objectives="Former vingt jardiniers.", places="Kaolack, Sénégal", state=ApplicationState.UNDER_REVIEW)
    theatre = SubmittedApplicationFactory(
        call=other_call, title="Théâtre forum au collège", summary="Des ateliers d'éducation populaire.",
        places="Lille")
    unsubmitted = SubmittedApplicationFactory(
        call=call, title="Jardins suspendus", state=ApplicationState.DRAFT, reference=None, submitted_at=None)
    return {"call": call, "gardens": gardens, "theatre": theatre, "draft": unsubmitted, "kaolack": kaolack}


def found(user, query, **filters):
    return [a.id for a in search(user, query, Filters(**filters)).applications]


# --- Parsing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "kind"), [
    ("", QueryKind.EMPTY), ("   ", QueryKind.EMPTY), ("%_", QueryKind.EMPTY), ('""', QueryKind.EMPTY),
    ("sisa-2026-0042", QueryKind.REFERENCE), ("732 829 320 00074", QueryKind.SIRET),
    ("732829320", QueryKind.SIREN), ("w595000001", QueryKind.RNA), ("jardins Kaolack", QueryKind.WORDS),
    ("' OR 1=1 --", QueryKind.WORDS), ("<script>alert(1)</script>", QueryKind.WORDS),
])
def test_queries_are_classified(raw, kind):
    assert parse(raw).kind == kind


def test_a_query_over_the_limit_is_refused():
    with pytest.raises(QueryTooLong):
        parse("a" * (services.MAX_QUERY_LENGTH + 1))
    assert parse("\x00jardin\x1b").words == ("jardin",)


# --- Finding ----------------------------------------------------------------------------------------


def test_a_manager_finds_a_dossier_by_words_without_accents_or_plurals(dossiers):
    manager = ManagerFactory()
    gardens = dossiers["gardens"].id
    assert found(manager, "jardins Kaolack") == [gardens]
    assert found(manager, "jardin partage") == [gardens]  # no accent, singular
    assert found(manager, "POTAGERS senegal") == [gardens]
    assert found(manager, "theatre") == [dossiers["theatre"].id]
    assert found(manager, "jardins piscine") == []  # every word is required


def test_a_manager_finds_a_dossier_by_identifier_and_name(dossiers):
    manager = ManagerFactory()
    gardens = dossiers["gardens"].id
    assert found(manager, "sisa-2026-0042") == [gardens]
    assert found(manager, GARDENS_SIRET) == [gardens]
    assert found(manager, GARDENS_SIRET[:9]) == [gardens]
    assert found(manager, "W595000001") == [gardens]
    assert found(manager, "Jardins de Kaolack") == [gardens]


def test_a_misspelled_name_finds_the_association(dossiers):
    manager = ManagerFactory()
    results = search(manager, "Jardins de Kaolak")
    assert [a.id for a in results.applications] == [dossiers["gardens"].id]
    assert results.fuzzy
    assert found(manager, "Zxqwv Plorth") == []


def test_managers_do_not_find_drafts_and_their_owners_do(dossiers):
    assert dossiers["draft"].id not in found(ManagerFactory(), "suspendus")
    owner = MembershipFactory(organisation=dossiers["draft"].applicant.organisation).user
    assert found(owner, "suspendus") == [dossiers["draft"].id]


def test_an_applicant_finds_only_his_own(dossiers):
    member = MembershipFactory(organisation=dossiers["kaolack"].organisation).user
    assert found(member, "jardins") == [dossiers["gardens"].id]
    assert found(member, "theatre") == []
    assert found(member, "sisa-2026-0042") == [dossiers["gardens"].id]
    # Names and SIRETs are the managers' search
    assert found(member, GARDENS_SIRET) == []
    stranger = MembershipFactory().user
    assert found(stranger, "jardins") == []
    assert found(stranger, "sisa-2026-0042") == []


def test_a_reviewer_finds_only_his_assignments_and_never_a_conflict(dossiers):
    gardens = dossiers["gardens"]
    reviewer, other = ReviewerFactory(), ReviewerFactory()
    ReviewAssignmentFactory(application=gardens, reviewer=reviewer)
    assert found(reviewer, "jardins") == [gardens.id]
    assert found(reviewer, "theatre") == []
    assert found(other, "jardins") == []
    # Names are not searched for reviewers (a blind call hides them), nor typos
    assert found(reviewer, "Jardins de Kaolak") == []
    assert found(reviewer, GARDENS_SIRET) == []
    recused = ReviewAssignmentFactory(application=gardens, reviewer=other)
    recused.state, recused.recusal_reason = "recused", "Je connais le porteur."
    db.session.commit()
    assert found(other, "jardins") == []
    ConflictOfInterestFactory(reviewer_id=reviewer.id, applicant_id=gardens.applicant_id)
    assert found(reviewer, "jardins") == []
    assert search(reviewer, "jardins").facets == []


def test_filters_and_facets(dossiers):
    manager = ManagerFactory()
    gardens, call = dossiers["gardens"], dossiers["call"]
    SubmittedApplicationFactory(call=dossiers["theatre"].call, title="Jardin des sciences")
    assert set(found(manager, "jardin")) >= {gardens.id}
    assert found(manager, "jardin", call_id=call.id) == [gardens.id]
    assert found(manager, "jardin", state=ApplicationState.SUBMITTED) != [gardens.id]
    assert found(manager, "jardin", programme_id=call.programme_id, year=call.year) == [gardens.id]
    facets = {f.name: f.options for f in search(manager, "jardin").facets}
    assert sum(count for _, _, count in facets["call"]) == 2
    assert (str(call.id), call.title, 1) in facets["call"]


def test_keyset_pages_cover_every_match_once(app):
    manager, call = ManagerFactory(), CallFactory()
    ids = {SubmittedApplicationFactory(call=call, title=f"Ruche pédagogique {n}").id for n in range(7)}
    seen, cursor = [], None
    while True:
        results = search(manager, "ruches", cursor=cursor, page_size=3)
        seen += [a.id for a in results.applications]
        cursor = results.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)


def test_the_index_follows_edits(dossiers):
    manager, theatre = ManagerFactory(), dossiers["theatre"]
    theatre.title = "Cirque sous chapiteau"
    db.session.commit()
    assert found(manager, "chapiteau") == [theatre.id]
    assert found(manager, "forum") == []
    organisation = dossiers["kaolack"].organisation
    organisation.name = "Potagers de Thiès"
    db.session.commit()
    assert found(manager, "Thiès") == [dossiers["gardens"].id]


@pytest.mark.parametrize("hostile", [
    '"', "'", "jardin\" OR \"1", "NEAR(jardin kaolack)", "jardin*", "-jardin", "jardin AND", "OR OR",
    "% _ %%", "'; DROP TABLE applications; --", "<b>jardin</b>", "\\", "(((", "jardin:*", "a & b | !c",
    "日本語", "e\u0301cole",
])
def test_hostile_queries_answer(dossiers, hostile):
    search(ManagerFactory(), hostile)  # no exception
    db.session.rollback()


# --- The page ---------------------------------------------------------------------------------------


def test_highlight_escapes_the_text():
    html = marked("<script>Jardins</script> & potagers", ("jardins",))
    assert str(html) == "&lt;script&gt;<mark>Jardins</mark>&lt;/script&gt; &amp; potagers"


def test_the_page(dossiers, client, login_as):
    manager = ManagerFactory()
    dossiers["gardens"].title = "Jardins <img src=x onerror=alert(1)>"
    db.session.commit()
    login_as(manager)
    page = client.get("/recherche?q=jardins+kaolack")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "SISA-2026-0042" in text and "<mark>Jardins</mark>" in text
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    assert client.get("/recherche").status_code == 200
    assert client.get("/recherche?q=" + "a" * 10_000).status_code == 422
    assert client.get("/recherche?q=jardins&etat=nimporte").status_code == 422
    assert client.get("/recherche?q=jardins&appel=99999999999999999999").status_code == 422
    assert client.get("/recherche?q=jardins&apres=nimporte").status_code == 200


def test_the_page_needs_a_sign_in(client, app):
    assert client.get("/recherche?q=jardins").status_code == 302


def test_the_export_holds_the_results_and_no_formula(dossiers, client, login_as):
    dossiers["gardens"].title = "=HYPERLINK(\"http://x\") Jardins"
    db.session.commit()
    login_as(ManagerFactory())
    response = client.get("/recherche/dossiers.csv?q=jardins")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert "SISA-2026-0042" in text and "Les Jardins de Kaolack" in text and GARDENS_SIRET in text
    assert "'=HYPERLINK" in text
    assert "Théâtre" not in text
    xlsx = client.get("/recherche/dossiers.xlsx?q=jardins")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert client.get("/recherche/dossiers.csv?q=jardins&etat=nimporte").status_code == 422


def test_a_reviewer_neither_exports_nor_sees_names(dossiers, client, login_as):
    reviewer = ReviewerFactory()
    assignment = ReviewAssignmentFactory(application=dossiers["gardens"], reviewer=reviewer)
    login_as(reviewer)
    assert client.get("/recherche/dossiers.csv?q=jardins").status_code == 403
    text = client.get("/recherche?q=jardins").get_data(as_text=True)
    assert "SISA-2026-0042" in text and f"/evaluation/{assignment.id}" in text
    assert "<mark>Jardins</mark> partagés" in text  # the title
    assert "Les Jardins de Kaolack" not in text and "Les <mark>Jardins</mark> de" not in text
    assert "Théâtre" not in text


def test_section_amount_and_decision_facets_filter(dossiers, client, login_as):
    from decimal import Decimal

    from grants.awards.models import Decision, Outcome

    manager = ManagerFactory()
    big = SubmittedApplicationFactory(call=dossiers["call"], title="Jardin botanique", section="investissement",
                                      amount_requested=Decimal("60000.00"), total_expenses=Decimal("120000.00"),
                                      total_resources=Decimal("120000.00"))
    gardens = dossiers["gardens"]
    db.session.add(Decision(application_id=gardens.id, outcome=Outcome.REJECTED, reason="Hors priorités.",
                            decided_by_id=manager.id))
    db.session.commit()
    assert found(manager, "jardin", section="investissement") == [big.id]
    assert found(manager, "jardin", amount="50000-") == [big.id]
    assert found(manager, "jardin", amount="0-5000") == []
    assert found(manager, "jardin", amount="5000-20000") == [gardens.id]
    assert found(manager, "jardin", decision="rejected") == [gardens.id]
    assert found(manager, "jardin", decision="none") == [big.id]
    facets = {f.name: {value: count for value, _, count in f.options} for f in search(manager, "jardin").facets}
    assert facets["section"] == {"fonctionnement": 1, "investissement": 1}
    assert facets["amount"] == {"5000-20000": 1, "50000-": 1}
    assert facets["decision"] == {"rejected": 1, "none": 1}
    login_as(manager)
    page = client.get("/recherche?q=jardin&montant=50000-&section=investissement&decision=none")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "botanique" in text and "partagés" not in text
    assert client.get("/recherche?q=jardin&montant=1-2").status_code == 422


def test_members_and_individuals_by_name_and_email(dossiers):
    from tests.factories import IndividualApplicantFactory, UserFactory

    manager = ManagerFactory()
    member = MembershipFactory(organisation=dossiers["kaolack"].organisation,
                               user=UserFactory(full_name="Aminata Diallo", email="aminata@jardins.example")).user
    person = IndividualApplicantFactory(person=UserFactory(full_name="Benoît Lefèvre", email="benoit@example.org"))
    own = SubmittedApplicationFactory(applicant=person, title="Atelier vélo")
    gardens = dossiers["gardens"].id
    assert found(manager, "Aminata Diallo") == [gardens]
    assert found(manager, "diallo") == [gardens]
    assert found(manager, "AMINATA@jardins.example") == [gardens]
    assert found(manager, "benoit lefevre") == [own.id]
    assert found(manager, "benoit@example.org") == [own.id]
    reviewer = ReviewerFactory()
    ReviewAssignmentFactory(application=dossiers["gardens"], reviewer=reviewer)
    assert found(reviewer, "Diallo") == [] and found(reviewer, "aminata@jardins.example") == []
    member.full_name = "Aminata Sow"
    db.session.commit()
    assert found(manager, "diallo") == []
    assert found(manager, "sow") == [gardens]


def test_reviewers_comments_are_searched_for_managers_only(dossiers):
    from grants.reviews.models import ReviewState
    from tests.factories import ReviewFactory, SubmittedReviewFactory

    gardens = dossiers["gardens"]
    reviewer = ReviewerFactory()
    assignment = ReviewAssignmentFactory(application=gardens, reviewer=reviewer)
    review = SubmittedReviewFactory(assignment=assignment, comment="Budget irrigation surévalué.")
    ReviewFactory(assignment=ReviewAssignmentFactory(application=dossiers["theatre"]),
                  comment="Brouillon : irrigation à revoir.", state=ReviewState.DRAFT)
    manager = ManagerFactory()
    assert found(manager, "irrigation") == [gardens.id]  # the draft review's comment is not searched
    assert found(manager, "surevalue") == [gardens.id]
    assert found(reviewer, "irrigation") == []
    member = MembershipFactory(organisation=dossiers["kaolack"].organisation).user
    assert found(member, "irrigation") == []
    review.comment = "Très bon projet."
    db.session.commit()
    assert found(manager, "irrigation") == []


def test_the_links_carry_only_the_search(dossiers, client, login_as):
    login_as(ManagerFactory())
    text = client.get("/recherche?q=jardin&_scheme=javascript&_external=1&_anchor=x").get_data(as_text=True)
    links = re.findall(r'href="([^"]*)"', text)
    assert not [link for link in links if "javascript" in link or "_scheme" in link or link.endswith("#x")]
    assert "/recherche/dossiers.csv?q=jardin" in links
