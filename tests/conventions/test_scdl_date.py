"""The SCDL export dates an award with a convention by the convention (its countersignature), others
by the decision."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import time_machine

from grants.awards import services as awards
from grants.conventions import services
from grants.database import db
from tests.awards.conftest import OPERATING, under_review
from tests.conventions.conftest import owner_of


def test_date_convention_is_the_countersignature_where_there_is_one(big_call, manager, login_as):
    with time_machine.travel("2026-05-20 10:00:00+02:00", tick=False):
        decision = awards.award_grant(under_review(big_call, amount_requested=Decimal("30000.00")), amount="25000",
                                      section=OPERATING, actor=manager)
        awards.award_grant(under_review(big_call), amount="3000", section=OPERATING, actor=manager)
        convention = services.generate(decision, actor=manager)
        services.sign(convention, user=owner_of(decision), consent=True, seen_sha256=convention.pdf_sha256)
        db.session.commit()
    with time_machine.travel("2026-06-03 16:00:00+02:00", tick=False):
        services.countersign(convention, actor=manager)
        db.session.commit()
        text = login_as(manager).get("/gestion/exports/scdl-subventions-2026.csv").get_data(as_text=True)
    rows = {row["montant"]: row for row in csv.DictReader(io.StringIO(text))}
    assert rows["25000.00"]["dateConvention"] == "2026-06-03"
    assert rows["3000.00"]["dateConvention"] == "2026-05-20"
