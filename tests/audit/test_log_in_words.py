"""The audit page speaks: sentences naming who did what to which dossier, in the reader's language,
for administrators only; every code the application records has its sentence."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from sqlalchemy import event as sa_event

from grants.audit.services import record_event
from grants.awards import services as awards
from grants.database import db
from grants.home.audit_sentences import SENTENCES
from grants.models import AuditEvent
from tests.awards.conftest import OPERATING, under_review
from tests.factories import AdminFactory, CallEnvelopeFactory, CallFactory, ManagerFactory

ROOT = Path(__file__).resolve().parent.parent.parent


def text(response) -> str:
    """The page as a reader sees it: tags out, Babel's no-break spaces made plain."""
    body = response.get_data(as_text=True).replace("\u202f", " ").replace("\xa0", " ").replace("&#39;", "'")
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", body))


def award_by_nadia(reference: str = "SISA-2026-0003"):
    call = CallFactory(title="Solidaires Ici Solidaires Ailleurs")
    CallEnvelopeFactory(call=call, section=OPERATING, amount=Decimal("100000.00"))
    application = under_review(call, Decimal("8000.00"), reference=reference)
    manager = ManagerFactory(full_name="Nadia Benali")
    awards.award_grant(application, amount="5500", section=OPERATING, actor=manager)
    db.session.commit()
    return application


def test_an_award_reads_as_a_sentence_with_a_link_to_the_dossier(client, login_as):
    application = award_by_nadia()
    login_as(AdminFactory(full_name="Paul Admin"))
    response = client.get("/admin/journal/")
    assert response.status_code == 200
    page = text(response)
    assert "Nadia Benali a accordé 5 500,00 € au dossier SISA-2026-0003." in page
    assert f'<a href="/gestion/dossiers/{application.id}">SISA-2026-0003</a>' in response.get_data(as_text=True)
    assert "Paul Admin s'est connecté(e)." in page
    assert "user #" not in page and "application #" not in page


def test_people_named_in_details_read_as_their_names(client, login_as):
    admin, reviewer = AdminFactory(), ManagerFactory(full_name="Hugo Vasseur")
    record_event("review.assigned", actor=admin, reviewer=reviewer.email, application="SISA-2026-0001")
    record_event("organisation.member_invited", actor=admin, email="nouvelle@asso.example")
    db.session.commit()
    login_as(admin)
    page = text(client.get("/admin/journal/"))
    assert "a confié l'évaluation du dossier — à Hugo Vasseur." in page
    assert "a invité nouvelle@asso.example" in page


def test_the_sentences_follow_the_readers_language(client, login_as):
    award_by_nadia()
    login_as(AdminFactory(locale="en"))
    page = text(client.get("/admin/journal/"))
    assert "Nadia Benali awarded €5,500.00 to application SISA-2026-0003." in page


def test_an_unknown_code_and_an_anonymous_actor_still_read(client, login_as):
    admin = AdminFactory()
    record_event("archive.purged", actor=admin, subject=admin, count="3")
    record_event("auth.login_failed", email="inconnu@example.org", reason="unknown_email")
    db.session.commit()
    login_as(admin)
    page = text(client.get("/admin/journal/"))
    assert f"{admin.full_name} : action « archive.purged » sur {admin.full_name}." in page
    assert "Échec de connexion avec l'adresse inconnu@example.org (adresse inconnue)." in page


def test_the_filter_still_takes_a_code(client, login_as):
    award_by_nadia()
    login_as(AdminFactory())
    page = text(client.get("/admin/journal/", query_string={"action": "application.awarded"}))
    assert "a accordé 5 500,00 €" in page and "s'est connecté(e)" not in page


def test_only_administrators_read_the_log(client, login_as):
    login_as(ManagerFactory())
    assert client.get("/admin/journal/").status_code == 403


def test_every_recorded_code_has_its_sentence():
    """Codes written as literals anywhere in the application (and the award amendments' two)."""
    pattern = re.compile(r"""record_(?:event|transition)\(\s*["']([a-z_]+\.[a-z_]+)["']|"(application\.[a-z_]+)"\s+if|else\s+"(application\.[a-z_]+)"|action = "([a-z_]+\.[a-z_]+)\"""")
    codes = set()
    for path in (ROOT / "grants").rglob("*.py"):
        for match in pattern.finditer(path.read_text()):
            codes.add(next(group for group in match.groups() if group))
    codes |= {"award.increase", "award.decrease"}  # record_event(f"award.{kind.value}")
    assert len(codes) > 50
    assert sorted(codes - set(SENTENCES)) == []


def statements_of(client, url) -> int:
    statements = []

    def count(*args):
        statements.append(args[2])

    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def test_the_log_stays_one_query_per_kind_of_subject(client, login_as):
    admin = AdminFactory()
    application = award_by_nadia("SISA-2026-0001")
    record_event("call.updated", actor=admin, subject=application.call, fields="title")
    db.session.commit()
    login_as(admin)
    few = statements_of(client, "/admin/journal/")  # users, applications, calls: one query each
    for number in range(2, 6):
        award_by_nadia(f"SISA-2026-000{number}")
        record_event("call.updated", actor=admin, subject=application.call, fields="title")
        record_event("auth.logout", actor=admin, subject=admin)
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id))) >= 14
    assert statements_of(client, "/admin/journal/") == few
