"""``flask demo seed``: fill an empty (or already seeded) database with the demo data set."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from grants.database import db
from grants.demo.seed import DEMO_PASSWORD, seed_demo

demo_cli = AppGroup("demo", help="Données de démonstration.")


@demo_cli.command("seed")
@click.option("--allow-production", is_flag=True,
              help="Autoriser l'exécution avec la configuration de production (déconseillé).")
def seed_command(allow_production: bool) -> None:
    """Crée les programmes, appels, associations, dossiers et comptes de démonstration.

    Idempotent : une seconde exécution ne change rien et le dit."""
    # Demo accounts share a published password: never on a production database by accident.
    if current_app.config.get("REQUIRED_ENVIRONMENT") and not allow_production:
        raise click.ClickException(
            "configuration de production : les comptes de démonstration ont un mot de passe public. "
            "Relancez avec --allow-production si c'est vraiment voulu."
        )
    try:
        report = seed_demo()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if report.changed:
        summary = ", ".join(f"{name} : {count}" for name, count in sorted(report.created.items()))
        click.echo(f"Données de démonstration créées ({summary}).")
    else:
        click.echo("Les données de démonstration sont déjà en place : rien n'a changé.")
    click.echo("")
    click.echo(login_table(report.logins))


def login_table(logins) -> str:
    rows = [("Courriel", "Mot de passe", "Rôle")]
    rows += [(login.email, DEMO_PASSWORD, f"{login.role} ({login.name})") for login in logins]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)
