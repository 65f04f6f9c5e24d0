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
        click.echo(f"Données de démonstration créées : {summary(report.created)}.")
    else:
        click.echo("Les données de démonstration sont déjà en place : rien n'a changé.")
    click.echo("")
    click.echo(login_table(report.logins))


# What the seed creates, named in French (singular, plural) in the order a reader meets them.
KIND_LABELS = {
    "users": ("compte", "comptes"), "programmes": ("programme", "programmes"),
    "programme_budgets": ("autorisation budgétaire", "autorisations budgétaires"),
    "calls": ("appel à projets", "appels à projets"), "call_envelopes": ("enveloppe", "enveloppes"),
    "call_funders": ("cofinanceur", "cofinanceurs"), "criteria": ("critère d'évaluation", "critères d'évaluation"),
    "required_documents": ("pièce demandée", "pièces demandées"), "organisations": ("organisme", "organismes"),
    "memberships": ("membre d'organisme", "membres d'organismes"),
    "applicants": ("porteur de projet", "porteurs de projet"), "applications": ("dossier", "dossiers"),
    "correction_requests": ("demande de compléments", "demandes de compléments"),
    "conflicts_of_interest": ("conflit d'intérêts déclaré", "conflits d'intérêts déclarés"),
    "review_assignments": ("affectation d'évaluateur", "affectations d'évaluateurs"),
    "reviews": ("évaluation", "évaluations"), "criterion_scores": ("note par critère", "notes par critère"),
    "committee_sessions": ("commission", "commissions"), "decisions": ("décision", "décisions"),
    "envelope_movements": ("mouvement du grand livre", "mouvements du grand livre"),
    "payments": ("versement", "versements"), "conventions": ("convention", "conventions"),
    "final_reports": ("compte rendu financier", "comptes rendus financiers"),
}


def summary(created) -> str:
    """``Counter({"users": 17, …})`` → ``"17 comptes, 2 programmes, …"`` (French plural rule: 0 and 1
    take the singular); a kind without a label comes last, as named in the code."""
    parts = []
    for kind, count in [*((k, created.get(k, 0)) for k in KIND_LABELS),
                        *sorted((k, c) for k, c in created.items() if k not in KIND_LABELS)]:
        if count:
            singular, plural = KIND_LABELS.get(kind, (kind, kind))
            parts.append(f"{count} {singular if count < 2 else plural}")
    return ", ".join(parts)


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
