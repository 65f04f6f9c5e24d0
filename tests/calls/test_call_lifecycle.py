"""Managers' operations on calls: create, edit, publish, extend, close, archive, clone, grid, funders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from grants.calls import services
from grants.database import db, utcnow
from grants.errors import DomainError, InvalidTransition
from grants.models import (
    ApplicationState,
    AuditEvent,
    BudgetSection,
    CallFunder,
    CallState,
    Notification,
    Opinion,
    Review,
    ReviewState,
)
from tests.factories import (
    ApplicationFactory,
    CallEnvelopeFactory,
    CallFactory,
    CriterionFactory,
    ManagerFactory,
    ProgrammeBudgetFactory,
    RequiredDocumentFactory,
    ReviewAssignmentFactory,
    member_of,
)

OPERATING, INVESTMENT = BudgetSection.OPERATING, BudgetSection.INVESTMENT


def applicant_of(member):
    from grants.models import Applicant

    organisation_id = member.memberships[0].organisation_id
    return db.session.scalars(db.select(Applicant).where(Applicant.organisation_id == organisation_id)).one()


def call_settings(**overrides):
    now = utcnow()
    settings = dict(
        title="Solidaires Ici Solidaires Ailleurs 2027", slug="sisa-2027", year=2026, reference_prefix="SISA",
        summary="Projets de solidarité internationale.", description="Des projets **ici** et là-bas.",
        eligibility_rules="Associations loi 1901.", opens_at=now + timedelta(days=5),
        closes_at=now + timedelta(days=60), min_grant=Decimal("1000.00"), max_grant=Decimal("20000.00"),
        max_share_of_cost=Decimal("0.8"),
    )
    settings.update(overrides)
    return settings


@pytest.fixture
def manager(app):
    return ManagerFactory()


@pytest.fixture
def line(app):
    return ProgrammeBudgetFactory(authorised=Decimal("860000.00"), year=2026, section=OPERATING)


def test_create_a_draft_call_with_its_envelope(manager, line):
    call = services.create_call(line.programme, actor=manager, envelopes={OPERATING: Decimal("560000.00")},
                                **call_settings())
    db.session.commit()
    assert call.state == CallState.DRAFT
    assert call.envelope_for(OPERATING).amount == Decimal("560000.00")
    assert line.carved == Decimal("560000.00")
    assert db.session.scalar(db.select(AuditEvent.action).where(AuditEvent.action == "call.created"))


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"closes_at": utcnow() - timedelta(days=1)}, "closes_at"),
        ({"min_grant": Decimal("5000.00"), "max_grant": Decimal("4000.00")}, "max_grant"),
        ({"max_share_of_cost": Decimal("1.2")}, "max_share_of_cost"),
        ({"max_share_of_cost": Decimal("0")}, "max_share_of_cost"),
    ],
)
def test_bad_settings_are_refused_with_the_field(manager, line, overrides, field):
    with pytest.raises(DomainError) as refused:
        services.create_call(line.programme, actor=manager, **call_settings(**overrides))
    assert refused.value.field == field


def test_a_taken_slug_is_refused(manager, line):
    CallFactory(slug="sisa-2027")
    with pytest.raises(DomainError) as refused:
        services.create_call(line.programme, actor=manager, **call_settings())
    assert refused.value.field == "slug"


def test_publish_needs_envelope_grid_and_description(manager, line):
    call = services.create_call(line.programme, actor=manager, **call_settings())
    with pytest.raises(DomainError, match="enveloppe.*critère"):
        services.publish_call(call, actor=manager)
    services.set_envelope(call, OPERATING, Decimal("100000.00"), actor=manager)
    services.add_criterion(call, name="Pertinence", guidance="", weight=Decimal("2"), scale_max=5, actor=manager)
    services.publish_call(call, actor=manager)
    db.session.commit()
    assert call.state == CallState.SCHEDULED and call.published_at is not None
    services.unpublish_call(call, actor=manager)
    assert call.state == CallState.DRAFT


def test_publishing_a_call_whose_opening_passed_opens_it(manager):
    call = CallFactory(state=CallState.DRAFT, opens_at=utcnow() - timedelta(hours=1))
    CallEnvelopeFactory(call=call)
    CriterionFactory(call=call)
    services.publish_call(call, actor=manager)
    assert call.state == CallState.OPEN


def test_an_open_call_keeps_its_dates_except_through_extension(manager):
    call = CallFactory(state=CallState.OPEN)
    with pytest.raises(DomainError, match="Prolonger"):
        services.update_call(call, actor=manager, closes_at=call.closes_at + timedelta(days=1))
    with pytest.raises(DomainError, match="ouverture"):
        services.update_call(call, actor=manager, opens_at=call.opens_at - timedelta(days=1))
    services.update_call(call, actor=manager, summary="Nouveau résumé")
    assert call.summary == "Nouveau résumé"


def test_extending_a_deadline_tells_every_draft_holder_once(manager, mail_outbox):
    call = CallFactory(state=CallState.OPEN)
    alice = member_of(email="alice@asso.example")
    applicant = applicant_of(alice)
    bob = member_of(organisation=alice.memberships[0].organisation, email="bob@asso.example")
    ApplicationFactory(call=call, applicant=applicant, created_by=alice)
    ApplicationFactory(call=call, applicant=applicant, created_by=bob)  # two drafts: still one email each
    submitted_only = member_of(email="carol@autre.example")
    ApplicationFactory(call=call, created_by=submitted_only, state=ApplicationState.SUBMITTED,
                       reference="AAP-2026-0001", submitted_at=utcnow(),
                       applicant=applicant_of(submitted_only))
    old = call.closes_at
    recipients = services.extend_deadline(call, old + timedelta(days=7), reason="Grève des postes", actor=manager)
    db.session.commit()
    assert sorted(u.email for u in recipients) == ["alice@asso.example", "bob@asso.example"]
    assert sorted(m.to[0] for m in mail_outbox) == ["alice@asso.example", "bob@asso.example"]
    assert "Grève des postes" in mail_outbox[0].body
    assert call.closes_at == old + timedelta(days=7)
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "call.deadline_extended")).one()
    assert event.details["reason"] == "Grève des postes"


def test_shortening_or_extending_without_reason_is_refused(manager):
    call = CallFactory(state=CallState.OPEN)
    with pytest.raises(DomainError, match="raccourcit"):
        services.extend_deadline(call, call.closes_at - timedelta(minutes=1), reason="x", actor=manager)
    with pytest.raises(DomainError, match="raison"):
        services.extend_deadline(call, call.closes_at + timedelta(days=1), reason="  ", actor=manager)
    assert db.session.scalar(db.select(db.func.count(Notification.id))) == 0


def test_close_only_after_the_deadline_then_archive(manager):
    call = CallFactory(state=CallState.OPEN, opens_at=utcnow() - timedelta(days=30), closes_at=utcnow() + timedelta(hours=1))
    with pytest.raises(DomainError, match="pas passée"):
        services.close_call(call, actor=manager)
    services.close_call(call, actor=manager, now=call.closes_at)
    services.archive_call(call, actor=manager)
    assert call.state == CallState.ARCHIVED
    with pytest.raises(InvalidTransition):
        services.archive_call(call, actor=manager)


def test_clone_copies_settings_grid_documents_funders_and_envelopes(manager, line):
    source = CallFactory(programme=line.programme, year=2026, state=CallState.CLOSED, partner_regions=["Kayes"])
    services.set_envelope(source, OPERATING, Decimal("300000.00"), actor=manager)
    CriterionFactory(call=source, name="Pertinence", weight=Decimal("3"), position=0)
    CriterionFactory(call=source, name="Partenariat", weight=Decimal("2"), position=1)
    RequiredDocumentFactory(call=source, name="Statuts")
    source.funders = [CallFunder(name="Région", share=Decimal("0.5")), CallFunder(name="ADEME", share=Decimal("0.5"))]
    ApplicationFactory(call=source)
    next_year = ProgrammeBudgetFactory(programme=line.programme, year=2027, authorised=Decimal("900000.00"))
    now = utcnow()
    clone = services.clone_call(source, actor=manager, title="SISA 2027", slug="sisa-2027", year=2027,
                                opens_at=now + timedelta(days=100), closes_at=now + timedelta(days=160))
    db.session.commit()
    assert clone.state == CallState.DRAFT and clone.partner_regions == ["Kayes"]
    assert [c.name for c in clone.criteria] == ["Pertinence", "Partenariat"]
    assert [d.name for d in clone.required_documents] == ["Statuts"]
    assert sorted((f.name, f.share) for f in clone.funders) == [("ADEME", Decimal("0.5")), ("Région", Decimal("0.5"))]
    assert clone.envelope_for(OPERATING).amount == Decimal("300000.00")
    assert next_year.carved == Decimal("300000.00")
    assert clone.max_grant == source.max_grant and clone.reference_prefix == source.reference_prefix
    assert services.call_rows(programme_id=line.programme_id, year=2027)[0].drafts == 0


def test_the_grid_locks_after_the_first_submitted_review(manager):
    assignment = ReviewAssignmentFactory()
    call = assignment.application.call
    criterion = CriterionFactory(call=call)
    services.add_criterion(call, name="Impact", guidance="", weight=Decimal("1.5"), scale_max=20, actor=manager)
    db.session.add(Review(assignment=assignment, state=ReviewState.SUBMITTED, opinion=Opinion.FUND,
                          submitted_at=utcnow()))
    db.session.commit()
    assert services.criteria_locked(call)
    with pytest.raises(DomainError, match="verrouillée"):
        services.update_criterion(criterion, name="x", guidance="", weight=Decimal("1"), scale_max=5, actor=manager)
    with pytest.raises(DomainError, match="verrouillée"):
        services.remove_criterion(criterion, actor=manager)


@pytest.mark.parametrize("weight", [Decimal("0"), Decimal("-1"), Decimal("1.234")])
def test_bad_weights_are_refused(manager, weight):
    with pytest.raises(DomainError) as refused:
        services.add_criterion(CallFactory(), name="x", guidance="", weight=weight, scale_max=5, actor=manager)
    assert refused.value.field == "weight"


def test_reordering_criteria(manager):
    call = CallFactory()
    first = services.add_criterion(call, name="A", guidance="", weight=Decimal("1"), scale_max=5, actor=manager)
    services.add_criterion(call, name="B", guidance="", weight=Decimal("1"), scale_max=5, actor=manager)
    services.move_criterion(first, +1, actor=manager)
    db.session.commit()
    db.session.expire_all()
    assert [c.name for c in call.criteria] == ["B", "A"]


def test_documents_are_fixed_once_the_call_opens(manager):
    call = CallFactory(state=CallState.OPEN)
    with pytest.raises(DomainError, match="ouvert"):
        services.add_required_document(call, name="RIB", required=True, accepted_types=["pdf"], actor=manager)


def test_cofunders_shares_add_up_and_split_commitments(manager):
    call = CallFactory(state=CallState.OPEN)
    envelope = CallEnvelopeFactory(call=call, amount=Decimal("610000.00"))
    with pytest.raises(DomainError, match="100 %"):
        services.set_funders(call, {"Région": Decimal("0.6"), "ADEME": Decimal("0.3")}, actor=manager)
    services.set_funders(call, {"Région": Decimal("0.6667"), "ADEME": Decimal("0.3333")}, actor=manager)
    envelope.committed = Decimal("10000.00")
    db.session.commit()
    parts = {p.name: p for p in services.funder_breakdown(call)}
    assert parts["Région"].committed == Decimal("6667.00") and parts["ADEME"].committed == Decimal("3333.00")
    assert parts["Région"].envelope + parts["ADEME"].envelope == Decimal("610000.00")


def test_call_rows_count_drafts_and_submissions_in_constant_queries(manager, line):
    import sqlalchemy as sa

    calls = [CallFactory(programme=line.programme) for _ in range(3)]
    for call in calls:
        CallEnvelopeFactory(call=call, amount=Decimal("1000.00"))
        ApplicationFactory(call=call)
        ApplicationFactory(call=call, state=ApplicationState.SUBMITTED, reference=f"R-{call.id}", submitted_at=utcnow())
    programme_id = line.programme_id
    statements = []
    sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    rows = services.call_rows(programme_id=programme_id)
    assert len(statements) <= 4
    assert [(r.drafts, r.submitted, r.envelope) for r in rows] == [(1, 1, Decimal("1000.00"))] * 3


def test_the_managers_list_of_calls_is_paged(manager, line, login_as, monkeypatch):
    monkeypatch.setattr(services, "CALLS_PER_PAGE", 2)
    calls = [CallFactory(programme=line.programme, title=f"Appel n° {n}") for n in range(5)]
    for call in calls:
        ApplicationFactory(call=call)
    db.session.commit()
    client = login_as(manager)
    first = client.get(f"/gestion/appels?programme={line.programme_id}").get_data(as_text=True)
    last = client.get(f"/gestion/appels?programme={line.programme_id}&page=3").get_data(as_text=True)
    assert sum(f"Appel n° {n}<" in first for n in range(5)) == 2 and "page 1 sur 3" in first
    assert sum(f"Appel n° {n}<" in last for n in range(5)) == 1 and 'rel="prev"' in last
    assert client.get("/gestion/appels?page=abc").status_code in (200, 400)
    assert client.get("/gestion/appels?q=%25_").status_code == 200  # LIKE's wildcards are characters
