"""``flask users``: staff accounts from the command line, without prompts, so that it can be scripted.

    flask users create --email chargee@region.example --password '…' --role manager --name "Claire Martin"
    flask users list [--role manager]
    flask users set-role --email expert@region.example --role manager   (or --role applicant: no staff role)
"""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from grants.accounts.models import StaffRole, User
from grants.accounts.services import create_staff_user, find_user_by_email, set_staff_role
from grants.database import db
from grants.errors import DomainError

users_cli = AppGroup("users", help="Gérer les comptes utilisateurs.")

ROLES = click.Choice([role.value for role in StaffRole])


@users_cli.command("create")
@click.option("--email", required=True, help="Adresse e-mail (identifiant de connexion).")
@click.option("--password", required=True, help="Mot de passe, 12 caractères au moins.")
@click.option("--role", required=True, type=ROLES, help="Rôle : manager, reviewer ou admin.")
@click.option("--name", "full_name", default=None, help="Prénom et nom (par défaut : le début de l'adresse).")
def create_command(email: str, password: str, role: str, full_name: str | None) -> None:
    """Créer un compte de chargé(e) de mission, d'expert ou d'administrateur."""
    # No request here: the messages are written in French whatever the locale selector would say.
    with force_locale("fr"):
        try:
            user = create_staff_user(email=email, password=password, role=StaffRole(role), full_name=full_name)
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None  # exit code 1
        db.session.commit()
    click.echo(f"Compte créé : {user.email} ({user.staff_role.value}, n° {user.id})")


@users_cli.command("list")
@click.option("--role", type=click.Choice([*ROLES.choices, "applicant"]), default=None,
              help="Seulement ce rôle (applicant : les comptes sans rôle d'équipe).")
def list_command(role: str | None) -> None:
    """Lister les comptes : e-mail, nom, rôle, état, dernière connexion."""
    query = db.select(User).order_by(User.email)
    if role == "applicant":
        query = query.where(User.staff_role.is_(None))
    elif role:
        query = query.where(User.staff_role == StaffRole(role))
    users = db.session.scalars(query).all()
    if not users:
        click.echo("Aucun compte.")
        return
    for user in users:
        last_login = user.last_login_at.strftime("%Y-%m-%d %H:%M UTC") if user.last_login_at else "jamais connecté"
        state = "actif" if user.active else "désactivé"
        role_name = user.staff_role.value if user.staff_role else "applicant"
        click.echo(f"{user.email}\t{user.full_name}\t{role_name}\t{state}\t{last_login}")


@users_cli.command("set-role")
@click.option("--email", required=True, help="Adresse e-mail du compte.")
@click.option("--role", required=True, type=click.Choice([*ROLES.choices, "applicant"]),
              help="Nouveau rôle (applicant : plus aucun rôle d'équipe).")
def set_role_command(email: str, role: str) -> None:
    """Changer le rôle d'un compte ; toutes ses sessions ouvertes sont fermées."""
    user = find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"Aucun compte avec l'adresse {email}.")
    set_staff_role(user, None if role == "applicant" else StaffRole(role))
    db.session.commit()
    click.echo(f"Rôle de {user.email} : {role} ; ses sessions sont fermées.")
