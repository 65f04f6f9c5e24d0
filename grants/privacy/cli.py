"""``flask privacy``: the retention schedule from the command line.

    flask privacy retention --dry-run    lists what the nightly run would delete or pseudonymise now
    flask privacy retention              applies it now
"""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from grants.privacy import retention

privacy_cli = AppGroup("privacy", help="Données personnelles : conservation.")


@privacy_cli.command("retention")
@click.option("--dry-run", is_flag=True, help="Lister ce qui partirait, sans rien changer.")
def retention_command(dry_run: bool) -> None:
    """Appliquer la politique de conservation (ou, avec --dry-run, la simuler)."""
    with force_locale("fr"):
        counts = retention.due() if dry_run else retention.apply()
        for step in retention.STEPS:
            click.echo(f"{step.key:22} {counts[step.key]:>7}  {step.label} ({step.action})")
        click.echo("Simulation : rien n'a été modifié." if dry_run else "Conservation appliquée.")
