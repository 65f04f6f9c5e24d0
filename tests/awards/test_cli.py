"""``flask awards verify-ledger`` reports a sound ledger, and names the figure that drifted."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from grants.calls.models import CallEnvelope
from grants.database import db


def test_verify_ledger_passes_on_a_sound_ledger_and_names_a_drifted_figure(app):
    from tests.factories import CallEnvelopeFactory

    envelope = CallEnvelopeFactory(amount=Decimal("1000.00"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["awards", "verify-ledger"])
    assert result.exit_code == 0 and "Ledger consistent" in result.output

    # A figure written behind the ledger's back, as a faulty script would.
    db.session.execute(sa.update(CallEnvelope).where(CallEnvelope.id == envelope.id).values(committed=Decimal("5.00")))
    db.session.commit()
    result = runner.invoke(args=["awards", "verify-ledger"])
    assert result.exit_code == 1
    assert f"envelope {envelope.id}: committed stored 5.00, ledger 0.00" in result.output
