"""``flask awards verify-ledger``: prove to the finance department that every stored figure (an
envelope's committed and paid, an award's amount and paid) equals the sum of its ledger rows."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from grants.awards.services import ledger_discrepancies

awards_cli = AppGroup("awards", help="Décisions et grand livre des enveloppes.")


@awards_cli.command("verify-ledger")
def verify_ledger_command():
    """Compare the stored figures with the ledger; exit 1 if any differs."""
    found = ledger_discrepancies()
    if not found:
        click.echo("Ledger consistent: every stored figure equals the sum of its ledger rows.")
        return
    for item in found:
        click.echo(f"{item.subject} {item.subject_id}: {item.figure} stored {item.stored}, ledger {item.ledger}")
    raise SystemExit(1)
