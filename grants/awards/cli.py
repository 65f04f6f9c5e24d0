"""``flask awards verify-ledger``: prove to the finance department that every stored figure (an
envelope's committed and paid, an award's amount and paid) equals the sum of its ledger rows, and
that what the envelope dashboard reads (applications by call and state, decisions by call, outcome
and section, the ledger by envelope and day) equals a recount. ``flask awards rebuild-ledger-days``
writes the day summary again from the ledger, for a ledger loaded past the services."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from grants.awards.services import (
    dashboard_discrepancies,
    ledger_discrepancies,
    rebuild_ledger_days,
)
from grants.database import db

awards_cli = AppGroup("awards", help="Décisions et grand livre des enveloppes.")


@awards_cli.command("verify-ledger")
def verify_ledger_command():
    """Compare the stored figures with the ledger, and the dashboard's counters with a recount; exit 1
    if any differs."""
    ledger, dashboard = ledger_discrepancies(), dashboard_discrepancies()
    for item in ledger:
        click.echo(f"{item.subject} {item.subject_id}: {item.figure} stored {item.stored}, ledger {item.ledger}")
    for item in dashboard:
        click.echo(f"{item.subject} {item.subject_id}: {item.figure} counter {item.stored}, recount {item.ledger}")
    if ledger or dashboard:
        raise SystemExit(1)
    click.echo("Ledger consistent: every stored figure equals the sum of its ledger rows, "
               "and every dashboard counter its recount.")


@awards_cli.command("rebuild-ledger-days")
def rebuild_ledger_days_command():
    """Write the ledger's day summary again from the ledger (one transaction)."""
    days = rebuild_ledger_days()
    db.session.commit()
    click.echo(f"Ledger day summary rebuilt: {days} envelope days.")
