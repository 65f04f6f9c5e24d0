"""The demo: the flagship SISA award has its convention signed online and countersigned, and its
advance paid; the DCP award decided outside committee awaits its signature; nothing is paid on an award
whose convention is not countersigned."""

from __future__ import annotations

import io

from pypdf import PdfReader

from grants.awards.services import convention_required
from grants.conventions import services
from grants.conventions.models import SignatureMethod
from grants.database import db
from grants.demo.conventions import AWAITING_SIGNATURE
from grants.models import Application, Decision, Outcome


def award_titled(title: str) -> Decision:
    return db.session.scalar(db.select(Decision).join(Application).where(Application.title == title))


def test_the_demo_shows_a_signed_convention_and_one_awaiting_signature(app):
    assert app.test_cli_runner().invoke(args=["demo", "seed"]).exit_code == 0
    flagship = award_titled("Cantines scolaires solidaires Arras – Kayes")
    assert flagship.application.call.reference_prefix == "SISA" and flagship.outcome == Outcome.AWARDED
    [convention] = services.versions_of(flagship)
    assert convention.signature_method == SignatureMethod.ONLINE and convention.countersigned
    assert convention.signed_by.email == "karim.boukhris@mq-provinces.example.org"
    assert flagship.convention_countersigned_at is not None and flagship.paid == convention.advance == 3900
    with services.open_pdf(convention) as stream:
        text = PdfReader(io.BytesIO(stream.read())).pages[0].extract_text().replace("\u202f", " ").replace("\xa0", " ")
    assert "Maison de Quartier des Provinces" in text and "13 000,00 €" in text

    waiting = award_titled(AWAITING_SIGNATURE)
    [pending] = services.versions_of(waiting)
    assert not pending.signed and waiting.paid == 0
    for decision in db.session.scalars(db.select(Decision).where(Decision.outcome == Outcome.AWARDED)):
        if convention_required(decision) and decision.convention_countersigned_at is None:
            assert decision.paid == 0
    assert app.test_cli_runner().invoke(args=["demo", "seed"]).exit_code == 0
    assert len(services.versions_of(flagship)) == 1
