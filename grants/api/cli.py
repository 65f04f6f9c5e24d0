"""``flask api-tokens``: API tokens from the command line (e.g. for the finance system's set-up).

    flask api-tokens create --email chargee@region.example --name "logiciel financier"
    flask api-tokens list --email chargee@region.example
    flask api-tokens revoke --id 3

``create`` prints the secret once, on standard output alone on its line, so that a script can capture
it; it is not stored and cannot be shown again.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from grants.accounts.services import find_user_by_email
from grants.api import services
from grants.api.models import ApiToken
from grants.database import db
from grants.errors import DomainError

api_tokens_cli = AppGroup("api-tokens", help="Gérer les jetons de l'API JSON.")


def staff_user(email: str):
    user = find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"Aucun compte avec l'adresse {email}.")
    return user


@api_tokens_cli.command("create")
@click.option("--email", required=True, help="Adresse du titulaire (chargé(e) de mission ou administrateur).")
@click.option("--name", default="ligne de commande", show_default=True, help="Nom du jeton, pour le reconnaître.")
def create_command(email: str, name: str) -> None:
    """Créer un jeton et l'afficher (une seule fois)."""
    with force_locale("fr"):
        user = staff_user(email)
        try:
            # The CLI acts as the holder: the audit log names him as the creator.
            token, secret = services.create_token(user, name=name, actor=user)
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None
        db.session.commit()
    click.echo(f"Jeton n° {token.id} « {token.name} » créé pour {user.email}. Copiez-le, il ne sera plus affiché :", err=True)
    click.echo(secret)


@api_tokens_cli.command("list")
@click.option("--email", required=True, help="Adresse du titulaire.")
def list_command(email: str) -> None:
    """Lister les jetons d'un compte (jamais leur secret)."""
    user = staff_user(email)
    tokens = services.tokens_of(user)
    if not tokens:
        click.echo("Aucun jeton.")
        return
    for token in tokens:
        last_used = token.last_used_at.strftime("%Y-%m-%d %H:%M UTC") if token.last_used_at else "jamais utilisé"
        state = f"révoqué le {token.revoked_at:%Y-%m-%d %H:%M UTC}" if token.revoked_at else "actif"
        click.echo(f"{token.id}\t{token.name}\t{token.prefix}…\tcréé le {token.created_at:%Y-%m-%d %H:%M UTC}\t{last_used}\t{state}")


@api_tokens_cli.command("revoke")
@click.option("--id", "token_id", required=True, type=int, help="Numéro du jeton (voir « list »).")
def revoke_command(token_id: int) -> None:
    """Révoquer un jeton."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise click.ClickException(f"Aucun jeton n° {token_id}.")
    with force_locale("fr"):
        try:
            # Revoked from the server's console: no signed-in actor; the audit row names the holder.
            services.revoke_token(token, actor=None)
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None
        db.session.commit()
    click.echo(f"Jeton n° {token.id} « {token.name} » de {token.user.email} révoqué.")
