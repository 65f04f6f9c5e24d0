"""``flask notifications``: the delivery monitor from the command line.

    flask notifications status          counts by status, then the failed rows with their error
    flask notifications retry --id 42   send a failed one again
    flask notifications recount         check each user's unread count (the bell) and correct it
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from grants.database import db
from grants.notifications import services
from grants.outbox.models import Notification

notifications_cli = AppGroup("notifications", help="Suivre et relancer l'envoi des e-mails.")


@notifications_cli.command("status")
def status_command() -> None:
    """Compter les messages en attente, envoyés et en échec ; lister ceux en échec."""
    counts = services.delivery_counts()
    click.echo("  ".join(f"{status.value}: {count}" for status, count in counts.items()))
    for notification in services.failed_notifications():
        click.echo(f"#{notification.id}  {notification.created_at:%Y-%m-%d %H:%M} UTC  {notification.event}  "
                   f"{notification.recipient_email}  ({notification.attempts} essais)  {notification.last_error}")


@notifications_cli.command("retry")
@click.option("--id", "notification_id", required=True, type=int, help="Numéro du message en échec.")
def retry_command(notification_id: int) -> None:
    """Renvoyer un message en échec (il repart avec un nouveau compte d'essais)."""
    notification = db.session.get(Notification, notification_id)
    if notification is None:
        raise click.ClickException(f"aucun message n° {notification_id}")
    try:
        services.retry_failed(notification)
    except services.NotRetriable:
        db.session.rollback()
        raise click.ClickException(
            f"le message n° {notification_id} est {notification.status.value}, pas en échec : il n'est pas renvoyé"
        ) from None
    db.session.commit()
    click.echo(f"Message n° {notification_id} à {notification.recipient_email} renvoyé.")


@notifications_cli.command("recount")
def recount_command() -> None:
    """Recompter les notifications non lues de chaque compte (la cloche) et corriger les écarts."""
    wrong = services.recount_unread()
    db.session.commit()
    for user_id, stored, actual in wrong:
        click.echo(f"compte n° {user_id} : {stored} non lues enregistrées, {actual} en réalité — corrigé")
    click.echo(f"{len(wrong)} compte(s) corrigé(s)." if wrong else "Tous les comptes sont justes.")
